package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/safetensors"
)

// sentinels are the categories of Read errors.
var sentinels = []error{
	safetensors.ErrTruncated, safetensors.ErrLimit, safetensors.ErrSyntax, safetensors.ErrSchema,
	safetensors.ErrOverflow, safetensors.ErrSize, safetensors.ErrLayout,
}

// category returns the sentinel err wraps, or nil.
func category(err error) error {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// compareErrors returns "" when the errors of Read (got) and of the
// reference (ref) agree: both nil, or both set and, unless the reference
// found a syntax error, of the same category at the same offset and field.
// (The reference validates the whole JSON before anything else, while Read
// reports the first problem in document order, so which problem is found
// first can differ when the JSON is invalid.)
func compareErrors(got, ref error) string {
	if (got == nil) != (ref == nil) {
		return fmt.Sprintf("Read error = %v, reference error = %v", got, ref)
	}
	if got == nil || category(ref) == safetensors.ErrSyntax {
		return ""
	}
	var g, r *safetensors.FormatError
	if !errors.As(got, &g) || !errors.As(ref, &r) {
		return fmt.Sprintf("Read error = %T %v, reference error = %T %v, want *FormatError", got, got, ref, ref)
	}
	if category(got) != category(ref) || g.Offset != r.Offset || g.Field != r.Field {
		return fmt.Sprintf("Read error = %v, reference error = %v", got, ref)
	}
	return ""
}

// seedFiles returns valid files built in memory.
func seedFiles(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	out = append(out, buildFile(tb, nil, nil))
	out = append(out, buildFile(tb, map[string]string{"format": "pt", "k\"": "v\n"}, []safetensors.TensorInfo{
		{Name: "model.layers.0.mlp.experts.7.down_proj.weight", DType: safetensors.BF16, Shape: []int64{4, 3}},
		{Name: "model.norm.weight", DType: safetensors.F32, Shape: []int64{4}},
		{Name: "scalar", DType: safetensors.F64, Shape: []int64{}},
		{Name: "zero", DType: safetensors.F4, Shape: []int64{0, 5}},
		{Name: "f4", DType: safetensors.F4, Shape: []int64{2, 3}},
		{Name: "f6", DType: safetensors.F6_E2M3, Shape: []int64{4}},
		{Name: "é😀", DType: safetensors.C64, Shape: []int64{1}},
	}))
	out = append(out, rawFile(" { \"b\" : {\"data_offsets\":[2,3],\"shape\":[1],\"dtype\":\"U8\"}, \"a\\u0041\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[0,2]} } ", 3))
	return out
}

func FuzzRead(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	for _, tt := range readErrorTests {
		if tt.file != nil {
			f.Add(tt.file)
		} else if len(tt.header) < 4096 {
			f.Add(rawFile(tt.header, tt.dataSize))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		size := int64(len(b))
		file, err := safetensors.Read(bytes.NewReader(b), size)
		if err != nil {
			var fe *safetensors.FormatError
			if !errors.As(err, &fe) || category(err) == nil {
				t.Fatalf("Read() error = %v, want a *FormatError with a category", err)
			}
			if fe.Offset < 0 || fe.Offset > size {
				t.Fatalf("Read() error offset %d outside the %d-byte file: %v", fe.Offset, size, err)
			}
			return
		}
		checkFile(t, file, size)

		// Re-encode, re-parse: the same file.
		tensors := make([]safetensors.TensorInfo, len(file.Tensors))
		for i, ti := range file.Tensors {
			tensors[i] = ti
			tensors[i].Shape = slices.Clone(ti.Shape)
		}
		h, n, err := safetensors.EncodeHeader(file.Metadata, tensors)
		if err != nil {
			t.Fatalf("EncodeHeader of a parsed file: %v", err)
		}
		if want := size - file.DataOffset(); n != want {
			t.Fatalf("EncodeHeader data size = %d, want %d", n, want)
		}
		b2 := append(h, make([]byte, n)...)
		file2, err := safetensors.Read(bytes.NewReader(b2), int64(len(b2)))
		if err != nil {
			t.Fatalf("Read of the re-encoded file: %v\n%q", err, h)
		}
		file2.Size, file2.HeaderLen = file.Size, file.HeaderLen
		if diff := cmp.Diff(file, file2); diff != "" {
			t.Fatalf("re-encoded file differs (-first +second):\n%s", diff)
		}
		// Every tensor's bytes can be read.
		for i, ti := range file.Tensors {
			if i == 8 {
				break
			}
			sr, err := file.TensorReader(bytes.NewReader(b), ti.Name)
			if err != nil || sr.Size() != ti.Bytes() {
				t.Fatalf("TensorReader(%q) = %v, %v", ti.Name, sr, err)
			}
		}
	})
}

// checkFile checks the invariants of a File that Read returned.
func checkFile(t *testing.T, file *safetensors.File, size int64) {
	t.Helper()
	if file.Size != size || file.HeaderLen < 0 || file.DataOffset() > size {
		t.Fatalf("Read() = size %d, header %d, want size %d", file.Size, file.HeaderLen, size)
	}
	var end int64
	names := map[string]bool{}
	for _, ti := range file.Tensors {
		if ti.Begin != end || ti.End < ti.Begin || file.DataOffset()+ti.End > size {
			t.Fatalf("tensor %q at [%d, %d] does not follow %d or leaves the %d-byte file", ti.Name, ti.Begin, ti.End, end, size)
		}
		if !ti.DType.Valid() || ti.Elements() < 0 || ti.Shape == nil {
			t.Fatalf("tensor %q: dtype %v, shape %v", ti.Name, ti.DType, ti.Shape)
		}
		if ti.Elements()*int64(ti.DType.Bits()) != 8*ti.Bytes() {
			t.Fatalf("tensor %q: %d elements of %v in %d bytes", ti.Name, ti.Elements(), ti.DType, ti.Bytes())
		}
		if names[ti.Name] {
			t.Fatalf("tensor %q twice", ti.Name)
		}
		names[ti.Name] = true
		end = ti.End
	}
	if file.DataOffset()+end != size {
		t.Fatalf("tensors end at %d, file at %d", file.DataOffset()+end, size)
	}
}

// FuzzDecodeDifferential checks that Read and the encoding/json reference
// accept the same headers, return equal Files and, when the JSON is valid,
// report the same error.
func FuzzDecodeDifferential(f *testing.F) {
	for _, b := range seedFiles(f) {
		n := binary.LittleEndian.Uint64(b)
		f.Add(b[8:8+n], uint16(len(b)-8-int(n)))
	}
	for _, tt := range readErrorTests {
		if tt.file == nil && len(tt.header) < 4096 {
			f.Add([]byte(tt.header), uint16(tt.dataSize))
		}
	}
	f.Fuzz(func(t *testing.T, header []byte, dataSize uint16) {
		b := rawFile(string(header), int(dataSize))
		got, err := safetensors.Read(bytes.NewReader(b), int64(len(b)))
		ref, rerr := safetensors.ReadReference(bytes.NewReader(b), int64(len(b)), safetensors.DefaultMaxHeaderLen)
		if msg := compareErrors(err, rerr); msg != "" {
			t.Fatalf("%s\nheader %q", msg, header)
		}
		if err == nil {
			if diff := cmp.Diff(ref, got); diff != "" {
				t.Fatalf("Read and reference differ (-ref +got):\n%s\nheader %q", diff, header)
			}
		}
	})
}

// FuzzParseIndex checks that ParseIndex never panics, that what it accepts
// holds only safe shard names, that it parses its own re-encoding the same
// way, and that reading the document through windows of a few bytes gives
// the same index or error as reading it in one.
func FuzzParseIndex(f *testing.F) {
	for _, tt := range indexParseTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := safetensors.ParseIndex(b)
		window := 1 + len(b)%13
		ixw, errw := safetensors.ReadIndexWindow(bytes.NewReader(b), int64(len(b)), window)
		if diff := cmp.Diff(viewOf(ix), viewOf(ixw)); diff != "" || fmt.Sprint(err) != fmt.Sprint(errw) {
			t.Fatalf("through %d-byte windows: %v (-whole +windows):\n%s\nwhole: %v", window, errw, diff, err)
		}
		if err != nil {
			var fe *safetensors.FormatError
			if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > int64(len(b)) {
				t.Fatalf("ParseIndex() error = %v, want a *FormatError inside the input", err)
			}
			return
		}
		shards := ix.Shards()
		if !slices.IsSorted(shards) || len(slices.Compact(slices.Clone(shards))) != len(shards) {
			t.Fatalf("Shards() = %q, want sorted and unique", shards)
		}
		if ix.TotalSize >= 1<<53 {
			return // not exact as a float64 in Metadata
		}
		doc := map[string]any{"weight_map": maps.Collect(ix.All())}
		if ix.Metadata != nil {
			doc["metadata"] = ix.Metadata
		}
		b2, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		ix2, err := safetensors.ParseIndex(b2)
		if err != nil {
			t.Fatalf("ParseIndex of the re-encoding: %v\n%s", err, b2)
		}
		if diff := cmp.Diff(viewOf(ix), viewOf(ix2)); diff != "" {
			t.Fatalf("re-encoded index differs (-first +second):\n%s", diff)
		}
	})
}

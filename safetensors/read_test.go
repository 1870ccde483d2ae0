package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/safetensors"
)

func TestReadRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		meta    map[string]string
		tensors []safetensors.TensorInfo
	}{
		{name: "empty"},
		{name: "empty metadata", meta: map[string]string{}},
		{
			name: "qwen-like",
			meta: map[string]string{"format": "pt"},
			tensors: []safetensors.TensorInfo{
				{Name: "model.embed_tokens.weight", DType: safetensors.BF16, Shape: []int64{8, 4}},
				{Name: "model.layers.0.mlp.experts.3.down_proj.weight", DType: safetensors.BF16, Shape: []int64{4, 6}},
				{Name: "model.norm.weight", DType: safetensors.F32, Shape: []int64{4}},
			},
		},
		{
			name: "every dtype",
			tensors: func() []safetensors.TensorInfo {
				var ts []safetensors.TensorInfo
				for d := safetensors.DType(1); d.Valid(); d++ {
					ts = append(ts, safetensors.TensorInfo{Name: "t." + d.String(), DType: d, Shape: []int64{2, 4}})
				}
				return ts
			}(),
		},
		{
			name: "scalars and zero sizes",
			tensors: []safetensors.TensorInfo{
				{Name: "scalar", DType: safetensors.F64, Shape: []int64{}},
				{Name: "empty", DType: safetensors.F32, Shape: []int64{0, 7}},
				{Name: "after", DType: safetensors.U8, Shape: []int64{3}},
			},
		},
		{
			name: "names that need escapes",
			meta: map[string]string{"quote\"back\\slash": "tab\tnew\nline\x01", "é": "😀"},
			tensors: []safetensors.TensorInfo{
				{Name: "a\"b", DType: safetensors.I8, Shape: []int64{1}},
				{Name: "\x00\x1f/é😀", DType: safetensors.I8, Shape: []int64{1}},
				{Name: "", DType: safetensors.I8, Shape: []int64{1}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := buildFile(t, tt.meta, tt.tensors)
			if len(file)%8 != 0 && len(tt.tensors) == 0 {
				t.Errorf("header of %d bytes is not padded to a multiple of 8", len(file))
			}
			got, err := safetensors.Read(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			// Read sorts by offset; EncodeHeader assigns offsets in slice
			// order, so zero-sized tensors may move among equal offsets.
			want := &safetensors.File{
				Size:      int64(len(file)),
				HeaderLen: int64(binary.LittleEndian.Uint64(file)),
				Metadata:  tt.meta,
				Tensors:   sortedCopy(tt.tensors),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Read mismatch (-want +got):\n%s", diff)
			}
			if (8+got.HeaderLen)%8 != 0 {
				t.Errorf("DataOffset() = %d, want a multiple of 8", got.DataOffset())
			}
			ref, err := safetensors.ReadReference(bytes.NewReader(file), int64(len(file)), safetensors.DefaultMaxHeaderLen)
			if err != nil {
				t.Fatalf("ReadReference: %v", err)
			}
			if diff := cmp.Diff(ref, got); diff != "" {
				t.Errorf("Read and ReadReference differ (-ref +got):\n%s", diff)
			}
		})
	}
}

func sortedCopy(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
	if len(ts) == 0 {
		return nil
	}
	out := make([]safetensors.TensorInfo, len(ts))
	copy(out, ts)
	for i := range out {
		if out[i].Shape == nil {
			out[i].Shape = []int64{}
		}
	}
	// Insertion sort by (Begin, End, Name), as Read orders them.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func less(a, b safetensors.TensorInfo) bool {
	if a.Begin != b.Begin {
		return a.Begin < b.Begin
	}
	if a.End != b.End {
		return a.End < b.End
	}
	return a.Name < b.Name
}

// TestReadAccepts covers valid headers that EncodeHeader never writes.
func TestReadAccepts(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		dataSize int
		want     []safetensors.TensorInfo
		wantMeta map[string]string
	}{
		{
			name:     "whitespace everywhere",
			header:   " \t\r\n{ \"a\" : { \"dtype\" : \"U8\" , \"shape\" : [ 2 , 3 ] , \"data_offsets\" : [ 0 , 6 ] } , \"__metadata__\" : { \"k\" : \"v\" } }\n  ",
			dataSize: 6,
			want:     []safetensors.TensorInfo{{Name: "a", DType: safetensors.U8, Shape: []int64{2, 3}, Begin: 0, End: 6}},
			wantMeta: map[string]string{"k": "v"},
		},
		{
			name:     "out of order entries and keys",
			header:   `{"b":{"data_offsets":[4,8],"shape":[1],"dtype":"F32"},"a":{"shape":[2],"dtype":"I16","data_offsets":[0,4]}}`,
			dataSize: 8,
			want: []safetensors.TensorInfo{
				{Name: "a", DType: safetensors.I16, Shape: []int64{2}, Begin: 0, End: 4},
				{Name: "b", DType: safetensors.F32, Shape: []int64{1}, Begin: 4, End: 8},
			},
		},
		{
			name:     "escapes",
			header:   `{"\u0061\/\u00e9\ud83d\ude00\"\\\b\f\n\r\t":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]},"__metadata__":{"\u006b":"\u2028"}}`,
			dataSize: 1,
			want:     []safetensors.TensorInfo{{Name: "a/é😀\"\\\b\f\n\r\t", DType: safetensors.BOOL, Shape: []int64{}, Begin: 0, End: 1}},
			wantMeta: map[string]string{"k": "\u2028"},
		},
		{
			name:     "escaped keys in entry",
			header:   `{"a":{"d\u0074ype":"U8","shap\u0065":[1],"data_offset\u0073":[0,1]}}`,
			dataSize: 1,
			want:     []safetensors.TensorInfo{{Name: "a", DType: safetensors.U8, Shape: []int64{1}, Begin: 0, End: 1}},
		},
		{
			name:     "zero-sized tensors share offsets",
			header:   `{"z2":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z1":{"dtype":"F32","shape":[3,0],"data_offsets":[4,4]}}`,
			dataSize: 4,
			want: []safetensors.TensorInfo{
				{Name: "a", DType: safetensors.F32, Shape: []int64{1}, Begin: 0, End: 4},
				{Name: "z1", DType: safetensors.F32, Shape: []int64{3, 0}, Begin: 4, End: 4},
				{Name: "z2", DType: safetensors.F32, Shape: []int64{0}, Begin: 4, End: 4},
			},
		},
		{
			name:     "zero dim beats overflow",
			header:   `{"a":{"dtype":"F64","shape":[9223372036854775807,9223372036854775807,0],"data_offsets":[0,0]}}`,
			want:     []safetensors.TensorInfo{{Name: "a", DType: safetensors.F64, Shape: []int64{9223372036854775807, 9223372036854775807, 0}}},
			dataSize: 0,
		},
		{
			name:     "F4 even count and F6 multiple of 4",
			header:   `{"a":{"dtype":"F4","shape":[3,2],"data_offsets":[0,3]},"b":{"dtype":"F6_E3M2","shape":[4],"data_offsets":[3,6]}}`,
			dataSize: 6,
			want: []safetensors.TensorInfo{
				{Name: "a", DType: safetensors.F4, Shape: []int64{3, 2}, Begin: 0, End: 3},
				{Name: "b", DType: safetensors.F6_E3M2, Shape: []int64{4}, Begin: 3, End: 6},
			},
		},
		{
			name:     "empty object",
			header:   `{}`,
			wantMeta: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := rawFile(tt.header, tt.dataSize)
			got, err := safetensors.Read(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Tensors, cmp.Comparer(func(a, b []int64) bool {
				return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b))
			})); diff != "" {
				t.Errorf("Read tensors mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMeta, got.Metadata); diff != "" {
				t.Errorf("Read metadata mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// le returns the 8-byte little-endian encoding of n.
func le(n uint64) []byte {
	return binary.LittleEndian.AppendUint64(nil, n)
}

// okEntry is a valid entry body for a 4-byte U8 tensor at [0, 4].
const okEntry = `"dtype":"U8","shape":[4],"data_offsets":[0,4]`

type readErrorTest struct {
	name     string
	file     []byte // when set, used as is
	header   string // else the header,
	dataSize int    // followed by this many data bytes
	opts     []safetensors.Option
	want     error
	at       string // the offset is 8 + the index of at in header ("" for wantOff)
	wantOff  int64
	field    string
}

// readErrorTests are malformed files; they also seed the fuzz targets.
var readErrorTests = []readErrorTest{
	{name: "file shorter than 8 bytes", file: []byte{1, 2, 3}, want: safetensors.ErrTruncated, wantOff: 0, field: "header length"},
	{name: "empty file", file: []byte{}, want: safetensors.ErrTruncated, wantOff: 0, field: "header length"},
	{name: "header length past EOF", file: append(le(100), "{}"...), want: safetensors.ErrTruncated, field: "header length"},
	{name: "header length 2^63", file: append(le(1<<63), "{}"...), want: safetensors.ErrLimit, field: "header length"},
	{name: "header length 2^64-1", file: append(le(1<<64-1), "{}"...), want: safetensors.ErrLimit, field: "header length"},
	{name: "header length over default cap", file: append(le(100*1024*1024+1), "{}"...), want: safetensors.ErrLimit, field: "header length"},
	{name: "header length over option cap", header: `{"a":{` + okEntry + `}}`, dataSize: 4,
		opts: []safetensors.Option{safetensors.WithMaxHeaderLen(16)}, want: safetensors.ErrLimit, field: "header length"},
	{name: "empty header", header: "", want: safetensors.ErrSyntax, wantOff: 8, field: "header"},
	{name: "only spaces", header: "    ", want: safetensors.ErrSyntax, wantOff: 12, field: "header"},
	{name: "truncated JSON", header: `{"a":{"dtype":"F32"`, want: safetensors.ErrSyntax, wantOff: 8 + 19, field: `tensor "a"`},
	{name: "truncated in key", header: `{"a":{"dty`, want: safetensors.ErrSyntax, wantOff: 8 + 10, field: `tensor "a"`},
	{name: "truncated after value", header: `{"a":{` + okEntry + `}`, want: safetensors.ErrSyntax, wantOff: 8 + int64(len(okEntry)) + 7, field: "header"},
	{name: "non-object header", header: `[{"a":1}]`, want: safetensors.ErrSchema, at: `[`, field: "header"},
	{name: "string header", header: `"x"`, want: safetensors.ErrSchema, at: `"x"`, field: "header"},
	{name: "garbage header", header: `x`, want: safetensors.ErrSyntax, at: `x`, field: "header"},
	{name: "deeply nested array top level", header: strings.Repeat("[", 100000), want: safetensors.ErrSchema, wantOff: 8, field: "header"},
	{name: "deeply nested entry", header: `{"a":` + strings.Repeat(`[`, 100000), want: safetensors.ErrSchema, at: `[`, field: `tensor "a"`},
	{name: "deeply nested objects", header: `{"a":{"dtype":` + strings.Repeat(`{"x":`, 100000), want: safetensors.ErrSchema, at: `{"x"`, field: `tensor "a"`},
	{name: "metadata value not a string", header: `{"__metadata__":{"k":1}}`, want: safetensors.ErrSchema, at: `1`, field: `metadata "k"`},
	{name: "metadata value null", header: `{"__metadata__":{"k":null}}`, want: safetensors.ErrSchema, at: `null`, field: `metadata "k"`},
	{name: "metadata not an object", header: `{"__metadata__":["k"]}`, want: safetensors.ErrSchema, at: `[`, field: `key "__metadata__"`},
	{name: "metadata null", header: `{"__metadata__":null}`, want: safetensors.ErrSchema, at: `null`, field: `key "__metadata__"`},
	{name: "metadata duplicate key", header: `{"__metadata__":{"k":"1","k":"2"}}`, want: safetensors.ErrSchema, at: `"k":"2"`, field: `metadata "k"`},
	{name: "duplicate metadata", header: `{"__metadata__":{},"__metadata__":{}}`, want: safetensors.ErrSchema, at: `"__metadata__":{}}`, field: `key "__metadata__"`},
	{name: "entry not an object", header: `{"a":"F32"}`, want: safetensors.ErrSchema, at: `"F32"`, field: `tensor "a"`},
	{name: "unknown dtype", header: `{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}`, dataSize: 1, want: safetensors.ErrSchema, at: `"F7"`, field: `tensor "a"`},
	{name: "lower-case dtype", header: `{"a":{"dtype":"bf16","shape":[1],"data_offsets":[0,2]}}`, dataSize: 2, want: safetensors.ErrSchema, at: `"bf16"`, field: `tensor "a"`},
	{name: "dtype not a string", header: `{"a":{"dtype":7,"shape":[1],"data_offsets":[0,1]}}`, dataSize: 1, want: safetensors.ErrSchema, at: `7`, field: `tensor "a"`},
	{name: "negative shape", header: `{"a":{"dtype":"U8","shape":[2,-1],"data_offsets":[0,1]}}`, want: safetensors.ErrSchema, at: `-1`, field: `tensor "a"`},
	{name: "negative zero shape", header: `{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}`, want: safetensors.ErrSchema, at: `-0`, field: `tensor "a"`},
	{name: "fractional shape", header: `{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, want: safetensors.ErrSchema, at: `1.5`, field: `tensor "a"`},
	{name: "integral fraction shape", header: `{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}`, want: safetensors.ErrSchema, at: `1.0`, field: `tensor "a"`},
	{name: "exponent shape", header: `{"a":{"dtype":"U8","shape":[1e3],"data_offsets":[0,1000]}}`, want: safetensors.ErrSchema, at: `1e3`, field: `tensor "a"`},
	{name: "huge shape", header: `{"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]}}`, want: safetensors.ErrOverflow, at: `9223372036854775808`, field: `tensor "a"`},
	{name: "very long shape literal", header: `{"a":{"dtype":"U8","shape":[` + strings.Repeat("9", 5000) + `],"data_offsets":[0,1]}}`, want: safetensors.ErrOverflow, at: `999`, field: `tensor "a"`},
	{name: "shape element not a number", header: `{"a":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, want: safetensors.ErrSchema, at: `"1"`, field: `tensor "a"`},
	{name: "shape not an array", header: `{"a":{"dtype":"U8","shape":1,"data_offsets":[0,1]}}`, want: safetensors.ErrSchema, at: `1,`, field: `tensor "a"`},
	{name: "shape leading zero", header: `{"a":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}`, want: safetensors.ErrSyntax, at: `1]`, field: `tensor "a"`},
	{name: "shape bad number", header: `{"a":{"dtype":"U8","shape":[1.],"data_offsets":[0,1]}}`, want: safetensors.ErrSyntax, at: `]`, field: `tensor "a"`},
	{name: "shape trailing comma", header: `{"a":{"dtype":"U8","shape":[1,],"data_offsets":[0,1]}}`, want: safetensors.ErrSyntax, at: `]`, field: `tensor "a"`},
	{name: "shape product overflow", header: `{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}`, want: safetensors.ErrOverflow, at: `[4294967296`, field: `tensor "a"`},
	{name: "bit count overflow", header: `{"a":{"dtype":"F64","shape":[1152921504606846976],"data_offsets":[0,1]}}`, want: safetensors.ErrOverflow, at: `[1152921504606846976`, field: `tensor "a"`},
	{name: "F4 odd count", header: `{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, dataSize: 2, want: safetensors.ErrSize, at: `[3]`, field: `tensor "a"`},
	{name: "F6 not whole bytes", header: `{"a":{"dtype":"F6_E2M3","shape":[2],"data_offsets":[0,2]}}`, dataSize: 2, want: safetensors.ErrSize, at: `[2]`, field: `tensor "a"`},
	{name: "begin after end", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[8,4]}}`, dataSize: 8, want: safetensors.ErrLayout, at: `[8,4]`, field: `tensor "a"`},
	{name: "size mismatch", header: `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, dataSize: 4, want: safetensors.ErrSize, at: `[0,4]`, field: `tensor "a"`},
	{name: "negative offset", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[-4,0]}}`, want: safetensors.ErrSchema, at: `-4`, field: `tensor "a"`},
	{name: "huge offset", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,18446744073709551616]}}`, want: safetensors.ErrOverflow, at: `18446744073709551616`, field: `tensor "a"`},
	{name: "one offset", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[4]}}`, want: safetensors.ErrSchema, at: `[4]}`, field: `tensor "a"`},
	{name: "three offsets", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}}`, want: safetensors.ErrSchema, at: `8]`, field: `tensor "a"`},
	{name: "offsets not an array", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":{"0":4}}}`, want: safetensors.ErrSchema, at: `{"0"`, field: `tensor "a"`},
	{name: "overlapping offsets", header: `{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, dataSize: 12, want: safetensors.ErrLayout, at: `"b"`, field: `tensor "b"`},
	{name: "same offsets", header: `{"b":{` + okEntry + `},"a":{` + okEntry + `}}`, dataSize: 4, want: safetensors.ErrLayout, at: `"b"`, field: `tensor "b"`},
	{name: "gap", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}`, dataSize: 12, want: safetensors.ErrLayout, at: `"b"`, field: `tensor "b"`},
	{name: "gap at start", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, dataSize: 8, want: safetensors.ErrLayout, at: `"a"`, field: `tensor "a"`},
	{name: "past EOF", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, dataSize: 8, want: safetensors.ErrTruncated, at: `"b"`, field: `tensor "b"`},
	{name: "not ending at EOF", header: `{"a":{` + okEntry + `}}`, dataSize: 5, want: safetensors.ErrLayout, at: `"a"`, field: `tensor "a"`},
	{name: "data but no tensors", header: `{}`, dataSize: 5, want: safetensors.ErrLayout, wantOff: 8, field: "header"},
	{name: "duplicate names", header: `{"a":{` + okEntry + `},"a":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}}`, dataSize: 4, want: safetensors.ErrSchema, at: `"a":{"dtype":"U8","shape":[0]`, field: `tensor "a"`},
	{name: "duplicate names after escape", header: `{"a":{` + okEntry + `},"\u0061":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}}`, dataSize: 4, want: safetensors.ErrSchema, at: `"\u0061"`, field: `tensor "a"`},
	{name: "duplicate key in entry", header: `{"a":{"dtype":"U8","dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, dataSize: 4, want: safetensors.ErrSchema, at: `"dtype":"U8","shape"`, field: `tensor "a"`},
	{name: "unknown key in entry", header: `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4],"foo":1}}`, dataSize: 4, want: safetensors.ErrSchema, at: `"foo"`, field: `tensor "a"`},
	{name: "missing dtype", header: `{"a":{"shape":[4],"data_offsets":[0,4]}}`, dataSize: 4, want: safetensors.ErrSchema, at: `{"shape"`, field: `tensor "a"`},
	{name: "missing offsets", header: `{"a":{"dtype":"U8","shape":[4]}}`, dataSize: 4, want: safetensors.ErrSchema, at: `{"dtype"`, field: `tensor "a"`},
	{name: "empty entry", header: `{"a":{}}`, want: safetensors.ErrSchema, at: `{}`, field: `tensor "a"`},
	{name: "invalid UTF-8", header: "{\"a\xff\":{" + okEntry + "}}", dataSize: 4, want: safetensors.ErrSyntax, at: "\xff", field: "header"},
	{name: "overlong UTF-8", header: "{\"__metadata__\":{\"k\":\"\xc0\xaf\"}}", want: safetensors.ErrSyntax, at: "\xc0", field: "header"},
	{name: "bad escape", header: `{"a\x":{` + okEntry + `}}`, dataSize: 4, want: safetensors.ErrSyntax, at: `\x`, field: "header"},
	{name: "bad unicode escape", header: `{"a\u12G4":{` + okEntry + `}}`, dataSize: 4, want: safetensors.ErrSyntax, at: `\u`, field: "header"},
	{name: "short unicode escape", header: `{"a\u12`, want: safetensors.ErrSyntax, wantOff: 8 + 7, field: "header"},
	{name: "unpaired high surrogate", header: `{"a\ud800":{` + okEntry + `}}`, dataSize: 4, want: safetensors.ErrSyntax, at: `\u`, field: "header"},
	{name: "high surrogate then non-surrogate", header: `{"a\ud800\u0041":{` + okEntry + `}}`, dataSize: 4, want: safetensors.ErrSyntax, at: `\ud800`, field: "header"},
	{name: "lone low surrogate", header: `{"__metadata__":{"k":"\udc00"}}`, want: safetensors.ErrSyntax, at: `\u`, field: `metadata "k"`},
	{name: "control character in string", header: "{\"a\nb\":{" + okEntry + "}}", dataSize: 4, want: safetensors.ErrSyntax, at: "\n", field: "header"},
	{name: "trailing garbage", header: `{"a":{` + okEntry + `}}x`, dataSize: 4, want: safetensors.ErrSyntax, at: `x`, field: "header"},
	{name: "trailing NUL padding", header: `{"a":{` + okEntry + "}}\x00\x00", dataSize: 4, want: safetensors.ErrSyntax, at: "\x00", field: "header"},
	{name: "two objects", header: `{}{}`, want: safetensors.ErrSyntax, wantOff: 10, field: "header"},
	{name: "missing colon", header: `{"a" {` + okEntry + `}}`, dataSize: 4, want: safetensors.ErrSyntax, at: `{"dtype"`, field: "header"},
	{name: "missing comma", header: `{"a":{"dtype":"U8" "shape":[4],"data_offsets":[0,4]}}`, dataSize: 4, want: safetensors.ErrSyntax, at: `"shape"`, field: `tensor "a"`},
	{name: "single quotes", header: `{'a':1}`, want: safetensors.ErrSyntax, at: `'`, field: "header"},
	{name: "bad literal", header: `{"a":{"dtype":tru}}`, want: safetensors.ErrSchema, at: `tru`, field: `tensor "a"`},
}

func TestReadErrors(t *testing.T) {
	tests := readErrorTests
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == nil {
				file = rawFile(tt.header, tt.dataSize)
			}
			wantOff := tt.wantOff
			if tt.at != "" {
				i := strings.Index(tt.header, tt.at)
				if i < 0 {
					t.Fatalf("bad test: %q not in header", tt.at)
				}
				wantOff = 8 + int64(i)
			}
			f, err := safetensors.Read(bytes.NewReader(file), int64(len(file)), tt.opts...)
			if err == nil {
				t.Fatalf("Read() = %+v, want error %v", f, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Read() error = %v, want %v", err, tt.want)
			}
			var fe *safetensors.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Read() error = %T %v, want a *FormatError", err, err)
			}
			if fe.Offset != wantOff || fe.Field != tt.field {
				t.Errorf("Read() error at offset %d, field %s, want offset %d, field %s (%v)", fe.Offset, fe.Field, wantOff, tt.field, err)
			}
			// The reference must agree on rejecting it and, when the JSON is
			// valid, on how.
			_, rerr := safetensors.ReadReference(bytes.NewReader(file), int64(len(file)), maxLen(tt.opts))
			if msg := compareErrors(err, rerr); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func maxLen(opts []safetensors.Option) int64 {
	if len(opts) > 0 {
		return 16
	}
	return safetensors.DefaultMaxHeaderLen
}

func TestFormatErrorString(t *testing.T) {
	file := rawFile(`{"blk":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, 0)
	_, err := safetensors.Read(bytes.NewReader(file), int64(len(file)))
	const want = `offset 38: tensor "blk": shape[0] is negative: -1: schema violation`
	if err == nil || err.Error() != want {
		t.Errorf("Read() error = %v, want %s", err, want)
	}
	if got := (&safetensors.FormatError{Offset: 3, Err: safetensors.ErrLimit}).Error(); got != "offset 3: limit exceeded" {
		t.Errorf("FormatError without field = %q", got)
	}
}

func TestWithMaxHeaderLen(t *testing.T) {
	file := buildFile(t, nil, []safetensors.TensorInfo{{Name: "a", DType: safetensors.U8, Shape: []int64{1}}})
	n := int64(binary.LittleEndian.Uint64(file))
	tests := []struct {
		name    string
		max     int64
		wantErr error // nil for success; errInvalid for a bad option
	}{
		{name: "exact", max: n},
		{name: "one less", max: n - 1, wantErr: safetensors.ErrLimit},
		{name: "zero", max: 0, wantErr: errInvalid},
		{name: "negative", max: -1, wantErr: errInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := safetensors.Read(bytes.NewReader(file), int64(len(file)), safetensors.WithMaxHeaderLen(tt.max))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Read(WithMaxHeaderLen(%d)) = %v, want success", tt.max, err)
			case tt.wantErr == errInvalid:
				var fe *safetensors.FormatError
				if err == nil || errors.As(err, &fe) {
					t.Errorf("Read(WithMaxHeaderLen(%d)) = %v, want an option error", tt.max, err)
				}
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Read(WithMaxHeaderLen(%d)) = %v, want %v", tt.max, err, tt.wantErr)
			}
		})
	}
}

var errInvalid = errors.New("invalid option")

// shortReader claims more bytes than it has.
type errReader struct{ err error }

func (r errReader) ReadAt(p []byte, off int64) (int, error) { return 0, r.err }

func TestReadReaderErrors(t *testing.T) {
	file := buildFile(t, nil, []safetensors.TensorInfo{{Name: "a", DType: safetensors.U8, Shape: []int64{1}}})
	t.Run("size larger than reader", func(t *testing.T) {
		h := file[:len(file)-1] // the header, cut one byte short
		_, err := safetensors.Read(bytes.NewReader(h[:20]), int64(len(file)))
		if !errors.Is(err, safetensors.ErrTruncated) {
			t.Errorf("Read() = %v, want ErrTruncated", err)
		}
	})
	t.Run("I/O error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := safetensors.Read(errReader{boom}, 100)
		var fe *safetensors.FormatError
		if !errors.Is(err, boom) || errors.As(err, &fe) {
			t.Errorf("Read() = %v, want the reader's error, not a FormatError", err)
		}
	})
}

func TestOpen(t *testing.T) {
	tensors := []safetensors.TensorInfo{{Name: "w", DType: safetensors.BF16, Shape: []int64{2, 2}}}
	file := buildFile(t, map[string]string{"format": "pt"}, tensors)
	dir := t.TempDir()
	good := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(good, file, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, file[:len(file)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(good)
	if err != nil {
		t.Fatalf("Open(%s) = %v", good, err)
	}
	if diff := cmp.Diff(tensors, f.Tensors); diff != "" {
		t.Errorf("Open(%s) tensors mismatch (-want +got):\n%s", good, diff)
	}
	_, err = safetensors.Open(bad)
	if !errors.Is(err, safetensors.ErrTruncated) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Open(%s) = %v, want ErrTruncated naming the path", bad, err)
	}
	if _, err := safetensors.Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestTensorReader(t *testing.T) {
	tensors := []safetensors.TensorInfo{
		{Name: "a", DType: safetensors.U8, Shape: []int64{3}},
		{Name: "b", DType: safetensors.F16, Shape: []int64{2}},
		{Name: "empty", DType: safetensors.F32, Shape: []int64{0}},
	}
	file := buildFile(t, nil, tensors)
	r := bytes.NewReader(file)
	f, err := safetensors.Read(r, int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []byte
	}{
		{name: "a", want: []byte{0, 1, 2}},
		{name: "b", want: []byte{3, 4, 5, 6}},
		{name: "empty", want: []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr, err := f.TensorReader(r, tt.name)
			if err != nil {
				t.Fatalf("TensorReader(%q) = %v", tt.name, err)
			}
			got, err := io.ReadAll(sr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("TensorReader(%q) bytes = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if _, err := f.TensorReader(r, "nope"); !errors.Is(err, safetensors.ErrNotFound) {
			t.Errorf("TensorReader(nope) = %v, want ErrNotFound", err)
		}
	})
	t.Run("tampered past end", func(t *testing.T) {
		g := *f
		g.Tensors = append([]safetensors.TensorInfo(nil), f.Tensors...)
		g.Tensors[1].End = 1 << 62
		var fe *safetensors.FormatError
		_, err := g.TensorReader(r, "b")
		if !errors.Is(err, safetensors.ErrTruncated) || !errors.As(err, &fe) || fe.Field != `tensor "b"` {
			t.Errorf("TensorReader(b) = %v, want a FormatError wrapping ErrTruncated", err)
		}
		g.Tensors[1].End = 1<<63 - 1
		if _, err := g.TensorReader(r, "b"); !errors.Is(err, safetensors.ErrTruncated) {
			t.Errorf("TensorReader(b) with End overflowing = %v, want ErrTruncated", err)
		}
	})
	t.Run("tampered inverted", func(t *testing.T) {
		g := *f
		g.Tensors = append([]safetensors.TensorInfo(nil), f.Tensors...)
		g.Tensors[0].Begin, g.Tensors[0].End = 3, 0
		if _, err := g.TensorReader(r, "a"); !errors.Is(err, safetensors.ErrLayout) {
			t.Errorf("TensorReader(a) = %v, want ErrLayout", err)
		}
	})
}

func TestFileMethods(t *testing.T) {
	tensors := []safetensors.TensorInfo{
		{Name: "x", DType: safetensors.F32, Shape: []int64{2, 3}},
		{Name: "s", DType: safetensors.F32, Shape: []int64{}},
	}
	file := buildFile(t, nil, tensors)
	f, err := safetensors.Read(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	x, ok := f.Lookup("x")
	if !ok || x.Elements() != 6 || x.Bytes() != 24 {
		t.Errorf("Lookup(x) = %+v, %v; want 6 elements, 24 bytes", x, ok)
	}
	s, ok := f.Lookup("s")
	if !ok || s.Elements() != 1 || s.Bytes() != 4 {
		t.Errorf("Lookup(s) = %+v, %v; want 1 element, 4 bytes", s, ok)
	}
	if _, ok := f.Lookup("nope"); ok {
		t.Errorf("Lookup(nope) found a tensor")
	}
	if got := (&safetensors.TensorInfo{Shape: []int64{1 << 62, 4}}).Elements(); got != -1 {
		t.Errorf("Elements() of overflowing shape = %d, want -1", got)
	}
	var names []string
	for i, ti := range f.All() {
		if &f.Tensors[i] != ti {
			t.Errorf("All() yielded a copy at %d", i)
		}
		names = append(names, ti.Name)
		break
	}
	if len(names) != 1 {
		t.Errorf("All() did not stop at break: %v", names)
	}
	// Shapes share a backing array but appending to one must not touch
	// another.
	_ = append(f.Tensors[0].Shape, 99)
	if diff := cmp.Diff([]int64{2, 3}, f.Tensors[1].Shape); f.Tensors[1].Name == "x" && diff != "" {
		t.Errorf("append to a shape changed another (-want +got):\n%s", diff)
	}
}

// TestReadReusesNothingKept reads one header after another (headers under
// 1 MiB share a read buffer): what the first File holds, its names and
// metadata, must still read as written after the buffer was overwritten by
// the second header, byte for byte.
func TestReadReusesNothingKept(t *testing.T) {
	header := func(prefix string) string {
		return `{"__metadata__":{"` + prefix + `format":"pt-` + prefix + `"},"` +
			prefix + `a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"` +
			prefix + `b\u0021":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`
	}
	files := map[string]*safetensors.File{}
	for _, prefix := range []string{"first.", "other_", "third-"} {
		b := rawFile(header(prefix), 3)
		f, err := safetensors.Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		files[prefix] = f
	}
	for prefix, f := range files {
		names := []string{f.Tensors[0].Name, f.Tensors[1].Name}
		if want := []string{prefix + "a", prefix + "b!"}; !slices.Equal(names, want) {
			t.Errorf("names of %q = %q, want %q", prefix, names, want)
		}
		if want := map[string]string{prefix + "format": "pt-" + prefix}; !maps.Equal(f.Metadata, want) {
			t.Errorf("metadata of %q = %q, want %q", prefix, f.Metadata, want)
		}
	}
}

package gguf_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/gguf"
)

// FuzzRead checks, for any input, that Read does not panic; that a failure
// is a *FormatError inside the file wrapping one sentinel; and that on
// success every tensor range is inside the file and EncodeHeader followed by
// Read gives the same metadata and tensors (offsets aside: EncodeHeader lays
// tensors out contiguously).
func FuzzRead(f *testing.F) {
	f.Add(buildFile(f, 3, everyValueKVs(), sampleTensors()))
	f.Add(buildFile(f, 2, everyValueKVs()[:5], sampleTensors()[:2]))
	f.Add(buildFile(f, 3, nil, nil))
	f.Add(buildFile(f, 3, []gguf.KV{
		{gguf.KeySplitNo, gguf.Uint16(0)},
		{gguf.KeySplitCount, gguf.Uint16(2)},
		{gguf.KeySplitTensorsCount, gguf.Int32(1)},
	}, []gguf.TensorInfo{{Name: "a", Dims: []int64{32, 2}, Type: gguf.TypeQ4_0}}))
	gaps := new(raw).header(3, 3, 0).
		tensor("b", []uint64{8}, gguf.TypeF32, 96).
		tensor("a", []uint64{8}, gguf.TypeF32, 0).
		tensor("c", nil, gguf.TypeF32, 32).pad(32).zeros(128)
	f.Add(gaps.b)
	for _, c := range malformedCases() {
		w := new(raw)
		c.build(w)
		f.Add(w.b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := readBytes(b)
		// Arrays not kept are checked as kept ones are: the same error, or
		// the same file less their elements.
		lean, leanErr := readBytes(b, gguf.WithKeptArrayLen(1))
		if (err == nil) != (leanErr == nil) || err != nil && err.Error() != leanErr.Error() {
			t.Fatalf("Read with WithKeptArrayLen(1): error %v, want %v", leanErr, err)
		}
		if err == nil {
			checkLean(t, file, lean)
		}
		// Not hashing them changes nothing else either.
		bare, bareErr := readBytes(b, gguf.WithKeptArrayLen(1), gguf.WithoutDroppedHash())
		if (err == nil) != (bareErr == nil) || err != nil && err.Error() != bareErr.Error() {
			t.Fatalf("Read with WithoutDroppedHash: error %v, want %v", bareErr, err)
		}
		if err == nil {
			checkLean(t, file, bare)
		}
		if err != nil {
			if e := checkFormatError(err, int64(len(b))); e != nil {
				t.Fatal(e)
			}
			return
		}
		if file.Size != int64(len(b)) || file.DataOffset%file.Alignment != 0 {
			t.Fatalf("Read: Size %d, DataOffset %d, Alignment %d for %d bytes", file.Size, file.DataOffset, file.Alignment, len(b))
		}
		for _, ti := range file.Tensors {
			if ti.Offset < 0 || ti.Size < 0 || file.DataOffset+ti.Offset+ti.Size > int64(len(b)) {
				t.Fatalf("tensor %q: data at %d + %d, size %d, outside %d bytes", ti.Name, file.DataOffset, ti.Offset, ti.Size, len(b))
			}
			if _, err := file.TensorReader(bytes.NewReader(b), ti.Name); err != nil {
				t.Fatalf("TensorReader(%q) = %v", ti.Name, err)
			}
		}

		tensors := slices.Clone(file.Tensors)
		h, dataSize, err := gguf.EncodeHeader(file.Version, file.KVs, tensors)
		if err != nil {
			t.Fatalf("EncodeHeader(Read(b)) = %v", err)
		}
		b2 := append(h, make([]byte, dataSize)...)
		file2, err := readBytes(b2)
		if err != nil {
			t.Fatalf("Read(EncodeHeader(Read(b))) = %v", err)
		}
		if file2.Version != file.Version || file2.Alignment != file.Alignment {
			t.Errorf("re-read: Version, Alignment = %d, %d, want %d, %d", file2.Version, file2.Alignment, file.Version, file.Alignment)
		}
		if diff := cmp.Diff(file.KVs, file2.KVs); diff != "" {
			t.Errorf("re-read KVs mismatch (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(file.Tensors, file2.Tensors, cmpopts.IgnoreFields(gguf.TensorInfo{}, "Offset")); diff != "" {
			t.Errorf("re-read Tensors mismatch (-first +second):\n%s", diff)
		}
	})
}

// checkLean checks that lean, read with WithKeptArrayLen(1), is full less
// the elements of its longer arrays.
func checkLean(t *testing.T, full, lean *gguf.File) {
	t.Helper()
	if lean.DataOffset != full.DataOffset || len(lean.KVs) != len(full.KVs) || len(lean.Tensors) != len(full.Tensors) {
		t.Fatalf("WithKeptArrayLen(1): DataOffset %d, %d KVs, %d tensors; want %d, %d, %d",
			lean.DataOffset, len(lean.KVs), len(lean.Tensors), full.DataOffset, len(full.KVs), len(full.Tensors))
	}
	for i, kv := range lean.KVs {
		w := full.KVs[i].Value
		long := w.Type() == gguf.ValueArray && w.ElemType() != gguf.ValueArray && w.Len() > 1
		switch {
		case kv.Key != full.KVs[i].Key || kv.Value.Type() != w.Type() || kv.Value.ElemType() != w.ElemType() || kv.Value.Len() != w.Len():
			t.Errorf("WithKeptArrayLen(1): kv %d is %q (%v), want %q (%v)", i, kv.Key, kv.Value, full.KVs[i].Key, w)
		case kv.Value.Kept() == long:
			t.Errorf("WithKeptArrayLen(1): %q: Kept() = %v for %d elements", kv.Key, kv.Value.Kept(), w.Len())
		case !long && !kv.Value.Equal(w):
			t.Errorf("WithKeptArrayLen(1): %q = %v, want %v", kv.Key, kv.Value, w)
		}
	}
}

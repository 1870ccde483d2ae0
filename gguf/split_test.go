package gguf_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

func TestSplitName(t *testing.T) {
	tests := []struct {
		prefix    string
		no, count int
		want      string
	}{
		{"Qwen3-235B-A22B-Q4_K_M", 1, 3, "Qwen3-235B-A22B-Q4_K_M-00001-of-00003.gguf"},
		{"dir/m", 118, 118, "dir/m-00118-of-00118.gguf"},
		{"x", 7, 65535, "x-00007-of-65535.gguf"},
	}
	for _, tt := range tests {
		got := gguf.SplitName(tt.prefix, tt.no, tt.count)
		if got != tt.want {
			t.Errorf("SplitName(%q, %d, %d) = %q, want %q", tt.prefix, tt.no, tt.count, got, tt.want)
		}
		prefix, no, count, ok := gguf.ParseSplitName(got)
		if !ok || prefix != tt.prefix || no != tt.no || count != tt.count {
			t.Errorf("ParseSplitName(%q) = %q, %d, %d, %v, want %q, %d, %d, true", got, prefix, no, count, ok, tt.prefix, tt.no, tt.count)
		}
	}
	for _, bad := range []string{
		"m.gguf", "m-00001-of-00003.bin", "-00001-of-00003.gguf", "m-00000-of-00003.gguf",
		"m-00004-of-00003.gguf", "m-0001-of-00003.gguf", "m-00001_of-00003.gguf", "m-0000a-of-00003.gguf",
		"m-00001-of-0003.gguf", "m-+0001-of-00003.gguf",
	} {
		if p, n, c, ok := gguf.ParseSplitName(bad); ok {
			t.Errorf("ParseSplitName(%q) = %q, %d, %d, true, want false", bad, p, n, c)
		}
	}
}

// splitPart builds part no (0-based) of a split set holding the given
// tensors, with split keys of the types gguf-split writes.
func splitPart(t *testing.T, no, count, total int, names ...string) *gguf.File {
	t.Helper()
	kvs := []gguf.KV{
		{gguf.KeySplitNo, gguf.Uint16(uint16(no))},
		{gguf.KeySplitCount, gguf.Uint16(uint16(count))},
		{gguf.KeySplitTensorsCount, gguf.Int32(int32(total))},
	}
	var tensors []gguf.TensorInfo
	for _, n := range names {
		tensors = append(tensors, gguf.TensorInfo{Name: n, Dims: []int64{4}, Type: gguf.TypeF32})
	}
	f, err := readBytes(buildFile(t, 3, kvs, tensors))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// withKV returns a copy of f with key set to v.
func withKV(f *gguf.File, key string, v gguf.Value) *gguf.File {
	g := *f
	g.KVs = append([]gguf.KV(nil), f.KVs...)
	for i := range g.KVs {
		if g.KVs[i].Key == key {
			g.KVs[i].Value = v
			return &g
		}
	}
	g.KVs = append(g.KVs, gguf.KV{Key: key, Value: v})
	return &g
}

// withoutKV returns a copy of f without key.
func withoutKV(f *gguf.File, key string) *gguf.File {
	g := *f
	g.KVs = nil
	for _, kv := range f.KVs {
		if kv.Key != key {
			g.KVs = append(g.KVs, kv)
		}
	}
	return &g
}

func TestCheckSplit(t *testing.T) {
	p0 := splitPart(t, 0, 3, 4, "a", "b")
	p1 := splitPart(t, 1, 3, 4, "c")
	p2 := splitPart(t, 2, 3, 4, "d")
	unsplit, err := readBytes(buildFile(t, 3, nil, []gguf.TensorInfo{{Name: "a", Dims: []int64{1}, Type: gguf.TypeF32}}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		parts []*gguf.File
		want  error // nil: valid
		part  int
		field string
	}{
		{name: "valid", parts: []*gguf.File{p0, p1, p2}},
		{name: "unsplit file", parts: []*gguf.File{unsplit}},
		{name: "single part of one", parts: []*gguf.File{splitPart(t, 0, 1, 1, "a")}},
		{name: "no parts", parts: nil, want: gguf.ErrSplit, part: -1},
		{name: "nil part", parts: []*gguf.File{p0, nil, p2}, want: gguf.ErrSplit, part: 1, field: "file"},
		{name: "missing part", parts: []*gguf.File{p0, p2}, want: gguf.ErrSplit, part: 0, field: `key "split.count"`},
		{name: "wrong split.no", parts: []*gguf.File{p0, p2, p1}, want: gguf.ErrSplit, part: 1, field: `key "split.no"`},
		{name: "inconsistent count", parts: []*gguf.File{p0, withKV(p1, gguf.KeySplitCount, gguf.Uint16(4)), p2},
			want: gguf.ErrSplit, part: 1, field: `key "split.count"`},
		{name: "tensor count differs between parts", parts: []*gguf.File{p0, p1, withKV(p2, gguf.KeySplitTensorsCount, gguf.Int32(5))},
			want: gguf.ErrSplit, part: 2, field: `key "split.tensors.count"`},
		{name: "tensor count mismatch", parts: []*gguf.File{splitPart(t, 0, 2, 4, "a"), splitPart(t, 1, 2, 4, "b")},
			want: gguf.ErrSplit, part: 0, field: `key "split.tensors.count"`},
		{name: "duplicate tensor across parts", parts: []*gguf.File{splitPart(t, 0, 2, 3, "a", "b"), splitPart(t, 1, 2, 3, "b")},
			want: gguf.ErrDuplicate, part: 1, field: `tensor "b"`},
		{name: "missing split.no", parts: []*gguf.File{p0, withoutKV(p1, gguf.KeySplitNo), p2},
			want: gguf.ErrNotFound, part: 1, field: `key "split.no"`},
		{name: "split.no wrong type", parts: []*gguf.File{p0, withKV(p1, gguf.KeySplitNo, gguf.Uint32(1)), p2},
			want: gguf.ErrWrongType, part: 1, field: `key "split.no"`},
		{name: "split.tensors.count wrong type", parts: []*gguf.File{withKV(p0, gguf.KeySplitTensorsCount, gguf.Uint64(4)), p1, p2},
			want: gguf.ErrWrongType, part: 0, field: `key "split.tensors.count"`},
		// A later part repeating a key with another value comes from
		// another model; repeating it with the same value is fine.
		{name: "parts of different models", parts: []*gguf.File{withKV(p0, "general.name", gguf.String("A")), withKV(p1, "general.name", gguf.String("B")), p2},
			want: gguf.ErrSplit, part: 1, field: `key "general.name"`},
		{name: "same metadata repeated", parts: []*gguf.File{withKV(p0, "qwen3moe.block_count", gguf.Uint32(94)), withKV(p1, "qwen3moe.block_count", gguf.Uint32(94)), p2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := gguf.CheckSplit(tt.parts)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckSplit = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckSplit = %v, want %v", err, tt.want)
			}
			if tt.part < 0 {
				return
			}
			var se *gguf.SplitError
			if !errors.As(err, &se) {
				t.Fatalf("CheckSplit = %T, want *SplitError", err)
			}
			if se.Part != tt.part || se.Field != tt.field {
				t.Errorf("CheckSplit: Part, Field = %d, %s, want %d, %s (%v)", se.Part, se.Field, tt.part, tt.field, err)
			}
			if want := "part " + strconv.Itoa(tt.part) + ": "; err.Error()[:len(want)] != want {
				t.Errorf("CheckSplit = %q, want it to start with %q", err, want)
			}
		})
	}
}

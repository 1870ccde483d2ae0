package gguf_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// wantTypes is the ggml type table of formats.md, typed in by hand: id, name,
// block size, bytes per block, quantized. Q8_1 is 36 bytes
// (sizeof(block_q8_1) == 2*sizeof(ggml_half)+32), not gguf-py's stale 40.
var wantTypes = []struct {
	id        gguf.Type
	name      string
	block     int64
	size      int64
	quantized bool
}{
	{0, "F32", 1, 4, false},
	{1, "F16", 1, 2, false},
	{2, "Q4_0", 32, 18, true},
	{3, "Q4_1", 32, 20, true},
	{6, "Q5_0", 32, 22, true},
	{7, "Q5_1", 32, 24, true},
	{8, "Q8_0", 32, 34, true},
	{9, "Q8_1", 32, 36, true},
	{10, "Q2_K", 256, 84, true},
	{11, "Q3_K", 256, 110, true},
	{12, "Q4_K", 256, 144, true},
	{13, "Q5_K", 256, 176, true},
	{14, "Q6_K", 256, 210, true},
	{15, "Q8_K", 256, 292, true},
	{16, "IQ2_XXS", 256, 66, true},
	{17, "IQ2_XS", 256, 74, true},
	{18, "IQ3_XXS", 256, 98, true},
	{19, "IQ1_S", 256, 50, true},
	{20, "IQ4_NL", 32, 18, true},
	{21, "IQ3_S", 256, 110, true},
	{22, "IQ2_S", 256, 82, true},
	{23, "IQ4_XS", 256, 136, true},
	{24, "I8", 1, 1, false},
	{25, "I16", 1, 2, false},
	{26, "I32", 1, 4, false},
	{27, "I64", 1, 8, false},
	{28, "F64", 1, 8, false},
	{29, "IQ1_M", 256, 56, true},
	{30, "BF16", 1, 2, false},
	{34, "TQ1_0", 256, 54, true},
	{35, "TQ2_0", 256, 66, true},
	{39, "MXFP4", 32, 17, true},
	{40, "NVFP4", 64, 36, true},
	{41, "Q1_0", 128, 18, true},
	{42, "Q2_0", 64, 18, true},
}

var removedTypes = map[gguf.Type]string{
	4: "Q4_2", 5: "Q4_3", 31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8",
	36: "IQ4_NL_4_4", 37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8",
}

func TestTypeTable(t *testing.T) {
	known := map[gguf.Type]bool{}
	for _, w := range wantTypes {
		known[w.id] = true
		t.Run(w.name, func(t *testing.T) {
			if got := w.id.String(); got != w.name {
				t.Errorf("Type(%d).String() = %q, want %q", w.id, got, w.name)
			}
			if !w.id.Known() || w.id.Removed() {
				t.Errorf("Type(%d): Known, Removed = %v, %v, want true, false", w.id, w.id.Known(), w.id.Removed())
			}
			if got := w.id.BlockSize(); got != w.block {
				t.Errorf("%v.BlockSize() = %d, want %d", w.id, got, w.block)
			}
			if got := w.id.TypeSize(); got != w.size {
				t.Errorf("%v.TypeSize() = %d, want %d", w.id, got, w.size)
			}
			if got := w.id.Quantized(); got != w.quantized {
				t.Errorf("%v.Quantized() = %v, want %v", w.id, got, w.quantized)
			}
			for _, name := range []string{w.name, strings.ToLower(w.name)} {
				if got, ok := gguf.ParseType(name); !ok || got != w.id {
					t.Errorf("ParseType(%q) = %v, %v, want %v, true", name, got, ok, w.id)
				}
			}
		})
	}
	for id := gguf.Type(0); id < 64; id++ {
		if known[id] {
			continue
		}
		name, removed := removedTypes[id]
		want := "Type(" + strconv.Itoa(int(id)) + ")"
		if removed {
			want = name + "(removed)"
		}
		if got := id.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", id, got, want)
		}
		if id.Known() || id.Removed() != removed || id.BlockSize() != 0 || id.TypeSize() != 0 || id.Quantized() {
			t.Errorf("Type(%d): Known %v, Removed %v, BlockSize %d, TypeSize %d, Quantized %v; want false, %v, 0, 0, false",
				id, id.Known(), id.Removed(), id.BlockSize(), id.TypeSize(), id.Quantized(), removed)
		}
		if _, err := id.RowSize(0); !errors.Is(err, gguf.ErrUnknownType) {
			t.Errorf("Type(%d).RowSize(0) = %v, want ErrUnknownType", id, err)
		}
		if got, ok := gguf.ParseType(want); !ok || got != id {
			t.Errorf("ParseType(%q) = %v, %v, want %d, true", want, got, ok, id)
		}
		if removed {
			if got, ok := gguf.ParseType(strings.ToLower(name)); !ok || got != id {
				t.Errorf("ParseType(%q) = %v, %v, want %d, true", name, got, ok, id)
			}
		}
	}
	for _, name := range []string{"", "Q4", "Q4_K(removed)", "Type(x)", "Type(-1)", "Type(99999999999)", "F32 "} {
		if got, ok := gguf.ParseType(name); ok {
			t.Errorf("ParseType(%q) = %v, true, want false", name, got)
		}
	}
}

func TestTypeBytes(t *testing.T) {
	tests := []struct {
		name string
		typ  gguf.Type
		dims []int64
		want int64
		err  error
	}{
		{name: "f32 matrix", typ: gguf.TypeF32, dims: []int64{3, 5}, want: 60},
		{name: "q4_k expert stack", typ: gguf.TypeQ4_K, dims: []int64{4096, 1536, 128}, want: 4096 / 256 * 144 * 1536 * 128},
		{name: "q6_k output", typ: gguf.TypeQ6_K, dims: []int64{4096, 151936}, want: 16 * 210 * 151936},
		{name: "no dims is one element", typ: gguf.TypeF16, dims: nil, want: 2},
		{name: "no dims quantized", typ: gguf.TypeQ8_0, dims: nil, err: gguf.ErrInvalid},
		{name: "zero dim", typ: gguf.TypeF32, dims: []int64{4, 0, 1 << 62}, want: 0},
		{name: "zero ne0", typ: gguf.TypeQ4_K, dims: []int64{0, 1 << 62, 1 << 62}, want: 0},
		{name: "row not multiple", typ: gguf.TypeQ4_K, dims: []int64{100}, err: gguf.ErrInvalid},
		{name: "negative", typ: gguf.TypeF32, dims: []int64{4, -1}, err: gguf.ErrInvalid},
		{name: "negative ne0", typ: gguf.TypeF32, dims: []int64{-4}, err: gguf.ErrInvalid},
		{name: "element overflow", typ: gguf.TypeI8, dims: []int64{1 << 32, 1 << 32}, err: gguf.ErrOverflow},
		{name: "byte overflow", typ: gguf.TypeF64, dims: []int64{1 << 61}, err: gguf.ErrOverflow},
		{name: "unknown", typ: 99, dims: []int64{1}, err: gguf.ErrUnknownType},
		{name: "removed", typ: 31, dims: []int64{32}, err: gguf.ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.typ.Bytes(tt.dims)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("%v.Bytes(%v) = %d, %v, want %d, %v", tt.typ, tt.dims, got, err, tt.want, tt.err)
			}
		})
	}
	if got, err := gguf.TypeQ4_0.RowSize(64); got != 36 || err != nil {
		t.Errorf("Q4_0.RowSize(64) = %d, %v, want 36, nil", got, err)
	}
}

func TestValueTypeString(t *testing.T) {
	want := []string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64", "ValueType(13)"}
	for i, w := range want {
		if got := gguf.ValueType(i).String(); got != w {
			t.Errorf("ValueType(%d).String() = %q, want %q", i, got, w)
		}
	}
}

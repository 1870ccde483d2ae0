package gguf_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/gguf"
)

// everyValueKVs holds one key of every value type, including nested arrays.
func everyValueKVs() []gguf.KV {
	return []gguf.KV{
		{"general.architecture", gguf.String("qwen3moe")},
		{"general.alignment", gguf.Uint32(64)},
		{"t.u8", gguf.Uint8(250)},
		{"t.i8", gguf.Int8(-7)},
		{"t.u16", gguf.Uint16(65535)},
		{"t.i16", gguf.Int16(-32768)},
		{"t.u32", gguf.Uint32(4_000_000_000)},
		{"t.i32", gguf.Int32(-2_000_000_000)},
		{"t.f32", gguf.Float32(1.5)},
		{"t.bool", gguf.Bool(true)},
		{"t.string", gguf.String("héllo\x00\xff")}, // string values keep any bytes
		{"t.u64", gguf.Uint64(math.MaxUint64)},
		{"t.i64", gguf.Int64(math.MinInt64)},
		{"t.f64", gguf.Float64(math.Inf(-1))},
		{"t.nan", gguf.Float32(float32(math.NaN()))},
		{"t.empty_string", gguf.String("")},
		{"t.arr.u8", gguf.Array(gguf.ValueUint8, gguf.Uint8(1), gguf.Uint8(2))},
		{"t.arr.i8", gguf.Array(gguf.ValueInt8, gguf.Int8(-1))},
		{"t.arr.u16", gguf.Array(gguf.ValueUint16, gguf.Uint16(3))},
		{"t.arr.i16", gguf.Array(gguf.ValueInt16, gguf.Int16(-3))},
		{"t.arr.u32", gguf.Array(gguf.ValueUint32, gguf.Uint32(5), gguf.Uint32(6))},
		{"t.arr.i32", gguf.Int32Array([]int32{-1, 0, 1})},
		{"t.arr.f32", gguf.Float32Array([]float32{0.5, -2})},
		{"t.arr.bool", gguf.Array(gguf.ValueBool, gguf.Bool(false), gguf.Bool(true))},
		{"t.arr.string", gguf.StringArray([]string{"a", "", "ccc"})},
		{"t.arr.u64", gguf.Array(gguf.ValueUint64, gguf.Uint64(1<<40))},
		{"t.arr.i64", gguf.Array(gguf.ValueInt64, gguf.Int64(-1<<40))},
		{"t.arr.f64", gguf.Array(gguf.ValueFloat64, gguf.Float64(math.Pi))},
		{"t.arr.empty", gguf.Array(gguf.ValueFloat32)},
		{"t.arr.nested", gguf.Array(gguf.ValueArray,
			gguf.Array(gguf.ValueUint8, gguf.Uint8(9)),
			gguf.StringArray([]string{"x", "y"}),
			gguf.Array(gguf.ValueArray, gguf.Array(gguf.ValueInt64, gguf.Int64(-5))),
			gguf.Array(gguf.ValueArray),
		)},
	}
}

// sampleTensors covers unquantized and quantized types, a scalar and a
// zero-size tensor.
func sampleTensors() []gguf.TensorInfo {
	return []gguf.TensorInfo{
		{Name: "token_embd.weight", Dims: []int64{256, 3}, Type: gguf.TypeQ4_K},
		{Name: "blk.0.attn_norm.weight", Dims: []int64{5}, Type: gguf.TypeF32},
		{Name: "blk.0.ffn_gate_exps.weight", Dims: []int64{64, 2, 2, 1}, Type: gguf.TypeQ8_0},
		{Name: "scalar", Dims: []int64{}, Type: gguf.TypeF16},
		{Name: "empty", Dims: []int64{0, 7}, Type: gguf.TypeBF16},
		{Name: "output.weight", Dims: []int64{32, 1}, Type: gguf.TypeMXFP4},
	}
}

var ignoreUnexported = cmpopts.IgnoreUnexported(gguf.File{})

func TestReadRoundTrip(t *testing.T) {
	for _, version := range []uint32{2, 3} {
		t.Run("v"+string(rune('0'+version)), func(t *testing.T) {
			kvs := everyValueKVs()
			tensors := sampleTensors()
			b := buildFile(t, version, kvs, tensors)
			got, err := readBytes(b)
			if err != nil {
				t.Fatalf("Read = %v, want nil", err)
			}
			h, _, _ := gguf.EncodeHeader(version, kvs, sampleTensors())
			want := &gguf.File{
				Version:    version,
				Size:       int64(len(b)),
				KVs:        kvs,
				Tensors:    tensors, // Offset and Size assigned by EncodeHeader
				Alignment:  64,
				DataOffset: int64(len(h)),
			}
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("Read(EncodeHeader(...)) mismatch (-want +got):\n%s", diff)
			}
			wantOffsets := []int64{0, 448, 512, 832, 896, 896}
			wantSizes := []int64{432, 20, 272, 2, 0, 17}
			for i, ti := range got.Tensors {
				if ti.Offset != wantOffsets[i] || ti.Size != wantSizes[i] {
					t.Errorf("tensor %q: offset, size = %d, %d, want %d, %d", ti.Name, ti.Offset, ti.Size, wantOffsets[i], wantSizes[i])
				}
			}
			if got.DataOffset%64 != 0 {
				t.Errorf("DataOffset = %d, not a multiple of 64", got.DataOffset)
			}
			if err := got.CheckContiguous(); err != nil {
				t.Errorf("CheckContiguous() = %v, want nil", err)
			}
			// Tensor bytes come back from the data section.
			for _, ti := range got.Tensors {
				sr, err := got.TensorReader(bytes.NewReader(b), ti.Name)
				if err != nil {
					t.Fatalf("TensorReader(%q) = %v", ti.Name, err)
				}
				data, err := io.ReadAll(sr)
				if err != nil {
					t.Fatal(err)
				}
				start := got.DataOffset + ti.Offset
				if !bytes.Equal(data, b[start:start+ti.Size]) {
					t.Errorf("TensorReader(%q) returned the wrong bytes", ti.Name)
				}
			}
		})
	}
}

func TestReadDefaultAlignmentAndNoTensors(t *testing.T) {
	tests := []struct {
		name    string
		kvs     []gguf.KV
		tensors []gguf.TensorInfo
		want    int64 // DataOffset
	}{
		{name: "empty", want: 32},
		{name: "one kv", kvs: []gguf.KV{{"a", gguf.Uint8(1)}}, want: 64},
		{name: "tensor", tensors: []gguf.TensorInfo{{Name: "t", Dims: []int64{3}, Type: gguf.TypeI8}}, want: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := buildFile(t, 3, tt.kvs, tt.tensors)
			f, err := readBytes(b)
			if err != nil {
				t.Fatalf("Read = %v", err)
			}
			if f.Alignment != 32 || f.DataOffset != tt.want {
				t.Errorf("Alignment, DataOffset = %d, %d, want 32, %d", f.Alignment, f.DataOffset, tt.want)
			}
		})
	}
}

// TestReadNDims0 checks that n_dims 0 (a scalar), which ggml reads though it
// never writes it, is accepted.
func TestReadNDims0(t *testing.T) {
	w := new(raw).header(3, 1, 0).tensor("s", nil, gguf.TypeF32, 0).pad(32).zeros(4)
	f, err := readBytes(w.b)
	if err != nil {
		t.Fatalf("Read = %v, want nil", err)
	}
	if got := f.Tensors[0]; len(got.Dims) != 0 || got.Size != 4 || got.Elements() != 1 {
		t.Errorf("tensor = %+v (elements %d), want no dims, size 4, 1 element", got, got.Elements())
	}
}

// TestReadGapsAndOrder checks that tensors need not be contiguous or in file
// order, only aligned, in bounds and disjoint.
func TestReadGapsAndOrder(t *testing.T) {
	w := new(raw).header(3, 3, 0).
		tensor("b", []uint64{8}, gguf.TypeF32, 96).
		tensor("a", []uint64{8}, gguf.TypeF32, 0).
		tensor("c", []uint64{0}, gguf.TypeF32, 32). // empty: overlaps nothing
		pad(32)
	w.zeros(128)
	f, err := readBytes(w.b)
	if err != nil {
		t.Fatalf("Read = %v, want nil", err)
	}
	if err := f.CheckContiguous(); !errors.Is(err, gguf.ErrInvalid) || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("CheckContiguous() = %v, want ErrInvalid naming tensor \"b\"", err)
	}
}

type malformedCase struct {
	name  string
	build func(w *raw) (at int64) // writes the file, returns the offset the error must name
	opts  []gguf.Option
	want  error
	field string
	msg   string // a substring of the message, if set
}

// malformedCases are the hostile inputs; FuzzRead seeds from them too.
func malformedCases() []malformedCase {
	return []malformedCase{
		{name: "empty file", build: func(w *raw) int64 { return 0 }, want: gguf.ErrTruncated, field: "header"},
		{name: "bad magic", build: func(w *raw) int64 { w.bytes("GGUX").u32(3).u64(0).u64(0); return 0 },
			want: gguf.ErrNotGGUF, field: "header"},
		{name: "GGJT magic", build: func(w *raw) int64 { w.bytes("tjgg").u32(3).zeros(64); return 0 },
			want: gguf.ErrNotGGUF, field: "header", msg: "GGJT"},
		{name: "GGML magic", build: func(w *raw) int64 { w.bytes("lmgg").zeros(64); return 0 },
			want: gguf.ErrNotGGUF, field: "header", msg: "GGML"},
		{name: "byte-swapped magic", build: func(w *raw) int64 { w.bytes("FUGG").zeros(64); return 0 },
			want: gguf.ErrByteOrder, field: "header"},
		{name: "version 1", build: func(w *raw) int64 { w.header(1, 0, 0); return 4 },
			want: gguf.ErrUnsupportedVersion, field: "header", msg: "version 1"},
		{name: "version 0", build: func(w *raw) int64 { w.header(0, 0, 0); return 4 },
			want: gguf.ErrUnsupportedVersion, field: "header"},
		{name: "version 4", build: func(w *raw) int64 { w.header(4, 0, 0); return 4 },
			want: gguf.ErrUnsupportedVersion, field: "header", msg: "version 4"},
		{name: "big-endian version", build: func(w *raw) int64 { w.header(0x03000000, 0, 0); return 4 },
			want: gguf.ErrByteOrder, field: "header", msg: "big-endian"},
		{name: "truncated version", build: func(w *raw) int64 { w.bytes("GGUF").u8(3); return 4 },
			want: gguf.ErrTruncated, field: "header"},
		{name: "tensor count 2^62", build: func(w *raw) int64 { w.header(3, 1<<62, 0).zeros(100); return 8 },
			want: gguf.ErrTruncated, field: "header", msg: "tensor count"},
		{name: "kv count huge", build: func(w *raw) int64 { w.header(3, 0, math.MaxUint64).zeros(100); return 16 },
			want: gguf.ErrTruncated, field: "header", msg: "kv count"},
		{name: "kv count over limit", opts: []gguf.Option{gguf.WithMaxKVs(2)},
			build: func(w *raw) int64 { w.header(3, 0, 3).zeros(100); return 16 },
			want:  gguf.ErrLimit, field: "header"},
		{name: "tensor count over limit", opts: []gguf.Option{gguf.WithMaxTensors(2)},
			build: func(w *raw) int64 { w.header(3, 3, 0).zeros(100); return 8 },
			want:  gguf.ErrLimit, field: "header"},
		{name: "truncated kv", build: func(w *raw) int64 {
			w.header(3, 0, 2).kvU32("a", 1)
			at := w.off()
			w.u64(100).bytes(strings.Repeat("b", 20)) // key length past the end
			return at
		}, want: gguf.ErrTruncated, field: "kv #1"},
		{name: "string length 2^60", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueString))
			at := w.off()
			w.u64(1 << 60).bytes("abc")
			return at
		}, want: gguf.ErrTruncated, field: `key "k"`, msg: "length 1152921504606846976"},
		{name: "string over limit", opts: []gguf.Option{gguf.WithMaxStringLen(3)}, build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueString))
			at := w.off()
			w.str("abcd")
			return at
		}, want: gguf.ErrLimit, field: `key "k"`},
		{name: "key length huge", build: func(w *raw) int64 {
			w.header(3, 0, 1)
			at := w.off()
			w.u64(math.MaxUint64).zeros(20)
			return at
		}, want: gguf.ErrTruncated, field: "kv #0"},
		{name: "key too long", build: func(w *raw) int64 {
			w.header(3, 0, 1)
			at := w.off()
			w.str(strings.Repeat("k", 1<<16)).u32(uint32(gguf.ValueUint8)).u8(0)
			return at
		}, want: gguf.ErrLimit, field: "kv #0"},
		{name: "array count 2^62", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueUint8))
			at := w.off()
			w.u64(1 << 62).zeros(16)
			return at
		}, want: gguf.ErrTruncated, field: `key "k"`},
		{name: "string array count huge", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueString))
			at := w.off()
			w.u64(5).zeros(32) // 5 strings need 40 bytes
			return at
		}, want: gguf.ErrTruncated, field: `key "k"`},
		{name: "array over limit", opts: []gguf.Option{gguf.WithMaxArrayLen(2)}, build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueUint8))
			at := w.off()
			w.u64(3).zeros(3)
			return at
		}, want: gguf.ErrLimit, field: `key "k"`},
		{name: "string element over limit", opts: []gguf.Option{gguf.WithMaxStringLen(2)}, build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueString)).u64(2).str("ab")
			at := w.off()
			w.str("abc")
			return at
		}, want: gguf.ErrLimit, field: `key "k"`, msg: "element 1"},
		{name: "string element truncated", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueString)).u64(2).str("ab")
			at := w.off()
			w.u64(100).bytes("abcdefgh")
			return at
		}, want: gguf.ErrTruncated, field: `key "k"`, msg: "element 1"},
		{name: "nested array depth bomb", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray))
			var at int64
			for depth := 1; depth <= 100; depth++ {
				if depth == 4 {
					at = w.off()
				}
				w.u32(uint32(gguf.ValueArray)).u64(1)
			}
			return at
		}, want: gguf.ErrLimit, field: `key "k"`, msg: "nested"},
		{name: "nested depth over option", opts: []gguf.Option{gguf.WithMaxArrayDepth(1)}, build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray))
			at := w.off()
			w.u32(uint32(gguf.ValueArray)).u64(1).u32(uint32(gguf.ValueUint8)).u64(0)
			return at
		}, want: gguf.ErrLimit, field: `key "k"`},
		{name: "unknown value type", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k")
			at := w.off()
			w.u32(13).u64(0)
			return at
		}, want: gguf.ErrUnknownType, field: `key "k"`},
		{name: "unknown array element type", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray))
			at := w.off()
			w.u32(0xFFFFFFFF).u64(0)
			return at
		}, want: gguf.ErrUnknownType, field: `key "k"`},
		{name: "bool 2", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueBool))
			at := w.off()
			w.u8(2)
			return at
		}, want: gguf.ErrInvalid, field: `key "k"`},
		{name: "bool array element 2", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("k").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueBool)).u64(3).u8(1)
			at := w.off()
			w.u8(7).u8(0)
			return at
		}, want: gguf.ErrInvalid, field: `key "k"`, msg: "element 1"},
		{name: "duplicate key", build: func(w *raw) int64 {
			w.header(3, 0, 2).kvU32("a", 1)
			at := w.off()
			w.kvU32("a", 2)
			return at
		}, want: gguf.ErrDuplicate, field: `key "a"`},
		{name: "empty key", build: func(w *raw) int64 {
			w.header(3, 0, 2).kvU32("a", 1)
			at := w.off()
			w.kvU32("", 2)
			return at
		}, want: gguf.ErrInvalid, field: "kv #1"},
		{name: "key not UTF-8", build: func(w *raw) int64 {
			w.header(3, 0, 1)
			at := w.off()
			w.kvU32("a\xff", 2)
			return at
		}, want: gguf.ErrInvalid, field: `key "a\xff"`},
		{name: "alignment 0", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("general.alignment")
			at := w.off()
			w.u32(uint32(gguf.ValueUint32)).u32(0)
			return at
		}, want: gguf.ErrAlignment, field: `key "general.alignment"`},
		{name: "alignment 24", build: func(w *raw) int64 {
			w.header(3, 0, 2).kvU32("a", 1).str("general.alignment")
			at := w.off()
			w.u32(uint32(gguf.ValueUint32)).u32(24)
			w.kvU32("b", 1)
			return at
		}, want: gguf.ErrAlignment, field: `key "general.alignment"`, msg: "24"},
		{name: "alignment not u32", build: func(w *raw) int64 {
			w.header(3, 0, 1).str("general.alignment")
			at := w.off()
			w.u32(uint32(gguf.ValueUint64)).u64(32)
			return at
		}, want: gguf.ErrAlignment, field: `key "general.alignment"`, msg: "u64"},
		{name: "unknown ggml type", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("t").u32(1).u64(4)
			at := w.off()
			w.u32(99).u64(0).pad(32).zeros(64)
			return at
		}, want: gguf.ErrUnknownType, field: `tensor "t"`, msg: "99"},
		{name: "removed ggml type", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("t").u32(1).u64(32)
			at := w.off()
			w.u32(4).u64(0).pad(32).zeros(64)
			return at
		}, want: gguf.ErrUnknownType, field: `tensor "t"`, msg: "Q4_2"},
		{name: "n_dims 5", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("t")
			at := w.off()
			w.u32(5).u64(1).u64(1).u64(1).u64(1).u64(1).u32(0).u64(0).pad(32).zeros(64)
			return at
		}, want: gguf.ErrInvalid, field: `tensor "t"`, msg: "n_dims"},
		{name: "ne negative", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("t").u32(2).u64(4)
			at := w.off()
			w.u64(1 << 63).u32(0).u64(0).pad(32).zeros(64)
			return at
		}, want: gguf.ErrInvalid, field: `tensor "t"`, msg: "ne[1]"},
		{name: "element product overflow", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("t")
			at := w.off()
			w.u32(2).u64(1 << 32).u64(1 << 32).u32(uint32(gguf.TypeI8)).u64(0).pad(32).zeros(64)
			return at
		}, want: gguf.ErrOverflow, field: `tensor "t"`},
		{name: "byte size overflow", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("t")
			at := w.off()
			w.u32(1).u64(1 << 62).u32(uint32(gguf.TypeF32)).u64(0).pad(32).zeros(64)
			return at
		}, want: gguf.ErrOverflow, field: `tensor "t"`},
		{name: "row not a multiple of the block size", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("t")
			at := w.off()
			w.u32(2).u64(100).u64(2).u32(uint32(gguf.TypeQ4_K)).u64(0).pad(32).zeros(1024)
			return at
		}, want: gguf.ErrInvalid, field: `tensor "t"`, msg: "block size 256"},
		{name: "misaligned offset", build: func(w *raw) int64 {
			w.header(3, 1, 0).tensor("t", []uint64{4}, gguf.TypeF32, 0)
			at := w.off() - 8
			w.b = w.b[:at]
			w.u64(16).pad(32).zeros(64)
			return at
		}, want: gguf.ErrAlignment, field: `tensor "t"`},
		{name: "tensor past EOF", build: func(w *raw) int64 {
			w.header(3, 2, 0).tensor("a", []uint64{8}, gguf.TypeF32, 0).tensor("b", []uint64{8}, gguf.TypeF32, 32)
			at := w.off() - 8
			w.pad(32).zeros(63)
			return at
		}, want: gguf.ErrBounds, field: `tensor "b"`},
		{name: "offset 2^63", build: func(w *raw) int64 {
			w.header(3, 1, 0).tensor("t", []uint64{4}, gguf.TypeF32, 1<<63)
			at := w.off() - 8
			w.pad(32).zeros(64)
			return at
		}, want: gguf.ErrBounds, field: `tensor "t"`},
		{name: "offset plus size overflow", build: func(w *raw) int64 {
			w.header(3, 1, 0).tensor("t", []uint64{1 << 40}, gguf.TypeF32, math.MaxInt64-31)
			at := w.off() - 8
			w.pad(32).zeros(64)
			return at
		}, want: gguf.ErrOverflow, field: `tensor "t"`},
		{name: "overlapping tensors", build: func(w *raw) int64 {
			w.header(3, 2, 0).tensor("a", []uint64{16}, gguf.TypeF32, 0).tensor("b", []uint64{8}, gguf.TypeF32, 32)
			at := w.off() - 8
			w.pad(32).zeros(128)
			return at
		}, want: gguf.ErrOverlap, field: `tensor "b"`, msg: `tensor "a"`},
		{name: "overlapping tensors out of order", build: func(w *raw) int64 {
			w.header(3, 3, 0).tensor("c", []uint64{8}, gguf.TypeF32, 128).tensor("b", []uint64{8}, gguf.TypeF32, 32)
			at := w.off() - 8
			w.tensor("a", []uint64{16}, gguf.TypeF32, 0).pad(32).zeros(256)
			return at
		}, want: gguf.ErrOverlap, field: `tensor "b"`, msg: `tensor "a"`},
		{name: "duplicate tensor name", build: func(w *raw) int64 {
			w.header(3, 2, 0).tensor("a", []uint64{8}, gguf.TypeF32, 0)
			at := w.off()
			w.tensor("a", []uint64{8}, gguf.TypeF32, 32).pad(32).zeros(64)
			return at
		}, want: gguf.ErrDuplicate, field: `tensor "a"`},
		{name: "empty tensor name", build: func(w *raw) int64 {
			w.header(3, 1, 0)
			at := w.off()
			w.tensor("", []uint64{8}, gguf.TypeF32, 0).pad(32).zeros(64)
			return at
		}, want: gguf.ErrInvalid, field: "tensor #0"},
		{name: "truncated tensor info", build: func(w *raw) int64 {
			w.header(3, 1, 0).str("tensor_name").u32(2).u64(8)
			at := w.off()
			w.zeros(2)
			return at
		}, want: gguf.ErrTruncated, field: `tensor "tensor_name"`},
	}
}

func TestReadMalformed(t *testing.T) {
	for _, tt := range malformedCases() {
		t.Run(tt.name, func(t *testing.T) {
			w := new(raw)
			at := tt.build(w)
			_, err := readBytes(w.b, tt.opts...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read = %v, want %v", err, tt.want)
			}
			var fe *gguf.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Read = %T, want *FormatError", err)
			}
			if fe.Offset != at || fe.Field != tt.field {
				t.Errorf("Read: Offset, Field = %d, %s, want %d, %s (%v)", fe.Offset, fe.Field, at, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Read = %q, want it to mention %q", err, tt.msg)
			}
			if err := checkFormatError(err, int64(len(w.b))); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReadTruncatedEverywhere cuts a valid file at every length: a cut in the
// header is ErrTruncated, a cut in the padding or data is ErrBounds.
func TestReadTruncatedEverywhere(t *testing.T) {
	b := buildFile(t, 3, everyValueKVs(), sampleTensors())
	full, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	// With alignment 1 the header has the same fields and no padding.
	kvs := everyValueKVs()
	kvs[1].Value = gguf.Uint32(1)
	unpadded, _, err := gguf.EncodeHeader(3, kvs, sampleTensors())
	if err != nil {
		t.Fatal(err)
	}
	infoEnd := int64(len(unpadded))
	lastEnd := int64(0)
	for _, ti := range full.Tensors {
		lastEnd = max(lastEnd, full.DataOffset+ti.Offset+ti.Size)
	}
	for n := range int64(len(b)) {
		want := gguf.ErrTruncated
		if n >= infoEnd {
			want = gguf.ErrBounds
		}
		_, err := readBytes(b[:n])
		if n >= lastEnd {
			if err != nil {
				t.Errorf("Read(b[:%d]) = %v, want nil (all tensors end by %d)", n, err, lastEnd)
			}
			continue
		}
		if !errors.Is(err, want) {
			t.Errorf("Read(b[:%d]) = %v, want %v", n, err, want)
			continue
		}
		if err := checkFormatError(err, n); err != nil {
			t.Errorf("Read(b[:%d]): %v", n, err)
		}
	}
}

// TestReadShortReader checks a reader that delivers fewer bytes than the
// declared size.
func TestReadShortReader(t *testing.T) {
	b := buildFile(t, 3, everyValueKVs(), sampleTensors())
	for _, n := range []int{0, 3, 30, 200, 500} {
		_, err := gguf.Read(shortReader{b, n}, int64(len(b)))
		if !errors.Is(err, gguf.ErrTruncated) {
			t.Errorf("Read(reader ending at %d) = %v, want ErrTruncated", n, err)
		}
	}
	ioErr := errors.New("disk on fire")
	_, err := gguf.Read(errReader{ioErr}, 100)
	var fe *gguf.FormatError
	if !errors.Is(err, ioErr) || !errors.As(err, &fe) || fe.Offset != 0 {
		t.Errorf("Read(failing reader) = %v, want a *FormatError at 0 wrapping %v", err, ioErr)
	}
}

func TestReadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  gguf.Option
	}{
		{"WithMaxStringLen(0)", gguf.WithMaxStringLen(0)},
		{"WithMaxArrayLen(-1)", gguf.WithMaxArrayLen(-1)},
		{"WithMaxArrayDepth(0)", gguf.WithMaxArrayDepth(0)},
		{"WithMaxArrayDepth(65)", gguf.WithMaxArrayDepth(65)},
		{"WithMaxTensors(0)", gguf.WithMaxTensors(0)},
		{"WithMaxKVs(0)", gguf.WithMaxKVs(0)},
	}
	b := buildFile(t, 3, nil, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readBytes(b, tt.opt); err == nil {
				t.Errorf("Read(%s) = nil, want an error", tt.name)
			}
		})
	}
	if _, err := gguf.Read(bytes.NewReader(b), -1); err == nil {
		t.Error("Read(size -1) = nil, want an error")
	}
}

// TestReadLongStrings exercises string arrays whose elements straddle or
// exceed the read buffer.
func TestReadLongStrings(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	var s []string
	for i := range 300 {
		s = append(s, strings.Repeat("y", i*37%1000), long[:i*997%len(long)])
	}
	s = append(s, long)
	kvs := []gguf.KV{
		{"a", gguf.StringArray(s)},
		{"b", gguf.String(long)},
	}
	f, err := readBytes(buildFile(t, 3, kvs, nil))
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	got, err := f.GetStrings("a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("GetStrings(a) mismatch (-want +got):\n%s", diff)
	}
	if v, _ := f.GetString("b"); v != long {
		t.Errorf("GetString(b) has %d bytes, want %d", len(v), len(long))
	}
}

func TestGetters(t *testing.T) {
	f, err := readBytes(buildFile(t, 3, everyValueKVs(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Architecture(); got != "qwen3moe" {
		t.Errorf("Architecture() = %q, want qwen3moe", got)
	}
	if got, err := f.GetUint("t.u16"); err != nil || got != 65535 {
		t.Errorf("GetUint(t.u16) = %d, %v, want 65535, nil", got, err)
	}
	if got, err := f.GetFloat("t.f32"); err != nil || got != 1.5 {
		t.Errorf("GetFloat(t.f32) = %v, %v, want 1.5, nil", got, err)
	}
	if got, err := f.GetFloat("t.i8"); err != nil || got != -7 {
		t.Errorf("GetFloat(t.i8) = %v, %v, want -7, nil", got, err)
	}
	if got, err := f.GetStrings("t.arr.string"); err != nil || !cmp.Equal(got, []string{"a", "", "ccc"}) {
		t.Errorf("GetStrings(t.arr.string) = %q, %v", got, err)
	}
	errTests := []struct {
		name string
		call func() error
		want error
	}{
		{"GetString missing", func() error { _, err := f.GetString("nope"); return err }, gguf.ErrNotFound},
		{"GetString u8", func() error { _, err := f.GetString("t.u8"); return err }, gguf.ErrWrongType},
		{"GetUint negative", func() error { _, err := f.GetUint("t.i8"); return err }, gguf.ErrWrongType},
		{"GetUint missing", func() error { _, err := f.GetUint("nope"); return err }, gguf.ErrNotFound},
		{"GetFloat string", func() error { _, err := f.GetFloat("t.string"); return err }, gguf.ErrWrongType},
		{"GetStrings u8 array", func() error { _, err := f.GetStrings("t.arr.u8"); return err }, gguf.ErrWrongType},
		{"GetStrings string", func() error { _, err := f.GetStrings("t.string"); return err }, gguf.ErrWrongType},
		{"TensorReader missing", func() error { _, err := f.TensorReader(bytes.NewReader(nil), "nope"); return err }, gguf.ErrNotFound},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("%s = %v, want %v", tt.name, err, tt.want)
			}
			if !strings.Contains(err.Error(), `"`) {
				t.Errorf("%s = %q, want it to name the key", tt.name, err)
			}
		})
	}
}

// TestHandBuiltFile checks Get, Lookup and TensorReader on a File built or
// changed by hand, without Read's indexes.
func TestHandBuiltFile(t *testing.T) {
	f := &gguf.File{
		Size:       100,
		DataOffset: 32,
		Alignment:  32,
		KVs:        []gguf.KV{{"a", gguf.Uint8(1)}},
		Tensors:    []gguf.TensorInfo{{Name: "t", Dims: []int64{8}, Type: gguf.TypeF32, Size: 32}, {Name: "u", Offset: 64, Size: 32}},
	}
	if v, ok := f.Get("a"); !ok || !v.Equal(gguf.Uint8(1)) {
		t.Errorf("Get(a) = %v, %v", v, ok)
	}
	if ti, ok := f.Lookup("t"); !ok || ti.Name != "t" {
		t.Errorf("Lookup(t) = %v, %v", ti, ok)
	}
	if _, err := f.TensorReader(bytes.NewReader(make([]byte, 100)), "t"); err != nil {
		t.Errorf("TensorReader(t) = %v", err)
	}
	if _, err := f.TensorReader(bytes.NewReader(make([]byte, 100)), "u"); !errors.Is(err, gguf.ErrBounds) {
		t.Errorf("TensorReader(u) = %v, want ErrBounds", err)
	}
	// Read's index must not go stale when the caller reorders tensors.
	g, err := readBytes(buildFile(t, 3, nil, sampleTensors()))
	if err != nil {
		t.Fatal(err)
	}
	g.Tensors[0], g.Tensors[1] = g.Tensors[1], g.Tensors[0]
	if ti, ok := g.Lookup("token_embd.weight"); !ok || ti.Name != "token_embd.weight" {
		t.Errorf("Lookup after reordering = %v, %v", ti, ok)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, buildFile(t, 3, everyValueKVs(), sampleTensors()), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	if len(f.Tensors) != len(sampleTensors()) {
		t.Errorf("Open: %d tensors, want %d", len(f.Tensors), len(sampleTensors()))
	}
	if _, err := gguf.Open(filepath.Join(dir, "missing.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.gguf")
	if err := os.WriteFile(bad, []byte("GGUX"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := gguf.Open(bad); !errors.Is(err, gguf.ErrNotGGUF) || !strings.Contains(err.Error(), "bad.gguf") {
		t.Errorf("Open(bad) = %v, want ErrNotGGUF naming the file", err)
	}
}

// TestReadBufferSizes reads the same file through read buffers of many sizes,
// which moves every field across buffer boundaries, and arrays larger than
// what Read allocates before reading.
func TestReadBufferSizes(t *testing.T) {
	many := make([]string, 1<<20+3)
	for i := range many {
		many[i] = strings.Repeat("m", i%5)
	}
	ints := make([]int32, 300_000)
	for i := range ints {
		ints[i] = int32(i * 7)
	}
	kvs := append(everyValueKVs(),
		gguf.KV{Key: "long", Value: gguf.StringArray([]string{"a", strings.Repeat("L", 5000), "b", strings.Repeat("M", 70000), "c"})},
		gguf.KV{Key: "many", Value: gguf.StringArray(many)},
		gguf.KV{Key: "ints", Value: gguf.Int32Array(ints)},
	)
	b := buildFile(t, 3, kvs, sampleTensors())
	want, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{16, 17, 100, 4099}
	if testing.Short() {
		sizes = sizes[2:]
	}
	for _, n := range sizes {
		got, err := readBytes(b, gguf.WithBufferSize(n))
		if err != nil {
			t.Fatalf("Read(WithBufferSize(%d)) = %v", n, err)
		}
		if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
			t.Errorf("Read(WithBufferSize(%d)) mismatch (-default +got):\n%s", n, diff)
		}
	}
	if _, err := readBytes(b, gguf.WithBufferSize(15)); err == nil {
		t.Error("Read(WithBufferSize(15)) = nil, want an error")
	}
}

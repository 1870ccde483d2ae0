package gguf_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// TestEncodeHeaderBytes checks the encoding field by field against the raw
// test writer.
func TestEncodeHeaderBytes(t *testing.T) {
	kvs := []gguf.KV{
		{"a", gguf.Uint8(1)},
		{"s", gguf.StringArray([]string{"xy"})},
		{"n", gguf.Array(gguf.ValueArray, gguf.Array(gguf.ValueInt16, gguf.Int16(-2)))},
	}
	tensors := []gguf.TensorInfo{
		{Name: "t", Dims: []int64{2}, Type: gguf.TypeF32},
		{Name: "u", Dims: []int64{32, 2}, Type: gguf.TypeQ8_0},
	}
	got, dataSize, err := gguf.EncodeHeader(2, kvs, tensors)
	if err != nil {
		t.Fatal(err)
	}
	w := new(raw).header(2, 2, 3)
	w.str("a").u32(uint32(gguf.ValueUint8)).u8(1)
	w.str("s").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueString)).u64(1).str("xy")
	w.str("n").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueArray)).u64(1).u32(uint32(gguf.ValueInt16)).u64(1).u8(0xFE).u8(0xFF)
	w.tensor("t", []uint64{2}, gguf.TypeF32, 0)
	w.tensor("u", []uint64{32, 2}, gguf.TypeQ8_0, 32)
	w.pad(32)
	if !bytes.Equal(got, w.b) {
		t.Errorf("EncodeHeader =\n%x\nwant\n%x", got, w.b)
	}
	if dataSize != 32+68 {
		t.Errorf("EncodeHeader dataSize = %d, want 100", dataSize)
	}
	if tensors[1].Offset != 32 || tensors[1].Size != 68 {
		t.Errorf("tensors[1] Offset, Size = %d, %d, want 32, 68", tensors[1].Offset, tensors[1].Size)
	}
}

func TestEncodeHeaderErrors(t *testing.T) {
	f32 := func(name string, dims ...int64) gguf.TensorInfo {
		return gguf.TensorInfo{Name: name, Dims: dims, Type: gguf.TypeF32}
	}
	tests := []struct {
		name    string
		version uint32
		kvs     []gguf.KV
		tensors []gguf.TensorInfo
		want    error
	}{
		{name: "version 1", version: 1, want: gguf.ErrUnsupportedVersion},
		{name: "empty key", kvs: []gguf.KV{{"", gguf.Uint8(0)}}, want: gguf.ErrInvalid},
		{name: "key not UTF-8", kvs: []gguf.KV{{"\xff", gguf.Uint8(0)}}, want: gguf.ErrInvalid},
		{name: "key too long", kvs: []gguf.KV{{strings.Repeat("k", 1<<16), gguf.Uint8(0)}}, want: gguf.ErrLimit},
		{name: "duplicate key", kvs: []gguf.KV{{"a", gguf.Uint8(0)}, {"a", gguf.Uint8(1)}}, want: gguf.ErrDuplicate},
		{name: "alignment 24", kvs: []gguf.KV{{"general.alignment", gguf.Uint32(24)}}, want: gguf.ErrAlignment},
		{name: "alignment u64", kvs: []gguf.KV{{"general.alignment", gguf.Uint64(32)}}, want: gguf.ErrAlignment},
		{name: "mixed array", kvs: []gguf.KV{{"a", gguf.Array(gguf.ValueUint8, gguf.Uint8(0), gguf.Int8(0))}}},
		{name: "bad element type", kvs: []gguf.KV{{"a", gguf.Array(99)}}, want: gguf.ErrUnknownType},
		{name: "bad nested array", kvs: []gguf.KV{{"a", gguf.Array(gguf.ValueArray, gguf.Array(99))}}, want: gguf.ErrUnknownType},
		{name: "empty tensor name", tensors: []gguf.TensorInfo{f32("", 1)}, want: gguf.ErrInvalid},
		{name: "duplicate tensor", tensors: []gguf.TensorInfo{f32("a", 1), f32("a", 1)}, want: gguf.ErrDuplicate},
		{name: "5 dims", tensors: []gguf.TensorInfo{f32("a", 1, 1, 1, 1, 1)}, want: gguf.ErrInvalid},
		{name: "negative dim", tensors: []gguf.TensorInfo{f32("a", -1)}, want: gguf.ErrInvalid},
		{name: "unknown type", tensors: []gguf.TensorInfo{{Name: "a", Dims: []int64{1}, Type: 4}}, want: gguf.ErrUnknownType},
		{name: "row not multiple", tensors: []gguf.TensorInfo{{Name: "a", Dims: []int64{16}, Type: gguf.TypeQ4_0}}, want: gguf.ErrInvalid},
		{name: "data overflow", tensors: []gguf.TensorInfo{f32("a", 1<<60), f32("b", 1<<60)}, want: gguf.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.version == 0 {
				tt.version = 3
			}
			_, _, err := gguf.EncodeHeader(tt.version, tt.kvs, tt.tensors)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("EncodeHeader = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestEncodeNonUTF8TensorName checks that a tensor name Read accepts (ggml
// does not require UTF-8 there) can be encoded again.
func TestEncodeNonUTF8TensorName(t *testing.T) {
	b := buildFile(t, 3, nil, []gguf.TensorInfo{{Name: "\xff", Dims: []int64{1}, Type: gguf.TypeF32}})
	f, err := readBytes(b)
	if err != nil || f.Tensors[0].Name != "\xff" {
		t.Fatalf("Read = %v, %v", f, err)
	}
}

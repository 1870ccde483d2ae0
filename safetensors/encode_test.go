package safetensors_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/safetensors"
)

func TestEncodeHeader(t *testing.T) {
	tensors := []safetensors.TensorInfo{
		{Name: "b", DType: safetensors.F32, Shape: []int64{2, 2}, Begin: 99, End: 99},
		{Name: "a", DType: safetensors.F4, Shape: []int64{3, 2}},
		{Name: "s", DType: safetensors.BOOL, Shape: nil},
	}
	h, n, err := safetensors.EncodeHeader(map[string]string{"z": "1", "a": "2"}, tensors)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"__metadata__":{"a":"2","z":"1"},` +
		`"b":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},` +
		`"a":{"dtype":"F4","shape":[3,2],"data_offsets":[16,19]},` +
		`"s":{"dtype":"BOOL","shape":[],"data_offsets":[19,20]}}`
	if got := int(binary.LittleEndian.Uint64(h)); got != len(h)-8 {
		t.Errorf("EncodeHeader length prefix = %d, want %d", got, len(h)-8)
	}
	if len(h)%8 != 0 {
		t.Errorf("EncodeHeader header is %d bytes, want a multiple of 8", len(h))
	}
	padded := wantJSON
	for (8+len(padded))%8 != 0 {
		padded += " "
	}
	if got := string(h[8:]); got != padded {
		t.Errorf("EncodeHeader JSON = %q, want %q", got, padded)
	}
	if n != 20 {
		t.Errorf("EncodeHeader data size = %d, want 20", n)
	}
	wantOffsets := [][2]int64{{0, 16}, {16, 19}, {19, 20}}
	for i, ti := range tensors {
		if got := [2]int64{ti.Begin, ti.End}; got != wantOffsets[i] {
			t.Errorf("tensor %q offsets = %v, want %v", ti.Name, got, wantOffsets[i])
		}
	}
}

func TestEncodeHeaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		meta    map[string]string
		tensors []safetensors.TensorInfo
		want    error
	}{
		{name: "unknown dtype", tensors: []safetensors.TensorInfo{{Name: "a", DType: 0}}, want: safetensors.ErrSchema},
		{name: "dtype out of range", tensors: []safetensors.TensorInfo{{Name: "a", DType: 200}}, want: safetensors.ErrSchema},
		{name: "negative dim", tensors: []safetensors.TensorInfo{{Name: "a", DType: safetensors.U8, Shape: []int64{2, -1}}}, want: safetensors.ErrSchema},
		{name: "duplicate names", tensors: []safetensors.TensorInfo{{Name: "a", DType: safetensors.U8}, {Name: "a", DType: safetensors.U8}}, want: safetensors.ErrSchema},
		{name: "reserved name", tensors: []safetensors.TensorInfo{{Name: "__metadata__", DType: safetensors.U8}}, want: safetensors.ErrSchema},
		{name: "invalid UTF-8 name", tensors: []safetensors.TensorInfo{{Name: "\xff", DType: safetensors.U8}}, want: safetensors.ErrSchema},
		{name: "invalid UTF-8 metadata", meta: map[string]string{"k": "\xff"}, want: safetensors.ErrSchema},
		{name: "element overflow", tensors: []safetensors.TensorInfo{{Name: "a", DType: safetensors.U8, Shape: []int64{1 << 32, 1 << 32}}}, want: safetensors.ErrOverflow},
		{name: "bit overflow", tensors: []safetensors.TensorInfo{{Name: "a", DType: safetensors.F64, Shape: []int64{1 << 60}}}, want: safetensors.ErrOverflow},
		{name: "data size overflow", tensors: []safetensors.TensorInfo{
			{Name: "a", DType: safetensors.U8, Shape: []int64{1 << 62}},
			{Name: "b", DType: safetensors.U8, Shape: []int64{1 << 62}},
		}, want: safetensors.ErrOverflow},
		{name: "odd F4", tensors: []safetensors.TensorInfo{{Name: "a", DType: safetensors.F4, Shape: []int64{3}}}, want: safetensors.ErrSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneTensors(tt.tensors)
			h, _, err := safetensors.EncodeHeader(tt.meta, tt.tensors)
			if !errors.Is(err, tt.want) {
				t.Errorf("EncodeHeader() = %q, %v; want %v", h, err, tt.want)
			}
			if diff := cmp.Diff(before, tt.tensors); diff != "" {
				t.Errorf("EncodeHeader() modified tensors on error (-before +after):\n%s", diff)
			}
		})
	}
}

func cloneTensors(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
	if ts == nil {
		return nil
	}
	return append([]safetensors.TensorInfo(nil), ts...)
}

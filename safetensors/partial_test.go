package safetensors_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/weightaudit/weightaudit/safetensors"
)

func TestWithPartialData(t *testing.T) {
	ts := []safetensors.TensorInfo{
		{Name: "a", DType: safetensors.F32, Shape: []int64{4}},
		{Name: "b", DType: safetensors.BF16, Shape: []int64{2, 3}},
	}
	head, data, err := safetensors.EncodeHeader(nil, ts)
	if err != nil {
		t.Fatal(err)
	}
	full := append(bytes.Clone(head), make([]byte, data)...) // 16 + 12 bytes of data
	tests := []struct {
		name        string
		file        []byte
		partial     bool
		wantErr     error
		wantMissing int64
	}{
		{"whole, strict", full, false, nil, 0},
		{"whole, partial allowed", full, true, nil, 0},
		{"cut 5 bytes, strict", full[:len(full)-5], false, safetensors.ErrTruncated, 0},
		{"cut 5 bytes, partial allowed", full[:len(full)-5], true, nil, 5},
		{"all data gone, partial allowed", full[:len(head)], true, nil, data},
		{"header cut, partial allowed", full[:len(head)-3], true, safetensors.ErrTruncated, 0},
		{"trailing bytes, partial allowed", append(bytes.Clone(full), 0), true, safetensors.ErrLayout, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := safetensors.Read(bytes.NewReader(tt.file), int64(len(tt.file)), safetensors.WithPartialData(tt.partial))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Read = %v, want %v", err, tt.wantErr)
			}
			if err == nil && f.Missing != tt.wantMissing {
				t.Errorf("Missing = %d, want %d", f.Missing, tt.wantMissing)
			}
		})
	}
}

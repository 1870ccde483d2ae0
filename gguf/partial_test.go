package gguf_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

func TestWithPartialData(t *testing.T) {
	ts := []gguf.TensorInfo{
		{Name: "a", Dims: []int64{8}, Type: gguf.TypeF32},
		{Name: "b", Dims: []int64{32, 2}, Type: gguf.TypeQ8_0},
	}
	head, data, err := gguf.EncodeHeader(3, []gguf.KV{{Key: "general.architecture", Value: gguf.String("x")}}, ts)
	if err != nil {
		t.Fatal(err)
	}
	// a: 32 bytes at 0; b: 2 blocks of 34 bytes at 32, ending at 100.
	full := append(bytes.Clone(head), make([]byte, data)...)
	tests := []struct {
		name        string
		file        []byte
		partial     bool
		wantErr     error
		wantMissing int64
	}{
		{"whole", full, false, nil, 0},
		{"cut 10 bytes, strict", full[:len(full)-10], false, gguf.ErrBounds, 0},
		{"cut 10 bytes, partial allowed", full[:len(full)-10], true, nil, 10},
		{"no data, partial allowed", full[:len(head)], true, nil, 100},
		{"header cut, partial allowed", full[:len(head)-40], true, gguf.ErrTruncated, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := gguf.Read(bytes.NewReader(tt.file), int64(len(tt.file)), gguf.WithPartialData(tt.partial))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Read = %v, want %v", err, tt.wantErr)
			}
			if err == nil && f.Missing != tt.wantMissing {
				t.Errorf("Missing = %d, want %d", f.Missing, tt.wantMissing)
			}
		})
	}
}

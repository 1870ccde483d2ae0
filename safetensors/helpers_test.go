package safetensors_test

import (
	"encoding/binary"
	"testing"

	"github.com/weightaudit/weightaudit/safetensors"
)

// rawFile returns a file with the JSON header h and dataSize zero bytes.
func rawFile(h string, dataSize int) []byte {
	b := make([]byte, 8, 8+len(h)+dataSize)
	binary.LittleEndian.PutUint64(b, uint64(len(h)))
	b = append(b, h...)
	return append(b, make([]byte, dataSize)...)
}

// buildFile encodes a file holding tensors, whose data bytes count up from
// 0 so that each tensor's bytes are distinct. It sets their offsets.
func buildFile(tb testing.TB, meta map[string]string, tensors []safetensors.TensorInfo) []byte {
	tb.Helper()
	h, n, err := safetensors.EncodeHeader(meta, tensors)
	if err != nil {
		tb.Fatalf("EncodeHeader: %v", err)
	}
	b := make([]byte, len(h), len(h)+int(n))
	copy(b, h)
	for i := int64(0); i < n; i++ {
		b = append(b, byte(i))
	}
	return b
}

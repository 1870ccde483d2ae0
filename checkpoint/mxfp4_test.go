package checkpoint_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// Hand values: one block of scale 128 (×2) whose first byte holds code 1
// (0.5) low and code 0xF (−6) high, the second 0x7 (6) low and 0x9
// (−0.5) high; the rest zero. A second block of scale 126 (×½) holds
// code 2 (1) in its last high nibble.
func TestDecodeMXFP4(t *testing.T) {
	blocks := make([]byte, 32)
	blocks[0], blocks[1], blocks[31] = 0xF1, 0x97, 0x20
	dst := make([]float32, 64)
	if err := checkpoint.DecodeMXFP4(dst, blocks, []byte{128, 126}); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 64)
	want[0], want[1], want[2], want[3], want[63] = 1, -12, 12, -1, 0.5
	if !slices.Equal(dst, want) {
		t.Errorf("DecodeMXFP4 = %v, want %v", dst, want)
	}
	if err := checkpoint.DecodeMXFP4(dst[:32], blocks, []byte{128, 126}); !errors.Is(err, checkpoint.ErrMXFP4) {
		t.Errorf("DecodeMXFP4(short dst) = %v, want ErrMXFP4", err)
	}
}

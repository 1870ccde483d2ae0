package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ErrMXFP4 is returned by [DecodeMXFP4] and [NewMXFP4Rows] for blocks and
// scales whose lengths or shapes do not agree.
var ErrMXFP4 = errors.New("not MXFP4 blocks and scales")

// fp4 are the values of the E2M1 codes (OCP Microscaling Formats v1.0,
// §5.3.3: 1 sign, 2 exponent and 1 mantissa bit), by code; code 8 is
// negative zero.
var fp4 = [16]float32{0, 0.5, 1, 1.5, 2, 3, 4, 6, float32(math.Copysign(0, -1)), -0.5, -1, -1.5, -2, -3, -4, -6}

// DecodeMXFP4 decodes Hugging Face MXFP4 blocks, as gpt-oss's
// checkpoints store their experts, into dst: blocks holds 16 bytes per
// block of 32 values, each byte two E2M1 codes (the low nibble the even
// value, the high nibble the odd one), and scales one E8M0 exponent per
// block, a value being its code's value times 2^(scale − 127)
// (transformers' integrations/mxfp4.py, convert_moe_packed_tensors). dst
// must hold 32 values per scale and blocks 16 bytes per scale; the caller
// owns every buffer and nothing is allocated.
func DecodeMXFP4(dst []float32, blocks, scales []byte) error {
	if len(blocks) != 16*len(scales) || len(dst) != 32*len(scales) {
		return fmt.Errorf("%d values from %d block bytes and %d scales: %w", len(dst), len(blocks), len(scales), ErrMXFP4)
	}
	for b, s := range scales {
		d := float32(math.Ldexp(1, int(s)-127))
		if s == 0xFF { // E8M0's NaN (OCP Microscaling v1.0, §5.4.1), not 2^128
			d = float32(math.NaN())
		}
		for k, q := range blocks[b*16 : (b+1)*16] {
			dst[b*32+2*k] = fp4[q&0xf] * d
			dst[b*32+2*k+1] = fp4[q>>4] * d
		}
	}
	return nil
}

// MXFP4Rows reads the rows of one expert of gpt-oss's Hugging Face MXFP4
// experts: blocks [E, out, in/32, 16] of uint8 and scales [E, out, in/32]
// (see [DecodeMXFP4]). It is safe for concurrent use when its Reader is.
type MXFP4Rows struct {
	r              *Reader
	blocks, scales *Tensor
	expert         int
	out, nb        int // rows, and blocks of 32 a row
}

// NewMXFP4Rows reads expert e of the blocks tensor with its scales
// through r. Shapes that are not [E, out, in/32, 16] and [E, out, in/32]
// of one byte an element, or an expert out of range, give an error
// wrapping [ErrMXFP4].
func NewMXFP4Rows(r *Reader, blocks, scales *Tensor, e int) (*MXFP4Rows, error) {
	b, s := blocks.Logical, scales.Logical
	if len(b) != 4 || b[3] != 16 || len(s) != 3 || s[0] != b[0] || s[1] != b[1] || s[2] != b[2] || e < 0 || int64(e) >= b[0] {
		return nil, fmt.Errorf("tensor %s %v with scales %s %v (expert %d): want blocks [E, out, in/32, 16] and scales [E, out, in/32]: %w",
			blocks.Name, b, scales.Name, s, e, ErrMXFP4)
	}
	if blocks.Bytes != b[0]*b[1]*b[2]*16 || scales.Bytes != s[0]*s[1]*s[2] {
		return nil, fmt.Errorf("tensor %s or %s: not one byte per element: %w", blocks.Name, scales.Name, ErrMXFP4)
	}
	return &MXFP4Rows{r: r, blocks: blocks, scales: scales, expert: e, out: int(b[1]), nb: int(b[2])}, nil
}

// Rows is the expert's number of output rows.
func (m *MXFP4Rows) Rows() int { return m.out }

// Cols is the number of values a row holds, 32 per block.
func (m *MXFP4Rows) Cols() int { return m.nb * 32 }

// RowBytes is the bytes of one row: its blocks and its scales.
func (m *MXFP4Rows) RowBytes() int64 { return int64(m.nb) * 17 }

// Tensor is the blocks tensor.
func (m *MXFP4Rows) Tensor() *Tensor { return m.blocks }

// ReadRow reads and decodes row i into dst (Cols values); buf, when it
// holds RowBytes bytes, is used for the row's blocks and scales, else a
// buffer is allocated.
func (m *MXFP4Rows) ReadRow(ctx context.Context, i int, dst []float32, buf []byte) error {
	if i < 0 || i >= m.out || len(dst) != m.Cols() {
		return fmt.Errorf("tensor %s: row %d of %d into %d elements: %w", m.blocks.Name, i, m.out, len(dst), ErrMXFP4)
	}
	if int64(len(buf)) != m.RowBytes() {
		buf = make([]byte, m.RowBytes())
	}
	row := int64(m.expert*m.out + i)
	qs, sc := buf[:m.nb*16], buf[m.nb*16:]
	if err := m.r.readAt(ctx, m.blocks.File, qs, m.blocks.Offset+row*int64(m.nb)*16, true); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", m.blocks.Name, i, err)
	}
	if err := m.r.readAt(ctx, m.scales.File, sc, m.scales.Offset+row*int64(m.nb), true); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", m.scales.Name, i, err)
	}
	return DecodeMXFP4(dst, qs, sc)
}

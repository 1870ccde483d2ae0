package compare

import (
	"context"
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// rows is what a view reads rows from: a [checkpoint.Matrix], or the
// MXFP4 blocks of a Hugging Face checkpoint.
type rows interface {
	Rows() int
	Cols() int
	RowBytes() int64
	Tensor() *checkpoint.Tensor
	ReadRow(ctx context.Context, i int, dst []float32, buf []byte) error
}

// fp4 are the values of the E2M1 codes (OCP Microscaling: 1 sign, 2
// exponent and 1 mantissa bit), by code.
var fp4 = [16]float32{0, 0.5, 1, 1.5, 2, 3, 4, 6, 0, -0.5, -1, -1.5, -2, -3, -4, -6}

// mxfp4Rows reads one expert of gpt-oss's Hugging Face MXFP4 experts:
// blocks [E, out, in/32, 16] of uint8, each byte two E2M1 codes (the low
// nibble the even value, the high nibble the odd one), and scales
// [E, out, in/32] of E8M0 exponents, a value being its code's value times
// 2^(scale − 127) (transformers' integrations/mxfp4.py,
// convert_moe_packed_tensors).
type mxfp4Rows struct {
	r              *checkpoint.Reader
	blocks, scales *checkpoint.Tensor
	expert         int
	out, nb        int // rows, and blocks of 32 a row
}

// newMXFP4Rows reads expert e of the blocks tensor with its scales.
func newMXFP4Rows(r *checkpoint.Reader, blocks, scales *checkpoint.Tensor, e int) (*mxfp4Rows, error) {
	b, s := blocks.Logical, scales.Logical
	if len(b) != 4 || b[3] != 16 || len(s) != 3 || s[0] != b[0] || s[1] != b[1] || s[2] != b[2] || e < 0 || int64(e) >= b[0] {
		return nil, fmt.Errorf("tensor %s %v with scales %s %v: not MXFP4 blocks [E, out, in/32, 16] and scales [E, out, in/32] (expert %d)",
			blocks.Name, b, scales.Name, s, e)
	}
	if blocks.Bytes != b[0]*b[1]*b[2]*16 || scales.Bytes != s[0]*s[1]*s[2] {
		return nil, fmt.Errorf("tensor %s or %s: not one byte per element", blocks.Name, scales.Name)
	}
	return &mxfp4Rows{r: r, blocks: blocks, scales: scales, expert: e, out: int(b[1]), nb: int(b[2])}, nil
}

func (m *mxfp4Rows) Rows() int                  { return m.out }
func (m *mxfp4Rows) Cols() int                  { return m.nb * 32 }
func (m *mxfp4Rows) RowBytes() int64            { return int64(m.nb) * 17 }
func (m *mxfp4Rows) Tensor() *checkpoint.Tensor { return m.blocks }

// ReadRow reads and decodes row i; buf, when it holds RowBytes bytes,
// holds the row's blocks and scales.
func (m *mxfp4Rows) ReadRow(ctx context.Context, i int, dst []float32, buf []byte) error {
	if i < 0 || i >= m.out || len(dst) != m.Cols() {
		return fmt.Errorf("tensor %s: row %d of %d into %d elements", m.blocks.Name, i, m.out, len(dst))
	}
	if int64(len(buf)) != m.RowBytes() {
		buf = make([]byte, m.RowBytes())
	}
	row := int64(m.expert*m.out + i)
	qs, sc := buf[:m.nb*16], buf[m.nb*16:]
	if err := m.r.ReadAt(ctx, m.blocks.File, qs, m.blocks.Offset+row*int64(m.nb)*16); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", m.blocks.Name, i, err)
	}
	if err := m.r.ReadAt(ctx, m.scales.File, sc, m.scales.Offset+row*int64(m.nb)); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", m.scales.Name, i, err)
	}
	for b := range m.nb {
		d := float32(math.Ldexp(1, int(sc[b])-127))
		for k, q := range qs[b*16 : (b+1)*16] {
			dst[b*32+2*k] = fp4[q&0xf] * d
			dst[b*32+2*k+1] = fp4[q>>4] * d
		}
	}
	return nil
}

package compare

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/half"
)

// intPacked reads a GPTQ or AWQ int4 weight as the [out, in] matrix it
// holds, decoded whole on first use (its packing runs across the rows of
// the logical matrix): a value is (q − zero) × scale of its input row's
// group.
//
//	GPTQ (AutoGPTQ's checkpoint format): qweight [in/8, out] int32, the
//	nibble j (bits 4j) of row r holding input r·8+j; qzeros [groups,
//	out/8], nibble j of column c holding output c·8+j, stored as the zero
//	minus one; scales [groups, out] F16; g_idx [in], the group of each
//	input (act-order), else input/group_size.
//	AWQ (AutoAWQ's GEMM format): qweight [in, out/8], qzeros [groups,
//	out/8], the nibble i of column c holding output c·8 + [0 2 4 6 1 3 5
//	7][i]; the zero as stored; scales [groups, out].
type intPacked struct {
	r                      *checkpoint.Reader
	q, zeros, scales, gidx *checkpoint.Tensor // gidx nil for AWQ
	scheme                 arch.Packing
	group                  int64
	out, in                int
	whole                  []float32
}

// awqOrder is the output column each nibble of an AWQ int32 holds, within
// its 8.
var awqOrder = [8]int{0, 2, 4, 6, 1, 3, 5, 7}

func newIntPacked(r *checkpoint.Reader, s *side, t *checkpoint.Tensor, p arch.Packing) (*intPacked, error) {
	base := t.Name[:len(t.Name)-len(".qweight")]
	ip := &intPacked{r: r, q: t, scheme: p, zeros: s.byName[base+".qzeros"], scales: s.byName[base+".scales"], group: s.quant.Group}
	if p == arch.PackGPTQ {
		ip.gidx = s.byName[base+".g_idx"]
	}
	if ip.zeros == nil || ip.scales == nil || (p == arch.PackGPTQ && ip.gidx == nil) {
		return nil, fmt.Errorf("tensor %s: its qzeros, scales or g_idx are missing", t.Name)
	}
	if len(t.Logical) != 2 || t.DType != "I32" || ip.zeros.DType != "I32" || ip.scales.DType != "F16" || len(ip.scales.Logical) != 2 {
		return nil, fmt.Errorf("tensor %s: not an int32 qweight with int32 qzeros and F16 scales", t.Name)
	}
	ip.out, ip.in = int(ip.scales.Logical[1]), int(t.Logical[0])
	if p == arch.PackGPTQ {
		ip.in *= 8
	}
	if int64(ip.out)*int64(ip.in) > maxTransposed {
		return nil, fmt.Errorf("tensor %s: over %d values: too large to decode whole", t.Name, maxTransposed)
	}
	return ip, nil
}

func (ip *intPacked) Rows() int                  { return ip.out }
func (ip *intPacked) Cols() int                  { return ip.in }
func (ip *intPacked) RowBytes() int64            { return int64(ip.in) / 2 }
func (ip *intPacked) Tensor() *checkpoint.Tensor { return ip.q }

// ReadRow returns row i (output i) of the decoded matrix.
func (ip *intPacked) ReadRow(ctx context.Context, i int, dst []float32, _ []byte) error {
	if ip.whole == nil {
		if err := ip.decode(ctx); err != nil {
			return err
		}
	}
	if i < 0 || i >= ip.out || len(dst) != ip.in {
		return fmt.Errorf("tensor %s: row %d of %d into %d elements", ip.q.Name, i, ip.out, len(dst))
	}
	copy(dst, ip.whole[i*ip.in:(i+1)*ip.in])
	return nil
}

func (ip *intPacked) read(ctx context.Context, t *checkpoint.Tensor) ([]byte, error) {
	b := make([]byte, t.Bytes)
	if err := ip.r.ReadAt(ctx, t.File, b, t.Offset); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	return b, nil
}

func (ip *intPacked) decode(ctx context.Context) error {
	q, err := ip.read(ctx, ip.q)
	if err != nil {
		return err
	}
	z, err := ip.read(ctx, ip.zeros)
	if err != nil {
		return err
	}
	sc, err := ip.read(ctx, ip.scales)
	if err != nil {
		return err
	}
	groups := int(ip.scales.Logical[0])
	groupOf := make([]int, ip.in)
	if ip.gidx != nil {
		g, err := ip.read(ctx, ip.gidx)
		if err != nil {
			return err
		}
		if len(g) != 4*ip.in {
			return fmt.Errorf("tensor %s: %d bytes, want %d inputs of int32", ip.gidx.Name, len(g), ip.in)
		}
		for i := range groupOf {
			groupOf[i] = int(int32(binary.LittleEndian.Uint32(g[4*i:])))
		}
	} else {
		for i := range groupOf {
			groupOf[i] = int(int64(i) / max(ip.group, 1))
		}
	}
	u32 := func(b []byte, idx int) uint32 { return binary.LittleEndian.Uint32(b[4*idx:]) }
	zero := func(g, o int) int { // the zero of group g, output o
		w := u32(z, g*(ip.out/8)+o/8)
		if ip.scheme == arch.PackAWQ {
			for n, col := range awqOrder {
				if col == o%8 {
					return int(w >> (4 * n) & 15)
				}
			}
		}
		return int(w>>(4*(o%8))&15) + 1 // GPTQ stores the zero minus one
	}
	if len(sc) != 2*groups*ip.out || len(z) != 4*groups*(ip.out/8) {
		return fmt.Errorf("tensor %s: scales or qzeros of another size than %d groups of %d outputs", ip.q.Name, groups, ip.out)
	}
	ip.whole = make([]float32, ip.out*ip.in)
	for i := range ip.in {
		g := groupOf[i]
		if g < 0 || g >= groups {
			return fmt.Errorf("tensor %s: input %d in group %d of %d", ip.q.Name, i, g, groups)
		}
		for o := range ip.out {
			var v uint32
			if ip.scheme == arch.PackGPTQ {
				v = u32(q, (i/8)*ip.out+o) >> (4 * (i % 8)) & 15
			} else {
				w := u32(q, i*(ip.out/8)+o/8)
				for n, col := range awqOrder {
					if col == o%8 {
						v = w >> (4 * n) & 15
					}
				}
			}
			s := half.ToFloat32(binary.LittleEndian.Uint16(sc[2*(g*ip.out+o):]))
			ip.whole[o*ip.in+i] = float32(int(v)-zero(g, o)) * s
		}
	}
	return nil
}

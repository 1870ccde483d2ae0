package compare

import (
	"context"
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// view reads a tensor's rows as the Hugging Face model holds them: with
// llama.cpp's Q/K head permutation undone and FP8 block scales applied,
// so that both sides of a pair read the same logical rows.
type view struct {
	m         *checkpoint.Matrix
	stored    []int // stored[i]: the stored row holding logical row i; nil for the identity
	scale     *checkpoint.Matrix
	block     [2]int64 // rows and columns one scale serves
	transform string
}

// view returns the view of slot sl, of role k.
func (s *side) view(rd *checkpoint.Reader, sl slot, k key) (*view, error) {
	m, err := rd.Matrix(sl.t, sl.slice)
	if err != nil {
		return nil, err
	}
	v := &view{m: m}
	if heads := arch.PermutedHeads(s.spec, s.ck.Format, k.comp); heads > 0 {
		n := m.Rows()
		v.stored = make([]int, n)
		for r := range n {
			v.stored[arch.HFRow(r, n, heads)] = r
		}
		v.transform = fmt.Sprintf("%s: llama.cpp's Q/K row permutation over %d heads undone", sl.t.Name, heads)
	}
	if s.quant.Scheme == arch.QuantFP8Block {
		if base, ok := strings.CutSuffix(sl.t.Name, ".weight"); ok {
			if st, ok := s.byName[base+".weight_scale_inv"]; ok {
				if v.scale, err = rd.Matrix(st, -1); err != nil {
					return nil, err
				}
				v.block = s.quant.Block
				v.transform = joinNonEmpty(v.transform, fmt.Sprintf("%s: FP8 block scales of %s applied", sl.t.Name, st.Name))
			}
		}
	}
	return v, nil
}

// row reads logical row i into dst.
func (v *view) row(ctx context.Context, i int, dst []float32) error {
	r := i
	if v.stored != nil {
		r = v.stored[i]
	}
	if err := v.m.ReadRow(ctx, r, dst, nil); err != nil {
		return err
	}
	if v.scale == nil {
		return nil
	}
	sr := i / int(v.block[0])
	scales := make([]float32, v.scale.Cols())
	if err := v.scale.ReadRow(ctx, sr, scales, nil); err != nil {
		return err
	}
	for c := range dst {
		j := c / int(v.block[1])
		if j >= len(scales) {
			return fmt.Errorf("tensor %s: column %d has no block scale in %s (%d columns)", v.m.Tensor().Name, c, v.scale.Tensor().Name, len(scales))
		}
		dst[c] *= scales[j]
	}
	return nil
}

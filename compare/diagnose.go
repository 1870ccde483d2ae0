package compare

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
)

// diagnose explains a pair beyond its bound, on the rows compared: by the
// transform that would make B match A when one does (a constant scale,
// Q/K heads permuted or not, another expert's or another layer's
// weights), else by where the error concentrates.
func (c *comparer) diagnose(p pairing1, ma, mb *view, rows []int, perRow []float64, st *stats) (string, error) {
	bound := st.bound()
	if st.a2 > 0 {
		scale := st.ab / st.a2 // the least-squares c in B ≈ c·A
		resid := st.b2 - 2*scale*st.ab + scale*scale*st.a2
		if math.Abs(scale-1) > 1e-3 && resid >= 0 && math.Sqrt(resid/(scale*scale*st.a2)) <= bound {
			return fmt.Sprintf("B = A × %.6g on the rows compared: a scale applied twice, or not at all", scale), nil
		}
	}
	// B read in A's row order under another permutation of the heads.
	if heads := c.headsOf(p.k.comp); heads > 0 {
		permuted := ma.stored == nil && mb.stored == nil
		if ok, err := c.matchRows(ma, mb, rows, bound, func(i int) int {
			if permuted {
				return gguf2hf(i, mb.rows(), heads, true)
			}
			return gguf2hf(i, mb.rows(), heads, false)
		}); err != nil || ok {
			how := "matches if the heads are permuted as llama.cpp permutes Q and K: the converter permuted them where this architecture does not"
			if !permuted {
				how = "matches if llama.cpp's Q/K head permutation is not undone: the converter did not permute these rows"
			}
			return how, err
		}
	}
	// Another expert's, or another layer's, weights.
	if alt, err := c.otherSource(p, mb, rows, bound); err != nil || alt != "" {
		return alt, err
	}
	return c.where(p, rows, perRow, st), nil
}

// headsOf returns the heads of an attention Q or K tensor, 0 for others.
func (c *comparer) headsOf(comp arch.Component) int {
	d := c.a.spec.Dims()
	switch comp {
	case arch.CompAttnQ:
		return int(d.Heads)
	case arch.CompAttnK:
		return int(d.KVHeads)
	}
	return 0
}

// gguf2hf maps logical row i through the head permutation (forward) or
// its inverse.
func gguf2hf(i, rows, heads int, forward bool) int {
	if forward {
		return arch.HFRow(i, rows, heads)
	}
	for r := range rows { // the inverse, by search: diagnosis only
		if arch.HFRow(r, rows, heads) == i {
			return r
		}
	}
	return i
}

// matchRows reports whether B's rows, read where mapping puts them, match
// A's rows within bound.
func (c *comparer) matchRows(ma, mb *view, rows []int, bound float64, mapping func(int) int) (bool, error) {
	var st stats
	va, vb := make([]float32, ma.cols()), make([]float32, mb.cols())
	for _, i := range rows {
		if err := ma.row(c.ctx, mapping(i), va); err != nil {
			return false, err
		}
		if err := mb.row(c.ctx, i, vb); err != nil {
			return false, err
		}
		st.add(va, vb)
	}
	return st.relRMS() <= bound, nil
}

// maxAlternatives bounds the other experts or layers tried.
const maxAlternatives = 512

// otherSource looks for the A tensor B's rows came from: another expert of
// the same layer, or the same component of another layer.
func (c *comparer) otherSource(p pairing1, mb *view, rows []int, bound float64) (string, error) {
	rows = rows[:min(len(rows), 4)] // a few rows tell one source from another
	try := func(k key) (bool, error) {
		sa, ok := c.a.by[k]
		if !ok || !slices.Equal(sa.shape(), p.a.shape()) {
			return false, nil
		}
		ma, err := c.a.view(c.ra, sa, k)
		if err != nil {
			return false, err
		}
		return c.matchRows(ma, mb, rows, bound, func(i int) int { return i })
	}
	if p.k.expert >= 0 {
		for e := 0; e < maxAlternatives; e++ {
			if e == p.k.expert {
				continue
			}
			k := key{p.k.layer, p.k.comp, e}
			if _, ok := c.a.by[k]; !ok {
				break
			}
			if ok, err := try(k); err != nil || ok {
				return fmt.Sprintf("holds expert %d's weights of A, not expert %d's: experts stacked or numbered in the wrong order", e, p.k.expert), err
			}
		}
	}
	if p.k.layer >= 0 {
		for l := 0; l < maxAlternatives; l++ {
			if l == p.k.layer {
				continue
			}
			k := key{l, p.k.comp, p.k.expert}
			if _, ok := c.a.by[k]; !ok {
				continue
			}
			if ok, err := try(k); err != nil || ok {
				return fmt.Sprintf("holds layer %d's weights of A, not layer %d's", l, p.k.layer), err
			}
		}
	}
	return "", nil
}

// where says how far beyond its bound the pair is and where the error
// concentrates: the rows, and for attention projections the heads.
func (c *comparer) where(p pairing1, rows []int, perRow []float64, st *stats) string {
	msg := st.excess()
	if len(rows) == 0 || st.diff2 == 0 {
		return msg
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return cmpDesc(perRow[x], perRow[y]) })
	worst := order[:min(3, len(order))]
	var shares []string
	for _, j := range worst {
		shares = append(shares, fmt.Sprintf("row %d (%.0f%%)", rows[j], 100*perRow[j]/st.diff2))
	}
	msg += "; the error is largest in " + strings.Join(shares, ", ")
	if heads := c.headsOf(p.k.comp); heads > 0 && len(p.a.shape()) == 2 {
		hd := int(p.a.shape()[0]) / heads
		perHead := map[int]float64{}
		for j, i := range rows {
			perHead[i/max(hd, 1)] += perRow[j]
		}
		best, share := -1, 0.0
		for h, v := range perHead {
			if v > share {
				best, share = h, v
			}
		}
		if best >= 0 {
			msg += fmt.Sprintf("; head %d holds %.0f%% of it", best, 100*share/st.diff2)
		}
	}
	return msg
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

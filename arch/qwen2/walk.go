package qwen2

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// WalkBlock walks [seq, d] through one decoder layer as transformers'
// Qwen2DecoderLayer computes it and reports whether it comes out as
// [seq, d]: RMSNorm; q, k and v projections, each plus its bias (one
// value per output: q's width, k's and v's width); grouped-query
// attention over whole heads of head_dim; o_proj back to d; the residual;
// RMSNorm; the SwiGLU MLP; the residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	headDim := s.Cfg().HeadDim
	n0 := len(w.Problems)
	w.Norm(b, arch.CompAttnNorm, layer, d)
	// The q, k and v projections, their biases, and the width each
	// projection gives (-1 where its shape is broken).
	projs := [3]arch.Component{arch.CompAttnQ, arch.CompAttnK, arch.CompAttnV}
	biases := [3]arch.Component{CompAttnQBias, CompAttnKBias, CompAttnVBias}
	names := [3]string{"q", "k", "v"}
	var ts [3]*checkpoint.Tensor
	outs := [3]int64{-1, -1, -1}
	for i, c := range projs {
		if ts[i] = w.One(b, c, layer); ts[i] != nil {
			if out, ok := w.Matrix(ts[i], d); ok {
				outs[i] = out
			}
		}
	}
	qo, ko, vo := outs[0], outs[1], outs[2]
	if qo >= 0 && ko >= 0 && vo >= 0 {
		switch {
		case qo%headDim != 0 || ko%headDim != 0:
			w.Fail(ts[0], "layer %d: q width %d and k width %d are not whole heads of %d", layer, qo, ko, headDim)
		case ko == 0:
			w.Fail(ts[1], "layer %d: k projects to width 0: no key/value head", layer)
		case vo != ko:
			w.Fail(ts[2], "layer %d: v width %d differs from k width %d", layer, vo, ko)
		case (qo/headDim)%(ko/headDim) != 0:
			w.Fail(ts[0], "layer %d: %d query heads cannot share %d KV heads", layer, qo/headDim, ko/headDim)
		}
	}
	for i, c := range biases {
		if t := w.One(b, c, layer); t != nil {
			walkBias(w, t, layer, names[i], outs[i])
		}
	}
	if o := w.One(b, arch.CompAttnO, layer); o != nil && qo >= 0 {
		if out, ok := w.Matrix(o, qo); ok && out != d {
			w.Fail(o, "layer %d: attention output has width %d, the residual stream %d", layer, out, d)
		}
	}
	w.Norm(b, arch.CompFFNNorm, layer, d)
	w.MLP(b, layer, d)
	return len(w.Problems) == n0
}

// walkBias checks that a projection's bias is a vector adding one value
// to each of the width outputs of the projection (width -1 when the
// projection's own shape is broken: then only its being a vector).
func walkBias(w *arch.Walk, t *checkpoint.Tensor, layer int, proj string, width int64) {
	switch s := t.Logical; {
	case len(s) != 1:
		w.Fail(t, "layer %d: %s bias %v is not a vector", layer, proj, s)
	case width >= 0 && s[0] != width:
		w.Fail(t, "layer %d: %s bias has length %d, the %s projection gives width %d", layer, proj, s[0], proj, width)
	}
}

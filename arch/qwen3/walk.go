package qwen3

import "github.com/weightaudit/weightaudit/arch"

// WalkBlock walks [seq, d] through one decoder layer as transformers'
// Qwen3MoeDecoderLayer computes it and reports whether it comes out as
// [seq, d]: RMSNorm, Q/K/V, per-head q/k norms, grouped-query attention,
// o_proj, the residual; RMSNorm, then the router and experts (or the dense
// MLP), the residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	headDim := s.Cfg().HeadDim
	n0 := len(w.Problems)
	w.Norm(b, arch.CompAttnNorm, layer, d)
	w.Attention(b, layer, d, headDim)
	w.Norm(b, arch.CompAttnQNorm, layer, headDim)
	w.Norm(b, arch.CompAttnKNorm, layer, headDim)
	w.Norm(b, arch.CompFFNNorm, layer, d)
	if routers := b.Get(arch.CompRouter); len(routers) > 0 {
		w.Experts(b, routers[0], layer, d, [3]string{"gate", "up", "down"})
	} else {
		w.MLP(b, layer, d)
	}
	return len(w.Problems) == n0
}

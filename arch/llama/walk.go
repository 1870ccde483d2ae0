package llama

import "github.com/weightaudit/weightaudit/arch"

// WalkBlock walks [seq, d] through one decoder layer as transformers'
// LlamaDecoderLayer (and MistralDecoderLayer, MixtralDecoderLayer)
// computes it and reports whether it comes out as [seq, d]: RMSNorm, the
// q/k/v projections, grouped-query attention over whole heads of head_dim,
// o_proj back to d, the residual; RMSNorm, then the gated MLP
// down(silu(gate·x) ⊙ up·x) or, for Mixtral, the router and every expert
// (each a gated MLP), the residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	n0 := len(w.Problems)
	w.Norm(b, arch.CompAttnNorm, layer, d)
	w.Attention(b, layer, d, s.Cfg().HeadDim)
	w.Norm(b, arch.CompFFNNorm, layer, d)
	if s.Cfg().NumLocalExperts > 0 {
		if router := w.One(b, arch.CompRouter, layer); router != nil {
			w.Experts(b, router, layer, d, mixtralExperts)
		}
	} else {
		w.MLP(b, layer, d)
	}
	return len(w.Problems) == n0
}

// mixtralExperts are the expert projections as a message names them:
// Mixtral's checkpoints call gate, up and down w1, w3 and w2.
var mixtralExperts = [3]string{"gate (w1)", "up (w3)", "down (w2)"}

package gemma3

import "github.com/weightaudit/weightaudit/arch"

// WalkBlock walks [seq, d] through one decoder layer as transformers'
// Gemma3DecoderLayer computes it and reports whether it comes out as
// [seq, d]: input_layernorm; q, k and v, each head's query and key
// RMS-normalized over head_dim; grouped-query attention; o_proj back to
// d; post_attention_layernorm on that output; the residual;
// pre_feedforward_layernorm; the gated MLP; post_feedforward_layernorm
// on its output; the residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	h := s.Cfg().HeadDim
	n0 := len(w.Problems)
	w.Norm(b, arch.CompAttnNorm, layer, d)
	w.Attention(b, layer, d, h)
	w.Norm(b, arch.CompAttnQNorm, layer, h)
	w.Norm(b, arch.CompAttnKNorm, layer, h)
	w.Norm(b, CompAttnPostNorm, layer, d)
	w.Norm(b, arch.CompFFNNorm, layer, d)
	w.MLP(b, layer, d)
	w.Norm(b, CompFFNPostNorm, layer, d)
	return len(w.Problems) == n0
}

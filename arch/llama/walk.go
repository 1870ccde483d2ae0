package llama

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// WalkBlock walks [seq, d] through one decoder layer as transformers'
// LlamaDecoderLayer (and MistralDecoderLayer, MixtralDecoderLayer)
// computes it and reports whether it comes out as [seq, d]: RMSNorm, the
// q/k/v projections, grouped-query attention over whole heads of head_dim,
// o_proj back to d, the residual; RMSNorm, then the gated MLP
// down(silu(gate·x) ⊙ up·x) or, for Mixtral, the router and every expert
// (each a gated MLP), the residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	headDim := s.cfg.HeadDim
	n0 := len(w.Problems)
	if t := w.One(b, arch.CompAttnNorm, layer); t != nil {
		w.Vector(t, d)
	}
	q, k, v := w.One(b, arch.CompAttnQ, layer), w.One(b, arch.CompAttnK, layer), w.One(b, arch.CompAttnV, layer)
	if q != nil && k != nil && v != nil {
		qo, okq := w.Matrix(q, d)
		ko, okk := w.Matrix(k, d)
		vo, okv := w.Matrix(v, d)
		if okq && okk && okv {
			switch {
			case qo%headDim != 0 || ko%headDim != 0:
				w.Fail(q, "layer %d: q width %d and k width %d are not whole heads of %d", layer, qo, ko, headDim)
			case vo != ko:
				w.Fail(v, "layer %d: v width %d differs from k width %d", layer, vo, ko)
			case ko == 0 || (qo/headDim)%(ko/headDim) != 0:
				w.Fail(q, "layer %d: %d query heads cannot share %d KV heads", layer, qo/headDim, ko/headDim)
			}
			if o := w.One(b, arch.CompAttnO, layer); o != nil {
				if out, ok := w.Matrix(o, qo); ok && out != d {
					w.Fail(o, "layer %d: attention output has width %d, the residual stream %d", layer, out, d)
				}
			}
		}
	}
	if t := w.One(b, arch.CompFFNNorm, layer); t != nil {
		w.Vector(t, d)
	}
	if s.cfg.NumLocalExperts > 0 {
		if router := w.One(b, arch.CompRouter, layer); router != nil {
			walkMoE(w, b, router, layer, d)
		}
	} else if g, u, dn := w.One(b, arch.CompMLPGate, layer), w.One(b, arch.CompMLPUp, layer), w.One(b, arch.CompMLPDown, layer); g != nil && u != nil && dn != nil {
		w.GatedFFN(g, u, dn, layer, d)
	}
	return len(w.Problems) == n0
}

// walkMoE checks the router and every expert of a layer: one tensor per
// expert and projection (Hugging Face), or one stacked tensor per
// projection (GGUF).
func walkMoE(w *arch.Walk, b *arch.Block, router *checkpoint.Tensor, layer int, d int64) {
	experts, ok := w.Matrix(router, d)
	if !ok {
		return
	}
	gates, ups, downs := b.Get(arch.CompExpertGate), b.Get(arch.CompExpertUp), b.Get(arch.CompExpertDown)
	if len(gates) == 1 && len(gates[0].Logical) == 3 { // stacked (GGUF)
		if len(ups) != 1 || len(downs) != 1 {
			w.Fail(gates[0], "layer %d: stacked experts need one gate, up and down tensor", layer)
			return
		}
		g, u, dn := gates[0], ups[0], downs[0]
		for _, t := range []*checkpoint.Tensor{g, u, dn} {
			if len(t.Logical) != 3 || t.Logical[0] != experts {
				w.Fail(t, "layer %d: %v stacks a different number of experts than the router's %d", layer, t.Logical, experts)
				return
			}
		}
		w.GatedFFN(g, u, dn, layer, d)
		return
	}
	if int64(len(gates)) != experts || int64(len(ups)) != experts || int64(len(downs)) != experts {
		w.Fail(router, "layer %d: the router picks among %d experts, the layer stores %d gate (w1), %d up (w3), %d down (w2)", layer, experts, len(gates), len(ups), len(downs))
		return
	}
	for e := range gates {
		w.GatedFFN(gates[e], ups[e], downs[e], layer, d)
	}
}

package gptoss

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// WalkBlock walks [seq, d] through one decoder layer as
// GptOssDecoderLayer computes it and reports whether it comes out as
// [seq, d]: RMSNorm; grouped-query attention with q, k, v and o biases
// and one sink logit per head; the residual; RMSNorm; the router and its
// bias over the experts; each expert's gate and up projections (fused and
// interleaved in Hugging Face checkpoints, MXFP4 blocks of 32 when
// quantized) and down projection back to d, each with its bias; the
// residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	c := s.Cfg()
	n0 := len(w.Problems)
	w.Norm(b, arch.CompAttnNorm, layer, d)
	w.Attention(b, layer, d, c.HeadDim)
	for comp, n := range map[arch.Component]int64{CompAttnQBias: c.NumAttentionHeads * c.HeadDim, CompAttnKBias: c.NumKeyValueHeads * c.HeadDim,
		CompAttnVBias: c.NumKeyValueHeads * c.HeadDim, CompAttnOBias: d, CompAttnSinks: c.NumAttentionHeads} {
		if t := w.One(b, comp, layer); t != nil {
			w.Vector(t, n)
		}
	}
	w.Norm(b, arch.CompFFNNorm, layer, d)
	router := w.One(b, arch.CompRouter, layer)
	if router == nil {
		return false
	}
	experts, ok := w.Matrix(router, d)
	if !ok {
		return false
	}
	if bias := w.One(b, CompRouterBias, layer); bias != nil {
		w.Vector(bias, experts)
	}
	if len(b.Get(CompExpertGateUp)) > 0 {
		s.walkFused(w, b, layer, d, experts)
	} else {
		w.Experts(b, router, layer, d, [3]string{"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"})
		f := c.IntermediateSize
		for comp, width := range map[arch.Component]int64{CompExpertGateBias: f, CompExpertUpBias: f, CompExpertDownBias: d} {
			if t := w.One(b, comp, layer); t != nil {
				walkStacked(w, t, layer, []int64{experts, width})
			}
		}
	}
	return len(w.Problems) == n0
}

// walkFused checks the Hugging Face experts: gate_up [E, 2f, d] and down
// [E, d, f] as MXFP4 blocks hold them, or as GptOssExperts does ([E, d,
// 2f] and [E, f, d]), and their biases.
func (s *Spec) walkFused(w *arch.Walk, b *arch.Block, layer int, d, experts int64) {
	f := s.Cfg().IntermediateSize
	gu, dn := w.One(b, CompExpertGateUp, layer), w.One(b, arch.CompExpertDown, layer)
	if s.Cfg().mxfp4() { // the blocks as the weights they hold ([arch.Expected.Unpacked])
		walkStacked(w, gu, layer, []int64{experts, 2 * f, d})
		walkStacked(w, dn, layer, []int64{experts, d, f})
	} else {
		walkStacked(w, gu, layer, []int64{experts, d, 2 * f})
		walkStacked(w, dn, layer, []int64{experts, f, d})
	}
	if t := w.One(b, CompExpertGateUpBias, layer); t != nil {
		walkStacked(w, t, layer, []int64{experts, 2 * f})
	}
	if t := w.One(b, CompExpertDownBias, layer); t != nil {
		walkStacked(w, t, layer, []int64{experts, d})
	}
}

// walkStacked checks that t (nil: already recorded missing) has the
// stacked logical shape want, the router's experts first.
func walkStacked(w *arch.Walk, t *checkpoint.Tensor, layer int, want []int64) {
	if t == nil {
		return
	}
	ok := len(t.Logical) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = t.Logical[i] == want[i]
	}
	if !ok {
		w.Fail(t, "layer %d: %v, want %v for %d experts of the router", layer, t.Logical, want, want[0])
	}
}

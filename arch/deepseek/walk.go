package deepseek

import "github.com/weightaudit/weightaudit/arch"

// WalkBlock walks [seq, d] through one decoder layer as
// DeepseekV3DecoderLayer computes it and reports whether it comes out as
// [seq, d]: RMSNorm; q through q_a_proj to the q rank, its norm, and
// q_b_proj to heads × (nope + rope) (or one q_proj); kv_a_proj_with_mqa
// to the kv rank plus the rotary width, the latent's norm, and kv_b_proj
// (or its GGUF halves attn_k_b and attn_v_b, per head) to heads × (nope +
// v); o_proj from heads × v back to d; the residual; RMSNorm; the dense
// MLP, or the router and experts with the shared experts; the residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	c := s.Cfg()
	n0 := len(w.Problems)
	h, qk := c.NumAttentionHeads, c.qkHeadDim()
	w.Norm(b, arch.CompAttnNorm, layer, d)
	qOut := int64(-1)
	if c.QLoraRank != nil {
		if qa := w.One(b, CompAttnQA, layer); qa != nil {
			if r, ok := w.Matrix(qa, d); ok {
				w.Norm(b, CompAttnQANorm, layer, r)
				if qb := w.One(b, CompAttnQB, layer); qb != nil {
					qOut, _ = w.Matrix(qb, r)
				}
			}
		}
	} else if q := w.One(b, arch.CompAttnQ, layer); q != nil {
		qOut, _ = w.Matrix(q, d)
	}
	if qOut >= 0 && qOut != h*qk {
		w.Fail(w.One(b, CompAttnQB, layer), "layer %d: queries have width %d, %d heads of %d", layer, qOut, h, qk)
	}
	kvRank := int64(-1)
	if kva := w.One(b, CompAttnKVA, layer); kva != nil {
		if out, ok := w.Matrix(kva, d); ok {
			if out != c.KVLoraRank+c.QKRopeHeadDim {
				w.Fail(kva, "layer %d: kv_a gives width %d, the latent %d plus the rotary key %d", layer, out, c.KVLoraRank, c.QKRopeHeadDim)
			} else {
				kvRank = c.KVLoraRank
			}
		}
	}
	w.Norm(b, CompAttnKVANorm, layer, c.KVLoraRank)
	if kvRank >= 0 {
		s.walkKVB(w, b, layer, kvRank)
	}
	if o := w.One(b, arch.CompAttnO, layer); o != nil {
		if out, ok := w.Matrix(o, h*c.VHeadDim); ok && out != d {
			w.Fail(o, "layer %d: attention output has width %d, the residual stream %d", layer, out, d)
		}
	}
	w.Norm(b, arch.CompFFNNorm, layer, d)
	if !c.Sparse(int64(layer)) {
		w.MLP(b, layer, d)
		return len(w.Problems) == n0
	}
	if router := w.One(b, arch.CompRouter, layer); router != nil {
		w.Experts(b, router, layer, d, [3]string{"gate_proj", "up_proj", "down_proj"})
	}
	if bias := w.One(b, CompRouterBias, layer); bias != nil {
		w.Vector(bias, c.NRoutedExperts)
	}
	if c.NSharedExperts > 0 {
		g, u, dn := w.One(b, CompSharedGate, layer), w.One(b, CompSharedUp, layer), w.One(b, CompSharedDown, layer)
		if g != nil && u != nil && dn != nil {
			w.GatedFFN(g, u, dn, layer, d)
		}
	}
	return len(w.Problems) == n0
}

// walkKVB checks the expansion of the latent into per-head keys (nope
// part) and values: kv_b_proj [h·(nope + v), rank], or in GGUF attn_k_b
// [h, rank, nope] and attn_v_b [h, v, rank] (logical, outermost first)
// when the block has either half.
func (s *Spec) walkKVB(w *arch.Walk, b *arch.Block, layer int, rank int64) {
	c := s.Cfg()
	h := c.NumAttentionHeads
	if len(b.Get(CompAttnKB)) == 0 && len(b.Get(CompAttnVB)) == 0 {
		kvb := w.One(b, CompAttnKVB, layer)
		if kvb == nil {
			return
		}
		if out, ok := w.Matrix(kvb, rank); ok && out != h*(c.QKNopeHeadDim+c.VHeadDim) {
			w.Fail(kvb, "layer %d: kv_b gives width %d, %d heads of %d key and %d value dimensions", layer, out, h, c.QKNopeHeadDim, c.VHeadDim)
		}
		return
	}
	want := map[arch.Component][3]int64{CompAttnKB: {h, rank, c.QKNopeHeadDim}, CompAttnVB: {h, c.VHeadDim, rank}}
	for _, comp := range []arch.Component{CompAttnKB, CompAttnVB} {
		t := w.One(b, comp, layer)
		if t == nil {
			continue
		}
		if ws := want[comp]; len(t.Logical) != 3 || t.Logical[0] != ws[0] || t.Logical[1] != ws[1] || t.Logical[2] != ws[2] {
			w.Fail(t, "layer %d: %s is %v, want %v per head (heads, rows, columns)", layer, comp, t.Logical, ws)
		}
	}
}

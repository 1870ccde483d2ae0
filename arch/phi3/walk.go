package phi3

import "github.com/weightaudit/weightaudit/arch"

// WalkBlock walks [seq, d] through one decoder layer as transformers'
// Phi3DecoderLayer computes it and reports whether it comes out as
// [seq, d]: RMSNorm; the fused qkv_proj, whose output must split into q
// (num_attention_heads · head_dim), k and v (num_key_value_heads ·
// head_dim each) as Phi3Attention slices it; o_proj from q's width back
// to d; the residual; RMSNorm; the fused gate_up_proj, whose output
// Phi3MLP chunks into two halves (gate, up) of equal width; down_proj from
// that width back to d; the residual.
func (s *Spec) WalkBlock(w *arch.Walk, b *arch.Block, layer int, d int64) bool {
	c := s.Cfg()
	q, kv := c.q(), c.kv()
	n0 := len(w.Problems)
	w.Norm(b, arch.CompAttnNorm, layer, d)
	if t := w.One(b, CompAttnQKV, layer); t != nil {
		if out, ok := w.Matrix(t, d); ok && out != q+2*kv {
			w.Fail(t, "layer %d: qkv_proj gives width %d, the split into q %d, k %d and v %d needs %d", layer, out, q, kv, kv, q+2*kv)
		}
	}
	if o := w.One(b, arch.CompAttnO, layer); o != nil {
		if out, ok := w.Matrix(o, q); ok && out != d {
			w.Fail(o, "layer %d: attention output has width %d, the residual stream %d", layer, out, d)
		}
	}
	w.Norm(b, arch.CompFFNNorm, layer, d)
	gu, dn := w.One(b, CompMLPGateUp, layer), w.One(b, arch.CompMLPDown, layer)
	if gu == nil || dn == nil {
		return len(w.Problems) == n0
	}
	if out, ok := w.Matrix(gu, d); ok {
		if out%2 != 0 {
			w.Fail(gu, "layer %d: gate_up_proj gives width %d, which does not chunk into gate and up halves", layer, out)
		} else if down, ok := w.Matrix(dn, out/2); ok && down != d {
			w.Fail(dn, "layer %d: down projects to width %d, the residual stream is %d", layer, down, d)
		}
	}
	return len(w.Problems) == n0
}

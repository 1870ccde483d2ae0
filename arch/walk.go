package arch

import (
	"fmt"
	"slices"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// Block is one layer's known tensors grouped by component. Experts stored
// one tensor per expert (Hugging Face) are listed under their component in
// expert order; stacked experts (GGUF) are one 3-D tensor.
type Block struct {
	by [][]*checkpoint.Tensor // by component index
}

// Get returns the tensors of component c; none on a nil block.
func (b *Block) Get(c Component) []*checkpoint.Tensor {
	i, _, ok := lookup(c)
	if b == nil || !ok || int(i) >= len(b.by) {
		return nil
	}
	return b.by[i]
}

// ByLayer groups the inventory's known tensors by layer: out[l+1] holds
// layer l, out[0] the embedding, final norm and lm_head. Companions
// ([PartCompanion]: block scales, rope_freqs) carry no activation and are
// left out; their shapes are the table's to check. A packed tensor
// (GPTQ's qweight, MXFP4 blocks) is walked with the logical shape of the
// weight it holds ([Expected.Unpacked]).
func ByLayer(inv *checkpoint.Inventory, roles []Role, layers int) []*Block {
	out := make([]*Block, layers+1)
	n := numComponents()
	for i := range inv.Tensors {
		r := &roles[i]
		if !r.Known || r.Part == PartCompanion || r.Layer < -1 || r.Layer >= layers {
			continue
		}
		b := out[r.Layer+1]
		if b == nil {
			b = &Block{by: make([][]*checkpoint.Tensor, n)}
			out[r.Layer+1] = b
		}
		t := &inv.Tensors[i]
		if r.Packing != PackNone { // walked as the weight it holds
			unpacked := *t
			unpacked.Logical = r.Unpacked(slices.Clone(t.Logical))
			t = &unpacked
		}
		b.by[r.CompIndex] = append(b.by[r.CompIndex], t)
	}
	return out
}

// Problem is one place where the activation shape breaks.
type Problem struct {
	Tensor  *checkpoint.Tensor // nil when no one tensor is at fault
	Message string
}

// Walk follows the activation shape [seq, width] through a model's
// weights, recording where it breaks. Its helpers serve every family's
// [BlockWalker].
type Walk struct {
	Problems []Problem
}

// Fail records a problem at t (nil for none).
func (w *Walk) Fail(t *checkpoint.Tensor, format string, args ...any) {
	w.Problems = append(w.Problems, Problem{Tensor: t, Message: fmt.Sprintf(format, args...)})
}

// One returns the single tensor of a component, recording a problem when
// there is none.
func (w *Walk) One(b *Block, c Component, layer int) *checkpoint.Tensor {
	ts := b.Get(c)
	if len(ts) == 0 {
		w.Fail(nil, "layer %d: no %s tensor: the block cannot be composed", layer, c)
		return nil
	}
	return ts[0]
}

// Matrix checks that t maps width in to some width, returning it: [out,
// in] for a 2-D weight, or [n, out, in] for n stacked experts.
func (w *Walk) Matrix(t *checkpoint.Tensor, in int64) (out int64, ok bool) {
	s := t.Logical
	if len(s) < 2 {
		w.Fail(t, "a %d-D weight cannot map [seq, %d]", len(s), in)
		return 0, false
	}
	if s[len(s)-1] != in {
		w.Fail(t, "takes inputs of width %d, the activation has width %d", s[len(s)-1], in)
		return 0, false
	}
	return s[len(s)-2], true
}

// Vector checks a norm weight of length n.
func (w *Walk) Vector(t *checkpoint.Tensor, n int64) bool {
	if len(t.Logical) != 1 || t.Logical[0] != n {
		w.Fail(t, "norm weight %v, want [%d]", t.Logical, n)
		return false
	}
	return true
}

// GatedFFN checks that down(act(gate·x) ⊙ up·x) maps width d to width d.
func (w *Walk) GatedFFN(g, u, dn *checkpoint.Tensor, layer int, d int64) {
	gf, ok1 := w.Matrix(g, d)
	uf, ok2 := w.Matrix(u, d)
	if !ok1 || !ok2 {
		return
	}
	if gf != uf {
		w.Fail(u, "layer %d: up width %d differs from gate width %d", layer, uf, gf)
		return
	}
	if out, ok := w.Matrix(dn, gf); ok && out != d {
		w.Fail(dn, "layer %d: down projects to width %d, the residual stream is %d", layer, out, d)
	}
}

// Norm checks the norm weight of component c in layer: a vector of n. A
// missing one is recorded.
func (w *Walk) Norm(b *Block, c Component, layer int, n int64) {
	if t := w.One(b, c, layer); t != nil {
		w.Vector(t, n)
	}
}

// Attention checks a layer's attention projections without biases: q, k
// and v each map width d, to whole heads of headDim, v as wide as k, the
// query heads grouping over the KV heads; then o_proj maps q's width back
// to d. A missing projection is recorded; o_proj is looked at only when q,
// k and v are sound.
func (w *Walk) Attention(b *Block, layer int, d, headDim int64) {
	q, k, v := w.One(b, CompAttnQ, layer), w.One(b, CompAttnK, layer), w.One(b, CompAttnV, layer)
	if q == nil || k == nil || v == nil {
		return
	}
	qo, okq := w.Matrix(q, d)
	ko, okk := w.Matrix(k, d)
	vo, okv := w.Matrix(v, d)
	if !okq || !okk || !okv {
		return
	}
	switch {
	case qo%headDim != 0 || ko%headDim != 0:
		w.Fail(q, "layer %d: q width %d and k width %d are not whole heads of %d", layer, qo, ko, headDim)
	case vo != ko:
		w.Fail(v, "layer %d: v width %d differs from k width %d", layer, vo, ko)
	case ko == 0 || (qo/headDim)%(ko/headDim) != 0:
		w.Fail(q, "layer %d: %d query heads cannot share %d KV heads", layer, qo/headDim, ko/headDim)
	}
	if o := w.One(b, CompAttnO, layer); o != nil {
		if out, ok := w.Matrix(o, qo); ok && out != d {
			w.Fail(o, "layer %d: attention output has width %d, the residual stream %d", layer, out, d)
		}
	}
}

// MLP checks a layer's gated MLP (CompMLPGate, CompMLPUp, CompMLPDown) as
// [Walk.GatedFFN] does. A missing projection is recorded.
func (w *Walk) MLP(b *Block, layer int, d int64) {
	g, u, dn := w.One(b, CompMLPGate, layer), w.One(b, CompMLPUp, layer), w.One(b, CompMLPDown, layer)
	if g != nil && u != nil && dn != nil {
		w.GatedFFN(g, u, dn, layer, d)
	}
}

// Experts checks a layer's router and every expert, each a gated FFN
// ([Walk.GatedFFN]): one tensor per expert and projection (Hugging Face),
// or one stacked tensor per projection (GGUF) whose outermost dimension
// counts the router's experts. names are what a message calls the gate,
// up and down projections ("gate", "up", "down").
func (w *Walk) Experts(b *Block, router *checkpoint.Tensor, layer int, d int64, names [3]string) {
	experts, ok := w.Matrix(router, d)
	if !ok {
		return
	}
	gates, ups, downs := b.Get(CompExpertGate), b.Get(CompExpertUp), b.Get(CompExpertDown)
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
		w.Fail(router, "layer %d: the router picks among %d experts, the layer stores %d %s, %d %s, %d %s",
			layer, experts, len(gates), names[0], len(ups), names[1], len(downs), names[2])
		return
	}
	for e := range gates {
		w.GatedFFN(gates[e], ups[e], downs[e], layer, d)
	}
}

// Shapes is what the two shape obligations found.
type Shapes struct {
	Applicable bool // false when the spec has no BlockWalker
	Blocks     int  // blocks that preserve [seq, d]
	Layers     int
	PerBlock   []Problem // block shape preservation
	EndToEnd   []Problem // tokens → [seq, d] → … → [seq, V]
	D, Vocab   int64
}

// WalkShapes verifies the shape obligations structurally: every block maps
// [seq, d] to [seq, d] given its weights' shapes (by the spec's
// [BlockWalker]), and the chain tokens → embedding → blocks → final norm →
// lm_head gives [seq, V].
func WalkShapes(spec Spec, inv *checkpoint.Inventory, roles []Role) Shapes {
	dims := spec.Dims()
	bw, ok := spec.(BlockWalker)
	res := Shapes{Applicable: ok, Layers: int(dims.Layers), D: dims.Hidden}
	if !ok {
		return res
	}
	groups := ByLayer(inv, roles, int(dims.Layers))
	outer := groups[0]
	blocks, chain := &Walk{}, &Walk{}
	d := dims.Hidden
	if emb := chain.One(outer, CompEmbedding, -1); emb != nil {
		if len(emb.Logical) != 2 {
			chain.Fail(emb, "embedding %v is not a [vocab, hidden] table", emb.Logical)
		} else {
			d = emb.Logical[1]
			if emb.Logical[0] != dims.Vocab {
				chain.Fail(emb, "embedding has %d rows, the vocabulary %d tokens", emb.Logical[0], dims.Vocab)
			}
		}
	}
	res.D = d
	for l := 0; l < int(dims.Layers); l++ {
		b := groups[l+1]
		if b == nil {
			blocks.Fail(nil, "layer %d: no tensors at all", l)
			continue
		}
		if bw.WalkBlock(blocks, b, l, d) {
			res.Blocks++
		}
	}
	if res.Blocks < res.Layers {
		chain.Fail(nil, "%d of %d blocks do not preserve [seq, %d]", res.Layers-res.Blocks, res.Layers, d)
	}
	if t := chain.One(outer, CompFinalNorm, -1); t != nil {
		chain.Vector(t, d)
	}
	head := outer.Get(CompLMHead)
	if len(head) == 0 && dims.TiedEmbeddings {
		head = outer.Get(CompEmbedding)
	}
	if len(head) == 0 {
		chain.Fail(nil, "no lm_head (and embeddings are not tied): no logits")
	} else if v, ok := chain.Matrix(head[0], d); ok {
		res.Vocab = v
		if v != dims.Vocab {
			chain.Fail(head[0], "lm_head gives %d logits, the vocabulary has %d tokens", v, dims.Vocab)
		}
	}
	res.PerBlock, res.EndToEnd = blocks.Problems, chain.Problems
	return res
}

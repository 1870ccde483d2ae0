package audit

import (
	"fmt"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// blockTensors groups one layer's tensors by component. Experts stored one
// tensor per expert (Hugging Face) are listed under their component in
// expert order; stacked experts (GGUF) are one 3-D tensor.
type blockTensors struct {
	by [len(allComponents)][]*checkpoint.Tensor
}

// allComponents lists the components; compIndex numbers them.
var allComponents = [...]Component{CompEmbedding, CompLMHead, CompFinalNorm, CompAttnNorm, CompAttnQ, CompAttnK, CompAttnV, CompAttnO,
	CompAttnQNorm, CompAttnKNorm, CompFFNNorm, CompRouter, CompExpertGate, CompExpertUp, CompExpertDown, CompMLPGate, CompMLPUp, CompMLPDown}

var compIndex = func() map[Component]int {
	m := map[Component]int{}
	for i, c := range allComponents {
		m[c] = i
	}
	return m
}()

func (b *blockTensors) get(c Component) []*checkpoint.Tensor {
	if b == nil {
		return nil
	}
	return b.by[compIndex[c]]
}

// byLayer groups the inventory's known tensors: layer -1 holds the
// embedding, final norm and lm_head.
func byLayer(inv *checkpoint.Inventory, roles []Role, layers int) []*blockTensors {
	out := make([]*blockTensors, layers+1) // out[l+1] is layer l; out[0] the outside
	for i := range inv.Tensors {
		r := &roles[i]
		if !r.Known || r.Layer < -1 || r.Layer >= layers {
			continue
		}
		b := out[r.Layer+1]
		if b == nil {
			b = &blockTensors{}
			out[r.Layer+1] = b
		}
		b.by[r.comp] = append(b.by[r.comp], &inv.Tensors[i])
	}
	return out
}

// shapeWalk follows the activation shape [seq, width] through a model's
// weights, recording where it breaks.
type shapeWalk struct {
	check    string
	findings []Finding
}

func (w *shapeWalk) fail(t *checkpoint.Tensor, format string, args ...any) {
	f := Finding{Check: w.check, Message: fmt.Sprintf(format, args...)}
	if t != nil {
		f.Tensor, f.File = t.Name, t.File
	}
	w.findings = append(w.findings, f)
}

// one returns the single tensor of a component, recording a finding when
// there is none.
func (w *shapeWalk) one(b *blockTensors, c Component, layer int) *checkpoint.Tensor {
	ts := b.get(c)
	if len(ts) == 0 {
		w.fail(nil, "layer %d: no %s tensor: the block cannot be composed", layer, c)
		return nil
	}
	return ts[0]
}

// matrix checks that t maps width in to some width, returning [out, in]
// for a 2-D weight, or [n, out, in] for n stacked experts.
func (w *shapeWalk) matrix(t *checkpoint.Tensor, in int64) (out int64, ok bool) {
	s := t.Logical
	if len(s) < 2 {
		w.fail(t, "a %d-D weight cannot map [seq, %d]", len(s), in)
		return 0, false
	}
	if s[len(s)-1] != in {
		w.fail(t, "takes inputs of width %d, the activation has width %d", s[len(s)-1], in)
		return 0, false
	}
	return s[len(s)-2], true
}

// vector checks a norm weight of length n.
func (w *shapeWalk) vector(t *checkpoint.Tensor, n int64) bool {
	if len(t.Logical) != 1 || t.Logical[0] != n {
		w.fail(t, "norm weight %v, want [%d]", t.Logical, n)
		return false
	}
	return true
}

// block walks [seq, d] through one decoder layer and reports whether it
// comes out as [seq, d]: RMSNorm, Q/K/V, per-head q/k norms, grouped-query
// attention, o_proj, the residual; RMSNorm, then the router and experts (or
// the dense MLP), the residual.
func (w *shapeWalk) block(b *blockTensors, layer int, d, headDim int64) bool {
	n0 := len(w.findings)
	if t := w.one(b, CompAttnNorm, layer); t != nil {
		w.vector(t, d)
	}
	q, k, v := w.one(b, CompAttnQ, layer), w.one(b, CompAttnK, layer), w.one(b, CompAttnV, layer)
	if q != nil && k != nil && v != nil {
		qo, okq := w.matrix(q, d)
		ko, okk := w.matrix(k, d)
		vo, okv := w.matrix(v, d)
		if okq && okk && okv {
			switch {
			case qo%headDim != 0 || ko%headDim != 0:
				w.fail(q, "layer %d: q width %d and k width %d are not whole heads of %d", layer, qo, ko, headDim)
			case vo != ko:
				w.fail(v, "layer %d: v width %d differs from k width %d", layer, vo, ko)
			case (qo/headDim)%(ko/headDim) != 0:
				w.fail(q, "layer %d: %d query heads cannot share %d KV heads", layer, qo/headDim, ko/headDim)
			}
			if o := w.one(b, CompAttnO, layer); o != nil {
				if out, ok := w.matrix(o, qo); ok && out != d {
					w.fail(o, "layer %d: attention output has width %d, the residual stream %d", layer, out, d)
				}
			}
		}
	}
	for _, c := range []Component{CompAttnQNorm, CompAttnKNorm} {
		if t := w.one(b, c, layer); t != nil {
			w.vector(t, headDim)
		}
	}
	if t := w.one(b, CompFFNNorm, layer); t != nil {
		w.vector(t, d)
	}
	if len(b.get(CompRouter)) > 0 {
		w.moe(b, layer, d)
	} else {
		w.mlp(b, layer, d)
	}
	return len(w.findings) == n0
}

// moe checks the router and every expert of a layer.
func (w *shapeWalk) moe(b *blockTensors, layer int, d int64) {
	router := b.get(CompRouter)[0]
	experts, ok := w.matrix(router, d)
	if !ok {
		return
	}
	gates, ups, downs := b.get(CompExpertGate), b.get(CompExpertUp), b.get(CompExpertDown)
	if len(gates) == 1 && len(gates[0].Logical) == 3 { // stacked (GGUF)
		if len(ups) != 1 || len(downs) != 1 {
			w.fail(gates[0], "layer %d: stacked experts need one gate, up and down tensor", layer)
			return
		}
		g, u, dn := gates[0], ups[0], downs[0]
		for _, t := range []*checkpoint.Tensor{g, u, dn} {
			if len(t.Logical) != 3 || t.Logical[0] != experts {
				w.fail(t, "layer %d: %v stacks a different number of experts than the router's %d", layer, t.Logical, experts)
				return
			}
		}
		w.ffn(g, u, dn, layer, d)
		return
	}
	if int64(len(gates)) != experts || int64(len(ups)) != experts || int64(len(downs)) != experts {
		w.fail(router, "layer %d: the router picks among %d experts, the layer stores %d gate, %d up, %d down", layer, experts, len(gates), len(ups), len(downs))
		return
	}
	for e := range gates {
		w.ffn(gates[e], ups[e], downs[e], layer, d)
	}
}

// mlp checks a dense SwiGLU MLP.
func (w *shapeWalk) mlp(b *blockTensors, layer int, d int64) {
	g, u, dn := w.one(b, CompMLPGate, layer), w.one(b, CompMLPUp, layer), w.one(b, CompMLPDown, layer)
	if g != nil && u != nil && dn != nil {
		w.ffn(g, u, dn, layer, d)
	}
}

// ffn checks down(silu(gate·x) ⊙ up·x) maps width d to width d.
func (w *shapeWalk) ffn(g, u, dn *checkpoint.Tensor, layer int, d int64) {
	gf, ok1 := w.matrix(g, d)
	uf, ok2 := w.matrix(u, d)
	if !ok1 || !ok2 {
		return
	}
	if gf != uf {
		w.fail(u, "layer %d: up width %d differs from gate width %d", layer, uf, gf)
		return
	}
	if out, ok := w.matrix(dn, gf); ok && out != d {
		w.fail(dn, "layer %d: down projects to width %d, the residual stream is %d", layer, out, d)
	}
}

// shapeResult is what the two shape obligations found.
type shapeResult struct {
	blocks     int // blocks that preserve [seq, d]
	layers     int
	perBlock   []Finding // FALSIFY-QM3E-006
	endToEnd   []Finding // FALSIFY-QM3E-007
	d, vocab   int64
	outputDesc string
}

// checkShapes verifies obligations 6 and 7 structurally: every block maps
// [seq, d] to [seq, d] given its weights' shapes, and the chain
// tokens → embedding → blocks → final norm → lm_head gives [seq, V].
func checkShapes(spec Spec, inv *checkpoint.Inventory, roles []Role) shapeResult {
	cfg := spec.Config()
	groups := byLayer(inv, roles, int(cfg.NumHiddenLayers))
	res := shapeResult{layers: int(cfg.NumHiddenLayers)}
	blocks := &shapeWalk{check: CheckBlocks}
	outer := groups[0]
	chain := &shapeWalk{check: CheckEndToEnd}
	d := cfg.HiddenSize
	if emb := chain.one(outer, CompEmbedding, -1); emb != nil {
		if len(emb.Logical) != 2 {
			chain.fail(emb, "embedding %v is not a [vocab, hidden] table", emb.Logical)
		} else {
			d = emb.Logical[1]
			if emb.Logical[0] != cfg.VocabSize {
				chain.fail(emb, "embedding has %d rows, the vocabulary %d tokens", emb.Logical[0], cfg.VocabSize)
			}
		}
	}
	res.d = d
	for l := 0; l < int(cfg.NumHiddenLayers); l++ {
		b := groups[l+1]
		if b == nil {
			blocks.fail(nil, "layer %d: no tensors at all", l)
			continue
		}
		if blocks.block(b, l, d, cfg.HeadDim) {
			res.blocks++
		}
	}
	if res.blocks < res.layers {
		chain.fail(nil, "%d of %d blocks do not preserve [seq, %d]", res.layers-res.blocks, res.layers, d)
	}
	if t := chain.one(outer, CompFinalNorm, -1); t != nil {
		chain.vector(t, d)
	}
	head := outer.get(CompLMHead)
	if len(head) == 0 && cfg.TieWordEmbeddings {
		head = outer.get(CompEmbedding)
	}
	if len(head) == 0 {
		chain.fail(nil, "no lm_head (and embeddings are not tied): no logits")
	} else if v, ok := chain.matrix(head[0], d); ok {
		res.vocab = v
		if v != cfg.VocabSize {
			chain.fail(head[0], "lm_head gives %d logits, the vocabulary has %d tokens", v, cfg.VocabSize)
		}
	}
	res.perBlock, res.endToEnd = blocks.findings, chain.findings
	return res
}

package qwen3

import (
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The tensor names and shapes of both formats, in one table that both
// lists the expected tensors and locates a stored one.
//
// Hugging Face names: transformers' Qwen3MoeForCausalLM and
// Qwen3ForCausalLM (models/qwen3_moe/modeling_qwen3_moe.py,
// models/qwen3/modeling_qwen3.py), shapes [out, in] as nn.Linear stores
// them. GGUF names: llama.cpp's converter (gguf-py/gguf/constants.py,
// MODEL_ARCH.QWEN3MOE and QWEN3; src/llama-arch.cpp), shapes in ne order
// (ne[0], the contiguous dimension, first), the experts of a layer
// stacked into one tensor whose last dimension is the expert index.

// layers says in which layers a slot appears.
type layers uint8

const (
	everyLayer layers = iota
	sparseLayers
	denseLayers
)

// slot is one tensor of a decoder layer.
type slot struct {
	hf, gguf string // name after "model.layers.N." / "blk.N."; an expert's HF name follows "mlp.experts.E."
	comp     arch.Component
	in       layers
}

// layerSlots lists a layer's tensors in stored order. In Hugging Face
// checkpoints the three expert slots repeat per expert (gate, up, down of
// expert 0, then of expert 1, …); in GGUF each is one stacked tensor.
var layerSlots = []slot{
	{"input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, everyLayer},
	{"self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, everyLayer},
	{"self_attn.k_proj.weight", "attn_k.weight", arch.CompAttnK, everyLayer},
	{"self_attn.v_proj.weight", "attn_v.weight", arch.CompAttnV, everyLayer},
	{"self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, everyLayer},
	{"self_attn.q_norm.weight", "attn_q_norm.weight", arch.CompAttnQNorm, everyLayer},
	{"self_attn.k_norm.weight", "attn_k_norm.weight", arch.CompAttnKNorm, everyLayer},
	{"post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, everyLayer},
	{"mlp.gate.weight", "ffn_gate_inp.weight", arch.CompRouter, sparseLayers},
	{"gate_proj.weight", "ffn_gate_exps.weight", arch.CompExpertGate, sparseLayers},
	{"up_proj.weight", "ffn_up_exps.weight", arch.CompExpertUp, sparseLayers},
	{"down_proj.weight", "ffn_down_exps.weight", arch.CompExpertDown, sparseLayers},
	{"mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, denseLayers},
	{"mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, denseLayers},
	{"mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, denseLayers},
}

// outerSlots are the tensors outside the layers: the embedding first, the
// final norm and lm_head after the layers.
var outerSlots = [3]slot{
	{"model.embed_tokens.weight", "token_embd.weight", arch.CompEmbedding, everyLayer},
	{"model.norm.weight", "output_norm.weight", arch.CompFinalNorm, everyLayer},
	{"lm_head.weight", "output.weight", arch.CompLMHead, everyLayer},
}

const expertPrefix = "mlp.experts."

// logicalShapes returns each component's shape, outermost first, with
// the experts of a layer stacked first when stacked is set.
func (c *Config) logicalShapes(stacked bool) map[arch.Component][]int64 {
	d, v, hd := c.HiddenSize, c.VocabSize, c.HeadDim
	q, kv := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	fe, fm, e := c.MoEIntermediateSize, c.IntermediateSize, c.NumExperts
	m := map[arch.Component][]int64{
		arch.CompEmbedding: {v, d}, arch.CompLMHead: {v, d}, arch.CompFinalNorm: {d},
		arch.CompAttnNorm: {d}, arch.CompFFNNorm: {d}, arch.CompAttnQNorm: {hd}, arch.CompAttnKNorm: {hd},
		arch.CompAttnQ: {q, d}, arch.CompAttnK: {kv, d}, arch.CompAttnV: {kv, d}, arch.CompAttnO: {d, q},
		arch.CompRouter: {e, d}, arch.CompMLPGate: {fm, d}, arch.CompMLPUp: {fm, d}, arch.CompMLPDown: {d, fm},
		arch.CompExpertGate: {fe, d}, arch.CompExpertUp: {fe, d}, arch.CompExpertDown: {d, fe},
	}
	if stacked {
		for _, comp := range []arch.Component{arch.CompExpertGate, arch.CompExpertUp, arch.CompExpertDown} {
			m[comp] = append([]int64{e}, m[comp]...)
		}
	}
	return m
}

// layout numbers the expected tensors of one format and locates a stored
// tensor from its name alone, without building the expected list: the
// checks then cost a parse per tensor, not a map of every expected name.
// Expected lists the tensors in the same order, so a tensor's Index is its
// position there.
type layout struct {
	c      *Config
	gguf   bool
	base   []int // base[l]: index of layer l's first tensor; base[L] the first after the layers
	sparse []bool
	total  int
	// pos[kind][slot]: a slot's position in a layer of that kind (sparse
	// 0, dense 1), -1 when absent; an HF expert slot's is that of expert
	// 0, expert e adding 3e.
	pos [2][]int
	// roles: the role template of each layer slot and outer slot
	roles   []arch.Role
	outer   [3]arch.Role
	names   map[string]int // layer slot index by name suffix in this format
	experts []int          // the layer slot indexes of the expert projections
}

func newLayout(c *Config, f checkpoint.Format) *layout {
	l := &layout{c: c, gguf: f == checkpoint.FormatGGUF, base: make([]int, c.NumHiddenLayers+1),
		sparse: make([]bool, c.NumHiddenLayers), names: map[string]int{}}
	shapes := c.logicalShapes(l.gguf)
	shape := func(comp arch.Component) []int64 { return arch.ShapeIn(f, shapes[comp]) }
	var size [2]int
	for kind := range 2 {
		l.pos[kind] = make([]int, len(layerSlots))
		for i, s := range layerSlots {
			l.pos[kind][i] = -1
			if s.in == everyLayer || (kind == 0) == (s.in == sparseLayers) {
				l.pos[kind][i] = size[kind]
				if !l.gguf && s.comp.Expert() {
					size[kind]++ // expert e's copy sits at pos + 3e; the block of 3E fills below
					if s.comp == arch.CompExpertDown {
						size[kind] += 3*int(c.NumExperts) - 3
					}
					continue
				}
				size[kind]++
			}
		}
	}
	idx := 1 // the embedding
	for i := range c.NumHiddenLayers {
		l.base[i] = idx
		l.sparse[i] = c.Sparse(i)
		if l.sparse[i] {
			idx += size[0]
		} else {
			idx += size[1]
		}
	}
	l.base[c.NumHiddenLayers] = idx
	l.total = idx + 1 // the final norm
	if !c.TieWordEmbeddings {
		l.total++
	}
	for i, s := range layerSlots {
		if s.comp.Expert() {
			l.experts = append(l.experts, i)
		}
		l.roles = append(l.roles, arch.RoleOf(s.comp, shape(s.comp)))
		if l.gguf {
			l.names[s.gguf] = i
		} else {
			l.names[s.hf] = i
		}
	}
	for i, s := range outerSlots {
		l.outer[i] = arch.RoleOf(s.comp, shape(s.comp))
	}
	return l
}

// kind is 0 for a sparse layer, 1 for a dense one.
func (l *layout) kind(layer int) int {
	if l.sparse[layer] {
		return 0
	}
	return 1
}

// expected lists the tensors in stored order: the embedding, each layer in
// turn, then the final norm and lm_head.
func (l *layout) expected() []arch.Expected {
	out := make([]arch.Expected, 0, l.total)
	name := func(s slot) string {
		if l.gguf {
			return s.gguf
		}
		return s.hf
	}
	out = append(out, l.outer[0].At(name(outerSlots[0]), -1, -1))
	for layer := range int(l.c.NumHiddenLayers) {
		p := "model.layers." + strconv.Itoa(layer) + "."
		if l.gguf {
			p = "blk." + strconv.Itoa(layer) + "."
		}
		kind := l.kind(layer)
		for i, s := range layerSlots {
			if l.pos[kind][i] < 0 || (!l.gguf && s.comp == arch.CompExpertUp) || (!l.gguf && s.comp == arch.CompExpertDown) {
				continue
			}
			if !l.gguf && s.comp == arch.CompExpertGate { // per expert: gate, up, down
				for e := range int(l.c.NumExperts) {
					ep := p + expertPrefix + strconv.Itoa(e) + "."
					for j := range 3 {
						out = append(out, l.roles[i+j].At(ep+layerSlots[i+j].hf, layer, e))
					}
				}
				continue
			}
			out = append(out, l.roles[i].At(p+name(s), layer, -1))
		}
	}
	out = append(out, l.outer[1].At(name(outerSlots[1]), -1, -1))
	if !l.c.TieWordEmbeddings {
		out = append(out, l.outer[2].At(name(outerSlots[2]), -1, -1))
	}
	return out
}

// assign fills r with the role of the tensor named name, or reports false
// and leaves r alone when the architecture predicts no such tensor.
func (l *layout) assign(name string, r *arch.Role) bool {
	after := l.base[len(l.base)-1]
	for i, s := range outerSlots {
		n := s.hf
		if l.gguf {
			n = s.gguf
		}
		if name != n {
			continue
		}
		switch i {
		case 0:
			return r.Fill(&l.outer[0], name, -1, -1, 0)
		case 1:
			return r.Fill(&l.outer[1], name, -1, -1, after)
		}
		return !l.c.TieWordEmbeddings && r.Fill(&l.outer[2], name, -1, -1, after+1)
	}
	prefix := "model.layers."
	if l.gguf {
		prefix = "blk."
	}
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	layer, rest, ok := arch.CutIndex(rest)
	if !ok || layer >= int(l.c.NumHiddenLayers) {
		return false
	}
	kind := l.kind(layer)
	if !l.gguf && kind == 0 {
		if erest, ok := strings.CutPrefix(rest, expertPrefix); ok {
			e, proj, ok := arch.CutIndex(erest)
			if !ok || e >= int(l.c.NumExperts) {
				return false
			}
			for _, i := range l.experts { // three compares cost less than a map lookup, on every expert tensor
				if proj == layerSlots[i].hf {
					return r.Fill(&l.roles[i], name, layer, e, l.base[layer]+l.pos[kind][i]+3*e)
				}
			}
			return false
		}
	}
	i, ok := l.names[rest]
	if !ok || l.pos[kind][i] < 0 || (!l.gguf && layerSlots[i].comp.Expert()) {
		return false
	}
	return r.Fill(&l.roles[i], name, layer, -1, l.base[layer]+l.pos[kind][i])
}

package llama

import (
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// CompRopeFreqs is llama.cpp's rope_freqs.weight: the head_dim/2 frequency
// factors of Llama 3.1's RoPE scaling, which the converter computes from
// rope_scaling and writes as a tensor. It holds no trained parameters
// (its entries are PartCompanion); it is grouped with the attention it scales.
var CompRopeFreqs = arch.DefineComponent("rope_freqs", arch.GroupAttention)

// The tensor names and shapes of both formats, in one table that both
// lists the expected tensors and locates a stored one.
//
// Hugging Face names: transformers' LlamaForCausalLM, MistralForCausalLM
// and MixtralForCausalLM as their checkpoints store them
// (models/llama/modeling_llama.py, models/mixtral/modeling_mixtral.py:
// block_sparse_moe.gate and block_sparse_moe.experts.E.w1/w2/w3), shapes
// [out, in] as nn.Linear stores them. GGUF names: llama.cpp's converter
// (gguf-py/gguf/constants.py MODEL_ARCH.LLAMA; convert_hf_to_gguf.py
// LlamaModel, which converts Mistral and Mixtral too and stacks each
// layer's experts into one tensor per projection), shapes in ne order
// (ne[0], the contiguous dimension, first) as src/llama-model.cpp
// creates them.

// where says in which models a layer slot appears.
type where uint8

const (
	everyLayer where = iota
	denseOnly        // Llama, Mistral: the gated MLP
	sparseOnly       // Mixtral: router and experts
)

// slot is one tensor of a decoder layer.
type slot struct {
	hf, gguf string // name after "model.layers.N." / "blk.N."; an expert's HF name follows "block_sparse_moe.experts.E."
	comp     arch.Component
	in       where
}

// layerSlots lists a layer's tensors in stored order. In Hugging Face
// checkpoints the three expert slots (consecutive here) repeat per expert:
// w1, w2, w3 of expert 0, then of expert 1, …; in GGUF each is one
// stacked tensor. Mixtral's w1 is the gate projection, w3 the up
// projection and w2 the down projection (MixtralBlockSparseTop2MLP:
// w2(act(w1(x)) * w3(x))); llama.cpp maps them to ffn_gate_exps,
// ffn_up_exps and ffn_down_exps.
var layerSlots = []slot{
	{"input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, everyLayer},
	{"self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, everyLayer},
	{"self_attn.k_proj.weight", "attn_k.weight", arch.CompAttnK, everyLayer},
	{"self_attn.v_proj.weight", "attn_v.weight", arch.CompAttnV, everyLayer},
	{"self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, everyLayer},
	{"post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, everyLayer},
	{"mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, denseOnly},
	{"mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, denseOnly},
	{"mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, denseOnly},
	{"block_sparse_moe.gate.weight", "ffn_gate_inp.weight", arch.CompRouter, sparseOnly},
	{"w1.weight", "ffn_gate_exps.weight", arch.CompExpertGate, sparseOnly},
	{"w2.weight", "ffn_down_exps.weight", arch.CompExpertDown, sparseOnly},
	{"w3.weight", "ffn_up_exps.weight", arch.CompExpertUp, sparseOnly},
}

const expertPrefix = "block_sparse_moe.experts."

// outerSlot is one tensor outside the layers.
type outerSlot struct {
	hf, gguf string // "" when the format has no such tensor
	comp     arch.Component
	after    bool                 // stored after the layers
	when     func(c *Config) bool // nil: always there
}

// outerSlots lists the tensors outside the layers in stored order. llama.cpp
// writes rope_freqs (only for the llama3 RoPE scaling) before the others:
// LlamaModel.generate_extra_tensors comes first in prepare_tensors. The
// lm_head is absent when the embeddings are tied (Llama 3.2 1B and 3B):
// llama.cpp then reads the output from token_embd.
var outerSlots = []outerSlot{
	{gguf: "rope_freqs.weight", comp: CompRopeFreqs, when: (*Config).Llama3Rope},
	{hf: "model.embed_tokens.weight", gguf: "token_embd.weight", comp: arch.CompEmbedding},
	{hf: "model.norm.weight", gguf: "output_norm.weight", comp: arch.CompFinalNorm, after: true},
	{hf: "lm_head.weight", gguf: "output.weight", comp: arch.CompLMHead, after: true, when: func(c *Config) bool { return !c.TieWordEmbeddings }},
}

// logicalShapes returns each component's shape, outermost first, with
// the experts of a layer stacked first when stacked is set.
func (c *Config) logicalShapes(stacked bool) map[arch.Component][]int64 {
	d, v, hd, f, e := c.HiddenSize, c.VocabSize, c.HeadDim, c.IntermediateSize, c.NumLocalExperts
	q, kv := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	m := map[arch.Component][]int64{
		arch.CompEmbedding: {v, d}, arch.CompLMHead: {v, d}, arch.CompFinalNorm: {d}, CompRopeFreqs: {hd / 2},
		arch.CompAttnNorm: {d}, arch.CompFFNNorm: {d},
		arch.CompAttnQ: {q, d}, arch.CompAttnK: {kv, d}, arch.CompAttnV: {kv, d}, arch.CompAttnO: {d, q},
		arch.CompMLPGate: {f, d}, arch.CompMLPUp: {f, d}, arch.CompMLPDown: {d, f},
		arch.CompRouter: {e, d}, arch.CompExpertGate: {f, d}, arch.CompExpertUp: {f, d}, arch.CompExpertDown: {d, f},
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
// position there. Every layer of a model has the same slots.
type layout struct {
	c       *Config
	gguf    bool
	sparse  bool
	experts int
	first   int // index of layer 0's first tensor
	per     int // tensors per layer
	total   int
	// pos[slot]: the slot's position in a layer, -1 when absent; an HF
	// expert slot's is that of expert 0, expert e adding 3e.
	pos   []int
	roles []arch.Role // the role template of each layer slot
	// outer[slot]: the index of an outer slot's tensor, -1 when absent.
	outer      []int
	outerRoles []arch.Role
	outerNames map[string]int // outer slot by full name
	names      map[string]int // layer slot by name suffix in this format
	firstExp   int            // the layer slot of the first expert projection
}

func newLayout(c *Config, f checkpoint.Format) *layout {
	l := &layout{c: c, gguf: f == checkpoint.FormatGGUF, sparse: c.NumLocalExperts > 0, experts: int(c.NumLocalExperts),
		names: map[string]int{}, outerNames: map[string]int{}, firstExp: -1}
	shapes := c.logicalShapes(l.gguf)
	shape := func(comp arch.Component) []int64 { return arch.ShapeIn(f, shapes[comp]) }
	for i, s := range layerSlots {
		l.pos = append(l.pos, -1)
		l.roles = append(l.roles, arch.RoleOf(s.comp, shape(s.comp)))
		if s.in != everyLayer && (s.in == sparseOnly) != l.sparse {
			continue
		}
		l.pos[i] = l.per
		l.per++
		if s.comp.Expert() {
			if l.firstExp < 0 {
				l.firstExp = i
			}
			if !l.gguf {
				if i == l.firstExp+2 { // after expert 0's three: the other experts' 3(E-1)
					l.per += 3 * (l.experts - 1)
				}
				continue // located through expertPrefix
			}
		}
		if l.gguf {
			l.names[s.gguf] = i
		} else {
			l.names[s.hf] = i
		}
	}
	name := func(s outerSlot) string {
		if l.gguf {
			return s.gguf
		}
		return s.hf
	}
	var before, after []int
	for i, s := range outerSlots {
		l.outer = append(l.outer, -1)
		r := arch.RoleOf(s.comp, shape(s.comp))
		if s.comp == CompRopeFreqs {
			r.Part = arch.PartCompanion
		}
		l.outerRoles = append(l.outerRoles, r)
		if name(s) == "" || (s.when != nil && !s.when(c)) {
			continue
		}
		l.outerNames[name(s)] = i
		if s.after {
			after = append(after, i)
		} else {
			before = append(before, i)
		}
	}
	for k, i := range before {
		l.outer[i] = k
	}
	l.first = len(before)
	end := l.first + int(c.NumHiddenLayers)*l.per
	for k, i := range after {
		l.outer[i] = end + k
	}
	l.total = end + len(after)
	return l
}

// expected lists the tensors in stored order: the outer tensors stored
// before the layers, each layer in turn, then the final norm and lm_head.
func (l *layout) expected() []arch.Expected {
	out := make([]arch.Expected, l.total)
	for i, idx := range l.outer {
		if idx < 0 {
			continue
		}
		s := outerSlots[i]
		n := s.hf
		if l.gguf {
			n = s.gguf
		}
		out[idx] = l.outerRoles[i].At(n, -1, -1)
	}
	for layer := range int(l.c.NumHiddenLayers) {
		base := l.first + layer*l.per
		p := "model.layers." + strconv.Itoa(layer) + "."
		if l.gguf {
			p = "blk." + strconv.Itoa(layer) + "."
		}
		for i, s := range layerSlots {
			if l.pos[i] < 0 {
				continue
			}
			if !l.gguf && s.comp.Expert() {
				for e := range l.experts {
					out[base+l.pos[i]+3*e] = l.roles[i].At(p+expertPrefix+strconv.Itoa(e)+"."+s.hf, layer, e)
				}
				continue
			}
			n := s.hf
			if l.gguf {
				n = s.gguf
			}
			out[base+l.pos[i]] = l.roles[i].At(p+n, layer, -1)
		}
	}
	return out
}

// assign fills r with the role of the tensor named name, or reports false
// and leaves r alone when the architecture predicts no such tensor.
func (l *layout) assign(name string, r *arch.Role) bool {
	prefix := "model.layers."
	if l.gguf {
		prefix = "blk."
	}
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		i, ok := l.outerNames[name]
		return ok && r.Fill(&l.outerRoles[i], name, -1, -1, l.outer[i])
	}
	layer, rest, ok := arch.CutIndex(rest)
	if !ok || layer >= int(l.c.NumHiddenLayers) {
		return false
	}
	base := l.first + layer*l.per
	if !l.gguf && l.sparse {
		if erest, ok := strings.CutPrefix(rest, expertPrefix); ok {
			e, proj, ok := arch.CutIndex(erest)
			if !ok || e >= l.experts {
				return false
			}
			for i := l.firstExp; i < l.firstExp+3; i++ { // three compares cost less than a map lookup, on every expert tensor
				if proj == layerSlots[i].hf {
					return r.Fill(&l.roles[i], name, layer, e, base+l.pos[i]+3*e)
				}
			}
			return false
		}
	}
	i, ok := l.names[rest]
	return ok && r.Fill(&l.roles[i], name, layer, -1, base+l.pos[i])
}

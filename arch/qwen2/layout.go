package qwen2

import (
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The components arch does not list: the biases of the q, k and v
// projections (transformers' Qwen2Attention builds q_proj, k_proj and
// v_proj with bias=True), in the attention group.
var (
	CompAttnQBias = arch.DefineComponent("attn_q_bias", arch.GroupAttention)
	CompAttnKBias = arch.DefineComponent("attn_k_bias", arch.GroupAttention)
	CompAttnVBias = arch.DefineComponent("attn_v_bias", arch.GroupAttention)
)

// The tensor names and shapes of both formats, in one table that both
// lists the expected tensors and locates a stored one.
//
// Hugging Face names: transformers' Qwen2ForCausalLM
// (models/qwen2/modeling_qwen2.py), shapes [out, in] as nn.Linear stores
// them and [out] for a bias. GGUF names: llama.cpp's converter
// (gguf-py/gguf/constants.py MODEL_ARCH.QWEN2, src/llama-arch.cpp
// LLM_ARCH_QWEN2; a bias keeps its projection's name with ".bias"), shapes
// in ne order (ne[0], the contiguous dimension, first).

// width names a dimension of a config.
type width uint8

const (
	wHidden width = iota // d
	wVocab               // V
	wQ                   // num_attention_heads · head_dim
	wKV                  // num_key_value_heads · head_dim
	wFF                  // intermediate_size
)

func (c *Config) width(w width) int64 {
	switch w {
	case wHidden:
		return c.HiddenSize
	case wVocab:
		return c.VocabSize
	case wQ:
		return c.NumAttentionHeads * c.HeadDim
	case wKV:
		return c.NumKeyValueHeads * c.HeadDim
	}
	return c.IntermediateSize
}

// slot is one tensor: its names in each format (a layer's after
// "model.layers.N." / "blk.N."), its component and its logical shape,
// outermost first.
type slot struct {
	hf, gguf string
	comp     arch.Component
	shape    []width
}

// layerSlots lists a decoder layer's tensors in stored order.
var layerSlots = []slot{
	{"input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, []width{wHidden}},
	{"self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, []width{wQ, wHidden}},
	{"self_attn.q_proj.bias", "attn_q.bias", CompAttnQBias, []width{wQ}},
	{"self_attn.k_proj.weight", "attn_k.weight", arch.CompAttnK, []width{wKV, wHidden}},
	{"self_attn.k_proj.bias", "attn_k.bias", CompAttnKBias, []width{wKV}},
	{"self_attn.v_proj.weight", "attn_v.weight", arch.CompAttnV, []width{wKV, wHidden}},
	{"self_attn.v_proj.bias", "attn_v.bias", CompAttnVBias, []width{wKV}},
	{"self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, []width{wHidden, wQ}},
	{"post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, []width{wHidden}},
	{"mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, []width{wFF, wHidden}},
	{"mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, []width{wFF, wHidden}},
	{"mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, []width{wHidden, wFF}},
}

// outerSlots are the tensors outside the layers: the embedding first, the
// final norm and lm_head after the layers. lm_head is absent when the
// embeddings are tied (transformers' tie_word_embeddings; llama.cpp then
// reads output from token_embd).
var outerSlots = [3]slot{
	{"model.embed_tokens.weight", "token_embd.weight", arch.CompEmbedding, []width{wVocab, wHidden}},
	{"model.norm.weight", "output_norm.weight", arch.CompFinalNorm, []width{wHidden}},
	{"lm_head.weight", "output.weight", arch.CompLMHead, []width{wVocab, wHidden}},
}

// layout numbers the expected tensors of one format and locates a stored
// tensor from its name alone, without building the expected list. Every
// layer holds the same slots, so layer l's slot i is at 1 + l·n + i.
type layout struct {
	c      *Config
	f      checkpoint.Format
	gguf   bool
	prefix string         // "model.layers." or "blk."
	roles  []arch.Role    // the role template of each layer slot
	outer  [3]arch.Role   // and of each outer slot
	names  map[string]int // layer slot index by name suffix in this format
	total  int
}

func newLayout(c *Config, f checkpoint.Format) *layout {
	l := &layout{c: c, f: f, gguf: f == checkpoint.FormatGGUF, prefix: "model.layers.", names: map[string]int{}}
	if l.gguf {
		l.prefix = "blk."
	}
	for i, s := range layerSlots {
		l.roles = append(l.roles, arch.RoleOf(s.comp, l.shape(s)))
		l.names[l.name(s)] = i
	}
	for i, s := range outerSlots {
		l.outer[i] = arch.RoleOf(s.comp, l.shape(s))
	}
	l.total = 1 + int(c.NumHiddenLayers)*len(layerSlots) + 1
	if !c.TieWordEmbeddings {
		l.total++
	}
	return l
}

// shape returns a slot's shape in the format's order ([arch.ShapeIn]).
func (l *layout) shape(s slot) []int64 {
	out := make([]int64, len(s.shape))
	for i, w := range s.shape {
		out[i] = l.c.width(w)
	}
	return arch.ShapeIn(l.f, out)
}

// name returns a slot's name in the format.
func (l *layout) name(s slot) string {
	if l.gguf {
		return s.gguf
	}
	return s.hf
}

// after is the index of the final norm, the first entry after the layers.
func (l *layout) after() int { return 1 + int(l.c.NumHiddenLayers)*len(layerSlots) }

// expected lists the tensors in stored order: the embedding, each layer in
// turn, then the final norm and lm_head.
func (l *layout) expected() []arch.Expected {
	out := make([]arch.Expected, 0, l.total)
	out = append(out, l.outer[0].At(l.name(outerSlots[0]), -1, -1))
	for layer := range int(l.c.NumHiddenLayers) {
		p := l.prefix + strconv.Itoa(layer) + "."
		for i, s := range layerSlots {
			out = append(out, l.roles[i].At(p+l.name(s), layer, -1))
		}
	}
	out = append(out, l.outer[1].At(l.name(outerSlots[1]), -1, -1))
	if !l.c.TieWordEmbeddings {
		out = append(out, l.outer[2].At(l.name(outerSlots[2]), -1, -1))
	}
	return out
}

// assign fills r with the role of the tensor named name, or reports false
// and leaves r alone when the architecture predicts no such tensor.
func (l *layout) assign(name string, r *arch.Role) bool {
	rest, ok := strings.CutPrefix(name, l.prefix)
	if !ok {
		for i, s := range outerSlots {
			if name != l.name(s) {
				continue
			}
			switch i {
			case 0:
				return r.Fill(&l.outer[0], name, -1, -1, 0)
			case 1:
				return r.Fill(&l.outer[1], name, -1, -1, l.after())
			}
			return !l.c.TieWordEmbeddings && r.Fill(&l.outer[2], name, -1, -1, l.after()+1)
		}
		return false
	}
	layer, rest, ok := arch.CutIndex(rest)
	if !ok || layer >= int(l.c.NumHiddenLayers) {
		return false
	}
	i, ok := l.names[rest]
	return ok && r.Fill(&l.roles[i], name, layer, -1, 1+layer*len(layerSlots)+i)
}

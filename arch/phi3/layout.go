package phi3

import (
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The components arch does not list. Phi-3 fuses projections that other
// families keep apart: qkv_proj holds q, k and v stacked along the output
// (transformers' Phi3Attention slices its output at q's width and at q's
// plus k's), gate_up_proj the gate and up projections (Phi3MLP chunks its
// output in two halves, gate first). CompRopeFactors is llama.cpp's
// rope_factors_long.weight and rope_factors_short.weight, the LongRoPE
// factors the converter copies from config.json: they hold no trained
// parameters (their entries are PartCompanion) and are grouped with the
// attention they scale.
var (
	CompAttnQKV     = arch.DefineComponent("attn_qkv", arch.GroupAttention)
	CompMLPGateUp   = arch.DefineComponent("mlp_gate_up", arch.GroupMLP)
	CompRopeFactors = arch.DefineComponent("rope_factors", arch.GroupAttention)
)

// The tensor names and shapes of both formats, in one table that both
// lists the expected tensors and locates a stored one.
//
// Hugging Face names: transformers' Phi3ForCausalLM
// (models/phi3/modeling_phi3.py), shapes [out, in] as nn.Linear stores
// them. GGUF names: llama.cpp (gguf-py/gguf/constants.py MODEL_ARCH.PHI3,
// tensor_mapping.py: qkv_proj → attn_qkv, gate_up_proj → ffn_up;
// src/llama-arch.cpp LLM_ARCH_PHI3), shapes in ne order (ne[0], the
// contiguous dimension, first): llama-model.cpp creates attn_qkv
// {n_embd, n_embd + 2·n_embd_gqa} and ffn_up {n_embd, 2·n_ff}.

// width names a dimension of a config.
type width uint8

const (
	wHidden   width = iota // d
	wVocab                 // V
	wQ                     // num_attention_heads · head_dim
	wKV                    // num_key_value_heads · head_dim
	wQKV                   // q + 2·kv: the fused projection's output
	wFF                    // intermediate_size
	wFF2                   // 2 · intermediate_size: gate and up fused
	wHalfHead              // head_dim / 2: one LongRoPE factor per frequency
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
	case wQKV:
		return (c.NumAttentionHeads + 2*c.NumKeyValueHeads) * c.HeadDim
	case wFF2:
		return 2 * c.IntermediateSize
	case wHalfHead:
		return c.HeadDim / 2
	}
	return c.IntermediateSize
}

// slot is one tensor: its names in each format (a layer's after
// "model.layers.N." / "blk.N."; "" where the format has none), its
// component and its logical shape, outermost first.
type slot struct {
	hf, gguf string
	comp     arch.Component
	shape    []width
}

// layerSlots lists a decoder layer's tensors in stored order.
var layerSlots = []slot{
	{"input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, []width{wHidden}},
	{"self_attn.qkv_proj.weight", "attn_qkv.weight", CompAttnQKV, []width{wQKV, wHidden}},
	{"self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, []width{wHidden, wQ}},
	{"post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, []width{wHidden}},
	{"mlp.gate_up_proj.weight", "ffn_up.weight", CompMLPGateUp, []width{wFF2, wHidden}},
	{"mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, []width{wHidden, wFF}},
}

// The tensors outside the layers. The LongRoPE factors come first in a
// GGUF file (the converter's prepare_tensors chains
// generate_extra_tensors before the checkpoint's tensors) and only there:
// a Hugging Face checkpoint keeps them in config.json. Then the
// embedding; after the layers the final norm and lm_head, which is absent
// when the embeddings are tied.
var (
	ropeSlots  = [2]slot{{"", "rope_factors_long.weight", CompRopeFactors, []width{wHalfHead}}, {"", "rope_factors_short.weight", CompRopeFactors, []width{wHalfHead}}}
	outerSlots = [3]slot{
		{"model.embed_tokens.weight", "token_embd.weight", arch.CompEmbedding, []width{wVocab, wHidden}},
		{"model.norm.weight", "output_norm.weight", arch.CompFinalNorm, []width{wHidden}},
		{"lm_head.weight", "output.weight", arch.CompLMHead, []width{wVocab, wHidden}},
	}
)

// layout numbers the expected tensors of one format and locates a stored
// tensor from its name alone, without building the expected list. Every
// layer holds the same slots, so layer l's slot i is at lead + 1 + l·n + i.
type layout struct {
	c      *Config
	f      checkpoint.Format
	gguf   bool
	lead   int            // the LongRoPE factors before the embedding: 2 or 0
	prefix string         // "model.layers." or "blk."
	roles  []arch.Role    // the role template of each layer slot
	rope   [2]arch.Role   // of each factor tensor
	outer  [3]arch.Role   // and of each outer slot
	names  map[string]int // layer slot index by name suffix in this format
	total  int
}

func newLayout(c *Config, f checkpoint.Format) *layout {
	l := &layout{c: c, f: f, gguf: f == checkpoint.FormatGGUF, prefix: "model.layers.", names: map[string]int{}}
	if l.gguf {
		l.prefix = "blk."
		if c.RopeFactors() {
			l.lead = 2
		}
	}
	for i, s := range layerSlots {
		l.roles = append(l.roles, arch.RoleOf(s.comp, l.shape(s)))
		l.names[l.name(s)] = i
	}
	for i, s := range ropeSlots {
		l.rope[i] = arch.RoleOf(s.comp, l.shape(s))
		l.rope[i].Part = arch.PartCompanion
	}
	for i, s := range outerSlots {
		l.outer[i] = arch.RoleOf(s.comp, l.shape(s))
	}
	l.total = l.after() + 1
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
func (l *layout) after() int { return l.lead + 1 + int(l.c.NumHiddenLayers)*len(layerSlots) }

// expected lists the tensors in stored order.
func (l *layout) expected() []arch.Expected {
	out := make([]arch.Expected, 0, l.total)
	for i := range l.lead {
		out = append(out, l.rope[i].At(ropeSlots[i].gguf, -1, -1))
	}
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
		for i := range l.lead {
			if name == ropeSlots[i].gguf {
				return r.Fill(&l.rope[i], name, -1, -1, i)
			}
		}
		for i, s := range outerSlots {
			if name != l.name(s) {
				continue
			}
			switch i {
			case 0:
				return r.Fill(&l.outer[0], name, -1, -1, l.lead)
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
	return ok && r.Fill(&l.roles[i], name, layer, -1, l.lead+1+layer*len(layerSlots)+i)
}

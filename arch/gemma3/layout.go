package gemma3

import (
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The components arch does not list: Gemma 3 normalizes the output of the
// attention and of the MLP before each residual add
// (post_attention_layernorm, post_feedforward_layernorm; llama.cpp's
// post_attention_norm and post_ffw_norm). Its other two norms are arch's
// CompAttnNorm (input_layernorm) and CompFFNNorm
// (pre_feedforward_layernorm, llama.cpp's ffn_norm).
var (
	CompAttnPostNorm = arch.DefineComponent("attn_post_norm", arch.GroupNorms)
	CompFFNPostNorm  = arch.DefineComponent("ffn_post_norm", arch.GroupNorms)
)

// The tensor names and shapes of both formats, in one table that both
// lists the expected tensors and locates a stored one.
//
// Hugging Face names: transformers' Gemma3ForCausalLM
// (models/gemma3/modeling_gemma3.py), in the order the modules are
// defined, shapes [out, in] as nn.Linear stores them. GGUF names:
// llama.cpp (gguf-py/gguf/constants.py MODEL_ARCH.GEMMA3 and
// TENSOR_NAMES; tensor_mapping.py), shapes in ne order (ne[0], the
// contiguous dimension, first, [arch.ShapeIn]).

// dim names a dimension of a config, for the table's shapes.
type dim uint8

const (
	dHidden dim = iota
	dVocab
	dHead // head_dim
	dQ    // num_attention_heads · head_dim
	dKV   // num_key_value_heads · head_dim
	dFF   // intermediate_size
)

func (c *Config) size(x dim) int64 {
	switch x {
	case dHidden:
		return c.HiddenSize
	case dVocab:
		return c.VocabSize
	case dHead:
		return c.HeadDim
	case dQ:
		return c.NumAttentionHeads * c.HeadDim
	case dKV:
		return c.NumKeyValueHeads * c.HeadDim
	}
	return c.IntermediateSize
}

// tensor is one row of the table: its name in each format (a layer's
// after "model.layers.N." / "blk.N."), its component and its logical
// shape, outermost first.
type tensor struct {
	hf, gguf string
	comp     arch.Component
	shape    []dim
}

// perLayer lists a decoder layer's tensors in stored order.
var perLayer = []tensor{
	{"self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, []dim{dQ, dHidden}},
	{"self_attn.k_proj.weight", "attn_k.weight", arch.CompAttnK, []dim{dKV, dHidden}},
	{"self_attn.v_proj.weight", "attn_v.weight", arch.CompAttnV, []dim{dKV, dHidden}},
	{"self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, []dim{dHidden, dQ}},
	{"self_attn.q_norm.weight", "attn_q_norm.weight", arch.CompAttnQNorm, []dim{dHead}},
	{"self_attn.k_norm.weight", "attn_k_norm.weight", arch.CompAttnKNorm, []dim{dHead}},
	{"mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, []dim{dFF, dHidden}},
	{"mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, []dim{dFF, dHidden}},
	{"mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, []dim{dHidden, dFF}},
	{"input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, []dim{dHidden}},
	{"post_attention_layernorm.weight", "post_attention_norm.weight", CompAttnPostNorm, []dim{dHidden}},
	{"pre_feedforward_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, []dim{dHidden}},
	{"post_feedforward_layernorm.weight", "post_ffw_norm.weight", CompFFNPostNorm, []dim{dHidden}},
}

// The tensors outside the layers: the embedding before them, the final
// norm and lm_head after; lm_head only when the embeddings are not tied
// (the converter writes no output.weight for a tied model, and llama.cpp
// then reads token_embd in its place).
var (
	embedding = tensor{"model.embed_tokens.weight", "token_embd.weight", arch.CompEmbedding, []dim{dVocab, dHidden}}
	finalNorm = tensor{"model.norm.weight", "output_norm.weight", arch.CompFinalNorm, []dim{dHidden}}
	lmHead    = tensor{"lm_head.weight", "output.weight", arch.CompLMHead, []dim{dVocab, dHidden}}
)

// layout numbers the expected tensors of one format and locates a stored
// tensor from its name alone, without building the expected list. Layer
// l's tensor i is at 1 + l·len(perLayer) + i; the final norm follows the
// layers, lm_head the final norm.
type layout struct {
	c      *Config
	gguf   bool
	prefix string
	roles  []arch.Role    // by perLayer index
	emb    arch.Role      // embedding
	norm   arch.Role      // final norm
	head   arch.Role      // lm_head
	index  map[string]int // perLayer index by name suffix in this format
	after  int            // index of the final norm
	total  int
}

func newLayout(c *Config, f checkpoint.Format) *layout {
	l := &layout{c: c, gguf: f == checkpoint.FormatGGUF, prefix: "model.layers.", index: map[string]int{}}
	if l.gguf {
		l.prefix = "blk."
	}
	role := func(t tensor) arch.Role {
		logical := make([]int64, len(t.shape))
		for i, x := range t.shape {
			logical[i] = c.size(x)
		}
		return arch.RoleOf(t.comp, arch.ShapeIn(f, logical))
	}
	for i, t := range perLayer {
		l.roles = append(l.roles, role(t))
		l.index[l.name(t)] = i
	}
	l.emb, l.norm, l.head = role(embedding), role(finalNorm), role(lmHead)
	l.after = 1 + int(c.NumHiddenLayers)*len(perLayer)
	l.total = l.after + 1
	if !c.TieWordEmbeddings {
		l.total++
	}
	return l
}

// name returns t's name in the layout's format.
func (l *layout) name(t tensor) string {
	if l.gguf {
		return t.gguf
	}
	return t.hf
}

// expected lists the tensors in stored order.
func (l *layout) expected() []arch.Expected {
	out := make([]arch.Expected, 0, l.total)
	out = append(out, l.emb.At(l.name(embedding), -1, -1))
	for layer := range int(l.c.NumHiddenLayers) {
		p := l.prefix + strconv.Itoa(layer) + "."
		for i, t := range perLayer {
			out = append(out, l.roles[i].At(p+l.name(t), layer, -1))
		}
	}
	out = append(out, l.norm.At(l.name(finalNorm), -1, -1))
	if !l.c.TieWordEmbeddings {
		out = append(out, l.head.At(l.name(lmHead), -1, -1))
	}
	return out
}

// assign fills r with the role of the tensor named name, or reports false
// and leaves r alone when the architecture predicts no such tensor.
func (l *layout) assign(name string, r *arch.Role) bool {
	rest, ok := strings.CutPrefix(name, l.prefix)
	if !ok {
		switch name {
		case l.name(embedding):
			return r.Fill(&l.emb, name, -1, -1, 0)
		case l.name(finalNorm):
			return r.Fill(&l.norm, name, -1, -1, l.after)
		case l.name(lmHead):
			return !l.c.TieWordEmbeddings && r.Fill(&l.head, name, -1, -1, l.after+1)
		}
		return false
	}
	layer, rest, ok := arch.CutIndex(rest)
	if !ok || layer >= int(l.c.NumHiddenLayers) {
		return false
	}
	i, ok := l.index[rest]
	return ok && r.Fill(&l.roles[i], name, layer, -1, 1+layer*len(perLayer)+i)
}

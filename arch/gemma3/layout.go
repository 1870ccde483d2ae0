package gemma3

import (
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The post norms: Gemma 3 normalizes the output of the attention and of
// the MLP before each residual add (post_attention_layernorm,
// post_feedforward_layernorm; llama.cpp's post_attention_norm and
// post_ffw_norm), components arch lists for the spot-check's sake. Its
// other two norms are arch's CompAttnNorm (input_layernorm) and
// CompFFNNorm (pre_feedforward_layernorm, llama.cpp's ffn_norm).
var (
	CompAttnPostNorm = arch.CompAttnPostNorm
	CompFFNPostNorm  = arch.CompFFNPostNorm
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

// tableSpec declares the tensors of format f: one kind of layer; in a
// multimodal checkpoint's Hugging Face files the language model's names
// under "language_model." and the vision tower and projector
// ([visionSlots]) after it.
func (c *Config) tableSpec(f checkpoint.Format) arch.TableSpec {
	gguf := f == checkpoint.FormatGGUF
	slot := func(t tensor, prefix string) arch.Slot {
		logical := make([]int64, len(t.shape))
		for i, x := range t.shape {
			logical[i] = c.size(x)
		}
		name := t.hf
		if gguf {
			name = t.gguf
		} else {
			name = prefix + strings.TrimPrefix(name, "model.")
		}
		return arch.Slot{Name: name, Comp: t.comp, Shape: logical}
	}
	outer := "model."
	ts := arch.TableSpec{Format: f, Layers: make([]uint8, c.NumHiddenLayers)}
	if c.mm != nil && !gguf {
		outer = languagePrefix
		ts.LayerPrefix = languagePrefix + "layers."
	}
	var layer []arch.Slot
	for _, t := range perLayer {
		layer = append(layer, slot(t, ""))
	}
	ts.Kinds = [][]arch.Slot{layer}
	ts.Before = []arch.Slot{slot(embedding, outer)}
	ts.After = []arch.Slot{slot(finalNorm, outer)}
	if !c.TieWordEmbeddings {
		head := slot(lmHead, "")
		if c.mm != nil && !gguf {
			head.Name = "language_model.lm_head.weight"
		}
		ts.After = append(ts.After, head)
	}
	if c.mm != nil && !gguf {
		ts.After = append(ts.After, c.mm.visionSlots()...)
	}
	return ts
}

package qwen2

import (
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

// The tensor names and shapes of both formats, declared once per format
// as an [arch.TableSpec] that both lists the expected tensors and locates
// a stored one.
//
// Hugging Face names: transformers' Qwen2ForCausalLM
// (models/qwen2/modeling_qwen2.py), shapes [out, in] as nn.Linear stores
// them and [out] for a bias. GGUF names: llama.cpp's converter
// (gguf-py/gguf/constants.py MODEL_ARCH.QWEN2, src/llama-arch.cpp
// LLM_ARCH_QWEN2; a bias keeps its projection's name with ".bias"), shapes
// in ne order (ne[0], the contiguous dimension, first).

// tableSpec declares the tensors of format f: the embedding, the layers
// (all alike), the final norm and lm_head, which is absent when the
// embeddings are tied ([arch.Ends]).
func (c *Config) tableSpec(f checkpoint.Format) arch.TableSpec {
	d, ff := c.HiddenSize, c.IntermediateSize
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	layer := arch.SlotsIn(f, 0,
		arch.Both("input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, d),
		arch.Both("self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, q, d),
		arch.Both("self_attn.q_proj.bias", "attn_q.bias", CompAttnQBias, q),
		arch.Both("self_attn.k_proj.weight", "attn_k.weight", arch.CompAttnK, kv, d),
		arch.Both("self_attn.k_proj.bias", "attn_k.bias", CompAttnKBias, kv),
		arch.Both("self_attn.v_proj.weight", "attn_v.weight", arch.CompAttnV, kv, d),
		arch.Both("self_attn.v_proj.bias", "attn_v.bias", CompAttnVBias, kv),
		arch.Both("self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, d, q),
		arch.Both("post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, d),
		arch.Both("mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, ff, d),
		arch.Both("mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, ff, d),
		arch.Both("mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, d, ff),
	)
	ts := arch.TableSpec{Format: f, Kinds: [][]arch.Slot{layer}, Layers: make([]uint8, c.NumHiddenLayers)}
	ts.Before, ts.After = arch.Ends(f, c.VocabSize, d, c.TieWordEmbeddings)
	return ts
}

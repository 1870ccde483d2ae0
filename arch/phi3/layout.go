package phi3

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The components of Phi-3's fused projections and LongRoPE factors, which
// arch lists for the spot-check's sake (its kernels read a layer by
// component): qkv_proj holds q, k and v stacked along the output
// (transformers' Phi3Attention slices its output at q's width and at q's
// plus k's), gate_up_proj the gate and up projections (Phi3MLP chunks its
// output in two halves, gate first). CompRopeFactorsLong and
// CompRopeFactorsShort are llama.cpp's rope_factors_long.weight and
// rope_factors_short.weight, the LongRoPE factors the converter copies
// from config.json: they hold no trained parameters (their entries are
// PartCompanion) and are grouped with the attention they scale.
var (
	CompAttnQKV          = arch.CompAttnQKV
	CompMLPGateUp        = arch.CompMLPGateUp
	CompRopeFactorsLong  = arch.CompRopeFactorsLong
	CompRopeFactorsShort = arch.CompRopeFactorsShort
)

// The tensor names and shapes of both formats, declared once per format
// as an [arch.TableSpec] that both lists the expected tensors and locates
// a stored one.
//
// Hugging Face names: transformers' Phi3ForCausalLM
// (models/phi3/modeling_phi3.py), shapes [out, in] as nn.Linear stores
// them. GGUF names: llama.cpp (gguf-py/gguf/constants.py MODEL_ARCH.PHI3,
// tensor_mapping.py: qkv_proj → attn_qkv, gate_up_proj → ffn_up;
// src/llama-arch.cpp LLM_ARCH_PHI3), shapes in ne order (ne[0], the
// contiguous dimension, first): llama-model.cpp creates attn_qkv
// {n_embd, n_embd + 2·n_embd_gqa} and ffn_up {n_embd, 2·n_ff}.

// ropeFactorsLong is the GGUF tensor of the long LongRoPE factors, whose
// presence tells that config.json had the scaling.
const ropeFactorsLong = "rope_factors_long.weight"

// q and kv are the widths of the query projection and of the key (and
// the value) projection.
func (c *Config) q() int64  { return c.NumAttentionHeads * c.HeadDim }
func (c *Config) kv() int64 { return c.NumKeyValueHeads * c.HeadDim }

// tableSpec declares the tensors of format f. The LongRoPE factors, one
// per frequency (head_dim/2), come first in a GGUF file (the converter's
// prepare_tensors chains generate_extra_tensors before the checkpoint's
// tensors) and only there: a Hugging Face checkpoint keeps them in
// config.json. Then the embedding, the layers (all alike), the final norm
// and lm_head, which is absent when the embeddings are tied
// ([arch.Ends]).
func (c *Config) tableSpec(f checkpoint.Format) arch.TableSpec {
	d, ff, q := c.HiddenSize, c.IntermediateSize, c.q()
	qkv := q + 2*c.kv() // the fused projection's output
	layer := arch.SlotsIn(f, 0,
		arch.Both("input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, d),
		arch.Both("self_attn.qkv_proj.weight", "attn_qkv.weight", CompAttnQKV, qkv, d),
		arch.Both("self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, d, q),
		arch.Both("post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, d),
		arch.Both("mlp.gate_up_proj.weight", "ffn_up.weight", CompMLPGateUp, 2*ff, d),
		arch.Both("mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, d, ff),
	)
	ts := arch.TableSpec{Format: f, Kinds: [][]arch.Slot{layer}, Layers: make([]uint8, c.NumHiddenLayers)}
	ts.Before, ts.After = arch.Ends(f, c.VocabSize, d, c.TieWordEmbeddings)
	if c.RopeFactors() {
		long := arch.Both("", ropeFactorsLong, CompRopeFactorsLong, c.HeadDim/2)
		short := arch.Both("", "rope_factors_short.weight", CompRopeFactorsShort, c.HeadDim/2)
		long.Part, short.Part = arch.PartCompanion, arch.PartCompanion
		ts.Before = append(arch.SlotsIn(f, 0, long, short), ts.Before...)
	}
	return ts
}

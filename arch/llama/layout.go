package llama

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// CompRopeFreqs is llama.cpp's rope_freqs.weight: the head_dim/2 frequency
// factors of Llama 3.1's RoPE scaling, which the converter computes from
// rope_scaling and writes as a tensor. It holds no trained parameters
// (its entries are PartCompanion); it is grouped with the attention it scales.
var CompRopeFreqs = arch.DefineComponent("rope_freqs", arch.GroupAttention)

// The tensor names and shapes of both formats, declared once per format
// as an [arch.TableSpec] that both lists the expected tensors and locates
// a stored one.
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

const expertPrefix = "block_sparse_moe.experts."

// tableSpec declares the tensors of format f. A layer holds the
// attention, then Llama's and Mistral's gated MLP or Mixtral's router and
// experts. In Hugging Face checkpoints the experts' slots repeat per
// expert: w1, w2, w3 of expert 0, then of expert 1, …; in GGUF each is
// one stacked tensor. Mixtral's w1 is the gate projection, w3 the up
// projection and w2 the down projection (MixtralBlockSparseTop2MLP:
// w2(act(w1(x)) * w3(x))); llama.cpp maps them to ffn_gate_exps,
// ffn_up_exps and ffn_down_exps.
//
// llama.cpp writes rope_freqs (only for the llama3 RoPE scaling) before
// the other tensors: LlamaModel.generate_extra_tensors comes first in
// prepare_tensors. Then the embedding; after the layers the final norm
// and lm_head, which is absent when the embeddings are tied (Llama 3.2
// 1B and 3B; [arch.Ends]).
func (c *Config) tableSpec(f checkpoint.Format) arch.TableSpec {
	d, ff, e := c.HiddenSize, c.IntermediateSize, c.NumLocalExperts
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	layer := []arch.Pair{
		arch.Both("input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, d),
		arch.Both("self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, q, d),
		arch.Both("self_attn.k_proj.weight", "attn_k.weight", arch.CompAttnK, kv, d),
		arch.Both("self_attn.v_proj.weight", "attn_v.weight", arch.CompAttnV, kv, d),
		arch.Both("self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, d, q),
		arch.Both("post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, d),
	}
	if e == 0 {
		layer = append(layer,
			arch.Both("mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, ff, d),
			arch.Both("mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, ff, d),
			arch.Both("mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, d, ff))
	} else {
		layer = append(layer,
			arch.Both("block_sparse_moe.gate.weight", "ffn_gate_inp.weight", arch.CompRouter, e, d),
			arch.Both("w1.weight", "ffn_gate_exps.weight", arch.CompExpertGate, ff, d),
			arch.Both("w2.weight", "ffn_down_exps.weight", arch.CompExpertDown, d, ff),
			arch.Both("w3.weight", "ffn_up_exps.weight", arch.CompExpertUp, ff, d))
	}
	ts := arch.TableSpec{Format: f, Kinds: [][]arch.Slot{arch.SlotsIn(f, e, layer...)}, Layers: make([]uint8, c.NumHiddenLayers),
		Experts: int(e), ExpertPrefix: expertPrefix}
	ts.Before, ts.After = arch.Ends(f, c.VocabSize, d, c.TieWordEmbeddings)
	if c.Llama3Rope() {
		freqs := arch.Both("", "rope_freqs.weight", CompRopeFreqs, c.HeadDim/2)
		freqs.Part = arch.PartCompanion
		ts.Before = append(arch.SlotsIn(f, 0, freqs), ts.Before...)
	}
	return ts
}

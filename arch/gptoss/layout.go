package gptoss

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The components arch does not list: the attention biases, the sinks,
// the router's bias, the experts' fused gate_up projection (Hugging Face)
// and the experts' biases.
var (
	CompAttnQBias        = arch.DefineComponent("attn_q_bias", arch.GroupAttention)
	CompAttnKBias        = arch.DefineComponent("attn_k_bias", arch.GroupAttention)
	CompAttnVBias        = arch.DefineComponent("attn_v_bias", arch.GroupAttention)
	CompAttnOBias        = arch.DefineComponent("attn_o_bias", arch.GroupAttention)
	CompAttnSinks        = arch.DefineComponent("attn_sinks", arch.GroupAttention)
	CompRouterBias       = arch.DefineComponent("router_bias", arch.GroupRouter)
	CompExpertGateUp     = arch.DefineComponent("expert_gate_up", arch.GroupExperts)
	CompExpertGateUpBias = arch.DefineComponent("expert_gate_up_bias", arch.GroupExperts)
	CompExpertGateBias   = arch.DefineComponent("expert_gate_bias", arch.GroupExperts)
	CompExpertUpBias     = arch.DefineComponent("expert_up_bias", arch.GroupExperts)
	CompExpertDownBias   = arch.DefineComponent("expert_down_bias", arch.GroupExperts)
)

// mxBlock is MXFP4's block: 32 FP4 values (16 bytes) share one E8M0 scale.
const mxBlock = 32

// The tensor names and shapes of both formats.
//
// Hugging Face names: transformers' GptOssForCausalLM
// (models/gpt_oss/modeling_gpt_oss.py) as openai/gpt-oss-20b and -120b
// ship it: every linear of the attention with a bias, a per-head
// self_attn.sinks, mlp.router with a bias, and each layer's experts
// stacked, gate and up fused and interleaved (gate_up_proj, 2·f rows).
// With quantization_config mxfp4 the expert matrices are stored as
// *_blocks [E, out, in/32, 16] of uint8, two FP4 values a byte
// (Expected.Values 2), and *_scales [E, out, in/32], one E8M0 exponent per
// block (companions, no parameters); without it as GptOssExperts holds
// them, gate_up_proj [E, d, 2·f] and down_proj [E, f, d]. The biases are
// [E, 2·f] and [E, d] either way.
//
// GGUF names: llama.cpp's converter for MODEL_ARCH.GPT_OSS
// (convert_hf_to_gguf.py GptOssModel, src/llama-model.cpp
// LLM_ARCH_OPENAI_MOE): the sinks become attn_sinks.weight,
// post_attention_layernorm post_attention_norm, the router
// ffn_gate_inp, and gate_up is de-interleaved into ffn_gate_exps and
// ffn_up_exps (each with its bias), stored in ggml's MXFP4 type.

// hfLayer lists a layer's Hugging Face tensors.
func (c *Config) hfLayer() []arch.Slot {
	d, q, kv, h, e, f := c.HiddenSize, c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim, c.NumAttentionHeads, c.NumLocalExperts, c.IntermediateSize
	out := []arch.Slot{
		{Name: "input_layernorm.weight", Comp: arch.CompAttnNorm, Shape: []int64{d}},
		{Name: "self_attn.q_proj.weight", Comp: arch.CompAttnQ, Shape: []int64{q, d}},
		{Name: "self_attn.q_proj.bias", Comp: CompAttnQBias, Shape: []int64{q}},
		{Name: "self_attn.k_proj.weight", Comp: arch.CompAttnK, Shape: []int64{kv, d}},
		{Name: "self_attn.k_proj.bias", Comp: CompAttnKBias, Shape: []int64{kv}},
		{Name: "self_attn.v_proj.weight", Comp: arch.CompAttnV, Shape: []int64{kv, d}},
		{Name: "self_attn.v_proj.bias", Comp: CompAttnVBias, Shape: []int64{kv}},
		{Name: "self_attn.o_proj.weight", Comp: arch.CompAttnO, Shape: []int64{d, q}},
		{Name: "self_attn.o_proj.bias", Comp: CompAttnOBias, Shape: []int64{d}},
		{Name: "self_attn.sinks", Comp: CompAttnSinks, Shape: []int64{h}},
		{Name: "post_attention_layernorm.weight", Comp: arch.CompFFNNorm, Shape: []int64{d}},
		{Name: "mlp.router.weight", Comp: arch.CompRouter, Shape: []int64{e, d}},
		{Name: "mlp.router.bias", Comp: CompRouterBias, Shape: []int64{e}},
	}
	if c.mxfp4() {
		return append(out,
			arch.Slot{Name: "mlp.experts.gate_up_proj_blocks", Comp: CompExpertGateUp, Shape: []int64{e, 2 * f, d / mxBlock, mxBlock / 2}, Values: 2, Packing: arch.PackMXFP4},
			arch.Slot{Name: "mlp.experts.gate_up_proj_scales", Comp: CompExpertGateUp, Shape: []int64{e, 2 * f, d / mxBlock}, Part: arch.PartCompanion},
			arch.Slot{Name: "mlp.experts.gate_up_proj_bias", Comp: CompExpertGateUpBias, Shape: []int64{e, 2 * f}},
			arch.Slot{Name: "mlp.experts.down_proj_blocks", Comp: arch.CompExpertDown, Shape: []int64{e, d, f / mxBlock, mxBlock / 2}, Values: 2, Packing: arch.PackMXFP4},
			arch.Slot{Name: "mlp.experts.down_proj_scales", Comp: arch.CompExpertDown, Shape: []int64{e, d, f / mxBlock}, Part: arch.PartCompanion},
			arch.Slot{Name: "mlp.experts.down_proj_bias", Comp: CompExpertDownBias, Shape: []int64{e, d}})
	}
	return append(out,
		arch.Slot{Name: "mlp.experts.gate_up_proj", Comp: CompExpertGateUp, Shape: []int64{e, d, 2 * f}},
		arch.Slot{Name: "mlp.experts.gate_up_proj_bias", Comp: CompExpertGateUpBias, Shape: []int64{e, 2 * f}},
		arch.Slot{Name: "mlp.experts.down_proj", Comp: arch.CompExpertDown, Shape: []int64{e, f, d}},
		arch.Slot{Name: "mlp.experts.down_proj_bias", Comp: CompExpertDownBias, Shape: []int64{e, d}})
}

// ggufLayer lists a layer's GGUF tensors (logical shapes, outermost
// first: the table reverses them into ne order).
func (c *Config) ggufLayer() []arch.Slot {
	d, q, kv, h, e, f := c.HiddenSize, c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim, c.NumAttentionHeads, c.NumLocalExperts, c.IntermediateSize
	return []arch.Slot{
		{Name: "attn_norm.weight", Comp: arch.CompAttnNorm, Shape: []int64{d}},
		{Name: "attn_q.weight", Comp: arch.CompAttnQ, Shape: []int64{q, d}},
		{Name: "attn_q.bias", Comp: CompAttnQBias, Shape: []int64{q}},
		{Name: "attn_k.weight", Comp: arch.CompAttnK, Shape: []int64{kv, d}},
		{Name: "attn_k.bias", Comp: CompAttnKBias, Shape: []int64{kv}},
		{Name: "attn_v.weight", Comp: arch.CompAttnV, Shape: []int64{kv, d}},
		{Name: "attn_v.bias", Comp: CompAttnVBias, Shape: []int64{kv}},
		{Name: "attn_output.weight", Comp: arch.CompAttnO, Shape: []int64{d, q}},
		{Name: "attn_output.bias", Comp: CompAttnOBias, Shape: []int64{d}},
		{Name: "attn_sinks.weight", Comp: CompAttnSinks, Shape: []int64{h}},
		{Name: "post_attention_norm.weight", Comp: arch.CompFFNNorm, Shape: []int64{d}},
		{Name: "ffn_gate_inp.weight", Comp: arch.CompRouter, Shape: []int64{e, d}},
		{Name: "ffn_gate_inp.bias", Comp: CompRouterBias, Shape: []int64{e}},
		{Name: "ffn_gate_exps.weight", Comp: arch.CompExpertGate, Shape: []int64{e, f, d}},
		{Name: "ffn_gate_exps.bias", Comp: CompExpertGateBias, Shape: []int64{e, f}},
		{Name: "ffn_up_exps.weight", Comp: arch.CompExpertUp, Shape: []int64{e, f, d}},
		{Name: "ffn_up_exps.bias", Comp: CompExpertUpBias, Shape: []int64{e, f}},
		{Name: "ffn_down_exps.weight", Comp: arch.CompExpertDown, Shape: []int64{e, d, f}},
		{Name: "ffn_down_exps.bias", Comp: CompExpertDownBias, Shape: []int64{e, d}},
	}
}

// tableSpec declares the tensors of format f: one kind of layer.
func (c *Config) tableSpec(f checkpoint.Format) arch.TableSpec {
	d, v := c.HiddenSize, c.VocabSize
	ts := arch.TableSpec{Format: f, Layers: make([]uint8, c.NumHiddenLayers)}
	embed, norm, head := "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"
	if f == checkpoint.FormatGGUF {
		embed, norm, head = "token_embd.weight", "output_norm.weight", "output.weight"
		ts.Kinds = [][]arch.Slot{c.ggufLayer()}
	} else {
		ts.Kinds = [][]arch.Slot{c.hfLayer()}
	}
	ts.Before = []arch.Slot{{Name: embed, Comp: arch.CompEmbedding, Shape: []int64{v, d}}}
	ts.After = []arch.Slot{{Name: norm, Comp: arch.CompFinalNorm, Shape: []int64{d}}}
	if !c.TieWordEmbeddings {
		ts.After = append(ts.After, arch.Slot{Name: head, Comp: arch.CompLMHead, Shape: []int64{v, d}})
	}
	return ts
}

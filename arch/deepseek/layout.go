package deepseek

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The components arch does not list: multi-head latent attention's
// projections and norms, the router's score-correction bias, the shared
// experts (dense, every token runs them: grouped with the MLPs), and what
// a multi-token-prediction layer adds around its decoder block.
var (
	CompAttnQA      = arch.DefineComponent("attn_q_a", arch.GroupAttention)
	CompAttnQANorm  = arch.DefineComponent("attn_q_a_norm", arch.GroupAttention)
	CompAttnQB      = arch.DefineComponent("attn_q_b", arch.GroupAttention)
	CompAttnKVA     = arch.DefineComponent("attn_kv_a_mqa", arch.GroupAttention)
	CompAttnKVANorm = arch.DefineComponent("attn_kv_a_norm", arch.GroupAttention)
	CompAttnKVB     = arch.DefineComponent("attn_kv_b", arch.GroupAttention)
	CompAttnKB      = arch.DefineComponent("attn_k_b", arch.GroupAttention)
	CompAttnVB      = arch.DefineComponent("attn_v_b", arch.GroupAttention)
	CompRouterBias  = arch.DefineComponent("router_bias", arch.GroupRouter)
	CompSharedGate  = arch.DefineComponent("shared_expert_gate", arch.GroupMLP)
	CompSharedUp    = arch.DefineComponent("shared_expert_up", arch.GroupMLP)
	CompSharedDown  = arch.DefineComponent("shared_expert_down", arch.GroupMLP)
	CompMTPNorm     = arch.DefineComponent("mtp_norm", arch.GroupOther)
	CompMTPProj     = arch.DefineComponent("mtp_eh_proj", arch.GroupOther)
	CompMTPEmbed    = arch.DefineComponent("mtp_embedding", arch.GroupOther)
	CompMTPHead     = arch.DefineComponent("mtp_head", arch.GroupOther)
)

// The tensor names and shapes of both formats.
//
// Hugging Face names: the DeepseekV3ForCausalLM of the model repositories
// (modeling_deepseek.py) and of transformers
// (models/deepseek_v3/modeling_deepseek_v3.py), shapes [out, in] as
// nn.Linear stores them. The published FP8 checkpoints store each linear
// weight of the decoder layers in float8_e4m3fn with a float32
// "weight_scale_inv" of one scale per 128×128 block; the router
// (mlp.gate.weight), its e_score_correction_bias, the norms, the
// embedding, lm_head and the multi-token-prediction layer's eh_proj,
// embedding and head copies stay unquantized. The multi-token-prediction
// layers follow the model's own as model.layers.L…: a full MoE decoder
// layer plus enorm, hnorm, eh_proj [d, 2d], and their own copies of the
// embedding (embed_tokens) and head (shared_head.norm, shared_head.head).
//
// GGUF names: llama.cpp's converter for MODEL_ARCH.DEEPSEEK2
// (convert_hf_to_gguf.py DeepseekV2Model, gguf-py/gguf/constants.py,
// src/llama-model.cpp LLM_ARCH_DEEPSEEK2), shapes in ne order. It drops
// the multi-token-prediction layers, stacks each layer's experts into
// ffn_{gate,up,down}_exps, names the score-correction bias
// exp_probs_b.bias, and (since the converter learned MLA's absorption)
// splits kv_b per head into attn_k_b, k transposed, of ne [nope, kv_rank,
// heads] and attn_v_b of ne [kv_rank, v_dim, heads]; files converted
// before store attn_kv_b whole.

// slot is one tensor in both formats: names after the layer prefix (the
// expert prefix for a routed expert's), "" where the format has none.
type slot struct {
	hf, gguf string
	comp     arch.Component
	shape    func(c *Config) []int64 // logical, outermost first; a routed expert's per expert
	scaled   bool                    // stored FP8 with a block scale in the published checkpoints
}

func attnSlots(c *Config) []slot {
	d, h := c.HiddenSize, c.NumAttentionHeads
	var out []slot
	if c.QLoraRank != nil {
		out = append(out,
			slot{"self_attn.q_a_proj.weight", "attn_q_a.weight", CompAttnQA, func(c *Config) []int64 { return []int64{c.qRank(), d} }, true},
			slot{"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight", CompAttnQANorm, func(c *Config) []int64 { return []int64{c.qRank()} }, false},
			slot{"self_attn.q_b_proj.weight", "attn_q_b.weight", CompAttnQB, func(c *Config) []int64 { return []int64{h * c.qkHeadDim(), c.qRank()} }, true})
	} else {
		out = append(out, slot{"self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, func(c *Config) []int64 { return []int64{h * c.qkHeadDim(), d} }, true})
	}
	out = append(out,
		slot{"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight", CompAttnKVA, func(c *Config) []int64 { return []int64{c.KVLoraRank + c.QKRopeHeadDim, d} }, true},
		slot{"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight", CompAttnKVANorm, func(c *Config) []int64 { return []int64{c.KVLoraRank} }, false},
		slot{"self_attn.kv_b_proj.weight", "", CompAttnKVB, func(c *Config) []int64 { return []int64{h * (c.QKNopeHeadDim + c.VHeadDim), c.KVLoraRank} }, true})
	if c.legacyKVB {
		out[len(out)-1].gguf = "attn_kv_b.weight"
	} else {
		out = append(out,
			slot{"", "attn_k_b.weight", CompAttnKB, func(c *Config) []int64 { return []int64{h, c.KVLoraRank, c.QKNopeHeadDim} }, false},
			slot{"", "attn_v_b.weight", CompAttnVB, func(c *Config) []int64 { return []int64{h, c.VHeadDim, c.KVLoraRank} }, false})
	}
	return append(out, slot{"self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, func(c *Config) []int64 { return []int64{d, h * c.VHeadDim} }, true})
}

// layerSlots lists the tensors of a dense or a sparse layer in stored
// order; the routed experts' slots are marked by their component.
func layerSlots(c *Config, sparse bool) []slot {
	d := c.HiddenSize
	out := []slot{{"input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, func(c *Config) []int64 { return []int64{d} }, false}}
	out = append(out, attnSlots(c)...)
	out = append(out, slot{"post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, func(c *Config) []int64 { return []int64{d} }, false})
	if !sparse {
		f := c.IntermediateSize
		return append(out,
			slot{"mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, func(c *Config) []int64 { return []int64{f, d} }, true},
			slot{"mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, func(c *Config) []int64 { return []int64{f, d} }, true},
			slot{"mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, func(c *Config) []int64 { return []int64{d, f} }, true})
	}
	e, fe, fs := c.NRoutedExperts, c.MoEIntermediateSize, c.NSharedExperts*c.MoEIntermediateSize
	out = append(out,
		slot{"mlp.gate.weight", "ffn_gate_inp.weight", arch.CompRouter, func(c *Config) []int64 { return []int64{e, d} }, false},
		slot{"mlp.gate.e_score_correction_bias", "exp_probs_b.bias", CompRouterBias, func(c *Config) []int64 { return []int64{e} }, false},
		slot{"gate_proj.weight", "ffn_gate_exps.weight", arch.CompExpertGate, func(c *Config) []int64 { return []int64{fe, d} }, true},
		slot{"up_proj.weight", "ffn_up_exps.weight", arch.CompExpertUp, func(c *Config) []int64 { return []int64{fe, d} }, true},
		slot{"down_proj.weight", "ffn_down_exps.weight", arch.CompExpertDown, func(c *Config) []int64 { return []int64{d, fe} }, true})
	if fs > 0 {
		out = append(out,
			slot{"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight", CompSharedGate, func(c *Config) []int64 { return []int64{fs, d} }, true},
			slot{"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight", CompSharedUp, func(c *Config) []int64 { return []int64{fs, d} }, true},
			slot{"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight", CompSharedDown, func(c *Config) []int64 { return []int64{d, fs} }, true})
	}
	return out
}

// mtpSlots are what a multi-token-prediction layer stores besides its
// decoder block (Hugging Face only).
func mtpSlots(c *Config) []slot {
	d, v := c.HiddenSize, c.VocabSize
	return []slot{
		{"embed_tokens.weight", "", CompMTPEmbed, func(c *Config) []int64 { return []int64{v, d} }, false},
		{"enorm.weight", "", CompMTPNorm, func(c *Config) []int64 { return []int64{d} }, false},
		{"hnorm.weight", "", CompMTPNorm, func(c *Config) []int64 { return []int64{d} }, false},
		{"eh_proj.weight", "", CompMTPProj, func(c *Config) []int64 { return []int64{d, 2 * d} }, false},
		{"shared_head.norm.weight", "", CompMTPNorm, func(c *Config) []int64 { return []int64{d} }, false},
		{"shared_head.head.weight", "", CompMTPHead, func(c *Config) []int64 { return []int64{v, d} }, false},
	}
}

const expertPrefix = "mlp.experts."

// tableSpec declares the tensors of format f: kinds 0 dense, 1 sparse,
// and in Hugging Face checkpoints 2 and 3 the multi-token-prediction
// layers (dense or sparse by the same rule, every tensor of PartMTP).
func (c *Config) tableSpec(f checkpoint.Format) arch.TableSpec {
	gguf := f == checkpoint.FormatGGUF
	slots := func(ss []slot, part arch.Part) []arch.Slot {
		var out []arch.Slot
		for _, s := range ss {
			name := s.hf
			if gguf {
				name = s.gguf
			}
			if name == "" {
				continue
			}
			shape := s.shape(c)
			expert := s.comp.Expert()
			if expert && gguf {
				shape = append([]int64{c.NRoutedExperts}, shape...)
			}
			out = append(out, arch.Slot{Name: name, Comp: s.comp, Shape: shape, Part: part, Expert: expert && !gguf, Quantized: s.scaled})
		}
		return out
	}
	d, v := c.HiddenSize, c.VocabSize
	ts := arch.TableSpec{Format: f, Experts: int(c.NRoutedExperts), ExpertPrefix: expertPrefix,
		Kinds:  [][]arch.Slot{slots(layerSlots(c, false), arch.PartModel), slots(layerSlots(c, true), arch.PartModel)},
		Before: slots([]slot{{"model.embed_tokens.weight", "token_embd.weight", arch.CompEmbedding, func(c *Config) []int64 { return []int64{v, d} }, false}}, arch.PartModel),
		After:  slots([]slot{{"model.norm.weight", "output_norm.weight", arch.CompFinalNorm, func(c *Config) []int64 { return []int64{d} }, false}}, arch.PartModel),
	}
	if !c.TieWordEmbeddings {
		ts.After = append(ts.After, slots([]slot{{"lm_head.weight", "output.weight", arch.CompLMHead, func(c *Config) []int64 { return []int64{v, d} }, false}}, arch.PartModel)...)
	}
	layers := c.NumHiddenLayers
	if !gguf {
		ts.Quant = c.quant()
		ts.Kinds = append(ts.Kinds, slots(append(layerSlots(c, false), mtpSlots(c)...), arch.PartMTP), slots(append(layerSlots(c, true), mtpSlots(c)...), arch.PartMTP))
		layers += c.NumNextNPredictLayers
	}
	for i := range layers {
		kind := uint8(0)
		if c.Sparse(i) {
			kind = 1
		}
		if i >= c.NumHiddenLayers {
			kind += 2
		}
		ts.Layers = append(ts.Layers, kind)
	}
	return ts
}

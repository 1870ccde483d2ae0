package audit

import "strconv"

// Component is the role a tensor plays in the architecture.
type Component string

// The components of a Qwen3-family decoder.
const (
	CompEmbedding  Component = "embedding"
	CompLMHead     Component = "lm_head"
	CompFinalNorm  Component = "final_norm"
	CompAttnNorm   Component = "attn_norm"
	CompAttnQ      Component = "attn_q"
	CompAttnK      Component = "attn_k"
	CompAttnV      Component = "attn_v"
	CompAttnO      Component = "attn_o"
	CompAttnQNorm  Component = "attn_q_norm"
	CompAttnKNorm  Component = "attn_k_norm"
	CompFFNNorm    Component = "ffn_norm"
	CompRouter     Component = "router"
	CompExpertGate Component = "expert_gate"
	CompExpertUp   Component = "expert_up"
	CompExpertDown Component = "expert_down"
	CompMLPGate    Component = "mlp_gate"
	CompMLPUp      Component = "mlp_up"
	CompMLPDown    Component = "mlp_down"
)

// Expected is one tensor an architecture predicts.
type Expected struct {
	Name      string
	Shape     []int64 // in the format's own order: outermost first for safetensors, ne order for GGUF
	Layer     int     // -1 outside the decoder layers
	Component Component
	Expert    int // -1 unless the tensor belongs to one expert
}

// ExpectedHF lists the tensors of c in the Hugging Face safetensors layout,
// in the order a checkpoint stores them: the embedding, each layer in
// turn, then the final norm and lm_head. Shapes are [out, in].
func (c *Config) ExpectedHF() []Expected {
	d, v := c.HiddenSize, c.VocabSize
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	out := make([]Expected, 0, 3+c.NumHiddenLayers*(9+3*max(c.NumExperts, 1)))
	out = append(out, Expected{Name: "model.embed_tokens.weight", Shape: []int64{v, d}, Layer: -1, Component: CompEmbedding, Expert: -1})
	for i := int64(0); i < c.NumHiddenLayers; i++ {
		l := int(i)
		p := "model.layers." + strconv.FormatInt(i, 10) + "."
		add := func(name string, comp Component, expert int, shape ...int64) {
			out = append(out, Expected{Name: p + name, Shape: shape, Layer: l, Component: comp, Expert: expert})
		}
		add("input_layernorm.weight", CompAttnNorm, -1, d)
		add("self_attn.q_proj.weight", CompAttnQ, -1, q, d)
		add("self_attn.k_proj.weight", CompAttnK, -1, kv, d)
		add("self_attn.v_proj.weight", CompAttnV, -1, kv, d)
		add("self_attn.o_proj.weight", CompAttnO, -1, d, q)
		add("self_attn.q_norm.weight", CompAttnQNorm, -1, c.HeadDim)
		add("self_attn.k_norm.weight", CompAttnKNorm, -1, c.HeadDim)
		add("post_attention_layernorm.weight", CompFFNNorm, -1, d)
		if c.Sparse(i) {
			f := c.MoEIntermediateSize
			add("mlp.gate.weight", CompRouter, -1, c.NumExperts, d)
			gateShape, downShape := []int64{f, d}, []int64{d, f}
			for e := 0; e < int(c.NumExperts); e++ {
				ep := p + "mlp.experts." + strconv.Itoa(e) + "."
				out = append(out,
					Expected{Name: ep + "gate_proj.weight", Shape: gateShape, Layer: l, Component: CompExpertGate, Expert: e},
					Expected{Name: ep + "up_proj.weight", Shape: gateShape, Layer: l, Component: CompExpertUp, Expert: e},
					Expected{Name: ep + "down_proj.weight", Shape: downShape, Layer: l, Component: CompExpertDown, Expert: e})
			}
		} else {
			f := c.IntermediateSize
			add("mlp.gate_proj.weight", CompMLPGate, -1, f, d)
			add("mlp.up_proj.weight", CompMLPUp, -1, f, d)
			add("mlp.down_proj.weight", CompMLPDown, -1, d, f)
		}
	}
	out = append(out, Expected{Name: "model.norm.weight", Shape: []int64{d}, Layer: -1, Component: CompFinalNorm, Expert: -1})
	if !c.TieWordEmbeddings {
		out = append(out, Expected{Name: "lm_head.weight", Shape: []int64{v, d}, Layer: -1, Component: CompLMHead, Expert: -1})
	}
	return out
}

// ExpectedGGUF lists the tensors of c as llama.cpp's converter names them
// (architecture "qwen3moe" or "qwen3"), with shapes in ne order (ne[0], the
// contiguous dimension, first) and the experts of a layer stacked into one
// tensor whose last dimension is the expert index. See llama.cpp
// src/llama-arch.cpp (LLM_ARCH_QWEN3MOE).
func (c *Config) ExpectedGGUF() []Expected {
	d, v := c.HiddenSize, c.VocabSize
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	out := []Expected{{Name: "token_embd.weight", Shape: []int64{d, v}, Layer: -1, Component: CompEmbedding, Expert: -1}}
	for i := int64(0); i < c.NumHiddenLayers; i++ {
		l := int(i)
		p := "blk." + strconv.FormatInt(i, 10) + "."
		add := func(name string, comp Component, shape ...int64) {
			out = append(out, Expected{Name: p + name, Shape: shape, Layer: l, Component: comp, Expert: -1})
		}
		add("attn_norm.weight", CompAttnNorm, d)
		add("attn_q.weight", CompAttnQ, d, q)
		add("attn_k.weight", CompAttnK, d, kv)
		add("attn_v.weight", CompAttnV, d, kv)
		add("attn_output.weight", CompAttnO, q, d)
		add("attn_q_norm.weight", CompAttnQNorm, c.HeadDim)
		add("attn_k_norm.weight", CompAttnKNorm, c.HeadDim)
		add("ffn_norm.weight", CompFFNNorm, d)
		if c.Sparse(i) {
			f, e := c.MoEIntermediateSize, c.NumExperts
			add("ffn_gate_inp.weight", CompRouter, d, e)
			add("ffn_gate_exps.weight", CompExpertGate, d, f, e)
			add("ffn_up_exps.weight", CompExpertUp, d, f, e)
			add("ffn_down_exps.weight", CompExpertDown, f, d, e)
		} else {
			f := c.IntermediateSize
			add("ffn_gate.weight", CompMLPGate, d, f)
			add("ffn_up.weight", CompMLPUp, d, f)
			add("ffn_down.weight", CompMLPDown, f, d)
		}
	}
	out = append(out, Expected{Name: "output_norm.weight", Shape: []int64{d}, Layer: -1, Component: CompFinalNorm, Expert: -1})
	if !c.TieWordEmbeddings {
		out = append(out, Expected{Name: "output.weight", Shape: []int64{d, v}, Layer: -1, Component: CompLMHead, Expert: -1})
	}
	return out
}

// GGUFArch returns the llama.cpp architecture name for c: "qwen3moe" for a
// mixture-of-experts model, "qwen3" for a dense one.
func (c *Config) GGUFArch() string {
	if c.NumExperts > 0 {
		return "qwen3moe"
	}
	return "qwen3"
}

package qwen3

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The tensor names and shapes of both formats, declared once per format
// as an [arch.TableSpec] that both lists the expected tensors and locates
// a stored one.
//
// Hugging Face names: transformers' Qwen3MoeForCausalLM and
// Qwen3ForCausalLM (models/qwen3_moe/modeling_qwen3_moe.py,
// models/qwen3/modeling_qwen3.py), shapes [out, in] as nn.Linear stores
// them. GGUF names: llama.cpp's converter (gguf-py/gguf/constants.py,
// MODEL_ARCH.QWEN3MOE and QWEN3; src/llama-arch.cpp), shapes in ne order
// (ne[0], the contiguous dimension, first), the experts of a layer
// stacked into one tensor whose last dimension is the expert index.

// slot is one tensor of a decoder layer in both formats: its name after
// "model.layers.N." / "blk.N." (an expert's Hugging Face name after
// "mlp.experts.E."), its component, and its logical shape.
type slot struct {
	hf, gguf  string
	comp      arch.Component
	shape     func(c *Config) []int64
	quantized bool // a linear weight a pre-quantized release stores quantized
}

func (c *Config) d() []int64          { return []int64{c.HiddenSize} }
func (c *Config) headNorm() []int64   { return []int64{c.HeadDim} }
func (c *Config) q() int64            { return c.NumAttentionHeads * c.HeadDim }
func (c *Config) kv() int64           { return c.NumKeyValueHeads * c.HeadDim }
func (c *Config) qIn() []int64        { return []int64{c.q(), c.HiddenSize} }
func (c *Config) kvIn() []int64       { return []int64{c.kv(), c.HiddenSize} }
func (c *Config) oIn() []int64        { return []int64{c.HiddenSize, c.q()} }
func (c *Config) router() []int64     { return []int64{c.NumExperts, c.HiddenSize} }
func (c *Config) expertIn() []int64   { return []int64{c.MoEIntermediateSize, c.HiddenSize} }
func (c *Config) expertDown() []int64 { return []int64{c.HiddenSize, c.MoEIntermediateSize} }
func (c *Config) mlpIn() []int64      { return []int64{c.IntermediateSize, c.HiddenSize} }
func (c *Config) mlpDown() []int64    { return []int64{c.HiddenSize, c.IntermediateSize} }

// attnSlots are the tensors every layer has, before its MLP or experts.
var attnSlots = []slot{
	{"input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, (*Config).d, false},
	{"self_attn.q_proj.weight", "attn_q.weight", arch.CompAttnQ, (*Config).qIn, true},
	{"self_attn.k_proj.weight", "attn_k.weight", arch.CompAttnK, (*Config).kvIn, true},
	{"self_attn.v_proj.weight", "attn_v.weight", arch.CompAttnV, (*Config).kvIn, true},
	{"self_attn.o_proj.weight", "attn_output.weight", arch.CompAttnO, (*Config).oIn, true},
	{"self_attn.q_norm.weight", "attn_q_norm.weight", arch.CompAttnQNorm, (*Config).headNorm, false},
	{"self_attn.k_norm.weight", "attn_k_norm.weight", arch.CompAttnKNorm, (*Config).headNorm, false},
	{"post_attention_layernorm.weight", "ffn_norm.weight", arch.CompFFNNorm, (*Config).d, false},
}

// sparseSlots close a mixture-of-experts layer: the router, then the
// experts (per expert gate, up, down in Hugging Face checkpoints; one
// stacked tensor each in GGUF).
var sparseSlots = []slot{
	{"mlp.gate.weight", "ffn_gate_inp.weight", arch.CompRouter, (*Config).router, false},
	{"gate_proj.weight", "ffn_gate_exps.weight", arch.CompExpertGate, (*Config).expertIn, true},
	{"up_proj.weight", "ffn_up_exps.weight", arch.CompExpertUp, (*Config).expertIn, true},
	{"down_proj.weight", "ffn_down_exps.weight", arch.CompExpertDown, (*Config).expertDown, true},
}

// denseSlots close a dense layer.
var denseSlots = []slot{
	{"mlp.gate_proj.weight", "ffn_gate.weight", arch.CompMLPGate, (*Config).mlpIn, true},
	{"mlp.up_proj.weight", "ffn_up.weight", arch.CompMLPUp, (*Config).mlpIn, true},
	{"mlp.down_proj.weight", "ffn_down.weight", arch.CompMLPDown, (*Config).mlpDown, true},
}

const expertPrefix = "mlp.experts."

// tableSpec declares the tensors of format f: kind 0 a sparse layer, 1 a
// dense one.
func (c *Config) tableSpec(f checkpoint.Format) arch.TableSpec {
	gguf := f == checkpoint.FormatGGUF
	slots := func(groups ...[]slot) []arch.Slot {
		var out []arch.Slot
		for _, g := range groups {
			for _, s := range g {
				sl := arch.Slot{Name: s.hf, Comp: s.comp, Shape: s.shape(c), Expert: s.comp.Expert(), Quantized: s.quantized}
				if gguf {
					sl.Name, sl.Expert = s.gguf, false
					if s.comp.Expert() {
						sl.Shape = append([]int64{c.NumExperts}, sl.Shape...)
					}
				}
				out = append(out, sl)
			}
		}
		return out
	}
	v := c.VocabSize
	ts := arch.TableSpec{Format: f, Experts: int(c.NumExperts), ExpertPrefix: expertPrefix,
		Kinds:  [][]arch.Slot{slots(attnSlots, sparseSlots), slots(attnSlots, denseSlots)},
		Before: []arch.Slot{{Name: "model.embed_tokens.weight", Comp: arch.CompEmbedding, Shape: []int64{v, c.HiddenSize}}},
		After:  []arch.Slot{{Name: "model.norm.weight", Comp: arch.CompFinalNorm, Shape: c.d()}}}
	if !c.TieWordEmbeddings {
		ts.After = append(ts.After, arch.Slot{Name: "lm_head.weight", Comp: arch.CompLMHead, Shape: []int64{v, c.HiddenSize}})
	}
	if !gguf {
		ts.Quant = c.quant()
	} else {
		ts.Before[0].Name, ts.After[0].Name = "token_embd.weight", "output_norm.weight"
		if len(ts.After) > 1 {
			ts.After[1].Name = "output.weight"
		}
	}
	for i := range c.NumHiddenLayers {
		kind := uint8(1)
		if c.Sparse(i) {
			kind = 0
		}
		ts.Layers = append(ts.Layers, kind)
	}
	return ts
}

package phi3

import (
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The spot-check's forward pass of Phi-3.
//
// The block is transformers' Phi3DecoderLayer
// (models/phi3/modeling_phi3.py): Llama's block with the projections
// fused. Phi3Attention computes qkv_proj once and slices its output, q
// first (num_attention_heads·head_dim), then k and v
// (num_key_value_heads·head_dim each), which is computing the three
// projections from those rows of the matrix; Phi3MLP chunks the output of
// gate_up_proj in two halves, gate first, and computes up ⊙ silu(gate).
// Every layer attends within config.sliding_window when it is set
// (Phi3Attention passes it to the attention; Phi-3-mini-4k's is 2047).
// RoPE is rotate-half with rope_theta, unscaled for the 4k models; the
// 128k models and Phi-3.5 scale it with LongRoPE (rope_scaling "longrope",
// formerly "su"; modeling_rope_utils.py _compute_longrope_parameters):
// for a sequence within original_max_position_embeddings, as the
// spot-check's few tokens are, the short factors divide the frequencies,
// and cos and sin are multiplied by the attention factor √(1 + ln s /
// ln original_max_position_embeddings), s = max_position_embeddings /
// original_max_position_embeddings (1 when s ≤ 1), unless rope_scaling
// gives attention_factor.
//
// llama.cpp (src/models/phi3.cpp) computes the same block from a GGUF
// file: the converter keeps the fused rows as they are (attn_qkv, and
// ffn_up holding gate then up, which build_ffn's LLM_FFN_SWIGLU splits in
// that order), llama.cpp rotates in its NEOX mode (no Q/K permutation),
// divides each frequency by rope_factors_short.weight (the short factors
// the converter copied from config.json; rope_factors_long once the
// context is longer than the original) and multiplies cos and sin by
// rope.scaling.attn_factor, the factor the converter computed as
// transformers does. It disables Phi-3's sliding window ("Phi SWA is
// currently disabled"), so a GGUF file is run without one.

var _ arch.Forwarder = (*Spec)(nil)

// Forward returns the configuration of the spot-check's block over a
// checkpoint in format f: the dimensions, the fused qkv and gate_up
// projections, rms_norm_eps and rope_theta, the RoPE scaling (see
// [Spec.ropeScaling]) and, for a Hugging Face checkpoint, the sliding
// window of config.json (none for GGUF, as llama.cpp runs it). What the
// kernels do not compute (a partial rotary factor, another activation
// than SiLU) is named in Unsupported.
func (s *Spec) Forward(f checkpoint.Format) forward.Config {
	c := s.Cfg()
	fc := forward.Config{Hidden: int(c.HiddenSize), Heads: int(c.NumAttentionHeads), KVHeads: int(c.NumKeyValueHeads),
		HeadDim: int(c.HeadDim), FusedQKV: true, FusedGateUp: true, Eps: c.RMSNormEps, Theta: c.RopeTheta,
		Scaling: s.ropeScaling(f), Unsupported: c.unsupported()}
	if f != checkpoint.FormatGGUF {
		fc.Window = int(max(c.SlidingWindow, 0))
	}
	return fc
}

// ropeScaling returns the RoPE scaling for a checkpoint in format f: none
// without rope_scaling (or of type "default"); LongRoPE for "longrope" and
// "su", with config.json's short factors for safetensors (a short_factor
// of another length than head_dim/2 declines) and for GGUF the file's
// rope_factors_short.weight, and the attention factor (rope_scaling's
// attention_factor, or of a GGUF file rope.scaling.attn_factor, 1 without
// it as llama.cpp assumes; else for safetensors derived from the context
// lengths); any other type ("yarn", which llama.cpp's converter and
// transformers scale differently) unsupported, so that the spot-check
// declines rather than compute other frequencies than the model's.
func (s *Spec) ropeScaling(f checkpoint.Format) forward.RopeScaling {
	c := s.Cfg()
	r := c.rope()
	switch k := r.kind(); k {
	case "", "default":
		return forward.RopeScaling{}
	case "longrope", "su":
		out := forward.RopeScaling{Type: forward.RopeLongRoPE, Name: k, AttnFactor: 1}
		if r.AttentionFactor != nil {
			out.AttnFactor = *r.AttentionFactor
		}
		if f == checkpoint.FormatGGUF {
			return out // the factors are the file's
		}
		if int64(len(r.ShortFactor)) != c.HeadDim/2 {
			return forward.RopeScaling{Type: forward.RopeUnsupported,
				Name: fmt.Sprintf("%s with %d short factors for head_dim %d", k, len(r.ShortFactor), c.HeadDim)}
		}
		out.Factors = make([]float32, len(r.ShortFactor))
		for i, v := range r.ShortFactor {
			out.Factors[i] = float32(v) // torch.tensor(short_factor, dtype=torch.float32)
		}
		if r.AttentionFactor == nil {
			out.AttnFactor = longRoPEAttention(c)
		}
		return out
	default:
		return forward.RopeScaling{Type: forward.RopeUnsupported, Name: k}
	}
}

// longRoPEAttention is _compute_longrope_parameters' default attention
// factor for a Phi3Config, which always has
// original_max_position_embeddings: with factor = max_position_embeddings
// / original_max_position_embeddings, 1 when factor ≤ 1, else √(1 +
// ln factor / ln original_max_position_embeddings).
func longRoPEAttention(c *Config) float64 {
	orig := float64(c.OriginalMaxPositionEmbeddings)
	factor := float64(c.MaxPositionEmbeddings) / orig
	if !(factor > 1) {
		return 1
	}
	return math.Sqrt(1 + math.Log(factor)/math.Log(orig))
}

// unsupported names what of c the kernels do not compute, "" for
// nothing: a partial_rotary_factor other than 1 and a hidden_act other
// than "silu".
func (c *Config) unsupported() string {
	switch {
	case c.PartialRotaryFactor != 0 && c.PartialRotaryFactor != 1:
		return fmt.Sprintf("partial_rotary_factor %v", c.PartialRotaryFactor)
	case c.HiddenAct != "" && c.HiddenAct != "silu":
		return fmt.Sprintf("hidden_act %q", c.HiddenAct)
	}
	return ""
}

// Sparse reports false: every Phi-3 layer is dense.
func (s *Spec) Sparse(layer int) bool { return false }

// NormEps is rms_norm_eps, the final norm's epsilon.
func (s *Spec) NormEps() float64 { return s.Cfg().RMSNormEps }

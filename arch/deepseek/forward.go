package deepseek

import (
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The spot-check's forward pass of DeepSeek-V3 and Kimi K2.
//
// The block is transformers' DeepseekV3DecoderLayer
// (models/deepseek_v3/modeling_deepseek_v3.py, configuration_deepseek_v3.py):
//
//   - DeepseekV3Attention, multi-head latent attention: q =
//     q_b_proj(q_a_layernorm(q_a_proj(x))) (q_proj(x) when q_lora_rank is
//     null), split per head into qk_nope_head_dim and qk_rope_head_dim;
//     kv_a_proj_with_mqa(x) = [latent (kv_lora_rank) | k_rot
//     (qk_rope_head_dim)], kv_b_proj(kv_a_layernorm(latent)) split per head
//     into k_nope and v (v_head_dim); k_rot is one for every head. RoPE
//     runs over the rotary dimensions only (config.head_dim =
//     qk_rope_head_dim), and with rope_interleave (true by default, and in
//     the published configs) apply_rotary_pos_emb_interleave first regroups
//     the stored pairs (2i, 2i + 1) into halves. The scores are scaled by
//     qk_head_dim^−0.5, times yarn_get_mscale(factor, mscale_all_dim)²
//     when rope_scaling has mscale_all_dim.
//   - The RoPE's frequencies: rope_scaling "yarn" (DeepSeek-V3: factor 40,
//     beta_fast 32, beta_slow 1, mscale = mscale_all_dim = 1, 4096
//     original positions) as modeling_rope_utils.py
//     _compute_yarn_parameters computes it, its attention factor
//     get_mscale(40, 1)/get_mscale(40, 1) = 1 on cos and sin.
//   - The first first_k_dense_replace layers run DeepseekV3MLP; the others
//     DeepseekV3MoE: DeepseekV3TopkRouter's sigmoid scores of the float32
//     router logits, e_score_correction_bias added for the choice only
//     (group scores the sum of each group's two highest biased scores, the
//     topk_group best of n_group groups kept, the others' scores set to 0,
//     top-k), the chosen experts weighted by their unbiased scores,
//     divided by their sum plus 1e-20 when norm_topk_prob, times
//     routed_scaling_factor; the shared experts (one MLP of
//     n_shared_experts · moe_intermediate_size) added for every token.
//     transformers always scores with the sigmoid: a scoring_func other
//     than "sigmoid" (DeepSeek-V2's softmax) is declined.
//
// llama.cpp (src/llama-model.cpp LLM_ARCH_DEEPSEEK2, convert_hf_to_gguf.py
// DeepseekV2Model) computes the same block from a GGUF file: the rows of
// q and kv_a are kept as stored and rotated with its normal (interleaved)
// RoPE mode, so both formats deinterleave the rotary dimensions; kv_b is
// split per head into attn_k_b (k rows transposed) and attn_v_b, or kept
// whole as attn_kv_b by older converters, and both give the same kv_b
// rows here; the router's choices come from expert_gating_func (2,
// sigmoid), expert_group_count and expert_group_used_count (n_group,
// topk_group, which TextModel writes), expert_weights_norm and
// expert_weights_scale; the YaRN keys rope.scaling.type, factor and
// original_context_length, the betas, and yarn_log_multiplier = 0.1 ·
// mscale_all_dim, from which llama.cpp scales the scores by (1 +
// yarn_log_multiplier · ln factor)² and leaves cos and sin unscaled (its
// attn_factor cancels ggml's own YaRN mscale), as transformers does for
// mscale = mscale_all_dim.
//
// Differences left as they are: transformers masks the unchosen groups'
// scores with 0 (DeepSeek's own inference code with −inf), which can only
// matter when a chosen group's biased scores are negative.

var _ arch.Forwarder = (*Spec)(nil)

// Forward returns the configuration of the spot-check's block over a
// checkpoint in format f: the dimensions, multi-head latent attention
// (kv_b from llama.cpp's halves in a GGUF file that has them), the
// rotary dimensions interleaved (rope_interleave, always in GGUF), the
// YaRN scaling and the score scale, and DeepSeek-V3's routing with its
// shared experts. FP8 block-quantized safetensors (the releases' form)
// are read through the checkpoint's FP8 rows, their block scales applied.
func (s *Spec) Forward(f checkpoint.Format) forward.Config {
	c := s.Cfg()
	qk := c.qkHeadDim()
	fc := forward.Config{Hidden: int(c.HiddenSize), Heads: int(c.NumAttentionHeads), KVHeads: int(c.NumAttentionHeads), HeadDim: int(qk),
		Experts: int(c.NRoutedExperts), TopK: int(c.NumExpertsPerTok), NormTopK: c.NormTopkProb, Eps: c.RMSNormEps, Theta: c.RopeTheta,
		MLA: &forward.MLA{QLoraRank: int(c.qRank()), KVLoraRank: int(c.KVLoraRank), NopeDim: int(c.QKNopeHeadDim), RopeDim: int(c.QKRopeHeadDim),
			VDim: int(c.VHeadDim), Interleaved: f == checkpoint.FormatGGUF || c.RopeInterleave == nil || *c.RopeInterleave,
			SplitKVB: f == checkpoint.FormatGGUF && !c.legacyKVB},
		SigmoidRouting: true, Groups: int(c.NGroup), TopKGroups: int(c.TopkGroup), RoutedScale: c.RoutedScalingFactor,
		SharedExperts: c.NSharedExperts > 0}
	scale := 1 / math.Sqrt(float64(qk))
	switch t := arch.RopeKind(c.RopeScaling); t {
	case "":
	case "yarn":
		y, err := arch.ParseYaRN(c.RopeScaling)
		if err != nil {
			fc.Unsupported = err.Error()
			break
		}
		fc.Scaling = y.Scaling(c.MaxPositionEmbeddings)
		if y.MscaleAllDim != 0 {
			m := forward.YaRNMscale(y.Factor, y.MscaleAllDim)
			scale *= m * m
		}
	default:
		fc.Scaling = forward.RopeScaling{Type: forward.RopeUnsupported, Name: t}
	}
	fc.AttnScale = scale
	if c.NRoutedExperts > 0 && c.ScoringFunc != scoringSigmoid {
		fc.Unsupported = fmt.Sprintf("scoring_func %q", c.ScoringFunc)
	}
	return fc
}

// Sparse reports whether layer routes to experts ([Config.Sparse]).
func (s *Spec) Sparse(layer int) bool { return s.Cfg().Sparse(int64(layer)) }

// NormEps is rms_norm_eps, the final norm's epsilon.
func (s *Spec) NormEps() float64 { return s.Cfg().RMSNormEps }

package gptoss

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The spot-check's forward pass of gpt-oss.
//
// The block is transformers' GptOssDecoderLayer
// (models/gpt_oss/modeling_gpt_oss.py): RMSNorm with a plain weight;
// q, k, v and o projections with biases; grouped-query attention scaled
// by 1/√head_dim with a learned sink per head (GptOssAttention's sinks,
// concatenated to each row of scores before the softmax and dropped
// after it), over the last sliding_window positions on the layers
// layer_types calls "sliding_attention"; rotate-half RoPE with
// rope_theta. The MoE block: GptOssTopKRouter's logits with the router's
// bias, top-k of the logits and a softmax over the k chosen; each chosen
// expert's gate_up = x·W + b, its even columns the gate and its odd ones
// up (the fused projection interleaves them), the gate clamped above at
// swiglu_limit and up to ±swiglu_limit, (up + 1) · gate ·
// sigmoid(1.702 · gate), the down projection with its bias, weighted by
// the routing weights.
//
// llama.cpp (src/models/openai-moe-iswa.cpp, LLM_ARCH_OPENAI_MOE)
// computes the same block from a GGUF file: the converter
// (convert_hf_to_gguf.py GptOssModel) stores the sinks as
// attn_sinks.weight, de-interleaves gate_up into ffn_gate_exps and
// ffn_up_exps with their biases, and keeps Q and K in NeoX order
// (LLAMA_ROPE_TYPE_NEOX, no permutation); build_moe_ffn takes the softmax
// of the top-k logits (LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX_WEIGHT) and
// applies LLM_FFN_SWIGLU_OAI_MOE (ggml_swiglu_oai with alpha 1.702 and
// limit 7, constants in llama-graph.cpp, which a GGUF config's default
// swiglu_limit matches); the sliding layers alternate from the first
// (set_swa_pattern(2)).
//
// YaRN, the published models' rope_scaling (factor 32, beta_fast 32,
// beta_slow 1, truncate false, 4096 original positions), is computed as
// modeling_rope_utils.py _compute_yarn_parameters states it
// ([forward.RopeYaRN]): the ramp between the correction dimensions left
// untruncated, cos and sin times 0.1·ln 32 + 1. llama.cpp reads the same
// keys from GGUF (rope.scaling.type yarn, factor, original_context_length,
// yarn_beta_fast/slow) but always floors and ceils the ramp's ends
// (ggml_rope_yarn_corr_dims), so a GGUF file runs with truncate true: the
// two formats differ by that, as the two runtimes do. Any other
// rope_scaling declines ([forward.RopeUnsupported]).

var (
	_ arch.Forwarder      = (*Spec)(nil)
	_ arch.LayerForwarder = (*Spec)(nil)
)

// swigluAlpha is GptOssExperts' alpha (and llama.cpp's
// LLM_FFN_SWIGLU_OAI_MOE's).
const swigluAlpha = 1.702

// Forward returns the configuration of the spot-check's block over a
// checkpoint in format f, with every layer's attention over all positions
// (see [Spec.LayerForward] for the sliding layers): the dimensions, the
// biases and sinks, the router (bias, softmax of the top-k logits), the
// experts (interleaved gate_up for a Hugging Face checkpoint, biases, the
// clamped SwiGLU with alpha 1.702 and swiglu_limit), rms_norm_eps and
// rope_theta; YaRN as [Config.ropeScaling] says, any other rope_scaling
// unsupported.
func (s *Spec) Forward(f checkpoint.Format) forward.Config {
	c := s.Cfg()
	return forward.Config{Hidden: int(c.HiddenSize), Heads: int(c.NumAttentionHeads), KVHeads: int(c.NumKeyValueHeads),
		HeadDim: int(c.HeadDim), Experts: int(c.NumLocalExperts), TopK: int(c.NumExpertsPerTok),
		QKVBias: true, OBias: true, Sinks: true, RouterBias: true, SoftmaxTopK: true, ExpertBias: true,
		InterleavedGateUp: f != checkpoint.FormatGGUF, Act: forward.ActSwiGLUOAI, Alpha: swigluAlpha, Limit: c.SwigluLimit,
		Eps: c.RMSNormEps, Theta: c.RopeTheta, Scaling: arch.RopeScalingOf(c.RopeScaling, c.MaxPositionEmbeddings)}
}

// LayerForward is [Spec.Forward] with layer's window: sliding_window for
// a "sliding_attention" layer ([Config.Window]), the same in both formats.
func (s *Spec) LayerForward(f checkpoint.Format, layer int) forward.Config {
	fc := s.Forward(f)
	fc.Window = int(s.Cfg().Window(int64(layer)))
	return fc
}

// Sparse reports true: every gpt-oss layer routes to experts.
func (s *Spec) Sparse(layer int) bool { return true }

// NormEps is rms_norm_eps, the final norm's epsilon.
func (s *Spec) NormEps() float64 { return s.Cfg().RMSNormEps }

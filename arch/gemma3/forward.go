package gemma3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The spot-check's forward pass of Gemma 3, text-only or the language
// model of a multimodal checkpoint.
//
// The block is transformers' Gemma3DecoderLayer
// (models/gemma3/modeling_gemma3.py): Gemma3RMSNorm, which scales by
// 1 + weight (in float32, then cast), for all four norms of a layer, the
// q/k norms and the final norm; input_layernorm; q, k, v; q_norm and
// k_norm per head; rotate-half RoPE; attention scaled by
// query_pre_attn_scalar^−0.5 (Gemma3Attention.scaling); o_proj;
// post_attention_layernorm on the attention's output, then the residual;
// pre_feedforward_layernorm; the MLP down(gelu_tanh(gate·x) ⊙ up·x)
// (hidden_activation "gelu_pytorch_tanh"); post_feedforward_layernorm on
// its output, then the residual. The local (sliding) layers rotate with
// rope_local_base_freq and no scaling and attend within sliding_window;
// the global ones rotate with rope_theta and rope_scaling (linear, factor
// 8, in the 4B, 12B and 27B models) over every position
// (Gemma3TextModel builds a rotary embedding per layer type). The
// embedding rows are multiplied by √hidden_size, rounded to the model's
// dtype (Gemma3TextScaledWordEmbedding; for float32 just the square
// root); the logits are tied to the embedding and, when config.json sets
// final_logit_softcapping, capped (Gemma3ForCausalLM).
//
// llama.cpp (src/models/gemma3.cpp, llm_build_gemma3) computes the same
// block from a GGUF file, in which convert_hf_to_gguf.py
// (Gemma3Model.modify_tensors) stored every norm weight as 1 + w: the
// spot-check uses those weights as they are. The converter keeps the rows
// of Q and K (llama.cpp rotates gemma3 in its NEOX mode). llama.cpp
// scales the embedding by sqrtf(n_embd), applies the window and the local
// RoPE base (10000, unscaled) to five layers of six, and scales the
// attention by 1/√head_dim but for its 27B type (62 layers), which it
// scales by 1/√(hidden_size / heads): that is the query_pre_attn_scalar
// of a spec read from GGUF ([ConfigFromGGUF]).

var (
	_ arch.Forwarder      = (*Spec)(nil)
	_ arch.LayerForwarder = (*Spec)(nil)
)

// Forward returns the configuration of the spot-check's block over a
// checkpoint in format f, as a global layer runs it: the dimensions, q/k
// norms, the post norms, the GELU-tanh gate, the attention scale
// query_pre_attn_scalar^−0.5, rms_norm_eps, rope_theta and the RoPE
// scaling of rope_scaling, every position attended to; for the model, the
// embedding scale √hidden_size and the final soft cap. The norms scale by
// 1 + weight for a Hugging Face checkpoint, by the stored weight for a
// GGUF file (whose converter added the 1). What the kernels do not
// compute is named in Unsupported (see [Config]).
func (s *Spec) Forward(f checkpoint.Format) forward.Config {
	c := s.Cfg()
	fc := forward.Config{Hidden: int(c.HiddenSize), Heads: int(c.NumAttentionHeads), KVHeads: int(c.NumKeyValueHeads),
		HeadDim: int(c.HeadDim), QKNorm: true, PostNorms: true, NormPlusOne: f != checkpoint.FormatGGUF,
		Act: forward.ActGELUTanh, AttnScale: math.Pow(c.QueryPreAttnScalar, -0.5), Eps: c.RMSNormEps,
		Theta: c.RopeTheta, Scaling: c.ropeScaling(), EmbedScale: math.Sqrt(float64(c.HiddenSize)),
		Unsupported: c.unsupported()}
	if c.FinalLogitSoftcapping != nil {
		fc.FinalSoftcap = *c.FinalLogitSoftcapping
	}
	return fc
}

// LayerForward is [Spec.Forward] for layer: a local layer ([Config.Sliding])
// rotates with rope_local_base_freq, unscaled, and attends to the last
// sliding_window positions.
func (s *Spec) LayerForward(f checkpoint.Format, layer int) forward.Config {
	c := s.Cfg()
	fc := s.Forward(f)
	if c.Sliding(int64(layer)) {
		fc.Theta, fc.Scaling, fc.Window = c.RopeLocalBaseFreq, forward.RopeScaling{}, int(c.SlidingWindow)
	}
	return fc
}

// Sparse reports false: every Gemma 3 layer is dense.
func (s *Spec) Sparse(layer int) bool { return false }

// NormEps is rms_norm_eps, the final norm's epsilon.
func (s *Spec) NormEps() float64 { return s.Cfg().RMSNormEps }

// ropeScaling returns the RoPE scaling of the global layers: none for a
// rope_scaling that is absent, null or of type "default"; "linear" with
// its factor; any other type (or a rope_scaling that is not an object)
// unsupported, so that the spot-check declines rather than compute other
// frequencies than the model's.
func (c *Config) ropeScaling() forward.RopeScaling {
	raw := bytes.TrimSpace(c.RopeScaling)
	if len(raw) == 0 || string(raw) == "null" {
		return forward.RopeScaling{}
	}
	var r struct {
		RopeType string  `json:"rope_type"`
		Type     string  `json:"type"`
		Factor   float64 `json:"factor"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return forward.RopeScaling{Type: forward.RopeUnsupported, Name: string(raw)}
	}
	t := r.RopeType
	if t == "" {
		t = r.Type
	}
	switch t = strings.ToLower(t); t {
	case "", "default":
		return forward.RopeScaling{}
	case "linear":
		return forward.RopeScaling{Type: forward.RopeLinear, Name: t, Factor: r.Factor}
	}
	return forward.RopeScaling{Type: forward.RopeUnsupported, Name: t}
}

// unsupported names what of c the kernels do not compute, "" for
// nothing: an attn_logit_softcapping, another hidden_activation than
// "gelu_pytorch_tanh", bidirectional attention, rope_parameters (whose
// per-layer-type RoPE the Config does not read).
func (c *Config) unsupported() string {
	switch {
	case c.AttnLogitSoftcapping != nil:
		return "attn_logit_softcapping"
	case c.HiddenActivation != "" && c.HiddenActivation != "gelu_pytorch_tanh":
		return fmt.Sprintf("hidden_activation %q", c.HiddenActivation)
	case c.UseBidirectionalAttention:
		return "use_bidirectional_attention"
	case len(c.RopeParameters) > 0 && string(bytes.TrimSpace(c.RopeParameters)) != "null":
		return "rope_parameters"
	}
	return ""
}

package qwen2

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The spot-check's forward pass of Qwen2 and Qwen2.5: transformers'
// Qwen2DecoderLayer (models/qwen2/modeling_qwen2.py), Llama's block with
// biases on the q, k and v projections (bias=True) and a sliding window
// in the layers Config.Window names. llama.cpp's qwen2 architecture
// (src/llama-model.cpp, LLM_ARCH_QWEN2) adds the same biases, rotates
// with its NEOX mode, for which the converter keeps transformers' rows
// (no Q/K permutation), and attends to every position.

var (
	_ arch.Forwarder      = (*Spec)(nil)
	_ arch.LayerForwarder = (*Spec)(nil)
)

// Forward returns the configuration of the spot-check's block over a
// checkpoint in format f, the same for both formats: the dimensions, the
// q/k/v biases, rms_norm_eps and rope_theta, every position attended to,
// and the RoPE scaling rope_scaling names: YaRN (the model cards' way to
// extend the context), another type declined ([arch.RopeScalingOf]).
func (s *Spec) Forward(f checkpoint.Format) forward.Config {
	c := s.Cfg()
	return forward.Config{Hidden: int(c.HiddenSize), Heads: int(c.NumAttentionHeads), KVHeads: int(c.NumKeyValueHeads),
		HeadDim: int(c.HeadDim), QKVBias: true, Eps: c.RMSNormEps, Theta: c.RopeTheta,
		Scaling: arch.RopeScalingOf(c.ropeObject(), c.MaxPositionEmbeddings)}
}

// LayerForward is [Spec.Forward] with layer's sliding window
// ([Config.Window]; none in a spec read from GGUF, as llama.cpp has none
// for qwen2).
func (s *Spec) LayerForward(f checkpoint.Format, layer int) forward.Config {
	fc := s.Forward(f)
	fc.Window = int(s.Cfg().Window(int64(layer)))
	return fc
}

// Sparse reports false: every Qwen2 layer is dense.
func (s *Spec) Sparse(layer int) bool { return false }

// NormEps is rms_norm_eps, the final norm's epsilon.
func (s *Spec) NormEps() float64 { return s.Cfg().RMSNormEps }

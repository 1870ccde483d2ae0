package llama

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The spot-check's forward pass of Llama, Mistral and Mixtral.
//
// The block is transformers' LlamaDecoderLayer (models/llama/modeling_llama.py;
// MistralDecoderLayer and MixtralDecoderLayer are the same up to the
// feed-forward): no biases, no q/k norms, rotate-half RoPE with the
// config's rope_theta and rope_scaling, grouped-query attention (over the
// last sliding_window positions for Mistral and Mixtral, whose attention
// passes config.sliding_window to the mask), and either the gated MLP or
// Mixtral's MixtralSparseMoeBlock: softmax over all experts in float32,
// top-k, the k weights divided by their sum, each expert
// w2(silu(w1·x) ⊙ w3·x).
//
// llama.cpp (src/llama-model.cpp, LLM_ARCH_LLAMA) computes the same block
// from a GGUF file in its own way: it rotates q and k with its "normal"
// (interleaved) RoPE, for which convert_hf_to_gguf.py (LlamaModel.permute)
// stored the rows of Q and K reordered per head; it divides each
// frequency by rope_freqs.weight, the factors its converter computed from
// rope_scaling "llama3", instead of scaling them itself; it renormalizes
// the top-k of a MoE layer as Mixtral does (build_moe_ffn with norm_w);
// and it attends to every position (the llama architecture has no
// sliding window). [Spec.Forward] says which for each format, so that the
// two formats of one model give the same block.

var _ arch.Forwarder = (*Spec)(nil)

// Forward returns the configuration of the spot-check's block over a
// checkpoint in format f: the dimensions; Mixtral's routing (top-k of a
// softmax over all experts, renormalized); rms_norm_eps and rope_theta;
// the RoPE scaling (see [Spec.ropeScaling]); for GGUF the interleaved
// layout of Q and K that llama.cpp's converter wrote; and the sliding
// window of a Mistral or Mixtral config.json (a spec read from GGUF has
// none, as llama.cpp has none for this architecture).
func (s *Spec) Forward(f checkpoint.Format) forward.Config {
	c := s.Cfg()
	fc := forward.Config{Hidden: int(c.HiddenSize), Heads: int(c.NumAttentionHeads), KVHeads: int(c.NumKeyValueHeads),
		HeadDim: int(c.HeadDim), Experts: int(c.NumLocalExperts), TopK: int(c.NumExpertsPerTok), NormTopK: c.NumLocalExperts > 0,
		Eps: c.RMSNormEps, Theta: c.RopeTheta, Scaling: s.ropeScaling(f), Window: int(s.window())}
	if f == checkpoint.FormatGGUF {
		fc.Layout = forward.RopeInterleaved
	}
	return fc
}

// ropeScaling returns the RoPE scaling of the config for a checkpoint in
// format f: none for no rope_scaling (or rope_type "default"); "linear"
// with its factor; "llama3" with its four parameters for safetensors, and
// for GGUF the frequency factors of the file's rope_freqs.weight (a spec
// read from GGUF knows only that the tensor is there); "yarn" as
// transformers computes it ([arch.YaRN.Scaling]; from GGUF as llama.cpp
// reads it); any other type (dynamic, longrope) unsupported, so that the
// spot-check declines
// rather than compute other frequencies than the model's.
func (s *Spec) ropeScaling(f checkpoint.Format) forward.RopeScaling {
	c := s.Cfg()
	r := c.ropeParams()
	switch t := c.RopeType(); t {
	case "", "default":
		return forward.RopeScaling{}
	case "linear":
		return forward.RopeScaling{Type: forward.RopeLinear, Name: t, Factor: r.Factor}
	case "llama3":
		if f == checkpoint.FormatGGUF {
			return forward.RopeScaling{Type: forward.RopeFreqFactors, Name: t}
		}
		return forward.RopeScaling{Type: forward.RopeLlama3, Name: t, Factor: r.Factor, LowFreqFactor: r.LowFreqFactor,
			HighFreqFactor: r.HighFreqFactor, OriginalMaxPositions: r.OriginalMaxPositionEmbeddings}
	case "yarn":
		return r.yarn().Scaling(c.MaxPositionEmbeddings)
	default:
		return forward.RopeScaling{Type: forward.RopeUnsupported, Name: t}
	}
}

// ropeParams returns the object that names the RoPE type: rope_scaling,
// else rope_parameters (nil when neither does).
func (c *Config) ropeParams() *RopeScaling {
	if c.RopeScaling.kind() != "" {
		return c.RopeScaling
	}
	return c.RopeParameters
}

// Sparse reports whether layer routes to experts: every layer of Mixtral,
// none of Llama and Mistral.
func (s *Spec) Sparse(layer int) bool { return s.Cfg().NumLocalExperts > 0 }

// NormEps is rms_norm_eps, the final norm's epsilon.
func (s *Spec) NormEps() float64 { return s.Cfg().RMSNormEps }

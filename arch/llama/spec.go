package llama

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

func init() {
	// llama.cpp writes Mistral and Mixtral as "llama": the llama family's
	// FromGGUF returns a Mixtral spec when llama.expert_count is above 0
	// (New by the model type readGGUF gives), and the mixtral family
	// registers no GGUF architecture.
	arch.Register(arch.Family{Name: "llama", ModelTypes: []string{TypeLlama, TypeMistral}, GGUFArch: ggufArch,
		FromConfig: arch.FromConfigFunc(ParseConfig, NewLlama), FromGGUF: arch.FromGGUFFunc(readGGUF, New, arch.Keep[*Spec]),
		Example: func() arch.Spec { return MustNew(TinyDense()) }})
	arch.Register(arch.Family{Name: "mixtral", ModelTypes: []string{TypeMixtral},
		FromConfig: arch.FromConfigFunc(ParseConfig, NewMixtral), Example: func() arch.Spec { return MustNew(TinyMoE()) }})
}

// Spec is the spec of a Llama-architecture decoder: Llama and Mistral
// (family "llama", a gated MLP in every layer) or Mixtral (family
// "mixtral", routed experts in every layer). It implements
// [arch.Complete] and [arch.Forwarder] (forward.go). It is safe for
// concurrent use.
type Spec struct {
	arch.Core[Config] // Family, Config, and the tensor table: Expected, Locate, Assign, Count
}

// The capabilities, checked at compile time.
var _ arch.Complete = (*Spec)(nil)

// New returns the spec of c by its model_type, as the registry finds it:
// [NewLlama] for "llama" and "mistral", [NewMixtral] for "mixtral".
func New(c *Config) (*Spec, error) {
	switch c.ModelType {
	case TypeLlama, TypeMistral:
		return NewLlama(c)
	case TypeMixtral:
		return NewMixtral(c)
	}
	return nil, fmt.Errorf("%w: model_type %q is not llama, mistral or mixtral", arch.ErrUnsupportedArch, c.ModelType)
}

// MustNew is [New] for configs known to be valid (the published ones, test
// fixtures): it panics on an error.
func MustNew(c *Config) *Spec { return arch.Must(New(c)) }

// NewLlama validates c as a dense Llama or Mistral config (family
// "llama") and returns its spec. Errors wrap [arch.ErrConfig] (or
// [arch.ErrUnsupportedArch] for bias tensors) and name the key.
func NewLlama(c *Config) (*Spec, error) {
	if c.ModelType != TypeLlama && c.ModelType != TypeMistral {
		return nil, fmt.Errorf("%w: llama: model_type %q, want llama or mistral", arch.ErrConfig, c.ModelType)
	}
	if c.NumLocalExperts != 0 || c.NumExpertsPerTok != 0 {
		return nil, fmt.Errorf("%w: llama: a dense model has no experts (num_local_experts %d, num_experts_per_tok %d)", arch.ErrConfig, c.NumLocalExperts, c.NumExpertsPerTok)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return newSpec("llama", c), nil
}

// NewMixtral validates c as a Mixtral config (family "mixtral") and
// returns its spec. Errors wrap [arch.ErrConfig] and name the key.
func NewMixtral(c *Config) (*Spec, error) {
	if c.ModelType != TypeMixtral {
		return nil, fmt.Errorf("%w: mixtral: model_type %q, want mixtral", arch.ErrConfig, c.ModelType)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return newSpec("mixtral", c), nil
}

func newSpec(family string, c *Config) *Spec { return &Spec{arch.NewCore(family, c, c.tableSpec)} }

// Dims returns the plain dimensions.
func (s *Spec) Dims() arch.Dims {
	c := s.Cfg()
	return arch.Dims{Vocab: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim, Experts: c.NumLocalExperts, ExpertsUsed: c.NumExpertsPerTok,
		TiedEmbeddings: c.TieWordEmbeddings}
}

// Predict counts the parameters from the dimensions.
func (s *Spec) Predict() arch.Prediction { return s.Cfg().Predict() }

// The obligation ids of the two families: the seed's seven falsification
// tests and QA gate under tags of their own.
var (
	// Obligations are the ids of the llama family, FALSIFY-LLAMA-001 …
	// -007 and F-LLAMA-001. Mistral is held to them too: its config.json
	// says "mistral" but its GGUF file says "llama" like any Llama's, and
	// one model must be held to the same ids in both formats.
	Obligations = arch.NewObligations("LLAMA")
	// MixtralObligations are the ids of the mixtral family,
	// FALSIFY-MIXTRAL-001 … -007 and F-MIXTRAL-001.
	MixtralObligations = arch.NewObligations("MIXTRAL")
)

// Obligations returns FALSIFY-LLAMA-001 … -007 and F-LLAMA-001 for Llama
// and Mistral, FALSIFY-MIXTRAL-001 … -007 and F-MIXTRAL-001 for Mixtral.
func (s *Spec) Obligations() arch.Obligations {
	if s.Family() == "mixtral" {
		return MixtralObligations
	}
	return Obligations
}

// window returns the sliding window, 0 for full attention.
func (s *Spec) window() int64 {
	if w := s.Cfg().SlidingWindow; w != nil && *w > 0 {
		return *w
	}
	return 0
}

// KVCache stores a key and a value vector of head_dim per KV head and
// layer: for every position, or for the last sliding_window positions
// when the config has a window (Mistral 7B v0.1's 4,096; its reference
// implementation keeps a rolling cache of that size). A spec read from
// GGUF has no window: the metadata does not carry it, and llama.cpp's
// llama architecture attends to every position.
func (s *Spec) KVCache() []arch.KVRows {
	c := s.Cfg()
	return []arch.KVRows{{Rows: 2 * c.NumHiddenLayers * c.NumKeyValueHeads, Width: c.HeadDim, Window: s.window()}}
}

// AttentionFLOPs is the seed's attention term 2·2·L·n_h·d_k·ctx: the
// scores q·k and the weighted sum of v, for every head and layer, over
// the positions a token attends to (at most the sliding window).
func (s *Spec) AttentionFLOPs(ctx int64) int64 {
	c := s.Cfg()
	if w := s.window(); w > 0 {
		ctx = min(ctx, w)
	}
	return checked.SatMul(4, c.NumHiddenLayers, c.NumAttentionHeads, c.HeadDim, ctx)
}

// ConfigProblems lists what of the spec's configuration no model of the
// family runs with although its tensors can be counted, each naming its
// config.json key in Field: a rope_theta that is not a positive finite
// number, an odd head_dim, an rms_norm_eps negative or not finite, a
// max_position_embeddings below 1, a sliding_window below 1. For a spec
// read from GGUF metadata the message also names the metadata key; a key
// llama.cpp requires but the metadata lacks (context_length,
// attention.layer_norm_rms_epsilon) or holds as another type than a
// float, and a value_length or rope.dimension_count other than the head
// dimension, are problems of their own.
func (s *Spec) ConfigProblems() []arch.Conflict {
	return arch.ConfigProblems(s.Source(), s.Cfg().problems())
}

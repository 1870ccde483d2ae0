package qwen3

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/checked"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

func init() {
	arch.Register(arch.Family{Name: "qwen3moe", ModelTypes: []string{"qwen3_moe"}, GGUFArch: "qwen3moe",
		FromConfig: arch.FromConfigFunc(ParseConfig, NewMoE), FromGGUF: arch.FromGGUFFunc(readGGUF, NewMoE, arch.Keep[*Spec]),
		Example: func() arch.Spec { return MustNew(TinyMoE()) }, Harnesses: runHarnesses})
	arch.Register(arch.Family{Name: "qwen3", ModelTypes: []string{"qwen3"}, GGUFArch: "qwen3",
		FromConfig: arch.FromConfigFunc(ParseConfig, NewDense), FromGGUF: arch.FromGGUFFunc(readGGUF, NewDense, arch.Keep[*Spec]),
		Example: func() arch.Spec { return MustNew(TinyDense()) }, Harnesses: runHarnesses})
}

// Spec is the spec of a Qwen3 decoder, dense (every layer an MLP) or
// mixture-of-experts. It implements [arch.Complete] and [arch.Forwarder]:
// every optional capability. It is safe for concurrent use.
type Spec struct {
	arch.Core[Config] // Family, Config, and the tensor table: Expected, Locate, Assign, Count
}

// The capabilities, checked at compile time.
var (
	_ arch.Complete  = (*Spec)(nil)
	_ arch.Forwarder = (*Spec)(nil)
)

// New returns the spec of c by its model_type, as the registry finds it:
// [NewMoE] for "qwen3_moe", [NewDense] for "qwen3".
func New(c *Config) (*Spec, error) {
	switch c.ModelType {
	case "qwen3_moe":
		return NewMoE(c)
	case "qwen3":
		return NewDense(c)
	}
	return nil, fmt.Errorf("%w: model_type %q is not a Qwen3 family", arch.ErrUnsupportedArch, c.ModelType)
}

// MustNew is [New] for configs known to be valid (the published ones, test
// fixtures): it panics on an error.
func MustNew(c *Config) *Spec { return arch.Must(New(c)) }

// NewMoE validates c as a Qwen3-MoE config (family "qwen3moe") and returns
// its spec. Errors wrap [arch.ErrConfig] and name the key.
func NewMoE(c *Config) (*Spec, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.NumExperts <= 0 || c.NumExpertsPerTok <= 0 || c.MoEIntermediateSize <= 0 {
		return nil, fmt.Errorf("%w: qwen3moe: num_experts, num_experts_per_tok and moe_intermediate_size must be positive (got %d, %d, %d)",
			arch.ErrConfig, c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize)
	}
	return newSpec("qwen3moe", c), nil
}

// NewDense validates c as a dense Qwen3 config (family "qwen3") and
// returns its spec. Errors wrap [arch.ErrConfig] and name the key.
func NewDense(c *Config) (*Spec, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.NumExperts != 0 {
		return nil, fmt.Errorf("%w: qwen3: a dense model has no experts (num_experts %d)", arch.ErrConfig, c.NumExperts)
	}
	if c.IntermediateSize <= 0 {
		return nil, fmt.Errorf("%w: qwen3: intermediate_size must be positive (got %d)", arch.ErrConfig, c.IntermediateSize)
	}
	return newSpec("qwen3", c), nil
}

func newSpec(family string, c *Config) *Spec { return &Spec{arch.NewCore(family, c, c.tableSpec)} }

// Dims returns the plain dimensions.
func (s *Spec) Dims() arch.Dims {
	c := s.Cfg()
	return arch.Dims{Vocab: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim, Experts: c.NumExperts, ExpertsUsed: c.NumExpertsPerTok,
		TiedEmbeddings: c.TieWordEmbeddings}
}

// Predict counts the parameters from the dimensions.
func (s *Spec) Predict() arch.Prediction { return s.Cfg().Predict() }

// Obligations returns the ids of the seed's contract: FALSIFY-QM3E-001 …
// -007 and the QA gate F-QM3E-001. The dense Qwen3 family shares them: it
// is the same decoder with every layer dense.
func (s *Spec) Obligations() arch.Obligations { return Obligations }

// Obligations are the ids of the seed's contract for Qwen3-MoE
// (../shared/seeds).
var Obligations = arch.NewObligations("QM3E")

// KVCache stores a key and a value vector of head_dim per KV head and
// layer, for every position.
func (s *Spec) KVCache() []arch.KVRows {
	c := s.Cfg()
	return []arch.KVRows{{Rows: 2 * c.NumHiddenLayers * c.NumKeyValueHeads, Width: c.HeadDim}}
}

// AttentionFLOPs is the seed's attention term 2·2·L·n_h·d_k·ctx: the
// scores q·k and the weighted sum of v, for every head and layer.
func (s *Spec) AttentionFLOPs(ctx int64) int64 {
	c := s.Cfg()
	return checked.SatMul(4, c.NumHiddenLayers, c.NumAttentionHeads, c.HeadDim, ctx)
}

// Forward returns the block configuration of the forward pass: q/k norms,
// plain RoPE in transformers' order (llama.cpp's qwen3 and qwen3moe
// architectures use its NEOX mode and keep the rows). llama.cpp
// always renormalizes the top-k for qwen3moe, so a GGUF checkpoint routes
// with NormTopK set whatever the config said.
func (s *Spec) Forward(f checkpoint.Format) forward.Config {
	c := s.Cfg()
	fc := forward.Config{Hidden: int(c.HiddenSize), Heads: int(c.NumAttentionHeads), KVHeads: int(c.NumKeyValueHeads),
		HeadDim: int(c.HeadDim), Experts: int(c.NumExperts), TopK: int(c.NumExpertsPerTok), NormTopK: c.NormTopKProb,
		QKNorm: true, Eps: c.RMSNormEps, Theta: c.RopeTheta, Scaling: arch.RopeScalingOf(c.ropeObject(), c.MaxPositionEmbeddings)}
	if f == checkpoint.FormatGGUF && c.NumExperts > 0 {
		fc.NormTopK = true
	}
	return fc
}

// Sparse reports whether layer routes to experts.
func (s *Spec) Sparse(layer int) bool { return s.Cfg().Sparse(int64(layer)) }

// NormEps is rms_norm_eps.
func (s *Spec) NormEps() float64 { return s.Cfg().RMSNormEps }

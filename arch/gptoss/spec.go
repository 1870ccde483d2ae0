package gptoss

import "github.com/weightaudit/weightaudit/arch"

func init() {
	arch.Register(arch.Family{Name: "gptoss", ModelTypes: []string{"gpt_oss"}, GGUFArch: ggufArch,
		FromConfig: arch.FromConfigFunc(ParseConfig, New), FromGGUF: arch.FromGGUFFunc(readGGUF, New, arch.Keep[*Spec]),
		Example: func() arch.Spec { return MustNew(Tiny()) }})
}

// Spec is the spec of a gpt-oss decoder. It implements [arch.Complete],
// not [arch.Forwarder] (see the package doc). It is safe for concurrent
// use.
type Spec struct {
	arch.Core[Config] // Family, Config, and the tensor table: Expected, Locate, Assign, Count
}

// The capabilities, checked at compile time.
var _ arch.Complete = (*Spec)(nil)

// New validates c and returns its spec. Errors wrap [arch.ErrConfig] and
// name the key. The spec keeps c: the caller must not change it after.
func New(c *Config) (*Spec, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Spec{arch.NewCore("gptoss", c, c.tableSpec)}, nil
}

// MustNew is [New] for configs known to be valid (the published ones, test
// fixtures): it panics on an error.
func MustNew(c *Config) *Spec { return arch.Must(New(c)) }

// Dims returns the plain dimensions.
func (s *Spec) Dims() arch.Dims {
	c := s.Cfg()
	return arch.Dims{Vocab: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim, Experts: c.NumLocalExperts, ExpertsUsed: c.NumExpertsPerTok,
		TiedEmbeddings: c.TieWordEmbeddings}
}

// Predict counts the parameters from the dimensions ([Config.Predict]).
func (s *Spec) Predict() arch.Prediction { return s.Cfg().Predict() }

// Obligations are the family's ids of the seed's seven obligations and QA
// gate: FALSIFY-GPTOSS-001 … -007 and F-GPTOSS-001.
var Obligations = arch.NewObligations("GPTOSS")

// Obligations returns [Obligations].
func (s *Spec) Obligations() arch.Obligations { return Obligations }

// KVCache stores a key and a value vector of head_dim per KV head and
// layer: for every position in the full-attention layers, for the last
// sliding_window in the sliding ones (every other layer).
func (s *Spec) KVCache() []arch.KVRows { return s.attention().KVCache() }

// AttentionFLOPs is the seed's 2·2·n_h·d_k per layer and attended
// position: ctx positions in a full layer, at most sliding_window in a
// sliding one. The sinks add one logit per head to each softmax, below
// the count's resolution.
func (s *Spec) AttentionFLOPs(ctx int64) int64 { return s.attention().FLOPs(ctx) }

// attention is the cost shape of the layers, each with its [Config.Window].
func (s *Spec) attention() arch.Attention {
	c := s.Cfg()
	a := arch.Attention{Heads: c.NumAttentionHeads, KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim}
	return a.CountLayers(c.NumHiddenLayers, c.Window)
}

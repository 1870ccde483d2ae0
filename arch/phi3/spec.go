package phi3

import "github.com/weightaudit/weightaudit/arch"

func init() {
	arch.Register(arch.Family{Name: "phi3", ModelTypes: []string{"phi3"}, GGUFArch: ggufArch,
		FromConfig: arch.FromConfigFunc(ParseConfig, New), FromGGUF: arch.FromGGUFFunc(readGGUF, New, arch.Keep[*Spec]),
		Example: func() arch.Spec { return MustNew(Tiny()) }})
}

// Spec is the spec of a Phi-3 decoder. It implements [arch.Complete]
// and [arch.Forwarder] (forward.go). It is safe for concurrent use.
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
	return &Spec{arch.NewCore("phi3", c, c.tableSpec)}, nil
}

// MustNew is [New] for configs known to be valid (the published ones, test
// fixtures): it panics on an error.
func MustNew(c *Config) *Spec { return arch.Must(New(c)) }

// Dims returns the plain dimensions; a dense model has no experts.
func (s *Spec) Dims() arch.Dims {
	c := s.Cfg()
	return arch.Dims{Vocab: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim, TiedEmbeddings: c.TieWordEmbeddings}
}

// Predict counts the parameters from the dimensions ([Config.Predict]).
func (s *Spec) Predict() arch.Prediction { return s.Cfg().Predict() }

// Obligations are the family's ids of the seed's seven obligations and QA
// gate: FALSIFY-PHI3-001 … -007 and F-PHI3-001.
var Obligations = arch.NewObligations("PHI3")

// Obligations returns [Obligations].
func (s *Spec) Obligations() arch.Obligations { return Obligations }

// KVCache stores a key and a value vector of head_dim per KV head and
// layer: for every position, or for the last sliding_window positions
// when config.json sets one (every layer of Phi3Attention passes the same
// sliding_window to the attention).
func (s *Spec) KVCache() []arch.KVRows { return s.attention().KVCache() }

// AttentionFLOPs is the seed's attention term 2·2·L·n_h·d_k·ctx: the
// scores q·k and the weighted sum of v, for every head and layer, over
// ctx positions, or over at most sliding_window of them.
func (s *Spec) AttentionFLOPs(ctx int64) int64 { return s.attention().FLOPs(ctx) }

// attention is the cost shape of the layers, all with the same window.
func (s *Spec) attention() arch.Attention {
	c := s.Cfg()
	a := arch.Attention{Heads: c.NumAttentionHeads, KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim}
	return a.CountLayers(c.NumHiddenLayers, func(int64) int64 { return max(c.SlidingWindow, 0) })
}

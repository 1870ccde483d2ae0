package gemma3

import "github.com/weightaudit/weightaudit/arch"

func init() {
	arch.Register(arch.Family{Name: "gemma3", ModelTypes: []string{"gemma3_text", "gemma3"}, GGUFArch: ggufArch,
		FromConfig: arch.FromConfigFunc(ParseConfig, New), FromGGUF: arch.FromGGUFFunc(readGGUF, New, arch.Keep[*Spec]),
		Example: func() arch.Spec { return MustNew(Tiny()) }})
}

// Spec is the spec of a Gemma 3 decoder, text-only or the language model
// of a multimodal checkpoint. It implements [arch.Complete],
// [arch.Forwarder] and [arch.LayerForwarder] (forward.go). It is safe for
// concurrent use.
type Spec struct {
	arch.Core[Config] // Family, and the tensor table: Expected, Locate, Assign, Count
}

// The capabilities, checked at compile time.
var _ arch.Complete = (*Spec)(nil)

// New validates c and returns its spec. Errors wrap [arch.ErrConfig] and
// name the key. The spec keeps c: the caller must not change it after.
func New(c *Config) (*Spec, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return newSpec(c), nil
}

// MustNew is [New] for configs known to be valid (the published ones, test
// fixtures): it panics on an error.
func MustNew(c *Config) *Spec { return arch.Must(New(c)) }

func newSpec(c *Config) *Spec { return &Spec{arch.NewCore("gemma3", c, c.tableSpec)} }

// Config returns the *Config the spec was made from, or for a multimodal
// model its *MultimodalConfig (config.json as given).
func (s *Spec) Config() any {
	if c := s.Cfg(); c.mm != nil {
		return c.mm
	}
	return s.Cfg()
}

// Dims returns the plain dimensions; a dense model has no experts.
func (s *Spec) Dims() arch.Dims {
	c := s.Cfg()
	return arch.Dims{Vocab: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim, TiedEmbeddings: c.TieWordEmbeddings}
}

// Predict counts the parameters from the dimensions ([Config.Predict]).
func (s *Spec) Predict() arch.Prediction { return s.Cfg().Predict() }

// Obligations are the family's ids of the seed's seven obligations and QA
// gate: FALSIFY-GEMMA3-001 … -007 and F-GEMMA3-001.
var Obligations = arch.NewObligations("GEMMA3")

// Obligations returns [Obligations].
func (s *Spec) Obligations() arch.Obligations { return Obligations }

// KVCache stores a key and a value vector of head_dim per KV head and
// layer: for every position in the global layers, for the last
// sliding_window positions in the local ones (five of every six with
// sliding_window_pattern 6). A kind of layer the model lacks is left out.
func (s *Spec) KVCache() []arch.KVRows { return s.attention().KVCache() }

// AttentionFLOPs is the seed's attention term 2·2·n_h·d_k per layer and
// attended position (the scores q·k and the weighted sum of v): ctx
// positions in each global layer, at most sliding_window in each local
// one.
func (s *Spec) AttentionFLOPs(ctx int64) int64 { return s.attention().FLOPs(ctx) }

// attention is the cost shape of the layers: the local ones ([Config.Sliding])
// attend within sliding_window (at least one position).
func (s *Spec) attention() arch.Attention {
	c := s.Cfg()
	window := func(i int64) int64 {
		if c.Sliding(i) {
			return max(c.SlidingWindow, 1)
		}
		return 0
	}
	a := arch.Attention{Heads: c.NumAttentionHeads, KVHeads: c.NumKeyValueHeads, HeadDim: c.HeadDim}
	return a.CountLayers(c.NumHiddenLayers, window)
}

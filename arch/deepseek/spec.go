package deepseek

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

func init() {
	arch.Register(arch.Family{Name: "deepseek", ModelTypes: []string{"deepseek_v3", "kimi_k2"}, GGUFArch: ggufArch,
		FromConfig: arch.FromConfigFunc(ParseConfig, New), FromGGUF: arch.FromGGUFFunc(readGGUF, New, arch.Keep[*Spec]),
		Example: func() arch.Spec { return MustNew(Tiny()) }})
}

// Spec is the spec of a DeepSeek-V3 (or Kimi K2) decoder. It implements
// [arch.Complete] and [arch.Forwarder] (forward.go). It is safe for
// concurrent use.
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
	return &Spec{arch.NewCore("deepseek", c, c.tableSpec)}, nil
}

// MustNew is [New] for configs known to be valid (the published ones, test
// fixtures): it panics on an error.
func MustNew(c *Config) *Spec { return arch.Must(New(c)) }

// Dims returns the plain dimensions. HeadDim is the width of a query and
// key head (qk_nope_head_dim + qk_rope_head_dim); the values are
// v_head_dim wide.
func (s *Spec) Dims() arch.Dims {
	c := s.Cfg()
	return arch.Dims{Vocab: c.VocabSize, Hidden: c.HiddenSize, Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads,
		KVHeads: c.NumKeyValueHeads, HeadDim: c.qkHeadDim(), Experts: c.NRoutedExperts, ExpertsUsed: c.NumExpertsPerTok,
		TiedEmbeddings: c.TieWordEmbeddings}
}

// Predict counts the parameters from the dimensions ([Config.Predict]).
func (s *Spec) Predict() arch.Prediction { return s.Cfg().Predict() }

// Obligations are the family's ids of the seed's seven obligations and QA
// gate: FALSIFY-DSV3-001 … -007 and F-DSV3-001.
var Obligations = arch.NewObligations("DSV3")

// Obligations returns [Obligations].
func (s *Spec) Obligations() arch.Obligations { return Obligations }

// KVCache is what multi-head latent attention caches per position and
// layer: the compressed latent of kv_lora_rank and the shared rotary key
// of qk_rope_head_dim, one vector (llama.cpp caches the same, as one KV
// head of key_length kv_lora_rank + rope dims whose first kv_lora_rank
// are the values, so no value rows are stored: KeysOnly). Expanding it
// into per-head keys and values is compute, not cache.
func (s *Spec) KVCache() []arch.KVRows {
	c := s.Cfg()
	return []arch.KVRows{{Rows: c.NumHiddenLayers, Width: c.KVLoraRank + c.QKRopeHeadDim, KeysOnly: true}}
}

// AttentionFLOPs is 2·L·n_h·(d_qk + d_v)·ctx: per head and layer, the
// scores q·k over the query-key width (qk_nope_head_dim +
// qk_rope_head_dim) and the weighted sum of v over v_head_dim, 2 FLOPs a
// multiply-add. With d_qk = d_v = d_k it is the seed's 2·2·L·n_h·d_k·ctx.
func (s *Spec) AttentionFLOPs(ctx int64) int64 {
	c := s.Cfg()
	return checked.SatMul(2, c.NumHiddenLayers, c.NumAttentionHeads, c.qkHeadDim()+c.VHeadDim, ctx)
}

package audit

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
)

// Spec is an architecture's prediction of a checkpoint: which tensors it
// holds, in each format, and how many parameters they add up to. The checks
// see only this interface, so a new family plugs in by registering a
// [Family]; nothing in the checks names one.
type Spec interface {
	// Family names the architecture family, as in [Families].
	Family() string
	// Config returns the dimensions the cost model works from.
	Config() *Config
	// Expected lists the tensors of a checkpoint in format f.
	Expected(f checkpoint.Format) []Expected
	// Predict counts the parameters from the dimensions alone.
	Predict() Prediction
	// Locate returns the expected entry called name in format f, and its
	// index in Expected(f), without building that list; false when the
	// architecture predicts no such tensor.
	Locate(f checkpoint.Format, name string) (e Expected, index int, ok bool)
	// Count returns len(Expected(f)).
	Count(f checkpoint.Format) int
}

// Family is one architecture family: how to recognize it and how to build
// its [Spec] from a Hugging Face config or GGUF metadata.
type Family struct {
	Name       string   // e.g. "qwen3moe"
	ModelTypes []string // Hugging Face config.json model_type values
	GGUFArch   string   // GGUF general.architecture
	// New validates c for this family and returns its spec.
	New func(c *Config) (Spec, error)
}

// ErrUnsupportedArch is returned when a checkpoint's architecture belongs to
// no registered family.
var ErrUnsupportedArch = errors.New("unsupported architecture")

// Families lists the registered families.
var Families = []Family{
	{Name: "qwen3moe", ModelTypes: []string{"qwen3_moe"}, GGUFArch: "qwen3moe", New: newQwen3MoE},
	{Name: "qwen3", ModelTypes: []string{"qwen3"}, GGUFArch: "qwen3", New: newQwen3},
}

// qwen3 is the Qwen3 decoder family: dense (every layer an MLP) or
// mixture-of-experts. Both share one Config; the families differ in what
// they require of it.
type qwen3 struct {
	family string
	cfg    *Config
	locs   [2]*locator // by format: safetensors, GGUF; built on first use
}

func (q *qwen3) locator(f checkpoint.Format) *locator {
	i := 0
	if f == checkpoint.FormatGGUF {
		i = 1
	}
	if q.locs[i] == nil {
		q.locs[i] = newLocator(q.cfg, f)
	}
	return q.locs[i]
}

func (q *qwen3) Locate(f checkpoint.Format, name string) (Expected, int, bool) {
	return q.locator(f).locate(name)
}
func (q *qwen3) assign(f checkpoint.Format, name string, r *Role) bool {
	return q.locator(f).assign(name, r)
}
func (q *qwen3) Count(f checkpoint.Format) int { return q.locator(f).total }

func (q *qwen3) Family() string      { return q.family }
func (q *qwen3) Config() *Config     { return q.cfg }
func (q *qwen3) Predict() Prediction { return q.cfg.Predict() }
func (q *qwen3) Expected(f checkpoint.Format) []Expected {
	if f == checkpoint.FormatGGUF {
		return q.cfg.ExpectedGGUF()
	}
	return q.cfg.ExpectedHF()
}

func newQwen3MoE(c *Config) (Spec, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.NumExperts <= 0 || c.NumExpertsPerTok <= 0 || c.MoEIntermediateSize <= 0 {
		return nil, fmt.Errorf("qwen3moe config: num_experts, num_experts_per_tok and moe_intermediate_size must be positive (got %d, %d, %d)",
			c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize)
	}
	if c.NumExpertsPerTok > c.NumExperts {
		return nil, fmt.Errorf("qwen3moe config: num_experts_per_tok %d exceeds num_experts %d", c.NumExpertsPerTok, c.NumExperts)
	}
	return &qwen3{family: "qwen3moe", cfg: c}, nil
}

func newQwen3(c *Config) (Spec, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.NumExperts != 0 {
		return nil, fmt.Errorf("qwen3 config: a dense model has no experts (num_experts %d)", c.NumExperts)
	}
	if c.IntermediateSize <= 0 {
		return nil, fmt.Errorf("qwen3 config: intermediate_size must be positive (got %d)", c.IntermediateSize)
	}
	return &qwen3{family: "qwen3", cfg: c}, nil
}

// maxDim bounds every dimension of a config so that the predictions'
// products cannot overflow an int64 (2^20 · 2^20 · 2^20 < 2^63 with the
// layer count below).
const maxDim = 1 << 20

// maxLayers bounds num_hidden_layers: the predictions list every expected
// tensor. Published models have fewer than 200 layers.
const maxLayers = 4096

// checkDims reports the first dimension of c that no model can have: a
// size that must be positive and is not, a negative count, or more layers
// than maxLayers. The error names the config key.
func (c *Config) checkDims() error {
	for _, f := range c.dims() {
		switch {
		case f.positive && f.v <= 0:
			return fmt.Errorf("config key %q = %d, want > 0", f.key, f.v)
		case f.v < 0:
			return fmt.Errorf("config key %q = %d, want ≥ 0", f.key, f.v)
		}
	}
	if c.NumHiddenLayers > maxLayers {
		return fmt.Errorf("config key %q = %d exceeds the limit %d", "num_hidden_layers", c.NumHiddenLayers, maxLayers)
	}
	return nil
}

type dim struct {
	key      string
	v        int64
	positive bool // must be > 0; else ≥ 0
}

// dims lists the dimensions of c with their config keys.
func (c *Config) dims() []dim {
	return []dim{
		{"vocab_size", c.VocabSize, true}, {"hidden_size", c.HiddenSize, true}, {"num_hidden_layers", c.NumHiddenLayers, true},
		{"num_attention_heads", c.NumAttentionHeads, true}, {"num_key_value_heads", c.NumKeyValueHeads, true}, {"head_dim", c.HeadDim, true},
		{"intermediate_size", c.IntermediateSize, false}, {"moe_intermediate_size", c.MoEIntermediateSize, false},
		{"num_experts", c.NumExperts, false}, {"num_experts_per_tok", c.NumExpertsPerTok, false},
	}
}

// validate rejects configs whose dimensions are missing, negative or
// absurd (over maxDim, so that no product overflows), or whose heads do
// not group, naming the field.
func (c *Config) validate() error {
	if err := c.checkDims(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, f := range c.dims() {
		if f.v > maxDim {
			return fmt.Errorf("config: config key %q = %d exceeds the limit %d", f.key, f.v, maxDim)
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("config: num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	return nil
}

// SpecFor returns the spec of c's family, found by its model_type.
func SpecFor(c *Config) (Spec, error) {
	for _, f := range Families {
		for _, mt := range f.ModelTypes {
			if c.ModelType == mt {
				return f.New(c)
			}
		}
	}
	return nil, fmt.Errorf("config.json model_type %q: %w (supported: %s)", c.ModelType, ErrUnsupportedArch, supportedModelTypes())
}

func supportedModelTypes() string {
	var s []string
	for _, f := range Families {
		s = append(s, f.ModelTypes...)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture and the "<arch>." keys llama.cpp writes) into a
// Config, as if it came from the config.json the file was converted from.
// The vocabulary size is the length of tokenizer.ggml.tokens, or failing
// that the embedding's second dimension. For a split set pass every part:
// the metadata is read from the first, tensors are looked up in all.
func ConfigFromGGUF(parts ...*gguf.File) (*Config, error) {
	if len(parts) == 0 {
		return nil, errors.New("no GGUF file")
	}
	f := parts[0]
	lookup := func(name string) (*gguf.TensorInfo, bool) {
		for _, p := range parts {
			if t, ok := p.Lookup(name); ok {
				return t, true
			}
		}
		return nil, false
	}
	arch := f.Architecture()
	var fam *Family
	for i := range Families {
		if Families[i].GGUFArch == arch {
			fam = &Families[i]
		}
	}
	if fam == nil {
		return nil, fmt.Errorf("general.architecture %q: %w", arch, ErrUnsupportedArch)
	}
	c := &Config{ModelType: fam.ModelTypes[0], DecoderSparseStep: 1}
	var errs []error
	u := func(key string, dst *int64, required bool) {
		v, err := f.GetUint(arch + "." + key)
		switch {
		case err == nil && v <= maxDim*1024:
			*dst = int64(v)
		case err == nil:
			errs = append(errs, fmt.Errorf("key %q = %d: too large", arch+"."+key, v))
		case required || !errors.Is(err, gguf.ErrNotFound):
			errs = append(errs, err)
		}
	}
	u("block_count", &c.NumHiddenLayers, true)
	u("context_length", &c.MaxPositionEmbeddings, false)
	u("embedding_length", &c.HiddenSize, true)
	u("feed_forward_length", &c.IntermediateSize, false)
	u("attention.head_count", &c.NumAttentionHeads, true)
	u("attention.head_count_kv", &c.NumKeyValueHeads, true)
	u("attention.key_length", &c.HeadDim, false)
	if fam.Name == "qwen3moe" {
		u("expert_count", &c.NumExperts, true)
		u("expert_used_count", &c.NumExpertsPerTok, true)
		u("expert_feed_forward_length", &c.MoEIntermediateSize, true)
		c.NormTopKProb = true // llama.cpp always renormalizes the top-k for qwen3moe
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if v, err := f.GetFloat(arch + ".rope.freq_base"); err == nil {
		c.RopeTheta = v
	}
	if v, err := f.GetFloat(arch + ".attention.layer_norm_rms_epsilon"); err == nil {
		c.RMSNormEps = v
	}
	if toks, ok := f.Get("tokenizer.ggml.tokens"); ok && toks.Type() == gguf.ValueArray {
		c.VocabSize = int64(toks.Len())
	} else if t, ok := lookup("token_embd.weight"); ok && len(t.Dims) == 2 {
		c.VocabSize = t.Dims[1]
	}
	_, hasOutput := lookup("output.weight")
	c.TieWordEmbeddings = !hasOutput
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

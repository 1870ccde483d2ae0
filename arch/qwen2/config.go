package qwen2

import (
	"encoding/json"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// Config is the architecture of a Qwen2 or Qwen2.5 decoder as a Hugging
// Face config.json gives it. Field names follow transformers' Qwen2Config
// (models/qwen2/configuration_qwen2.py); head_dim is not a Qwen2Config
// key, but Qwen2Attention takes it when config.json gives one.
type Config struct {
	Architectures     []string `json:"architectures,omitempty"`
	ModelType         string   `json:"model_type"`
	VocabSize         int64    `json:"vocab_size"`
	HiddenSize        int64    `json:"hidden_size"`
	IntermediateSize  int64    `json:"intermediate_size"`
	NumHiddenLayers   int64    `json:"num_hidden_layers"`
	NumAttentionHeads int64    `json:"num_attention_heads"`
	NumKeyValueHeads  int64    `json:"num_key_value_heads"`
	HeadDim           int64    `json:"head_dim,omitempty"`
	RopeTheta         float64  `json:"rope_theta"`
	// RopeParameters is the rope_parameters object transformers 5 writes
	// instead of a top-level rope_theta, kept as given; its rope_theta,
	// when there is one, is the one [ParseConfig] puts in RopeTheta.
	RopeParameters json.RawMessage `json:"rope_parameters,omitempty"`
	// RopeScaling is config.json's rope_scaling, kept as given: Qwen2.5's
	// model cards extend the context with {"type": "yarn", "factor": 4.0,
	// "original_max_position_embeddings": 32768}.
	RopeScaling           json.RawMessage `json:"rope_scaling,omitempty"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	TieWordEmbeddings     bool            `json:"tie_word_embeddings"`
	MaxPositionEmbeddings int64           `json:"max_position_embeddings"`
	// UseSlidingWindow, SlidingWindow and MaxWindowLayers say which
	// layers attend to the last SlidingWindow positions only: none unless
	// UseSlidingWindow, else layers MaxWindowLayers and above (or those
	// LayerTypes names "sliding_attention"). SlidingWindow is nil for a
	// null sliding_window, which transformers reads as no window; an
	// absent one is transformers' default 4096. Every published Qwen2 and
	// Qwen2.5 model has use_sliding_window false.
	UseSlidingWindow bool     `json:"use_sliding_window"`
	SlidingWindow    *int64   `json:"sliding_window"`
	MaxWindowLayers  int64    `json:"max_window_layers"`
	LayerTypes       []string `json:"layer_types,omitempty"`
	TorchDType       string   `json:"torch_dtype,omitempty"`
}

// Defaults of transformers' Qwen2Config for the keys a config.json may
// omit without the audit refusing it.
const (
	defaultRopeTheta       = 10000 // rope_theta: transformers' default RoPE base
	defaultRMSNormEps      = 1e-6
	defaultMaxPosition     = 32768
	defaultSlidingWindow   = 4096
	defaultMaxWindowLayers = 28
)

// The layer_types values of transformers that Qwen2Attention tells apart.
const (
	fullAttention    = "full_attention"
	slidingAttention = "sliding_attention"
)

// ParseConfig decodes a config.json as Python's json and transformers read
// it ([arch.DecodeConfig]): keys match exactly, a key given twice keeps
// its last value, other keys are ignored. The RoPE base is
// rope_parameters' rope_theta when the file has one (transformers 5's
// standardize_rope_params gives it precedence), else the top-level
// rope_theta. Fields the file omits keep Qwen2Config's defaults: head_dim
// hidden_size/num_attention_heads, rope_theta 10000, rms_norm_eps 1e-6,
// max_position_embeddings 32768, tie_word_embeddings false,
// use_sliding_window false, sliding_window 4096 (nil when the file gives
// null), max_window_layers 28. The dimensions have no default: a config
// without one is refused by [New]. The keys given twice are not reported
// here: [arch.FromCheckpoint] reports them. Errors wrap [arch.ErrConfig]
// and name the key; Python's NaN and Infinity inside rope_parameters,
// which arch.DecodeConfig reads at the top level only, are such an error
// (at the top level they are values [Spec.ConfigProblems] reports).
func ParseConfig(data []byte) (*Config, error) {
	w := int64(defaultSlidingWindow)
	c := &Config{RopeTheta: defaultRopeTheta, RMSNormEps: defaultRMSNormEps, MaxPositionEmbeddings: defaultMaxPosition,
		SlidingWindow: &w, MaxWindowLayers: defaultMaxWindowLayers}
	if _, err := arch.DecodeConfig(data, c); err != nil {
		return nil, err
	}
	theta, err := arch.RopeBase(c.RopeParameters, c.RopeTheta)
	if err != nil {
		return nil, err
	}
	c.RopeTheta = theta
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	return c, nil
}

// Window returns the number of positions layer i attends to, 0 for every
// position: transformers' rule (Qwen2Config.layer_types) is a window of
// sliding_window for a "sliding_attention" layer when use_sliding_window
// is set, the layers from max_window_layers on being the sliding ones
// unless config.json lists layer_types. That is the code's rule;
// Qwen2Config's docstring says the bottom layers slide (transformers issue
// 35896). A layer_types of another length than the layers, which
// transformers refuses, is left out (it is one of the
// [Spec.ConfigProblems]).
func (c *Config) Window(i int64) int64 {
	if !c.UseSlidingWindow || c.SlidingWindow == nil || *c.SlidingWindow < 1 || i < 0 || i >= c.NumHiddenLayers {
		return 0
	}
	sliding := i >= c.MaxWindowLayers
	if int64(len(c.LayerTypes)) == c.NumHiddenLayers {
		sliding = c.LayerTypes[i] == slidingAttention
	}
	if !sliding {
		return 0
	}
	return *c.SlidingWindow
}

// dims lists the dimensions of c with their config keys; each must be
// positive.
func (c *Config) dims() []arch.Dim {
	return []arch.Dim{
		{Key: "vocab_size", Value: c.VocabSize}, {Key: "hidden_size", Value: c.HiddenSize},
		{Key: "intermediate_size", Value: c.IntermediateSize},
		{Key: "num_hidden_layers", Value: c.NumHiddenLayers, Limit: arch.MaxLayers},
		{Key: "num_attention_heads", Value: c.NumAttentionHeads}, {Key: "num_key_value_heads", Value: c.NumKeyValueHeads},
		{Key: "head_dim", Value: c.HeadDim},
	}
}

// validate rejects configs whose dimensions are missing, not positive or
// absurd, whose heads do not group, or whose parameter count overflows an
// int64, naming the key. Every error wraps [arch.ErrConfig].
func (c *Config) validate() error {
	if err := arch.CheckDims(c.dims()...); err != nil {
		return err
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("%w: num_attention_heads %d is not a multiple of num_key_value_heads %d", arch.ErrConfig, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	// Every dimension is at most 2^20: the widths q and kv are at most
	// 2^40, 2·d·q and 2·d·kv at most 2^61, so a layer's attention and norms
	// stay below 2^63 and its MLP below 2^42. The sums over the layers and
	// the vocabulary are checked.
	d, q, kv := c.HiddenSize, c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	layer, ok1 := checked.Add(2*d*q+2*d*kv+q+2*kv+2*d, 3*d*c.IntermediateSize)
	total, ok2 := checked.Mul(layer, c.NumHiddenLayers)
	_, ok3 := checked.Add(total, 2*c.VocabSize*d+d)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("%w: the parameter count of hidden_size %d, vocab_size %d and %d layers overflows an int64", arch.ErrConfig, d, c.VocabSize, c.NumHiddenLayers)
	}
	return nil
}

// problems lists the values of c no Qwen2 model runs with: a RoPE base
// that is not a positive finite number, a norm epsilon that is negative or
// not finite, a context length below one position, a sliding window below
// one position when use_sliding_window is set, and a layer_types that
// transformers refuses (another length than the layers) or that names a
// kind of attention Qwen2 does not have.
func (c *Config) problems() []arch.BadValue {
	out := arch.AppendRopeBase(nil, "rope_theta", c.RopeTheta)
	out = arch.AppendNormEps(out, "rms_norm_eps", c.RMSNormEps)
	out = arch.AppendPositions(out, "max_position_embeddings", c.MaxPositionEmbeddings)
	if w := c.SlidingWindow; c.UseSlidingWindow && w != nil && *w < 1 {
		out = append(out, arch.BadValue{Key: "sliding_window", Got: fmt.Sprint(*w), Want: "≥ 1 with use_sliding_window true"})
	}
	if n := int64(len(c.LayerTypes)); n > 0 && n != c.NumHiddenLayers {
		out = append(out, arch.BadValue{Key: "layer_types", Got: fmt.Sprintf("a list of %d", n), Want: fmt.Sprintf("one entry per layer (%d)", c.NumHiddenLayers)})
	}
	for i, t := range c.LayerTypes {
		if t != fullAttention && t != slidingAttention {
			out = append(out, arch.BadValue{Key: "layer_types", Got: fmt.Sprintf("%q at layer %d", t, i), Want: fmt.Sprintf("%q or %q", fullAttention, slidingAttention)})
			break
		}
	}
	return out
}

// ConfigProblems lists what of the spec's configuration no Qwen2 model
// runs with although its tensors can be counted, each naming its
// config.json key in Field: a rope_theta that is not a positive finite
// number, an rms_norm_eps negative or not finite, a
// max_position_embeddings below 1, a sliding_window below 1 with
// use_sliding_window set, a layer_types transformers refuses. For a spec
// read from GGUF metadata the message also names the metadata key, and a
// key llama.cpp requires but the metadata lacks (context_length,
// attention.layer_norm_rms_epsilon) or holds as another type than a
// float is a problem of its own.
func (s *Spec) ConfigProblems() []arch.Conflict {
	return arch.ConfigProblems(s.Source(), s.Cfg().problems())
}

// window returns a pointer to n, for the published configs.
func window(n int64) *int64 { return &n }

// Qwen2_5_7B returns the published configuration of
// https://huggingface.co/Qwen/Qwen2.5-7B (config.json).
func Qwen2_5_7B() *Config {
	return &Config{
		Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2",
		VocabSize: 152064, HiddenSize: 3584, IntermediateSize: 18944, NumHiddenLayers: 28,
		NumAttentionHeads: 28, NumKeyValueHeads: 4, HeadDim: 128,
		RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 131072, TieWordEmbeddings: false,
		UseSlidingWindow: false, SlidingWindow: window(131072), MaxWindowLayers: 28, TorchDType: "bfloat16",
	}
}

// Qwen2_5_0_5B returns the published configuration of
// https://huggingface.co/Qwen/Qwen2.5-0.5B (config.json): the embeddings
// are tied.
func Qwen2_5_0_5B() *Config {
	return &Config{
		Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2",
		VocabSize: 151936, HiddenSize: 896, IntermediateSize: 4864, NumHiddenLayers: 24,
		NumAttentionHeads: 14, NumKeyValueHeads: 2, HeadDim: 64,
		RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 32768, TieWordEmbeddings: true,
		UseSlidingWindow: false, SlidingWindow: window(32768), MaxWindowLayers: 24, TorchDType: "bfloat16",
	}
}

// Qwen2_5_72B returns the published configuration of
// https://huggingface.co/Qwen/Qwen2.5-72B (config.json). Its rms_norm_eps
// 1e-5 is that of the other Qwen2.5 base models of 14B and more (and of
// Qwen2-72B); the audit's counts do not depend on it.
func Qwen2_5_72B() *Config {
	return &Config{
		Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2",
		VocabSize: 152064, HiddenSize: 8192, IntermediateSize: 29568, NumHiddenLayers: 80,
		NumAttentionHeads: 64, NumKeyValueHeads: 8, HeadDim: 128,
		RopeTheta: 1e6, RMSNormEps: 1e-5, MaxPositionEmbeddings: 131072, TieWordEmbeddings: false,
		UseSlidingWindow: false, SlidingWindow: window(131072), MaxWindowLayers: 80, TorchDType: "bfloat16",
	}
}

// Tiny returns a small Qwen2 configuration for tests and fixtures: the
// structure of the published models (grouped-query attention with q/k/v
// biases, untied embeddings) at a size that fits in kilobytes.
func Tiny() *Config {
	return &Config{
		Architectures: []string{"Qwen2ForCausalLM"}, ModelType: "qwen2",
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 128,
		SlidingWindow: window(128), MaxWindowLayers: 2, TorchDType: "float32",
	}
}

// ropeObject is the object that names the RoPE scaling ([arch.RopeObject]).
func (c *Config) ropeObject() json.RawMessage {
	return arch.RopeObject(c.RopeScaling, c.RopeParameters)
}

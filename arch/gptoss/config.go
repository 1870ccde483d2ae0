package gptoss

import (
	"encoding/json"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// Config is the architecture of a gpt-oss decoder as a Hugging Face
// config.json gives it. Field names follow transformers' GptOssConfig
// (models/gpt_oss/configuration_gpt_oss.py).
type Config struct {
	Architectures     []string `json:"architectures,omitempty"`
	ModelType         string   `json:"model_type"`
	VocabSize         int64    `json:"vocab_size"`
	HiddenSize        int64    `json:"hidden_size"`
	IntermediateSize  int64    `json:"intermediate_size"` // each expert's width
	NumHiddenLayers   int64    `json:"num_hidden_layers"`
	NumAttentionHeads int64    `json:"num_attention_heads"`
	NumKeyValueHeads  int64    `json:"num_key_value_heads"`
	HeadDim           int64    `json:"head_dim"`
	NumLocalExperts   int64    `json:"num_local_experts"`
	NumExpertsPerTok  int64    `json:"num_experts_per_tok"`
	// SlidingWindow is the window of the layers LayerTypes names
	// "sliding_attention" (every other layer, starting with the first).
	SlidingWindow int64    `json:"sliding_window"`
	LayerTypes    []string `json:"layer_types,omitempty"`
	RopeTheta     float64  `json:"rope_theta"`
	// RopeScaling is kept as given (YaRN, factor 32, for the published
	// models).
	RopeScaling           json.RawMessage `json:"rope_scaling,omitempty"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	MaxPositionEmbeddings int64           `json:"max_position_embeddings"`
	TieWordEmbeddings     bool            `json:"tie_word_embeddings"`
	SwigluLimit           float64         `json:"swiglu_limit"`
	// QuantizationConfig says how the experts are stored: the published
	// checkpoints are MXFP4 (quant_method "mxfp4"); without it they are
	// plain tensors (a dequantized BF16 upload).
	QuantizationConfig *QuantizationConfig `json:"quantization_config,omitempty"`
	TorchDType         string              `json:"torch_dtype,omitempty"`
}

// QuantizationConfig is the quantization_config of an MXFP4 checkpoint
// (transformers' Mxfp4Config).
type QuantizationConfig struct {
	QuantMethod         string   `json:"quant_method"`
	ModulesToNotConvert []string `json:"modules_to_not_convert,omitempty"`
}

// Defaults of GptOssConfig for the keys a config.json may omit.
const (
	defaultRopeTheta   = 150000
	defaultRMSNormEps  = 1e-5
	defaultMaxPosition = 131072
	defaultSwigluLimit = 7
)

// The layer_types values transformers tells apart.
const (
	fullAttention    = "full_attention"
	slidingAttention = "sliding_attention"
)

// ParseConfig decodes a config.json as Python's json and transformers read
// it ([arch.DecodeConfig]). Fields the file omits keep GptOssConfig's
// defaults: rope_theta 150000, rms_norm_eps 1e-5, max_position_embeddings
// 131072, swiglu_limit 7, head_dim hidden_size / num_attention_heads, and
// layer_types alternating "sliding_attention" and "full_attention" from
// the first layer. The dimensions have no default: a config without one
// is refused by [New]. Errors wrap [arch.ErrConfig] and name the key.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{RopeTheta: defaultRopeTheta, RMSNormEps: defaultRMSNormEps, MaxPositionEmbeddings: defaultMaxPosition, SwigluLimit: defaultSwigluLimit}
	if _, err := arch.DecodeConfig(data, c); err != nil {
		return nil, err
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	return c, nil
}

// mxfp4 reports whether the experts are stored as MXFP4 blocks and scales.
func (c *Config) mxfp4() bool {
	return c.QuantizationConfig != nil && c.QuantizationConfig.QuantMethod == "mxfp4"
}

// Window returns the number of positions layer i attends to, 0 for all:
// sliding_window for a "sliding_attention" layer. Without layer_types,
// transformers' default: layer i slides when i is even.
func (c *Config) Window(i int64) int64 {
	sliding := i%2 == 0
	if int64(len(c.LayerTypes)) == c.NumHiddenLayers {
		sliding = c.LayerTypes[i] == slidingAttention
	}
	if !sliding || c.SlidingWindow < 1 {
		return 0
	}
	return c.SlidingWindow
}

func (c *Config) dims() []arch.Dim {
	return []arch.Dim{
		{Key: "vocab_size", Value: c.VocabSize}, {Key: "hidden_size", Value: c.HiddenSize},
		{Key: "intermediate_size", Value: c.IntermediateSize},
		{Key: "num_hidden_layers", Value: c.NumHiddenLayers, Limit: arch.MaxLayers},
		{Key: "num_attention_heads", Value: c.NumAttentionHeads}, {Key: "num_key_value_heads", Value: c.NumKeyValueHeads},
		{Key: "head_dim", Value: c.HeadDim}, {Key: "num_local_experts", Value: c.NumLocalExperts},
		{Key: "num_experts_per_tok", Value: c.NumExpertsPerTok},
	}
}

// validate rejects configs whose dimensions are missing, not positive or
// absurd, whose heads do not group, whose routing picks more experts than
// there are, whose MXFP4 experts do not split into blocks of 32, or whose
// parameter count overflows an int64, naming the key. Every error wraps
// [arch.ErrConfig].
func (c *Config) validate() error {
	if err := arch.CheckDims(c.dims()...); err != nil {
		return err
	}
	switch {
	case c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		return fmt.Errorf("%w: num_attention_heads %d is not a multiple of num_key_value_heads %d", arch.ErrConfig, c.NumAttentionHeads, c.NumKeyValueHeads)
	case c.NumExpertsPerTok > c.NumLocalExperts:
		return fmt.Errorf("%w: num_experts_per_tok %d exceeds num_local_experts %d", arch.ErrConfig, c.NumExpertsPerTok, c.NumLocalExperts)
	case c.mxfp4() && (c.HiddenSize%mxBlock != 0 || c.IntermediateSize%mxBlock != 0):
		return fmt.Errorf("%w: hidden_size %d and intermediate_size %d must be multiples of %d for MXFP4 experts", arch.ErrConfig, c.HiddenSize, c.IntermediateSize, mxBlock)
	}
	d, q, kv, e, f := c.HiddenSize, c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim, c.NumLocalExperts, c.IntermediateSize
	attn, ok1 := checked.Add(2*d*q+2*d*kv+q+2*kv+d+c.NumAttentionHeads, 3*d)
	ex, ok2 := checked.Mul(e, 3*f*d+3*f+d+d+1)
	layer, ok3 := checked.Add(attn, ex)
	all, ok4 := checked.Mul(layer, c.NumHiddenLayers)
	_, ok5 := checked.Add(all, 2*c.VocabSize*d+d)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return fmt.Errorf("%w: the parameter count of hidden_size %d, vocab_size %d, %d experts and %d layers overflows an int64", arch.ErrConfig, d, c.VocabSize, e, c.NumHiddenLayers)
	}
	return nil
}

// problems lists the values of c no gpt-oss model runs with although its
// tensors can be counted.
func (c *Config) problems() []arch.BadValue {
	out := arch.AppendRopeBase(nil, "rope_theta", c.RopeTheta)
	out = arch.AppendNormEps(out, "rms_norm_eps", c.RMSNormEps)
	out = arch.AppendPositions(out, "max_position_embeddings", c.MaxPositionEmbeddings)
	if c.SlidingWindow < 1 {
		out = append(out, arch.BadValue{Key: "sliding_window", Got: fmt.Sprint(c.SlidingWindow), Want: "≥ 1"})
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
	if q := c.QuantizationConfig; q != nil && q.QuantMethod != "mxfp4" {
		out = append(out, arch.BadValue{Key: "quantization_config.quant_method", Got: fmt.Sprintf("%q", q.QuantMethod), Want: `"mxfp4" (the only scheme the family's table knows)`})
	}
	return out
}

// ConfigProblems lists what of the spec's configuration no gpt-oss model
// runs with although its tensors can be counted, each naming its key.
func (s *Spec) ConfigProblems() []arch.Conflict {
	return arch.ConfigProblems(s.Source(), s.Cfg().problems())
}

// alternating returns n layer types, sliding first.
func alternating(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = slidingAttention
		if i%2 == 1 {
			out[i] = fullAttention
		}
	}
	return out
}

var yarn32 = json.RawMessage(`{"beta_fast":32.0,"beta_slow":1.0,"factor":32.0,"original_max_position_embeddings":4096,"rope_type":"yarn","truncate":false}`)

func published(layers, experts int64) *Config {
	return &Config{
		Architectures: []string{"GptOssForCausalLM"}, ModelType: "gpt_oss",
		VocabSize: 201088, HiddenSize: 2880, IntermediateSize: 2880, NumHiddenLayers: layers,
		NumAttentionHeads: 64, NumKeyValueHeads: 8, HeadDim: 64, NumLocalExperts: experts, NumExpertsPerTok: 4,
		SlidingWindow: 128, LayerTypes: alternating(int(layers)), RopeTheta: 150000, RopeScaling: yarn32,
		RMSNormEps: 1e-5, MaxPositionEmbeddings: 131072, SwigluLimit: 7,
		QuantizationConfig: &QuantizationConfig{QuantMethod: "mxfp4",
			ModulesToNotConvert: []string{"model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"}},
		TorchDType: "bfloat16",
	}
}

// GptOss120B returns the published configuration of
// https://huggingface.co/openai/gpt-oss-120b (config.json): 36 layers of
// 128 experts, MXFP4.
func GptOss120B() *Config { return published(36, 128) }

// GptOss20B returns the published configuration of
// https://huggingface.co/openai/gpt-oss-20b (config.json): 24 layers of
// 32 experts, MXFP4.
func GptOss20B() *Config { return published(24, 32) }

// Tiny returns a small configuration for tests and fixtures with the
// published models' structure: biases, sinks, alternating sliding
// layers, MXFP4 experts of blocks of 32.
func Tiny() *Config {
	c := published(2, 4)
	c.VocabSize, c.HiddenSize, c.IntermediateSize = 64, 64, 32
	c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.NumExpertsPerTok = 4, 2, 16, 2
	c.SlidingWindow, c.MaxPositionEmbeddings, c.RopeScaling, c.TorchDType = 8, 256, nil, "float32"
	return c
}

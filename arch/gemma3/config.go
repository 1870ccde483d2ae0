package gemma3

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// Config is the architecture of a Gemma 3 text decoder as a Hugging Face
// config.json gives it. Field names follow transformers' Gemma3TextConfig
// (models/gemma3/configuration_gemma3.py).
type Config struct {
	Architectures         []string `json:"architectures,omitempty"`
	ModelType             string   `json:"model_type"`
	VocabSize             int64    `json:"vocab_size"`
	HiddenSize            int64    `json:"hidden_size"`
	IntermediateSize      int64    `json:"intermediate_size"`
	NumHiddenLayers       int64    `json:"num_hidden_layers"`
	NumAttentionHeads     int64    `json:"num_attention_heads"`
	NumKeyValueHeads      int64    `json:"num_key_value_heads"`
	HeadDim               int64    `json:"head_dim"`
	RopeTheta             float64  `json:"rope_theta"`
	RopeLocalBaseFreq     float64  `json:"rope_local_base_freq"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	MaxPositionEmbeddings int64    `json:"max_position_embeddings"`
	// SlidingWindow is the attention window of the local layers;
	// SlidingWindowPattern makes every pattern-th layer global, unless
	// LayerTypes (transformers ≥ 4.53) names each layer's kind.
	SlidingWindow        int64    `json:"sliding_window"`
	SlidingWindowPattern int64    `json:"sliding_window_pattern"`
	LayerTypes           []string `json:"layer_types,omitempty"`
	// RopeScaling is kept as given (linear, factor 8, for the global
	// layers of the 4B, 12B and 27B models).
	RopeScaling json.RawMessage `json:"rope_scaling,omitempty"`
	TorchDType  string          `json:"torch_dtype,omitempty"`
	// QueryPreAttnScalar scales the attention scores by its inverse
	// square root (Gemma3Attention: scaling = query_pre_attn_scalar**-0.5;
	// 256 in the published configs, head_dim's value but for the 27B
	// model's 168).
	QueryPreAttnScalar float64 `json:"query_pre_attn_scalar,omitempty"`
	// FinalLogitSoftcapping, when set, caps the logits at ±its value
	// (tanh(x/c)·c; Gemma3ForCausalLM); null in Gemma 3.
	FinalLogitSoftcapping *float64 `json:"final_logit_softcapping,omitempty"`
	// The keys of a Gemma3TextConfig the spot-check's kernels do not
	// compute, read so that it declines such a model rather than compute
	// another block: attn_logit_softcapping (null in Gemma 3; the
	// converter refuses it), a hidden_activation other than
	// "gelu_pytorch_tanh", use_bidirectional_attention (EmbeddingGemma),
	// and rope_parameters, transformers 5's RoPE per layer type.
	AttnLogitSoftcapping      *float64        `json:"attn_logit_softcapping,omitempty"`
	HiddenActivation          string          `json:"hidden_activation,omitempty"`
	UseBidirectionalAttention bool            `json:"use_bidirectional_attention,omitempty"`
	RopeParameters            json.RawMessage `json:"rope_parameters,omitempty"`

	// mm is the multimodal config this is the text_config of, nil for a
	// text-only model.
	mm *MultimodalConfig
}

// Defaults of transformers' Gemma3TextConfig for the keys a config.json
// may omit without the audit refusing it.
const (
	defaultHeadDim       = 256
	defaultRopeTheta     = 1e6
	defaultRopeLocal     = 10000
	defaultRMSNormEps    = 1e-6
	defaultMaxPosition   = 131072
	defaultSlidingWindow = 4096
	defaultPattern       = 6
	defaultQueryScalar   = 256
)

// ParseConfig decodes a config.json as Python's json and transformers read
// it ([arch.DecodeConfig]). Fields the file omits keep Gemma3TextConfig's
// defaults: head_dim 256, rope_theta 1e6, rope_local_base_freq 10000,
// rms_norm_eps 1e-6, max_position_embeddings 131072, tie_word_embeddings
// true, sliding_window 4096, sliding_window_pattern 6,
// query_pre_attn_scalar 256. The other
// dimensions have no default here: a config without one is refused by
// [New]. Errors wrap [arch.ErrConfig] and name the key.
func ParseConfig(data []byte) (*Config, error) {
	var mt struct {
		ModelType string `json:"model_type"`
	}
	if _, err := arch.DecodeConfig(data, &mt); err != nil {
		return nil, err
	}
	if mt.ModelType == "gemma3" {
		return parseMultimodal(data)
	}
	c := defaults()
	c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads = 0, 0, 0, 0, 0, 0
	if _, err := arch.DecodeConfig(data, c); err != nil {
		return nil, err
	}
	return c, nil
}

// defaults is a Config with Gemma3TextConfig's defaults for the keys
// [ParseConfig] fills in.
func defaults() *Config {
	return &Config{HeadDim: defaultHeadDim, RopeTheta: defaultRopeTheta, RopeLocalBaseFreq: defaultRopeLocal,
		RMSNormEps: defaultRMSNormEps, MaxPositionEmbeddings: defaultMaxPosition, TieWordEmbeddings: true,
		SlidingWindow: defaultSlidingWindow, SlidingWindowPattern: defaultPattern, QueryPreAttnScalar: defaultQueryScalar}
}

// Sliding reports whether layer i attends within the sliding window:
// layer_types[i] is "sliding_attention" when config.json lists the
// layers, else (i+1) is not a multiple of sliding_window_pattern
// (Gemma3TextConfig).
func (c *Config) Sliding(i int64) bool {
	if i >= 0 && i < int64(len(c.LayerTypes)) {
		return c.LayerTypes[i] == "sliding_attention"
	}
	return c.SlidingWindowPattern > 0 && (i+1)%c.SlidingWindowPattern != 0
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
	if c.mm != nil {
		if err := c.mm.VisionConfig.validate(); err != nil {
			return err
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("%w: num_attention_heads %d is not a multiple of num_key_value_heads %d", arch.ErrConfig, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	// Every dimension is at most 2^20, so each product of two or three
	// stays below 2^63; the sums are checked.
	d, q, kv := c.HiddenSize, c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	attn, ok0 := checked.Product([]int64{2, d, q + kv})
	layer, ok1 := checked.Add(attn, 3*d*c.IntermediateSize+4*d+2*c.HeadDim)
	total, ok2 := checked.Mul(layer, c.NumHiddenLayers)
	_, ok3 := checked.Add(total, 2*c.VocabSize*d+d)
	if !ok0 || !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("%w: the parameter count of hidden_size %d, vocab_size %d and %d layers overflows an int64", arch.ErrConfig, d, c.VocabSize, c.NumHiddenLayers)
	}
	return nil
}

// problems lists the values of c no Gemma 3 model runs with although its
// tensors can be counted: a RoPE base (global or local) or
// query_pre_attn_scalar that is not a positive finite number, a norm
// epsilon negative or not finite, a context length or sliding window below
// one position, a sliding_window_pattern below 1 without layer_types, and
// layer_types of another length than num_hidden_layers or naming another
// kind than "sliding_attention" and "full_attention" (Gemma3TextConfig's
// layer_type_validation).
func (c *Config) problems() []arch.BadValue {
	out := arch.AppendRopeBase(nil, "rope_theta", c.RopeTheta)
	if q := c.QueryPreAttnScalar; !(q > 0) || math.IsInf(q, 1) {
		out = append(out, arch.BadValue{Key: "query_pre_attn_scalar", Got: fmt.Sprint(q), Want: "a positive number"})
	}
	out = arch.AppendRopeBase(out, "rope_local_base_freq", c.RopeLocalBaseFreq)
	out = arch.AppendNormEps(out, "rms_norm_eps", c.RMSNormEps)
	out = arch.AppendPositions(out, "max_position_embeddings", c.MaxPositionEmbeddings)
	out = arch.AppendPositions(out, "sliding_window", c.SlidingWindow)
	if c.LayerTypes == nil && c.SlidingWindowPattern < 1 {
		out = append(out, arch.BadValue{Key: "sliding_window_pattern", Got: fmt.Sprint(c.SlidingWindowPattern), Want: "≥ 1"})
	}
	if c.LayerTypes != nil && int64(len(c.LayerTypes)) != c.NumHiddenLayers {
		out = append(out, arch.BadValue{Key: "layer_types", Got: fmt.Sprintf("%d entries", len(c.LayerTypes)), Want: fmt.Sprintf("one per layer (%d)", c.NumHiddenLayers)})
	}
	for i, t := range c.LayerTypes {
		if t != "sliding_attention" && t != "full_attention" {
			out = append(out, arch.BadValue{Key: "layer_types", Got: fmt.Sprintf("%q at %d", t, i), Want: `"sliding_attention" or "full_attention"`})
			break
		}
	}
	return out
}

// ConfigProblems lists what of the spec's configuration no Gemma 3 model
// runs with although its tensors can be counted ([Config] problems), each
// naming its config.json key in Field. For a spec read from GGUF metadata
// the message also names the metadata key, and a key llama.cpp requires
// but the metadata lacks (context_length,
// attention.layer_norm_rms_epsilon, attention.sliding_window) is a
// problem of its own.
func (s *Spec) ConfigProblems() []arch.Conflict {
	return arch.ConfigProblems(s.Source(), s.Cfg().problems())
}

// Gemma3_1B returns the published configuration of
// https://huggingface.co/google/gemma-3-1b-it (config.json; gemma-3-1b-pt
// has the same): 26 layers, 4 query heads sharing one KV head of 256,
// tied embeddings (the key is absent: Gemma3TextConfig's default).
func Gemma3_1B() *Config {
	return &Config{
		Architectures: []string{"Gemma3ForCausalLM"}, ModelType: "gemma3_text",
		VocabSize: 262144, HiddenSize: 1152, IntermediateSize: 6912, NumHiddenLayers: 26,
		NumAttentionHeads: 4, NumKeyValueHeads: 1, HeadDim: 256,
		RopeTheta: 1e6, RopeLocalBaseFreq: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: true,
		MaxPositionEmbeddings: 32768, SlidingWindow: 512, SlidingWindowPattern: 6, RopeScaling: json.RawMessage("null"), TorchDType: "bfloat16",
		QueryPreAttnScalar: 256, HiddenActivation: "gelu_pytorch_tanh",
	}
}

// Tiny returns a small Gemma 3 configuration for tests and fixtures: the
// structure of the published model (four norms, q/k norms, a head_dim
// apart from hidden_size / heads, grouped-query attention, tied
// embeddings, local and global layers) at a size that fits in kilobytes.
// Its seven layers hold one global layer (layer 5) and six local ones. Its
// query_pre_attn_scalar is head_dim, as in the published 1B, 4B and 12B
// models: what llama.cpp assumes of every size but 27B.
func Tiny() *Config {
	return &Config{
		Architectures: []string{"Gemma3ForCausalLM"}, ModelType: "gemma3_text",
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 48, NumHiddenLayers: 7,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 16,
		RopeTheta: 1e6, RopeLocalBaseFreq: 10000, RMSNormEps: 1e-6, TieWordEmbeddings: true,
		MaxPositionEmbeddings: 256, SlidingWindow: 16, SlidingWindowPattern: 6, TorchDType: "float32",
		QueryPreAttnScalar: 16,
	}
}

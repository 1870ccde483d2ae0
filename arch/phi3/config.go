package phi3

import (
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// Config is the architecture of a Phi-3 decoder as a Hugging Face
// config.json gives it. Field names follow transformers' Phi3Config
// (models/phi3/configuration_phi3.py); head_dim is not a Phi3Config key,
// but Phi3Attention takes it when config.json gives one
// (getattr(config, "head_dim", hidden_size // num_attention_heads)).
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
	// RopeScaling is config.json's rope_scaling ("longrope", formerly
	// "su", in Phi-3.5 and the 128k models); RopeParameters the
	// rope_parameters transformers 5 writes instead. Only whether the
	// type is one llama.cpp writes factors for changes the tensors
	// ([Config.RopeFactors]).
	RopeScaling                   *RopeScaling `json:"rope_scaling,omitempty"`
	RopeParameters                *RopeScaling `json:"rope_parameters,omitempty"`
	RMSNormEps                    float64      `json:"rms_norm_eps"`
	TieWordEmbeddings             bool         `json:"tie_word_embeddings"`
	MaxPositionEmbeddings         int64        `json:"max_position_embeddings"`
	OriginalMaxPositionEmbeddings int64        `json:"original_max_position_embeddings"`
	// SlidingWindow is the attention window of every layer, 0 for a null
	// sliding_window (full attention; llama.cpp's converter writes 0 too).
	SlidingWindow int64  `json:"sliding_window,omitempty"`
	TorchDType    string `json:"torch_dtype,omitempty"`
	// The keys of a Phi3Config the spot-check's kernels do not compute
	// when they differ from Phi-3's, read so that it declines such a model
	// rather than compute another block: a partial_rotary_factor below 1
	// (Phi-4-mini's 0.75: RoPE on part of each head) and a hidden_act
	// other than "silu".
	PartialRotaryFactor float64 `json:"partial_rotary_factor,omitempty"`
	HiddenAct           string  `json:"hidden_act,omitempty"`
}

// RopeScaling is a rope_scaling (or rope_parameters) object: the type,
// under either key transformers reads, the per-frequency factors of
// LongRoPE, each head_dim/2 long, and its attention_factor when given
// (transformers otherwise derives it from the context lengths; of a GGUF
// file, the rope.scaling.attn_factor the converter wrote).
type RopeScaling struct {
	RopeType        string    `json:"rope_type,omitempty"`
	Type            string    `json:"type,omitempty"`
	LongFactor      []float64 `json:"long_factor,omitempty"`
	ShortFactor     []float64 `json:"short_factor,omitempty"`
	AttentionFactor *float64  `json:"attention_factor,omitempty"`
	RopeTheta       float64   `json:"rope_theta,omitempty"` // rope_parameters only
}

// kind returns the scaling type in lower case, "" for none.
func (r *RopeScaling) kind() string {
	if r == nil {
		return ""
	}
	if r.RopeType != "" {
		return strings.ToLower(r.RopeType)
	}
	return strings.ToLower(r.Type)
}

// rope returns the RoPE scaling in force: rope_scaling, else
// rope_parameters.
func (c *Config) rope() *RopeScaling {
	if c.RopeScaling != nil {
		return c.RopeScaling
	}
	return c.RopeParameters
}

// RopeFactors reports whether llama.cpp's converter writes the LongRoPE
// factors rope_factors_long.weight and rope_factors_short.weight
// (Phi3MiniModel.generate_extra_tensors: for a rope_scaling of type "su",
// "longrope" or "yarn"; transformers reads "su" and "yarn" as "longrope").
func (c *Config) RopeFactors() bool {
	switch c.rope().kind() {
	case "su", "longrope", "yarn":
		return true
	}
	return false
}

// Defaults of transformers' Phi3Config for the keys a config.json may omit
// without the audit refusing it.
const (
	defaultRopeTheta   = 10000
	defaultRMSNormEps  = 1e-5
	defaultMaxPosition = 4096
)

// ParseConfig decodes a config.json as Python's json and transformers read
// it ([arch.DecodeConfig]). Fields the file omits keep Phi3Config's
// defaults: num_key_value_heads num_attention_heads, head_dim hidden_size
// / num_attention_heads, rope_theta 10000 (rope_parameters' rope_theta
// when given), rms_norm_eps 1e-5, max_position_embeddings and
// original_max_position_embeddings 4096, tie_word_embeddings false,
// sliding_window null. The dimensions have no default: a config without
// one is refused by [New]. Errors wrap [arch.ErrConfig] and name the key.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{RopeTheta: defaultRopeTheta, RMSNormEps: defaultRMSNormEps, MaxPositionEmbeddings: defaultMaxPosition,
		OriginalMaxPositionEmbeddings: defaultMaxPosition}
	if _, err := arch.DecodeConfig(data, c); err != nil {
		return nil, err
	}
	if p := c.RopeParameters; p != nil && p.RopeTheta != 0 {
		c.RopeTheta = p.RopeTheta
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	return c, nil
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
	// Every dimension is at most 2^20: q and kv are at most 2^40, so
	// d·(q+2kv) + q·d stays below 2^63 and the MLP's 3·d·f below 2^42.
	// The sums over the layers and the vocabulary are checked.
	d, q, kv := c.HiddenSize, c.q(), c.kv()
	layer, ok1 := checked.Add(d*(q+2*kv)+q*d+2*d, 3*d*c.IntermediateSize)
	total, ok2 := checked.Mul(layer, c.NumHiddenLayers)
	_, ok3 := checked.Add(total, 2*c.VocabSize*d+d)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("%w: the parameter count of hidden_size %d, vocab_size %d and %d layers overflows an int64", arch.ErrConfig, d, c.VocabSize, c.NumHiddenLayers)
	}
	return nil
}

// problems lists the values of c no Phi-3 model runs with: a RoPE base
// that is not a positive finite number, a norm epsilon negative or not
// finite, a context length below one position, a negative sliding window,
// a rope_scaling type neither transformers nor llama.cpp's converter
// handles, and LongRoPE factors of another length than head_dim/2
// (Phi3Config.validate_rope; Phi3MiniModel.generate_extra_tensors).
func (c *Config) problems() []arch.BadValue {
	out := arch.AppendRopeBase(nil, "rope_theta", c.RopeTheta)
	out = arch.AppendNormEps(out, "rms_norm_eps", c.RMSNormEps)
	out = arch.AppendPositions(out, "max_position_embeddings", c.MaxPositionEmbeddings)
	if c.SlidingWindow < 0 {
		out = append(out, arch.BadValue{Key: "sliding_window", Got: fmt.Sprint(c.SlidingWindow), Want: "≥ 1, or null"})
	}
	r := c.rope()
	key := "rope_scaling"
	if c.RopeScaling == nil {
		key = "rope_parameters"
	}
	if k := r.kind(); r != nil && k != "" && k != "default" && !c.RopeFactors() {
		out = append(out, arch.BadValue{Key: key, Got: fmt.Sprintf("type %q", k), Want: `"longrope" (or "su", "yarn")`})
	}
	if r != nil {
		half := c.HeadDim / 2
		for _, f := range []struct {
			name string
			v    []float64
		}{{"long_factor", r.LongFactor}, {"short_factor", r.ShortFactor}} {
			if f.v != nil && int64(len(f.v)) != half {
				out = append(out, arch.BadValue{Key: key, Got: fmt.Sprintf("a %s of %d", f.name, len(f.v)), Want: fmt.Sprintf("head_dim/2 = %d factors", half)})
			}
		}
	}
	return out
}

// ConfigProblems lists what of the spec's configuration no Phi-3 model
// runs with although its tensors can be counted ([Config] problems), each
// naming its config.json key in Field. For a spec read from GGUF metadata
// the message also names the metadata key, and a key llama.cpp requires
// but the metadata lacks (context_length,
// attention.layer_norm_rms_epsilon) is a problem of its own.
func (s *Spec) ConfigProblems() []arch.Conflict {
	return arch.ConfigProblems(s.Source(), s.Cfg().problems())
}

// Phi3Mini4K returns the published configuration of
// https://huggingface.co/microsoft/Phi-3-mini-4k-instruct (config.json):
// full multi-head attention (32 KV heads), untied embeddings, no RoPE
// scaling.
func Phi3Mini4K() *Config {
	return &Config{
		Architectures: []string{"Phi3ForCausalLM"}, ModelType: "phi3",
		VocabSize: 32064, HiddenSize: 3072, IntermediateSize: 8192, NumHiddenLayers: 32,
		NumAttentionHeads: 32, NumKeyValueHeads: 32, HeadDim: 96,
		RopeTheta: 10000, RMSNormEps: 1e-5, MaxPositionEmbeddings: 4096, OriginalMaxPositionEmbeddings: 4096,
		SlidingWindow: 2047, TorchDType: "bfloat16",
	}
}

// Phi3_5Mini returns the configuration of
// https://huggingface.co/microsoft/Phi-3.5-mini-instruct (config.json):
// Phi-3-mini's dimensions with a 128k context through LongRoPE. Its 48
// long and 48 short factors are not reproduced (the audit reads only the
// type, and checks the factors' count when a config gives them).
func Phi3_5Mini() *Config {
	c := Phi3Mini4K()
	c.MaxPositionEmbeddings, c.SlidingWindow = 131072, 262144
	c.RopeScaling = &RopeScaling{Type: "longrope"}
	return c
}

// Phi3Medium4K returns the configuration of
// https://huggingface.co/microsoft/Phi-3-medium-4k-instruct (config.json):
// 40 layers, 40 query heads sharing 10 KV heads of 128.
func Phi3Medium4K() *Config {
	return &Config{
		Architectures: []string{"Phi3ForCausalLM"}, ModelType: "phi3",
		VocabSize: 32064, HiddenSize: 5120, IntermediateSize: 17920, NumHiddenLayers: 40,
		NumAttentionHeads: 40, NumKeyValueHeads: 10, HeadDim: 128,
		RopeTheta: 10000, RMSNormEps: 1e-5, MaxPositionEmbeddings: 4096, OriginalMaxPositionEmbeddings: 4096,
		SlidingWindow: 2047, TorchDType: "bfloat16",
	}
}

// Tiny returns a small Phi-3 configuration for tests and fixtures: the
// structure of the published models (fused qkv_proj and gate_up_proj,
// grouped-query attention as in Phi-3-medium, untied embeddings, LongRoPE
// as in Phi-3.5, so that the GGUF layout holds the factor tensors) at a
// size that fits in kilobytes.
func Tiny() *Config {
	return &Config{
		Architectures: []string{"Phi3ForCausalLM"}, ModelType: "phi3",
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 48, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		RopeTheta: 10000, RMSNormEps: 1e-5, MaxPositionEmbeddings: 256, OriginalMaxPositionEmbeddings: 64,
		RopeScaling:   &RopeScaling{Type: "longrope", LongFactor: []float64{1, 1.5, 2, 4}, ShortFactor: []float64{1, 1, 1, 1}},
		SlidingWindow: 128, TorchDType: "float32",
	}
}

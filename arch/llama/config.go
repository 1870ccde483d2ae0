package llama

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// The config.json model_type values this package reads.
const (
	TypeLlama   = "llama"   // transformers LlamaConfig: Llama 2, 3, 3.1, 3.2, 3.3
	TypeMistral = "mistral" // transformers MistralConfig: Mistral-7B-v0.1 … v0.3
	TypeMixtral = "mixtral" // transformers MixtralConfig: Mixtral-8x7B, 8x22B
)

// Config is the architecture of a Llama, Mistral or Mixtral decoder as a
// Hugging Face config.json gives it. Field names follow transformers'
// LlamaConfig, MistralConfig and MixtralConfig
// (models/llama/configuration_llama.py, models/mistral/configuration_mistral.py,
// models/mixtral/configuration_mixtral.py). A dense model has
// NumLocalExperts 0.
type Config struct {
	Architectures     []string `json:"architectures,omitempty"`
	ModelType         string   `json:"model_type"`
	VocabSize         int64    `json:"vocab_size"`
	HiddenSize        int64    `json:"hidden_size"`
	IntermediateSize  int64    `json:"intermediate_size"` // the dense MLP's width, or each expert's (Mixtral)
	NumHiddenLayers   int64    `json:"num_hidden_layers"`
	NumAttentionHeads int64    `json:"num_attention_heads"`
	NumKeyValueHeads  int64    `json:"num_key_value_heads"`
	HeadDim           int64    `json:"head_dim"`
	// NumLocalExperts and NumExpertsPerTok are Mixtral's routed experts
	// and top-k; both 0 for Llama and Mistral, whose configs have no
	// such keys.
	NumLocalExperts  int64   `json:"num_local_experts,omitempty"`
	NumExpertsPerTok int64   `json:"num_experts_per_tok,omitempty"`
	RopeTheta        float64 `json:"rope_theta"`
	// RopeScaling is config.json's rope_scaling; RopeParameters the
	// rope_parameters transformers 5 writes instead. Only the RoPE type
	// changes the tensors (llama.cpp adds rope_freqs for "llama3").
	RopeScaling           *RopeScaling `json:"rope_scaling,omitempty"`
	RopeParameters        *RopeScaling `json:"rope_parameters,omitempty"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	MaxPositionEmbeddings int64        `json:"max_position_embeddings"`
	// SlidingWindow is Mistral's and Mixtral's attention window; nil for
	// full attention (and always for Llama, whose attention has none).
	SlidingWindow     *int64 `json:"sliding_window"`
	TieWordEmbeddings bool   `json:"tie_word_embeddings"`
	// AttentionBias and MLPBias are LlamaConfig's switches for biases on
	// the projections. No published Llama has them, and this package
	// predicts no bias tensors: a config that sets either is refused
	// with [arch.ErrUnsupportedArch].
	AttentionBias bool   `json:"attention_bias,omitempty"`
	MLPBias       bool   `json:"mlp_bias,omitempty"`
	TorchDType    string `json:"torch_dtype,omitempty"`
}

// RopeScaling is a rope_scaling (or rope_parameters) object. Only the
// fields the audit reads or reports are kept, every number as a float (a
// config may write 8192 or 8192.0): none changes a tensor's shape.
type RopeScaling struct {
	// RopeType is the scaling type; older configs call it Type, and
	// transformers reads either.
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"`
	Factor                        float64 `json:"factor,omitempty"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings float64 `json:"original_max_position_embeddings,omitempty"`
	// BetaFast, BetaSlow, AttentionFactor, Mscale, MscaleAllDim and
	// Truncate are YaRN's (rope_type "yarn"), as [arch.YaRN] reads them.
	BetaFast        float64  `json:"beta_fast,omitempty"`
	BetaSlow        float64  `json:"beta_slow,omitempty"`
	AttentionFactor *float64 `json:"attention_factor,omitempty"`
	Mscale          float64  `json:"mscale,omitempty"`
	MscaleAllDim    float64  `json:"mscale_all_dim,omitempty"`
	Truncate        *bool    `json:"truncate,omitempty"`
	// RopeTheta is rope_parameters' base, which transformers 5 prefers to
	// a top-level rope_theta.
	RopeTheta float64 `json:"rope_theta,omitempty"`
}

// yarn returns r's YaRN parameters.
func (r *RopeScaling) yarn() *arch.YaRN {
	return &arch.YaRN{Factor: r.Factor, OriginalMaxPositionEmbeddings: r.OriginalMaxPositionEmbeddings, BetaFast: r.BetaFast,
		BetaSlow: r.BetaSlow, AttentionFactor: r.AttentionFactor, Mscale: r.Mscale, MscaleAllDim: r.MscaleAllDim, Truncate: r.Truncate}
}

// kind returns the type named by r, lower-cased; "" for none.
func (r *RopeScaling) kind() string {
	if r == nil {
		return ""
	}
	if r.RopeType != "" {
		return strings.ToLower(r.RopeType)
	}
	return strings.ToLower(r.Type)
}

// RopeType returns the RoPE scaling type the config names, lower-cased:
// rope_scaling's rope_type (or type), else rope_parameters'; "" when there
// is none. llama.cpp's converter compares it lower-cased with "llama3".
func (c *Config) RopeType() string {
	if k := c.RopeScaling.kind(); k != "" {
		return k
	}
	return c.RopeParameters.kind()
}

// Llama3Rope reports whether the config uses Llama 3.1's RoPE scaling
// (rope_type "llama3"), for which llama.cpp's converter writes the
// frequency factors as the tensor rope_freqs.weight.
func (c *Config) Llama3Rope() bool { return c.RopeType() == "llama3" }

// defaults returns the config transformers builds for model type t before
// reading config.json: LlamaConfig (rope_theta 10000, rms_norm_eps 1e-6,
// max_position_embeddings 2048), MistralConfig (the same RoPE base and
// epsilon, max_position_embeddings 4096·32, sliding_window 4096) and
// MixtralConfig (rope_theta 1e6, rms_norm_eps 1e-5, max_position_embeddings
// 4096·32, no sliding window). The structural dimensions get no default:
// a config.json that omits them is refused.
func defaults(t string) *Config {
	switch t {
	case TypeMistral:
		return &Config{ModelType: t, RopeTheta: 10000, RMSNormEps: 1e-6, MaxPositionEmbeddings: 4096 * 32, SlidingWindow: ptr(4096)}
	case TypeMixtral:
		return &Config{ModelType: t, RopeTheta: 1e6, RMSNormEps: 1e-5, MaxPositionEmbeddings: 4096 * 32}
	}
	return &Config{ModelType: t, RopeTheta: 10000, RMSNormEps: 1e-6, MaxPositionEmbeddings: 2048}
}

func ptr(n int64) *int64 { return &n }

// ParseConfig decodes a config.json of model_type "llama", "mistral" or
// "mixtral" as Python's json and transformers read it ([arch.DecodeConfig]):
// keys match exactly, a key given twice keeps its last value, other keys
// are ignored. Fields the file omits keep transformers' defaults for its
// model type (see the package doc): head_dim hidden_size /
// num_attention_heads; num_key_value_heads num_attention_heads for Llama,
// 8 for Mistral and Mixtral when absent (num_attention_heads when null);
// sliding_window 4096 for Mistral when absent (none when null). A
// rope_parameters object's rope_theta takes precedence over a top-level
// one, as transformers 5 reads them. Keys the model type does not have
// (num_local_experts outside Mixtral, sliding_window and the bias
// switches outside their model types) are ignored as transformers
// ignores them. Errors wrap [arch.ErrConfig] (or [arch.ErrUnsupportedArch]
// for another model_type) and name the key.
func ParseConfig(data []byte) (*Config, error) {
	var head struct {
		ModelType string `json:"model_type"`
	}
	if _, err := arch.DecodeConfig(data, &head); err != nil {
		return nil, err
	}
	t := head.ModelType
	if t != TypeLlama && t != TypeMistral && t != TypeMixtral {
		return nil, fmt.Errorf("%w: model_type %q is not llama, mistral or mixtral", arch.ErrUnsupportedArch, t)
	}
	c := defaults(t)
	if _, err := arch.DecodeConfig(data, c); err != nil {
		return nil, err
	}
	// The keys whose null means something else than their absence.
	var raw struct {
		KVHeads json.RawMessage `json:"num_key_value_heads"`
		HeadDim json.RawMessage `json:"head_dim"`
	}
	if _, err := arch.DecodeConfig(data, &raw); err != nil {
		return nil, err
	}
	switch {
	case raw.KVHeads == nil && t != TypeLlama:
		c.NumKeyValueHeads = 8
	case raw.KVHeads == nil, string(raw.KVHeads) == "null":
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if (raw.HeadDim == nil || string(raw.HeadDim) == "null") && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if p := c.RopeParameters; p != nil && p.RopeTheta != 0 {
		c.RopeTheta = p.RopeTheta
	}
	if t != TypeMixtral {
		c.NumLocalExperts, c.NumExpertsPerTok = 0, 0
	}
	if t == TypeLlama {
		c.SlidingWindow = nil
	} else {
		c.AttentionBias, c.MLPBias = false, false
	}
	return c, nil
}

// dims lists the dimensions of c, each of which must be positive, with
// their config keys; Mixtral's experts among them.
func (c *Config) dims() []arch.Dim {
	d := []arch.Dim{
		{Key: "vocab_size", Value: c.VocabSize}, {Key: "hidden_size", Value: c.HiddenSize},
		{Key: "intermediate_size", Value: c.IntermediateSize},
		{Key: "num_hidden_layers", Value: c.NumHiddenLayers, Limit: arch.MaxLayers},
		{Key: "num_attention_heads", Value: c.NumAttentionHeads}, {Key: "num_key_value_heads", Value: c.NumKeyValueHeads},
		{Key: "head_dim", Value: c.HeadDim},
	}
	if c.ModelType == TypeMixtral {
		d = append(d, arch.Dim{Key: "num_local_experts", Value: c.NumLocalExperts}, arch.Dim{Key: "num_experts_per_tok", Value: c.NumExpertsPerTok})
	}
	return d
}

// validate rejects configs this package cannot count: a dimension missing,
// not positive or absurd, heads that do not group, routing beyond the
// experts, a parameter count that overflows an int64 (all wrapping
// [arch.ErrConfig]), or bias tensors it does not predict
// ([arch.ErrUnsupportedArch]). Each error names the key.
func (c *Config) validate() error {
	if err := arch.CheckDims(c.dims()...); err != nil {
		return err
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("%w: config keys num_attention_heads %d and num_key_value_heads %d: the query heads do not group over the KV heads", arch.ErrConfig, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if k, e := c.NumExpertsPerTok, c.NumLocalExperts; c.ModelType == TypeMixtral && k > e {
		return fmt.Errorf("%w: config key %q = %d, want 1 to num_local_experts (%d)", arch.ErrConfig, "num_experts_per_tok", k, e)
	}
	// An upper bound of the parameter count.
	d, hd := c.HiddenSize, c.HeadDim
	attn := 2*d*c.NumAttentionHeads*hd + 2*d*c.NumKeyValueHeads*hd + 2*d
	ffn, ok0 := checked.Product([]int64{3, max(c.NumLocalExperts, 1), c.IntermediateSize, d})
	layer, ok1 := checked.Add(attn+c.NumLocalExperts*d, ffn)
	total, ok2 := checked.Mul(layer, c.NumHiddenLayers)
	_, ok3 := checked.Add(total, 2*c.VocabSize*d+d+hd)
	if !ok0 || !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("%w: the parameter count of hidden_size %d, vocab_size %d, %d layers and %d experts overflows an int64", arch.ErrConfig, d, c.VocabSize, c.NumHiddenLayers, c.NumLocalExperts)
	}
	for _, b := range []struct {
		key string
		on  bool
	}{{"attention_bias", c.AttentionBias}, {"mlp_bias", c.MLPBias}} {
		if b.on {
			return fmt.Errorf("%w: config key %q = true: the llama family predicts no bias tensors (no published Llama has them)", arch.ErrUnsupportedArch, b.key)
		}
	}
	return nil
}

// problems lists the values of c no model of the family runs with: a RoPE
// base that is not a positive finite number, a head_dim that is odd (RoPE
// rotates pairs of dimensions; llama.cpp's rope_freqs holds head_dim/2
// factors), a norm epsilon that is negative or not finite, a context
// length below one position, and a sliding window below one position.
func (c *Config) problems() []arch.BadValue {
	out := arch.AppendRopeBase(nil, "rope_theta", c.RopeTheta)
	if c.HeadDim%2 != 0 {
		out = append(out, arch.BadValue{Key: "head_dim", Got: fmt.Sprint(c.HeadDim), Want: "an even number (RoPE rotates pairs of dimensions)"})
	}
	out = arch.AppendNormEps(out, "rms_norm_eps", c.RMSNormEps)
	out = arch.AppendPositions(out, "max_position_embeddings", c.MaxPositionEmbeddings)
	if w := c.SlidingWindow; w != nil && *w < 1 {
		out = append(out, arch.BadValue{Key: "sliding_window", Got: fmt.Sprint(*w), Want: "≥ 1, or null for full attention"})
	}
	return out
}

// llama3Rope is the rope_scaling of Llama 3.1 and 3.2 with the given
// factor (8 for 3.1, 32 for 3.2 1B and 3B).
func llama3Rope(factor float64) *RopeScaling {
	return &RopeScaling{RopeType: "llama3", Factor: factor, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}
}

// Llama2_7B returns the published configuration of
// https://huggingface.co/meta-llama/Llama-2-7b-hf (config.json), the
// checkpoint transformers' LlamaConfig documents.
func Llama2_7B() *Config {
	return &Config{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: TypeLlama,
		VocabSize: 32000, HiddenSize: 4096, IntermediateSize: 11008, NumHiddenLayers: 32,
		NumAttentionHeads: 32, NumKeyValueHeads: 32, HeadDim: 128,
		RopeTheta: 10000, RMSNormEps: 1e-5, MaxPositionEmbeddings: 4096, TorchDType: "float16",
	}
}

// Llama3_8B returns the published configuration of
// https://huggingface.co/meta-llama/Meta-Llama-3-8B (config.json): Llama
// 3.1 8B's dimensions without its RoPE scaling, at 8,192 positions.
func Llama3_8B() *Config {
	return &Config{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: TypeLlama,
		VocabSize: 128256, HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32,
		NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128,
		RopeTheta: 500000, RMSNormEps: 1e-5, MaxPositionEmbeddings: 8192, TorchDType: "bfloat16",
	}
}

// Llama31_8B returns the published configuration of
// https://huggingface.co/meta-llama/Llama-3.1-8B (config.json).
func Llama31_8B() *Config {
	return &Config{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: TypeLlama,
		VocabSize: 128256, HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32,
		NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128,
		RopeTheta: 500000, RopeScaling: llama3Rope(8), RMSNormEps: 1e-5, MaxPositionEmbeddings: 131072, TorchDType: "bfloat16",
	}
}

// Llama32_1B returns the published configuration of
// https://huggingface.co/meta-llama/Llama-3.2-1B (config.json): tied
// embeddings, so no lm_head.
func Llama32_1B() *Config {
	return &Config{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: TypeLlama,
		VocabSize: 128256, HiddenSize: 2048, IntermediateSize: 8192, NumHiddenLayers: 16,
		NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 64,
		RopeTheta: 500000, RopeScaling: llama3Rope(32), RMSNormEps: 1e-5, MaxPositionEmbeddings: 131072,
		TieWordEmbeddings: true, TorchDType: "bfloat16",
	}
}

// Mistral7B_v01 returns the published configuration of
// https://huggingface.co/mistralai/Mistral-7B-v0.1 (config.json): Llama's
// block with 8 KV heads and a 4,096-token sliding window.
func Mistral7B_v01() *Config {
	return &Config{
		Architectures: []string{"MistralForCausalLM"}, ModelType: TypeMistral,
		VocabSize: 32000, HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32,
		NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128,
		RopeTheta: 10000, RMSNormEps: 1e-5, MaxPositionEmbeddings: 32768, SlidingWindow: ptr(4096), TorchDType: "bfloat16",
	}
}

// Mixtral8x7B_v01 returns the published configuration of
// https://huggingface.co/mistralai/Mixtral-8x7B-v0.1 (config.json): 8
// experts of width 14,336 per layer, 2 per token.
func Mixtral8x7B_v01() *Config {
	return &Config{
		Architectures: []string{"MixtralForCausalLM"}, ModelType: TypeMixtral,
		VocabSize: 32000, HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32,
		NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128, NumLocalExperts: 8, NumExpertsPerTok: 2,
		RopeTheta: 1e6, RMSNormEps: 1e-5, MaxPositionEmbeddings: 32768, TorchDType: "bfloat16",
	}
}

// TinyDense returns a small Llama configuration for tests and the
// registry's example: Llama 3.1's structure (grouped KV heads, the llama3
// RoPE scaling, so that a GGUF layout has rope_freqs) at a size that fits
// in kilobytes.
func TinyDense() *Config {
	return &Config{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: TypeLlama,
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		RopeTheta: 500000, RopeScaling: &RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64},
		RMSNormEps: 1e-5, MaxPositionEmbeddings: 128, TorchDType: "float32",
	}
}

// TinyMistral returns a small Mistral configuration for tests: TinyDense's
// dimensions with a sliding window and no RoPE scaling.
func TinyMistral() *Config {
	c := TinyDense()
	c.Architectures, c.ModelType, c.RopeScaling, c.RopeTheta, c.SlidingWindow = []string{"MistralForCausalLM"}, TypeMistral, nil, 10000, ptr(16)
	return c
}

// TinyMoE returns a small Mixtral configuration for tests and the
// registry's example: 4 experts, 2 per token.
func TinyMoE() *Config {
	return &Config{
		Architectures: []string{"MixtralForCausalLM"}, ModelType: TypeMixtral,
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8, NumLocalExperts: 4, NumExpertsPerTok: 2,
		RopeTheta: 1e6, RMSNormEps: 1e-5, MaxPositionEmbeddings: 128, TorchDType: "float32",
	}
}

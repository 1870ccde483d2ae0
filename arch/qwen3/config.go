package qwen3

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// Config is the architecture of a Qwen3-family decoder as a Hugging Face
// config.json gives it. Field names follow transformers' Qwen3MoeConfig
// and Qwen3Config (models/qwen3_moe/configuration_qwen3_moe.py,
// models/qwen3/configuration_qwen3.py); a dense Qwen3 has NumExperts 0.
type Config struct {
	Architectures       []string `json:"architectures,omitempty"`
	ModelType           string   `json:"model_type"`
	VocabSize           int64    `json:"vocab_size"`
	HiddenSize          int64    `json:"hidden_size"`
	IntermediateSize    int64    `json:"intermediate_size"`
	MoEIntermediateSize int64    `json:"moe_intermediate_size,omitempty"`
	NumHiddenLayers     int64    `json:"num_hidden_layers"`
	NumAttentionHeads   int64    `json:"num_attention_heads"`
	NumKeyValueHeads    int64    `json:"num_key_value_heads"`
	HeadDim             int64    `json:"head_dim"`
	NumExperts          int64    `json:"num_experts,omitempty"`
	NumExpertsPerTok    int64    `json:"num_experts_per_tok,omitempty"`
	NormTopKProb        bool     `json:"norm_topk_prob,omitempty"`
	DecoderSparseStep   int64    `json:"decoder_sparse_step,omitempty"`
	MLPOnlyLayers       []int64  `json:"mlp_only_layers,omitempty"`
	RopeTheta           float64  `json:"rope_theta"`
	// RopeParameters is the rope_parameters object transformers 5 writes
	// instead of a top-level rope_theta, kept as given; its rope_theta,
	// when there is one, is the one ParseConfig puts in RopeTheta.
	RopeParameters json.RawMessage `json:"rope_parameters,omitempty"`
	// RopeScaling is config.json's rope_scaling, kept as given: Qwen3's
	// model cards extend the context with {"rope_type": "yarn", "factor":
	// 4.0, "original_max_position_embeddings": 32768}.
	RopeScaling           json.RawMessage `json:"rope_scaling,omitempty"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	TieWordEmbeddings     bool            `json:"tie_word_embeddings"`
	MaxPositionEmbeddings int64           `json:"max_position_embeddings"`
	TorchDType            string          `json:"torch_dtype,omitempty"`
	// QuantizationConfig says how a pre-quantized release stores the
	// linear weights of its layers: Qwen's -FP8 (128×128 block scales),
	// -GPTQ-Int4 and -AWQ. The router, the norms, the embedding and
	// lm_head stay unquantized in each.
	QuantizationConfig *arch.QuantConfig `json:"quantization_config,omitempty"`
}

// Defaults of transformers' Qwen3MoeConfig and Qwen3Config for the keys
// a config.json may omit without the audit refusing it.
const (
	defaultRopeTheta   = 10000 // rope_theta: transformers' default RoPE base
	defaultRMSNormEps  = 1e-6
	defaultMaxPosition = 32768
)

// ParseConfig decodes a config.json as Python's json and transformers read
// it ([arch.DecodeConfig]): keys match exactly, a key given twice keeps
// its last value, other keys are ignored. Fields the file omits (or sets
// to null) keep transformers' defaults: decoder_sparse_step 1, head_dim
// hidden_size/num_attention_heads, rope_theta 10000, rms_norm_eps 1e-6,
// max_position_embeddings 32768. The keys given twice are not reported
// here: [arch.FromCheckpoint] reports them. Errors wrap [arch.ErrConfig].
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{DecoderSparseStep: 1, RopeTheta: defaultRopeTheta, RMSNormEps: defaultRMSNormEps, MaxPositionEmbeddings: defaultMaxPosition}
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
	if c.DecoderSparseStep == 0 {
		c.DecoderSparseStep = 1
	}
	return c, nil
}

// Sparse reports whether layer i has a mixture-of-experts block rather than
// a dense MLP: transformers' rule is that i is not in mlp_only_layers and
// (i+1) is a multiple of decoder_sparse_step.
func (c *Config) Sparse(i int64) bool {
	if c.NumExperts <= 0 || slices.Contains(c.MLPOnlyLayers, i) {
		return false
	}
	step := max(c.DecoderSparseStep, 1)
	return (i+1)%step == 0
}

// dims lists the dimensions of c with their config keys: those of the
// MLPs and experts may be 0 (a dense model has no experts, a model whose
// every layer is sparse no dense MLP).
func (c *Config) dims() []arch.Dim {
	return []arch.Dim{
		{Key: "vocab_size", Value: c.VocabSize}, {Key: "hidden_size", Value: c.HiddenSize},
		{Key: "num_hidden_layers", Value: c.NumHiddenLayers, Limit: arch.MaxLayers},
		{Key: "num_attention_heads", Value: c.NumAttentionHeads}, {Key: "num_key_value_heads", Value: c.NumKeyValueHeads},
		{Key: "head_dim", Value: c.HeadDim},
		{Key: "intermediate_size", Value: c.IntermediateSize, Optional: true},
		{Key: "moe_intermediate_size", Value: c.MoEIntermediateSize, Optional: true},
		{Key: "num_experts", Value: c.NumExperts, Optional: true},
		{Key: "num_experts_per_tok", Value: c.NumExpertsPerTok, Optional: true},
	}
}

// validate rejects configs whose dimensions are missing, negative or
// absurd, whose heads do not group, whose routing is impossible, whose
// dense layers have no width, or whose parameter count overflows an int64,
// naming the key. Every error wraps [arch.ErrConfig].
func (c *Config) validate() error {
	if err := arch.CheckDims(c.dims()...); err != nil {
		return err
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("%w: num_attention_heads %d is not a multiple of num_key_value_heads %d", arch.ErrConfig, c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if _, err := c.QuantizationConfig.Resolve(); err != nil {
		return err
	}
	if e := c.NumExperts; e > 0 {
		if c.MoEIntermediateSize == 0 {
			return fmt.Errorf("%w: config key %q = 0 with %d experts, want > 0", arch.ErrConfig, "moe_intermediate_size", e)
		}
		if k := c.NumExpertsPerTok; k < 1 || k > e {
			return fmt.Errorf("%w: config key %q = %d, want 1 to num_experts (%d)", arch.ErrConfig, "num_experts_per_tok", k, e)
		}
	}
	if c.IntermediateSize == 0 {
		for i := range c.NumHiddenLayers {
			if !c.Sparse(i) {
				return fmt.Errorf("%w: config key %q = 0 but layer %d has a dense MLP", arch.ErrConfig, "intermediate_size", i)
			}
		}
	}
	// An upper bound of the parameter count: every layer both sparse and
	// dense.
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	d := c.HiddenSize
	experts, ok0 := checked.Product([]int64{3, c.NumExperts, c.MoEIntermediateSize, d})
	layer, ok1 := checked.Add(2*d*q+2*d*kv+2*c.HeadDim+2*d+c.NumExperts*d, experts)
	layer, ok2 := checked.Add(layer, 3*c.IntermediateSize*d)
	total, ok3 := checked.Mul(layer, c.NumHiddenLayers)
	_, ok4 := checked.Add(total, 2*c.VocabSize*d+d)
	if !ok0 || !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("%w: the parameter count of hidden_size %d, vocab_size %d, %d layers and %d experts overflows an int64", arch.ErrConfig, d, c.VocabSize, c.NumHiddenLayers, c.NumExperts)
	}
	return nil
}

// problems lists the values of c no Qwen3 model runs with: a RoPE base
// that is not a positive finite number, a norm epsilon that is negative or
// not finite, a context length below one position. The spot-check's
// kernels refuse the same values.
func (c *Config) problems() []arch.BadValue {
	out := arch.AppendRopeBase(nil, "rope_theta", c.RopeTheta)
	out = arch.AppendNormEps(out, "rms_norm_eps", c.RMSNormEps)
	return arch.AppendPositions(out, "max_position_embeddings", c.MaxPositionEmbeddings)
}

// ConfigProblems lists what of the spec's configuration no Qwen3 model
// runs with although its tensors can be counted, each naming its
// config.json key in Field: a rope_theta that is not a positive finite
// number, an rms_norm_eps negative or not finite, a
// max_position_embeddings below 1. For a spec read from GGUF metadata the
// message also names the metadata key, and a key llama.cpp requires but
// the metadata lacks (context_length, attention.layer_norm_rms_epsilon)
// or holds as another type than a float is a problem of its own.
func (s *Spec) ConfigProblems() []arch.Conflict {
	return arch.ConfigProblems(s.Source(), s.Cfg().problems())
}

// Qwen3_235B_A22B returns the published configuration of
// https://huggingface.co/Qwen/Qwen3-235B-A22B (config.json).
func Qwen3_235B_A22B() *Config {
	return &Config{
		Architectures: []string{"Qwen3MoeForCausalLM"}, ModelType: "qwen3_moe",
		VocabSize: 151936, HiddenSize: 4096, IntermediateSize: 12288, MoEIntermediateSize: 1536,
		NumHiddenLayers: 94, NumAttentionHeads: 64, NumKeyValueHeads: 4, HeadDim: 128,
		NumExperts: 128, NumExpertsPerTok: 8, NormTopKProb: true, DecoderSparseStep: 1,
		RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 40960, TorchDType: "bfloat16",
	}
}

// Qwen3_30B_A3B returns the published configuration of
// https://huggingface.co/Qwen/Qwen3-30B-A3B (config.json).
func Qwen3_30B_A3B() *Config {
	return &Config{
		Architectures: []string{"Qwen3MoeForCausalLM"}, ModelType: "qwen3_moe",
		VocabSize: 151936, HiddenSize: 2048, IntermediateSize: 6144, MoEIntermediateSize: 768,
		NumHiddenLayers: 48, NumAttentionHeads: 32, NumKeyValueHeads: 4, HeadDim: 128,
		NumExperts: 128, NumExpertsPerTok: 8, NormTopKProb: true, DecoderSparseStep: 1,
		RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 40960, TorchDType: "bfloat16",
	}
}

// TinyMoE returns a small Qwen3-MoE configuration for tests and
// fixtures: the same structure as the published models at a size that
// fits in kilobytes.
func TinyMoE() *Config {
	return &Config{
		Architectures: []string{"Qwen3MoeForCausalLM"}, ModelType: "qwen3_moe",
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 64, MoEIntermediateSize: 32,
		NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		NumExperts: 4, NumExpertsPerTok: 2, NormTopKProb: true, DecoderSparseStep: 1,
		RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 128, TorchDType: "float32",
	}
}

// TinyDense returns a small dense Qwen3 configuration for tests: TinyMoE's
// attention with a dense MLP in every layer.
func TinyDense() *Config {
	c := TinyMoE()
	c.Architectures, c.ModelType = []string{"Qwen3ForCausalLM"}, "qwen3"
	c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize, c.NormTopKProb = 0, 0, 0, false
	return c
}

// quant returns how the layers' linear weights are stored; validate has
// resolved it.
func (c *Config) quant() arch.Quant {
	q, _ := c.QuantizationConfig.Resolve()
	return q
}

// ropeObject is the object that names the RoPE scaling ([arch.RopeObject]).
func (c *Config) ropeObject() json.RawMessage {
	return arch.RopeObject(c.RopeScaling, c.RopeParameters)
}

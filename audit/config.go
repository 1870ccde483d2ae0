package audit

import (
	"encoding/json"
	"fmt"
)

// Config is the architecture of a Qwen3-family decoder as a Hugging Face
// config.json gives it. Field names follow transformers'
// Qwen3MoeConfig (models/qwen3_moe/configuration_qwen3_moe.py); a dense Qwen3
// has NumExperts 0.
type Config struct {
	Architectures         []string `json:"architectures,omitempty"`
	ModelType             string   `json:"model_type"`
	VocabSize             int64    `json:"vocab_size"`
	HiddenSize            int64    `json:"hidden_size"`
	IntermediateSize      int64    `json:"intermediate_size"`
	MoEIntermediateSize   int64    `json:"moe_intermediate_size,omitempty"`
	NumHiddenLayers       int64    `json:"num_hidden_layers"`
	NumAttentionHeads     int64    `json:"num_attention_heads"`
	NumKeyValueHeads      int64    `json:"num_key_value_heads"`
	HeadDim               int64    `json:"head_dim"`
	NumExperts            int64    `json:"num_experts,omitempty"`
	NumExpertsPerTok      int64    `json:"num_experts_per_tok,omitempty"`
	NormTopKProb          bool     `json:"norm_topk_prob,omitempty"`
	DecoderSparseStep     int64    `json:"decoder_sparse_step,omitempty"`
	MLPOnlyLayers         []int64  `json:"mlp_only_layers,omitempty"`
	RopeTheta             float64  `json:"rope_theta"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	MaxPositionEmbeddings int64    `json:"max_position_embeddings"`
	TorchDType            string   `json:"torch_dtype,omitempty"`
}

// ParseConfig decodes a config.json. Fields the file omits keep
// transformers' defaults (decoder_sparse_step 1, head_dim
// hidden_size/num_attention_heads).
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{DecoderSparseStep: 1}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
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
	if c.NumExperts <= 0 {
		return false
	}
	for _, l := range c.MLPOnlyLayers {
		if l == i {
			return false
		}
	}
	step := c.DecoderSparseStep
	if step <= 0 {
		step = 1
	}
	return (i+1)%step == 0
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

// TinyQwen3MoE returns a small Qwen3-MoE configuration for tests and
// fixtures: the same structure as the published models at a size that
// fits in kilobytes.
func TinyQwen3MoE() *Config {
	return &Config{
		Architectures: []string{"Qwen3MoeForCausalLM"}, ModelType: "qwen3_moe",
		VocabSize: 64, HiddenSize: 32, IntermediateSize: 64, MoEIntermediateSize: 32,
		NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		NumExperts: 4, NumExpertsPerTok: 2, NormTopKProb: true, DecoderSparseStep: 1,
		RopeTheta: 1e6, RMSNormEps: 1e-6, MaxPositionEmbeddings: 128, TorchDType: "float32",
	}
}

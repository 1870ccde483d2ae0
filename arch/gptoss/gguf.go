package gptoss

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufArch is the general.architecture llama.cpp writes for gpt-oss
// (gguf-py/gguf/constants.py MODEL_ARCH.GPT_OSS; src/llama-arch.cpp
// LLM_ARCH_OPENAI_MOE "gpt-oss").
const ggufArch = "gpt-oss"

// ggufKeys are the "gpt-oss." metadata keys llama.cpp's converter writes
// (convert_hf_to_gguf.py GptOssModel.set_gguf_parameters and
// TextModel.set_gguf_parameters), with the config field each carries.
var ggufKeys = arch.GGUFKeys[Config]{
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *Config) *int64 { return &c.NumHiddenLayers }, Required: true},
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, Loader: true},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *Config) *int64 { return &c.HiddenSize }, Required: true},
	{Key: "feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }, Required: true},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *Config) *int64 { return &c.NumAttentionHeads }, Required: true},
	{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *Config) *int64 { return &c.NumKeyValueHeads },
		Fallback: func(c *Config) int64 { return c.NumAttentionHeads }},
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *Config) *float64 { return &c.RopeTheta }, Default: 10000},
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *Config) *float64 { return &c.RMSNormEps }, Loader: true},
	{Key: "expert_count", Field: "num_local_experts", Int: func(c *Config) *int64 { return &c.NumLocalExperts }, MoE: true, Required: true},
	{Key: "expert_used_count", Field: "num_experts_per_tok", Int: func(c *Config) *int64 { return &c.NumExpertsPerTok }, MoE: true, Required: true},
	{Key: "attention.key_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim },
		Fallback: func(c *Config) int64 { return c.HiddenSize / max(c.NumAttentionHeads, 1) }},
	{Key: "attention.value_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }, WriteOnly: true},
	{Key: "attention.sliding_window", Field: "sliding_window", Int: func(c *Config) *int64 { return &c.SlidingWindow }, Loader: true},
	{Key: "expert_feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }, MoE: true, WriteOnly: true},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// into a Config, as if it came from the config.json the file was
// converted from: llama.cpp alternates sliding and full layers from the
// first (set_swa_pattern(2)), so layer_types is that alternation; the
// experts are ggml tensors (no MXFP4 companions). Errors wrap
// [arch.ErrConfig] and name the key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

func readGGUF(m *arch.GGUFMeta) (*Config, *arch.GGUFSource, error) {
	c := &Config{ModelType: "gpt_oss", SwigluLimit: defaultSwigluLimit}
	src, err := ggufKeys.Read(m, c, true)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	if c.NumHiddenLayers > 0 && c.NumHiddenLayers <= arch.MaxLayers {
		c.LayerTypes = alternating(int(c.NumHiddenLayers))
	}
	// rope.scaling (convert_hf_to_gguf.py writes "yarn" with its factor,
	// original context and betas): YaRN as llama.cpp runs it.
	if c.RopeScaling, err = arch.ReadRopeScaling(m); err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	c.VocabSize = m.VocabSize()
	c.TieWordEmbeddings = m.TiedEmbeddings()
	return c, src, nil
}

// GGUFArch returns "gpt-oss".
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "gpt-oss." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them, and the rope.scaling
// keys of a rope_scaling (convert_hf_to_gguf.py TextModel: for "yarn" its
// factor, original context and betas, [arch.YaRNMetadata]; another type
// by name).
func (s *Spec) GGUFMetadata() []gguf.KV {
	c := s.Cfg()
	kv := ggufKeys.Write(ggufArch, c, true)
	kv = append(kv, arch.RopeScalingMetadata(ggufArch, c.RopeScaling)...)
	return kv
}

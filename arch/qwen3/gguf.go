package qwen3

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufKeys are the "<arch>." metadata keys llama.cpp's converter writes
// for Qwen3 (gguf-py/gguf/constants.py Keys.LLM and Keys.Attention;
// convert_hf_to_gguf.py Qwen3Model and Qwen3MoeModel), with the config
// field each carries: the MoE keys for qwen3moe only; value_length
// written, never read (it repeats key_length); context_length and the rms
// epsilon, which llama.cpp's loader requires (llama-model.cpp
// load_hparams), reported among the config problems when absent. The
// table both reads a GGUF file's architecture and writes a synthesized
// one's, in this order.
var ggufKeys = arch.GGUFKeys[Config]{
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *Config) *int64 { return &c.NumHiddenLayers }, Required: true},
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, Loader: true},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *Config) *int64 { return &c.HiddenSize }, Required: true},
	{Key: "feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *Config) *int64 { return &c.NumAttentionHeads }, Required: true},
	{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *Config) *int64 { return &c.NumKeyValueHeads }, Required: true},
	// llama.cpp: hparams.rope_freq_base_train = 10000.0f unless the key
	// is there.
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *Config) *float64 { return &c.RopeTheta }, Default: 10000},
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *Config) *float64 { return &c.RMSNormEps }, Loader: true},
	{Key: "attention.key_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }},
	{Key: "attention.value_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }, WriteOnly: true},
	{Key: "expert_count", Field: "num_experts", Int: func(c *Config) *int64 { return &c.NumExperts }, Required: true, MoE: true},
	{Key: "expert_used_count", Field: "num_experts_per_tok", Int: func(c *Config) *int64 { return &c.NumExpertsPerTok }, Required: true, MoE: true},
	{Key: "expert_feed_forward_length", Field: "moe_intermediate_size", Int: func(c *Config) *int64 { return &c.MoEIntermediateSize }, Required: true, MoE: true},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture "qwen3moe" or "qwen3" and the keys of ggufKeys)
// into a Config, as if it came from the config.json the file was converted
// from. The vocabulary size is the length of tokenizer.ggml.tokens, or
// failing that the embedding's rows; the embeddings are tied when there is
// no output.weight; an absent rope.freq_base is llama.cpp's 10000. Every
// error names its key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

// readGGUF is [ConfigFromGGUF], also returning which keys the metadata
// lacks or holds in a form llama.cpp does not read.
func readGGUF(m *arch.GGUFMeta) (*Config, *arch.GGUFSource, error) {
	moe := m.Arch == "qwen3moe"
	c := &Config{ModelType: "qwen3", DecoderSparseStep: 1}
	if moe {
		c.ModelType = "qwen3_moe"
		c.NormTopKProb = true // llama.cpp always renormalizes the top-k for qwen3moe
	}
	src, err := ggufKeys.Read(m, c, moe)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.RopeScaling, err = arch.ReadRopeScaling(m); err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	c.VocabSize = m.VocabSize()
	c.TieWordEmbeddings = m.TiedEmbeddings()
	return c, src, nil
}

// GGUFArch returns the llama.cpp architecture: "qwen3moe" for a
// mixture-of-experts model, "qwen3" for a dense one.
func (s *Spec) GGUFArch() string {
	if s.Cfg().NumExperts > 0 {
		return "qwen3moe"
	}
	return "qwen3"
}

// GGUFMetadata returns the "<arch>." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them, and the rope.scaling
// keys of a rope_scaling ([arch.RopeScalingMetadata]).
func (s *Spec) GGUFMetadata() []gguf.KV {
	kv := ggufKeys.Write(s.GGUFArch(), s.Cfg(), s.Cfg().NumExperts > 0)
	return append(kv, arch.RopeScalingMetadata(s.GGUFArch(), s.Cfg().ropeObject())...)
}

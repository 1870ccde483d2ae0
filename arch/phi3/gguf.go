package phi3

import (
	"errors"
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufArch is the general.architecture of the family
// (gguf-py/gguf/constants.py, MODEL_ARCH.PHI3).
const ggufArch = "phi3"

// ggufKeys are the "phi3." metadata keys llama.cpp's converter writes
// (convert_hf_to_gguf.py Phi3MiniModel.set_gguf_parameters;
// gguf-py/gguf/constants.py Keys.LLM, Keys.Attention and Keys.Rope), with
// the config field each carries, in the converter's order. The table both
// reads a GGUF file's architecture and writes a synthesized one's.
// rope.scaling.attn_factor, which the converter writes with the LongRoPE
// factors, belongs to the scaling and is read and written apart
// (readGGUF, GGUFMetadata).
var ggufKeys = arch.GGUFKeys[Config]{
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, Loader: true},
	{Key: "rope.scaling.original_context_length", Field: "original_max_position_embeddings", Int: func(c *Config) *int64 { return &c.OriginalMaxPositionEmbeddings }},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *Config) *int64 { return &c.HiddenSize }, Required: true},
	// llama.cpp creates ffn_up and ffn_down of width n_ff: without it
	// the MLP has no shape.
	{Key: "feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }, Required: true},
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *Config) *int64 { return &c.NumHiddenLayers }, Required: true},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *Config) *int64 { return &c.NumAttentionHeads }, Required: true},
	// llama.cpp: n_head_kv is optional and defaults to n_head.
	{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *Config) *int64 { return &c.NumKeyValueHeads },
		Fallback: func(c *Config) int64 { return c.NumAttentionHeads }},
	// llama-model.cpp load_hparams, LLM_ARCH_PHI3: required.
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *Config) *float64 { return &c.RMSNormEps }, Loader: true},
	// The converter writes hidden_size // num_attention_heads, the head
	// dimension llama.cpp's phi3 graph assumes (n_embd / n_head); an
	// absent key is that too.
	{Key: "rope.dimension_count", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim },
		Fallback: func(c *Config) int64 { return c.HiddenSize / max(c.NumAttentionHeads, 1) }},
	// llama.cpp: hparams.rope_freq_base_train = 10000.0f unless the key
	// is there.
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *Config) *float64 { return &c.RopeTheta }, Default: 10000},
	// The converter writes 0 for a null sliding_window.
	{Key: "attention.sliding_window", Field: "sliding_window", Int: func(c *Config) *int64 { return &c.SlidingWindow }},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture "phi3" and the keys of ggufKeys) into a Config,
// as if it came from the config.json the file was converted from. The
// head dimension is rope.dimension_count, or embedding_length / head_count
// without it (what the converter writes and llama.cpp's phi3 graph
// assumes); the vocabulary size is the length of tokenizer.ggml.tokens,
// or failing that the embedding's rows; the embeddings are tied when there
// is no output.weight; the RoPE scaling is "longrope" when there is a
// rope_factors_long.weight (its factors are not read back: the
// spot-check reads them from the file), with rope.scaling.attn_factor as
// its attention_factor when the key is there. Errors wrap
// [arch.ErrConfig] and name the key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

// readGGUF is [ConfigFromGGUF], also returning which keys the metadata
// lacks or holds in a form llama.cpp does not read.
func readGGUF(m *arch.GGUFMeta) (*Config, *arch.GGUFSource, error) {
	c := &Config{ModelType: "phi3"}
	src, err := ggufKeys.Read(m, c, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	c.VocabSize = m.VocabSize()
	c.TieWordEmbeddings = m.TiedEmbeddings()
	if _, ok := m.Tensor(ropeFactorsLong); ok {
		c.RopeScaling = &RopeScaling{Type: "longrope"}
		switch f, err := m.Float(keyAttnFactor); {
		case err == nil:
			c.RopeScaling.AttentionFactor = &f
		case !errors.Is(err, gguf.ErrNotFound):
			return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
		}
	}
	return c, src, nil
}

// keyAttnFactor is the LongRoPE attention factor llama.cpp multiplies its
// rotations by (gguf-py/gguf/constants.py Keys.Rope SCALING_ATTN_FACTOR;
// src/llama-model.cpp reads it into hparams.rope_attn_factor).
const keyAttnFactor = "rope.scaling.attn_factor"

// GGUFArch returns "phi3".
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "phi3." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them, and for a rope_scaling
// the converter writes factors for, rope.scaling.attn_factor as it
// computes it (Phi3MiniModel.generate_extra_tensors: with s =
// max_position_embeddings / original_max_position_embeddings,
// √(1 + ln s / ln original) for "su" and "longrope", 0.1·ln s + 1 for
// "yarn", 1 when s ≤ 1).
func (s *Spec) GGUFMetadata() []gguf.KV {
	c := s.Cfg()
	kvs := ggufKeys.Write(ggufArch, c, false)
	if !c.RopeFactors() || c.OriginalMaxPositionEmbeddings <= 1 {
		return kvs
	}
	f, scale := 1.0, float64(c.MaxPositionEmbeddings)/float64(c.OriginalMaxPositionEmbeddings)
	switch {
	case scale <= 1:
	case c.rope().kind() == "yarn":
		f = 0.1*math.Log(scale) + 1
	default:
		f = math.Sqrt(1 + math.Log(scale)/math.Log(float64(c.OriginalMaxPositionEmbeddings)))
	}
	return append(kvs, gguf.KV{Key: ggufArch + "." + keyAttnFactor, Value: gguf.Float32(float32(f))})
}

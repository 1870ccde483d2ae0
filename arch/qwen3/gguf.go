package qwen3

import (
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufKey is one "<arch>." metadata key llama.cpp's converter writes for
// Qwen3 (gguf-py/gguf/constants.py Keys.LLM and Keys.Attention;
// convert_hf_to_gguf.py Qwen3Model and Qwen3MoeModel), with the config
// field it carries. The table both reads a GGUF file's architecture and
// writes a synthesized one's, in this order.
type ggufKey struct {
	key       string
	int       func(c *Config) *int64   // an integer key
	float     func(c *Config) *float64 // a float key
	required  bool                     // reading fails without it
	moe       bool                     // qwen3moe only
	writeOnly bool                     // written, never read (value_length repeats key_length)
}

var ggufKeys = []ggufKey{
	{key: "block_count", int: func(c *Config) *int64 { return &c.NumHiddenLayers }, required: true},
	{key: "context_length", int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }},
	{key: "embedding_length", int: func(c *Config) *int64 { return &c.HiddenSize }, required: true},
	{key: "feed_forward_length", int: func(c *Config) *int64 { return &c.IntermediateSize }},
	{key: "attention.head_count", int: func(c *Config) *int64 { return &c.NumAttentionHeads }, required: true},
	{key: "attention.head_count_kv", int: func(c *Config) *int64 { return &c.NumKeyValueHeads }, required: true},
	{key: "rope.freq_base", float: func(c *Config) *float64 { return &c.RopeTheta }},
	{key: "attention.layer_norm_rms_epsilon", float: func(c *Config) *float64 { return &c.RMSNormEps }},
	{key: "attention.key_length", int: func(c *Config) *int64 { return &c.HeadDim }},
	{key: "attention.value_length", int: func(c *Config) *int64 { return &c.HeadDim }, writeOnly: true},
	{key: "expert_count", int: func(c *Config) *int64 { return &c.NumExperts }, required: true, moe: true},
	{key: "expert_used_count", int: func(c *Config) *int64 { return &c.NumExpertsPerTok }, required: true, moe: true},
	{key: "expert_feed_forward_length", int: func(c *Config) *int64 { return &c.MoEIntermediateSize }, required: true, moe: true},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture "qwen3moe" or "qwen3" and the keys of ggufKeys)
// into a Config, as if it came from the config.json the file was converted
// from. The vocabulary size is the length of tokenizer.ggml.tokens, or
// failing that the embedding's rows; the embeddings are tied when there is
// no output.weight. Every error names its key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	moe := m.Arch == "qwen3moe"
	c := &Config{ModelType: "qwen3", DecoderSparseStep: 1}
	if moe {
		c.ModelType = "qwen3_moe"
		c.NormTopKProb = true // llama.cpp always renormalizes the top-k for qwen3moe
	}
	var errs []error
	for _, k := range ggufKeys {
		if k.writeOnly || (k.moe && !moe) {
			continue
		}
		if k.float != nil {
			if v, err := m.Float(k.key); err == nil {
				*k.float(c) = v
			}
			continue
		}
		v, err := m.Uint(k.key)
		switch {
		case err == nil && v <= maxDim*1024:
			*k.int(c) = int64(v)
		case err == nil:
			errs = append(errs, fmt.Errorf("key %q = %d: too large", m.Arch+"."+k.key, v))
		case k.required || !errors.Is(err, gguf.ErrNotFound):
			errs = append(errs, err)
		}
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	c.VocabSize = m.VocabSize()
	_, hasOutput := m.Tensor("output.weight")
	c.TieWordEmbeddings = !hasOutput
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// GGUFArch returns the llama.cpp architecture: "qwen3moe" for a
// mixture-of-experts model, "qwen3" for a dense one.
func (s *Spec) GGUFArch() string {
	if s.cfg.NumExperts > 0 {
		return "qwen3moe"
	}
	return "qwen3"
}

// GGUFMetadata returns the "<arch>." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them.
func (s *Spec) GGUFMetadata() []gguf.KV {
	a, moe := s.GGUFArch(), s.cfg.NumExperts > 0
	var kvs []gguf.KV
	for _, k := range ggufKeys {
		if k.moe && !moe {
			continue
		}
		var v gguf.Value
		if k.float != nil {
			v = gguf.Float32(float32(*k.float(s.cfg)))
		} else {
			v = gguf.Uint32(uint32(*k.int(s.cfg)))
		}
		kvs = append(kvs, gguf.KV{Key: a + "." + k.key, Value: v})
	}
	return kvs
}

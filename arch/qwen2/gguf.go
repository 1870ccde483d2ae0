package qwen2

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufArch is the general.architecture of the family
// (gguf-py/gguf/constants.py, MODEL_ARCH.QWEN2).
const ggufArch = "qwen2"

// ggufKeys are the "qwen2." metadata keys llama.cpp's converter writes
// (convert_hf_to_gguf.py Qwen2Model through TextModel.set_gguf_parameters;
// gguf-py/gguf/constants.py Keys.LLM and Keys.Attention), with the config
// field each carries: value_length written, never read (it repeats
// key_length); context_length and the rms epsilon, which llama.cpp's
// loader requires (llama-model.cpp load_hparams), reported among the
// config problems when absent. The table both reads a GGUF file's
// architecture and writes a synthesized one's, in this order.
var ggufKeys = arch.GGUFKeys[Config]{
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *Config) *int64 { return &c.NumHiddenLayers }, Required: true},
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, Loader: true},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *Config) *int64 { return &c.HiddenSize }, Required: true},
	// llama.cpp reads it as optional, but creates ffn_gate, ffn_up and
	// ffn_down of width n_ff: without it the MLP has no shape.
	{Key: "feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }, Required: true},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *Config) *int64 { return &c.NumAttentionHeads }, Required: true},
	// llama.cpp: n_head_kv is optional and defaults to n_head.
	{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *Config) *int64 { return &c.NumKeyValueHeads },
		Fallback: func(c *Config) int64 { return c.NumAttentionHeads }},
	// llama.cpp: hparams.rope_freq_base_train = 10000.0f unless the key
	// is there.
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *Config) *float64 { return &c.RopeTheta }, Default: 10000},
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *Config) *float64 { return &c.RMSNormEps }, Loader: true},
	// llama.cpp: n_embd_head_k defaults to n_embd / n_head (readGGUF).
	{Key: "attention.key_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }},
	{Key: "attention.value_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }, WriteOnly: true},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture "qwen2" and the keys of ggufKeys) into a Config,
// as if it came from the config.json the file was converted from. The
// vocabulary size is the length of tokenizer.ggml.tokens, or failing that
// the embedding's rows; the embeddings are tied when there is no
// output.weight; an absent key takes the value llama.cpp assumes
// (head_count_kv: head_count; key_length: embedding_length / head_count;
// rope.freq_base: 10000). llama.cpp has no sliding window for qwen2: the
// Config has none. Every error wraps [arch.ErrConfig] and names its key: a
// key without which nothing can be counted (block_count,
// embedding_length, feed_forward_length, attention.head_count) absent or
// not an unsigned integer, or a value too large.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

// readGGUF is [ConfigFromGGUF], also returning which keys the metadata
// lacks or holds in a form llama.cpp does not read.
func readGGUF(m *arch.GGUFMeta) (*Config, *arch.GGUFSource, error) {
	c := &Config{ModelType: "qwen2"}
	src, err := ggufKeys.Read(m, c, false)
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

// GGUFArch returns "qwen2".
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "qwen2." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them, and the rope.scaling
// keys of a rope_scaling ([arch.RopeScalingMetadata]).
func (s *Spec) GGUFMetadata() []gguf.KV {
	return append(ggufKeys.Write(ggufArch, s.Cfg(), false), arch.RopeScalingMetadata(ggufArch, s.Cfg().ropeObject())...)
}

package gemma3

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufArch is the general.architecture of the family
// (gguf-py/gguf/constants.py, MODEL_ARCH.GEMMA3).
const ggufArch = "gemma3"

// ggufKeys are the "gemma3." metadata keys llama.cpp's converter writes
// (convert_hf_to_gguf.py Gemma3Model.set_gguf_parameters), with the
// config field each carries, in the converter's order. The table both
// reads a GGUF file's architecture and writes a synthesized one's. The
// linear RoPE scaling the converter writes for the larger models is not
// in the table (it changes no tensor); the sliding window pattern and the
// local RoPE base are not keys at all: llama.cpp fixes them at 6 and
// 10000 for gemma3.
var ggufKeys = arch.GGUFKeys[Config]{
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, Loader: true},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *Config) *int64 { return &c.HiddenSize }, Required: true},
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *Config) *int64 { return &c.NumHiddenLayers }, Required: true},
	{Key: "feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }, Required: true},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *Config) *int64 { return &c.NumAttentionHeads }, Required: true},
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *Config) *float64 { return &c.RMSNormEps }, Loader: true},
	// llama.cpp: n_embd_head_k defaults to n_embd / n_head without the
	// key; the converter always writes head_dim.
	{Key: "attention.key_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim },
		Fallback: func(c *Config) int64 { return c.HiddenSize / max(c.NumAttentionHeads, 1) }},
	{Key: "attention.value_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }, WriteOnly: true},
	// llama.cpp: hparams.rope_freq_base_train = 10000.0f unless the key
	// is there; the converter writes rope_theta (the global layers').
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *Config) *float64 { return &c.RopeTheta }, Default: 10000},
	{Key: "attention.sliding_window", Field: "sliding_window", Int: func(c *Config) *int64 { return &c.SlidingWindow }, Loader: true},
	// llama.cpp: n_head_kv is optional and defaults to n_head.
	{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *Config) *int64 { return &c.NumKeyValueHeads },
		Fallback: func(c *Config) int64 { return c.NumAttentionHeads }},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture "gemma3" and the keys of ggufKeys) into a Config,
// as if it came from the config.json the file was converted from: the
// vocabulary size is the length of tokenizer.ggml.tokens, or failing that
// the embedding's rows (the converter trims token_embd to the
// tokenizer); the embeddings are tied when there is no output.weight; the
// sliding window pattern is 6 and the local RoPE base 10000, as llama.cpp
// assumes. Errors wrap [arch.ErrConfig] and name the key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

// readGGUF is [ConfigFromGGUF], also returning which keys the metadata
// lacks or holds in a form llama.cpp does not read.
func readGGUF(m *arch.GGUFMeta) (*Config, *arch.GGUFSource, error) {
	c := &Config{ModelType: "gemma3_text", RopeLocalBaseFreq: defaultRopeLocal, SlidingWindowPattern: defaultPattern}
	src, err := ggufKeys.Read(m, c, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	c.VocabSize = m.VocabSize()
	c.TieWordEmbeddings = m.TiedEmbeddings()
	return c, src, nil
}

// GGUFArch returns "gemma3".
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "gemma3." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them.
func (s *Spec) GGUFMetadata() []gguf.KV { return ggufKeys.Write(ggufArch, s.Cfg(), false) }

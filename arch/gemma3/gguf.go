package gemma3

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// ggufArch is the general.architecture of the family
// (gguf-py/gguf/constants.py, MODEL_ARCH.GEMMA3).
const ggufArch = "gemma3"

// ggufKeys are the "gemma3." metadata keys llama.cpp's converter writes
// (convert_hf_to_gguf.py Gemma3Model.set_gguf_parameters), with the
// config field each carries, in the converter's order. The table both
// reads a GGUF file's architecture and writes a synthesized one's. The
// linear RoPE scaling the converter writes for the larger models and a
// final_logit_softcapping are read and written apart (readExtra,
// GGUFMetadata); the
// sliding window pattern, the local RoPE base and the attention scale are
// not keys at all: llama.cpp fixes the first two at 6 and 10000 for
// gemma3 and derives the scale from the head dimension.
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
// assumes; query_pre_attn_scalar is what llama.cpp scales the attention
// by: head_dim, or hidden_size / num_attention_heads for a model of 62
// layers (its 27B; src/llama-model.cpp, LLM_ARCH_GEMMA3
// f_attention_scale); the RoPE scaling is rope.scaling.type with
// rope.scaling.factor, and final_logit_softcapping its key's value.
// Errors wrap [arch.ErrConfig] and name the key.
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
	c.QueryPreAttnScalar = float64(c.HeadDim)
	if c.NumHiddenLayers == 62 && c.NumAttentionHeads > 0 {
		c.QueryPreAttnScalar = float64(c.HiddenSize / c.NumAttentionHeads)
	}
	if err := readExtra(m, c); err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	return c, src, nil
}

// The keys read and written apart from the table: the RoPE scaling
// (convert_hf_to_gguf.py Gemma3Model.set_gguf_parameters writes type
// "linear" and the factor when config.json has a rope_scaling, which
// llama.cpp applies to the global layers only: rope_freq_scale_train_swa
// is 1) and the final logit soft cap (written when config.json sets one;
// llama.cpp reads it with get_key, optional). gguf-py/gguf/constants.py
// Keys.Rope SCALING_TYPE, SCALING_FACTOR and Keys.LLM
// FINAL_LOGIT_SOFTCAPPING.
const (
	keyRopeScalingType   = "rope.scaling.type"
	keyRopeScalingFactor = "rope.scaling.factor"
	keyFinalSoftcap      = "final_logit_softcapping"
)

// readExtra reads the keys outside the table into c: a rope_scaling of the
// type and factor (none for no type, "none", or linear without a factor,
// which llama.cpp reads as no scaling), final_logit_softcapping when the
// key is there. A key that is there in another type is an error naming it.
func readExtra(m *arch.GGUFMeta, c *Config) error {
	if t, err := m.Parts[0].GetString(m.Arch + "." + keyRopeScalingType); err == nil && t != "" && t != "none" {
		f, err := m.Float(keyRopeScalingFactor)
		switch {
		case errors.Is(err, gguf.ErrNotFound):
			f = 0
		case err != nil:
			return err
		}
		if t != "linear" || f != 0 {
			r, err := json.Marshal(struct {
				RopeType string  `json:"rope_type"`
				Factor   float64 `json:"factor,omitempty"`
			}{t, f})
			if err != nil {
				return err
			}
			c.RopeScaling = r
		}
	}
	switch f, err := m.Float(keyFinalSoftcap); {
	case err == nil:
		c.FinalLogitSoftcapping = &f
	case !errors.Is(err, gguf.ErrNotFound):
		return err
	}
	return nil
}

// GGUFArch returns "gemma3".
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "gemma3." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them, then as the converter
// writes them rope.scaling.type and rope.scaling.factor for a linear
// rope_scaling and final_logit_softcapping when the config sets it.
func (s *Spec) GGUFMetadata() []gguf.KV {
	c := s.Cfg()
	kvs := ggufKeys.Write(ggufArch, c, false)
	if r := c.ropeScaling(); r.Type == forward.RopeLinear {
		kvs = append(kvs, gguf.KV{Key: ggufArch + "." + keyRopeScalingType, Value: gguf.String("linear")},
			gguf.KV{Key: ggufArch + "." + keyRopeScalingFactor, Value: gguf.Float32(float32(r.Factor))})
	}
	if f := c.FinalLogitSoftcapping; f != nil && *f != 0 {
		kvs = append(kvs, gguf.KV{Key: ggufArch + "." + keyFinalSoftcap, Value: gguf.Float32(float32(*f))})
	}
	return kvs
}

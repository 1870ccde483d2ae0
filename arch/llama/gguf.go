package llama

import (
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufArch is the general.architecture llama.cpp writes for Llama, Mistral
// and Mixtral alike (convert_hf_to_gguf.py registers LlamaForCausalLM,
// MistralForCausalLM and MixtralForCausalLM to LlamaModel, model_arch
// MODEL_ARCH.LLAMA).
const ggufArch = "llama"

// ggufKeys are the "llama." metadata keys llama.cpp's converter writes
// (gguf-py/gguf/constants.py Keys.LLM, Keys.Attention and Keys.Rope;
// convert_hf_to_gguf.py TextModel.set_gguf_parameters and
// LlamaModel.set_gguf_parameters), with the config field each carries:
// the expert keys written only with experts and read only when
// expert_count is above 0; context_length and the rms epsilon, which
// llama.cpp's loader requires (llama-model.cpp), reported among the config
// problems when absent; head_count_kv and key_length falling back to what
// llama.cpp assumes. The table both reads a GGUF file's architecture and
// writes a synthesized one's, in this order.
var ggufKeys = arch.GGUFKeys[Config]{
	{Key: "block_count", Field: "num_hidden_layers", Int: func(c *Config) *int64 { return &c.NumHiddenLayers }, Required: true},
	{Key: "context_length", Field: "max_position_embeddings", Int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, Loader: true},
	{Key: "embedding_length", Field: "hidden_size", Int: func(c *Config) *int64 { return &c.HiddenSize }, Required: true},
	{Key: "feed_forward_length", Field: "intermediate_size", Int: func(c *Config) *int64 { return &c.IntermediateSize }, Required: true},
	{Key: "attention.head_count", Field: "num_attention_heads", Int: func(c *Config) *int64 { return &c.NumAttentionHeads }, Required: true},
	{Key: "attention.head_count_kv", Field: "num_key_value_heads", Int: func(c *Config) *int64 { return &c.NumKeyValueHeads },
		Fallback: func(c *Config) int64 { return c.NumAttentionHeads }},
	// llama.cpp: hparams.rope_freq_base_train = 10000.0f unless the key
	// is there.
	{Key: "rope.freq_base", Field: "rope_theta", Float: func(c *Config) *float64 { return &c.RopeTheta }, Default: 10000},
	{Key: "attention.layer_norm_rms_epsilon", Field: "rms_norm_eps", Float: func(c *Config) *float64 { return &c.RMSNormEps }, Loader: true},
	{Key: "attention.key_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim },
		Fallback: func(c *Config) int64 {
			if c.NumAttentionHeads <= 0 {
				return 0
			}
			return c.HiddenSize / c.NumAttentionHeads
		}},
	{Key: "attention.value_length", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }, Same: repeatsHeadDim},
	{Key: "rope.dimension_count", Field: "head_dim", Int: func(c *Config) *int64 { return &c.HeadDim }, Same: repeatsHeadDim},
	// vocab_size falls back to the tokenizer's tokens, or the embedding's
	// rows (readGGUF), as llama.cpp's loader does.
	{Key: "vocab_size", Field: "vocab_size", Int: func(c *Config) *int64 { return &c.VocabSize }},
	{Key: "expert_count", Field: "num_local_experts", Int: func(c *Config) *int64 { return &c.NumLocalExperts }, MoE: true},
	{Key: "expert_used_count", Field: "num_experts_per_tok", Int: func(c *Config) *int64 { return &c.NumExpertsPerTok }, Required: true, MoE: true},
}

// repeatsHeadDim is the problem of value_length or rope.dimension_count
// holding another value than the head dimension: llama.cpp's llama graph
// asserts n_embd_head_v == n_embd_head_k == n_rot.
func repeatsHeadDim(key string, got, headDim int64) string {
	return fmt.Sprintf("%s is %d but the head dimension is %d: llama.cpp's llama graph requires them equal", key, got, headDim)
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture "llama" and the keys of ggufKeys) into a Config,
// as if it came from the config.json the file was converted from: model
// type "mixtral" when llama.expert_count is above 0, else "llama" (the
// metadata does not tell Mistral from Llama). The vocabulary size is
// llama.vocab_size, or failing that the length of tokenizer.ggml.tokens or
// the embedding's rows; the embeddings are tied when there is no
// output.weight; the RoPE scaling is "llama3" when there is a
// rope_freqs.weight (its factors are not read back), else the type of
// llama.rope.scaling.type with llama.rope.scaling.factor; an absent
// head_count_kv is head_count and an absent key_length embedding_length /
// head_count, as llama.cpp assumes. Errors wrap [arch.ErrConfig] and name
// the key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

// readGGUF is [ConfigFromGGUF], also returning which keys the metadata
// lacks or holds in a form llama.cpp does not read.
func readGGUF(m *arch.GGUFMeta) (*Config, *arch.GGUFSource, error) {
	c := &Config{ModelType: TypeLlama}
	experts, err := m.Uint("expert_count")
	if err != nil && !errors.Is(err, gguf.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	moe := err == nil && experts > 0
	src, err := ggufKeys.Read(m, c, moe)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	if src.Absent("vocab_size") {
		c.VocabSize = m.VocabSize()
	}
	if moe {
		c.ModelType = TypeMixtral
	}
	c.TieWordEmbeddings = m.TiedEmbeddings()
	if _, ok := m.Tensor("rope_freqs.weight"); ok {
		c.RopeScaling = &RopeScaling{RopeType: "llama3"}
	} else if r, err := ropeScaling(m); err != nil {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	} else if r != nil {
		c.RopeScaling = r
	}
	return c, src, nil
}

// The keys of a RoPE scaling: convert_hf_to_gguf.py
// (LlamaModel.set_gguf_parameters) writes type "linear" and the factor for
// a rope_scaling of type "linear"; llama.cpp reads the factor as
// freq_scale = 1/factor, none or 0 meaning no scaling
// (gguf-py/gguf/constants.py Keys.Rope SCALING_TYPE, SCALING_FACTOR;
// src/llama-model.cpp load_hparams).
const (
	keyRopeScalingType   = "rope.scaling.type"
	keyRopeScalingFactor = "rope.scaling.factor"
)

// ropeScaling reads the RoPE scaling of the metadata: nil for none (no
// type, "none", or "linear" with no factor or a factor of 0, which
// llama.cpp reads as no scaling); "linear" with its factor; another type
// by name (the spot-check declines what it does not implement). A factor
// that is there but not a float is an error.
func ropeScaling(m *arch.GGUFMeta) (*RopeScaling, error) {
	t, err := m.Parts[0].GetString(m.Arch + "." + keyRopeScalingType)
	if err != nil || t == "" || t == "none" {
		return nil, nil
	}
	if t == "yarn" {
		y, err := arch.ReadYaRN(m)
		if err != nil || y == nil {
			return nil, err
		}
		return &RopeScaling{Type: t, Factor: y.Factor, OriginalMaxPositionEmbeddings: y.OriginalMaxPositionEmbeddings,
			BetaFast: y.BetaFast, BetaSlow: y.BetaSlow, AttentionFactor: y.AttentionFactor, Truncate: y.Truncate}, nil
	}
	f, err := m.Float(keyRopeScalingFactor)
	switch {
	case errors.Is(err, gguf.ErrNotFound):
		f = 0
	case err != nil:
		return nil, err
	}
	if t == "linear" && f == 0 {
		return nil, nil
	}
	return &RopeScaling{Type: t, Factor: f}, nil
}

// GGUFArch returns "llama": llama.cpp writes Mistral and Mixtral under
// Llama's architecture too.
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "llama." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them; the expert keys only for
// Mixtral; rope.scaling.type and rope.scaling.factor for a linear RoPE
// scaling, and YaRN's keys for a yarn one ([arch.YaRNMetadata]).
func (s *Spec) GGUFMetadata() []gguf.KV {
	kvs := ggufKeys.Write(ggufArch, s.Cfg(), s.Cfg().NumLocalExperts > 0)
	switch r := s.Cfg().ropeParams(); {
	case s.Cfg().RopeType() == "linear" && r.Factor > 0:
		kvs = append(kvs, gguf.KV{Key: ggufArch + "." + keyRopeScalingType, Value: gguf.String("linear")},
			gguf.KV{Key: ggufArch + "." + keyRopeScalingFactor, Value: gguf.Float32(float32(r.Factor))})
	case s.Cfg().RopeType() == "yarn":
		kvs = append(kvs, arch.YaRNMetadata(ggufArch, r.yarn())...)
	}
	return kvs
}

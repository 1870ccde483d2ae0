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

// ggufKey is one "llama." metadata key llama.cpp's converter writes
// (gguf-py/gguf/constants.py Keys.LLM, Keys.Attention and Keys.Rope;
// convert_hf_to_gguf.py TextModel.set_gguf_parameters and
// LlamaModel.set_gguf_parameters), with the config field it carries. The
// table both reads a GGUF file's architecture and writes a synthesized
// one's, in this order.
type ggufKey struct {
	key      string
	field    string                   // the config.json key it carries
	int      func(c *Config) *int64   // an integer key
	float    func(c *Config) *float64 // a float key
	required bool                     // reading fails without it: the tensors cannot be counted
	moe      bool                     // written only with experts; read only when expert_count > 0
	// loader marks a key llama.cpp's loader requires although the audit
	// counts without it (llama-model.cpp: context_length,
	// layer_norm_rms_epsilon): its absence is reported among the spec's
	// config problems.
	loader bool
	// fallback is what llama.cpp assumes for an absent integer key
	// (head_count_kv: head_count; key_length: embedding_length /
	// head_count), nil when it assumes nothing.
	fallback func(c *Config) int64
	// dflt is what llama.cpp assumes for an absent float key.
	dflt float64
	// same marks a key that repeats another key's value (value_length and
	// rope.dimension_count repeat the head dimension): written from the
	// field, and read only to check that it agrees, as llama.cpp's llama
	// graph asserts (n_embd_head_v == n_embd_head_k == n_rot).
	same bool
}

var ggufKeys = []ggufKey{
	{key: "block_count", field: "num_hidden_layers", int: func(c *Config) *int64 { return &c.NumHiddenLayers }, required: true},
	{key: "context_length", field: "max_position_embeddings", int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, loader: true},
	{key: "embedding_length", field: "hidden_size", int: func(c *Config) *int64 { return &c.HiddenSize }, required: true},
	{key: "feed_forward_length", field: "intermediate_size", int: func(c *Config) *int64 { return &c.IntermediateSize }, required: true},
	{key: "attention.head_count", field: "num_attention_heads", int: func(c *Config) *int64 { return &c.NumAttentionHeads }, required: true},
	{key: "attention.head_count_kv", field: "num_key_value_heads", int: func(c *Config) *int64 { return &c.NumKeyValueHeads },
		fallback: func(c *Config) int64 { return c.NumAttentionHeads }},
	// llama.cpp: hparams.rope_freq_base_train = 10000.0f unless the key
	// is there.
	{key: "rope.freq_base", field: "rope_theta", float: func(c *Config) *float64 { return &c.RopeTheta }, dflt: 10000},
	{key: "attention.layer_norm_rms_epsilon", field: "rms_norm_eps", float: func(c *Config) *float64 { return &c.RMSNormEps }, loader: true},
	{key: "attention.key_length", field: "head_dim", int: func(c *Config) *int64 { return &c.HeadDim },
		fallback: func(c *Config) int64 {
			if c.NumAttentionHeads <= 0 {
				return 0
			}
			return c.HiddenSize / c.NumAttentionHeads
		}},
	{key: "attention.value_length", field: "head_dim", int: func(c *Config) *int64 { return &c.HeadDim }, same: true},
	{key: "rope.dimension_count", field: "head_dim", int: func(c *Config) *int64 { return &c.HeadDim }, same: true},
	// vocab_size falls back to the tokenizer's tokens, or the embedding's
	// rows (readGGUF), as llama.cpp's loader does.
	{key: "vocab_size", field: "vocab_size", int: func(c *Config) *int64 { return &c.VocabSize }},
	{key: "expert_count", field: "num_local_experts", int: func(c *Config) *int64 { return &c.NumLocalExperts }, moe: true},
	{key: "expert_used_count", field: "num_experts_per_tok", int: func(c *Config) *int64 { return &c.NumExpertsPerTok }, required: true, moe: true},
}

// ConfigFromGGUF reads the architecture of a GGUF file from its metadata
// (general.architecture "llama" and the keys of ggufKeys) into a Config,
// as if it came from the config.json the file was converted from: model
// type "mixtral" when llama.expert_count is above 0, else "llama" (the
// metadata does not tell Mistral from Llama). The vocabulary size is
// llama.vocab_size, or failing that the length of tokenizer.ggml.tokens or
// the embedding's rows; the embeddings are tied when there is no
// output.weight; the RoPE scaling is "llama3" when there is a
// rope_freqs.weight (its factors are not read back); an absent
// head_count_kv is head_count and an absent key_length embedding_length /
// head_count, as llama.cpp assumes. Errors wrap [arch.ErrConfig] and name
// the key.
func ConfigFromGGUF(m *arch.GGUFMeta) (*Config, error) {
	c, _, err := readGGUF(m)
	return c, err
}

// ggufSource is what a spec read from GGUF metadata knows of its source:
// the architecture prefix of its keys, and the keys it could not read.
type ggufSource struct {
	arch string
	// absent holds the config fields whose key the metadata lacks, the
	// value llama.cpp assumes standing in.
	absent map[string]bool
	// unread says, by config field, why a key llama.cpp needs could not
	// be read: absent though its loader requires it, or of another type
	// than a float. The audit counts without it.
	unread map[string]string
	// disagree lists, by metadata key, a key that repeats the head
	// dimension with another value (value_length, rope.dimension_count).
	disagree []arch.Conflict
}

// key returns the full metadata key carrying the config field, "" when no
// key does.
func (g *ggufSource) key(field string) string {
	for _, k := range ggufKeys {
		if k.field == field && !k.same {
			return g.arch + "." + k.key
		}
	}
	return ""
}

// readGGUF is [ConfigFromGGUF], also returning which keys the metadata
// lacks or holds in a form llama.cpp does not read.
func readGGUF(m *arch.GGUFMeta) (*Config, *ggufSource, error) {
	c := &Config{ModelType: TypeLlama}
	src := &ggufSource{arch: m.Arch, absent: map[string]bool{}, unread: map[string]string{}}
	var errs []error
	experts, err := m.Uint("expert_count")
	if err != nil && !errors.Is(err, gguf.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, err)
	}
	moe := err == nil && experts > 0
	same := map[string]int64{}
	for _, k := range ggufKeys {
		if k.moe && !moe {
			continue
		}
		full := m.Arch + "." + k.key
		missing := func() {
			src.absent[k.field] = true
			if k.loader {
				src.unread[k.field] = fmt.Sprintf("the GGUF metadata has no %s (%s), which llama.cpp requires", full, k.field)
			}
		}
		if k.float != nil {
			v, err := m.Float(k.key)
			switch {
			case err == nil:
				*k.float(c) = v
			case errors.Is(err, gguf.ErrNotFound):
				*k.float(c) = k.dflt
				missing()
			default:
				*k.float(c) = k.dflt
				src.absent[k.field] = true
				src.unread[k.field] = fmt.Sprintf("%s (%s) cannot be read as llama.cpp reads it: %v", full, k.field, err)
			}
			continue
		}
		v, err := m.Uint(k.key)
		switch {
		case err == nil && v > maxDim*1024:
			errs = append(errs, fmt.Errorf("key %q = %d: too large", full, v))
		case err == nil && k.same:
			same[k.key] = int64(v)
		case err == nil:
			*k.int(c) = int64(v)
		case k.required || !errors.Is(err, gguf.ErrNotFound):
			errs = append(errs, err)
		case !k.same:
			missing()
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, errors.Join(errs...))
	}
	for _, k := range ggufKeys {
		if k.fallback != nil && src.absent[k.field] {
			*k.int(c) = k.fallback(c)
		}
	}
	for _, k := range ggufKeys {
		if v, ok := same[k.key]; ok && v != *k.int(c) {
			src.disagree = append(src.disagree, arch.Conflict{Field: k.field, Message: fmt.Sprintf(
				"%s.%s is %d but the head dimension is %d: llama.cpp's llama graph requires them equal", m.Arch, k.key, v, *k.int(c))})
		}
	}
	if src.absent["vocab_size"] {
		c.VocabSize = m.VocabSize()
	}
	if moe {
		c.ModelType = TypeMixtral
	}
	_, hasOutput := m.Tensor("output.weight")
	c.TieWordEmbeddings = !hasOutput
	if _, ok := m.Tensor("rope_freqs.weight"); ok {
		c.RopeScaling = &RopeScaling{RopeType: "llama3"}
	}
	return c, src, nil
}

// GGUFArch returns "llama": llama.cpp writes Mistral and Mixtral under
// Llama's architecture too.
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "llama." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them; the expert keys only for
// Mixtral.
func (s *Spec) GGUFMetadata() []gguf.KV {
	moe := s.cfg.NumLocalExperts > 0
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
		kvs = append(kvs, gguf.KV{Key: ggufArch + "." + k.key, Value: v})
	}
	return kvs
}

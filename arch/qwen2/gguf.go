package qwen2

import (
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// ggufArch is the general.architecture of the family
// (gguf-py/gguf/constants.py, MODEL_ARCH.QWEN2).
const ggufArch = "qwen2"

// ggufKey is one "qwen2." metadata key llama.cpp's converter writes
// (convert_hf_to_gguf.py Qwen2Model through TextModel.set_gguf_parameters;
// gguf-py/gguf/constants.py Keys.LLM and Keys.Attention), with the config
// field it carries. The table both reads a GGUF file's architecture and
// writes a synthesized one's, in this order.
type ggufKey struct {
	key      string
	field    string                   // the config.json key it carries
	int      func(c *Config) *int64   // an integer key
	float    func(c *Config) *float64 // a float key
	required bool                     // reading fails without it
	// writeOnly marks a key written, never read (value_length repeats
	// key_length).
	writeOnly bool
	// loader marks a key llama.cpp's loader requires although the
	// audit counts without it (llama-model.cpp load_hparams): its
	// absence is reported among the spec's config problems.
	loader bool
	// dflt is the value llama.cpp assumes for an absent float key.
	dflt float64
}

var ggufKeys = []ggufKey{
	{key: "block_count", field: "num_hidden_layers", int: func(c *Config) *int64 { return &c.NumHiddenLayers }, required: true},
	{key: "context_length", field: "max_position_embeddings", int: func(c *Config) *int64 { return &c.MaxPositionEmbeddings }, loader: true},
	{key: "embedding_length", field: "hidden_size", int: func(c *Config) *int64 { return &c.HiddenSize }, required: true},
	// llama.cpp reads it as optional, but creates ffn_gate, ffn_up and
	// ffn_down of width n_ff: without it the MLP has no shape.
	{key: "feed_forward_length", field: "intermediate_size", int: func(c *Config) *int64 { return &c.IntermediateSize }, required: true},
	{key: "attention.head_count", field: "num_attention_heads", int: func(c *Config) *int64 { return &c.NumAttentionHeads }, required: true},
	// llama.cpp: n_head_kv is optional and defaults to n_head.
	{key: "attention.head_count_kv", field: "num_key_value_heads", int: func(c *Config) *int64 { return &c.NumKeyValueHeads }},
	// llama.cpp: hparams.rope_freq_base_train = 10000.0f unless the key
	// is there.
	{key: "rope.freq_base", field: "rope_theta", float: func(c *Config) *float64 { return &c.RopeTheta }, dflt: 10000},
	{key: "attention.layer_norm_rms_epsilon", field: "rms_norm_eps", float: func(c *Config) *float64 { return &c.RMSNormEps }, loader: true},
	// llama.cpp: n_embd_head_k defaults to n_embd / n_head.
	{key: "attention.key_length", field: "head_dim", int: func(c *Config) *int64 { return &c.HeadDim }},
	{key: "attention.value_length", field: "head_dim", int: func(c *Config) *int64 { return &c.HeadDim }, writeOnly: true},
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
}

// key returns the full metadata key carrying the config field, "" when no
// key does.
func (g *ggufSource) key(field string) string {
	for _, k := range ggufKeys {
		if k.field == field && !k.writeOnly {
			return g.arch + "." + k.key
		}
	}
	return ""
}

// readGGUF is [ConfigFromGGUF], also returning which keys the metadata
// lacks or holds in a form llama.cpp does not read.
func readGGUF(m *arch.GGUFMeta) (*Config, *ggufSource, error) {
	c := &Config{ModelType: "qwen2"}
	src := &ggufSource{arch: m.Arch, absent: map[string]bool{}, unread: map[string]string{}}
	var errs []error
	for _, k := range ggufKeys {
		if k.writeOnly {
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
		case err == nil && v <= maxDim*1024:
			*k.int(c) = int64(v)
		case err == nil:
			errs = append(errs, fmt.Errorf("key %q = %d: too large", full, v))
		case k.required || !errors.Is(err, gguf.ErrNotFound):
			errs = append(errs, err)
		default:
			missing()
		}
	}
	if src.absent["num_key_value_heads"] {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	c.VocabSize = m.VocabSize()
	_, hasOutput := m.Tensor("output.weight")
	c.TieWordEmbeddings = !hasOutput
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%w: GGUF metadata: %w", arch.ErrConfig, errors.Join(errs...))
	}
	return c, src, nil
}

// GGUFArch returns "qwen2".
func (s *Spec) GGUFArch() string { return ggufArch }

// GGUFMetadata returns the "qwen2." keys of ggufKeys, integers as uint32
// and floats as float32 as llama.cpp writes them.
func (s *Spec) GGUFMetadata() []gguf.KV {
	var kvs []gguf.KV
	for _, k := range ggufKeys {
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

package qwen3

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
)

// Profile is a published Qwen3 model: its reference configuration and the
// contract's ranges for its parameter counts.
type Profile = arch.Published[Config]

// Profiles lists the recognized models. The ranges of Qwen3-235B-A22B are
// the seed's ([234 B, 236 B] total, [22 B, 23 B] active); those of
// Qwen3-30B-A3B bracket its published 30.5 B / 3.3 B the same way.
var Profiles = []Profile{
	{Profile: arch.Profile{Name: "Qwen3-235B-A22B", Label: "235B-A22B", Total: [2]int64{234e9, 236e9}, Active: [2]int64{22e9, 23e9}},
		Config: Qwen3_235B_A22B()},
	{Profile: arch.Profile{Name: "Qwen3-30B-A3B", Label: "30B-A3B", Total: [2]int64{30e9, 31e9}, Active: [2]int64{3e9, 4e9}},
		Config: Qwen3_30B_A3B()},
}

// fields are the config fields compared with the published profiles and
// between config.json and GGUF metadata: the dimensions are structural
// (they identify the profile), the routing is not. The RoPE base, norm
// epsilon and context length are not compared with the profiles: a
// fine-tune may extend the context and still be the model.
var fields = arch.Fields[Config]{
	{Name: "vocab_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.VocabSize }},
	{Name: "hidden_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HiddenSize }},
	{Name: "num_hidden_layers", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumHiddenLayers }},
	{Name: "num_attention_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumAttentionHeads }},
	{Name: "num_key_value_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumKeyValueHeads }},
	{Name: "head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HeadDim }},
	{Name: "num_experts", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumExperts }},
	{Name: "moe_intermediate_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.MoEIntermediateSize }},
	{Name: "num_experts_per_tok", InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumExpertsPerTok }},
	{Name: "norm_topk_prob", InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NormTopKProb }},
	{Name: "decoder_sparse_step", OfProfile: true, Get: func(c *Config) any { return c.DecoderSparseStep }},
	{Name: "mlp_only_layers", OfProfile: true, Get: func(c *Config) any { return fmt.Sprint(c.MLPOnlyLayers) }},
	{Name: "tie_word_embeddings", OfProfile: true, Get: func(c *Config) any { return c.TieWordEmbeddings }},
	{Name: "rope_theta", InGGUF: true, Get: func(c *Config) any { return c.RopeTheta }},
	{Name: "rms_norm_eps", InGGUF: true, Get: func(c *Config) any { return c.RMSNormEps }},
	{Name: "max_position_embeddings", InGGUF: true, Get: func(c *Config) any { return c.MaxPositionEmbeddings }},
}

// Recognize matches the spec and the mixture-of-experts label found in
// names ([arch.FindMoELabel]) against [Profiles] ([arch.Recognize]).
// A profile applies when the config has its structural dimensions or a
// name carries its label; every field that then differs from the profile
// (routing included) is a conflict, as is a label naming another profile
// than the dimensions do.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	label, where := arch.FindMoELabel(names...)
	return arch.Recognize(fields, s.Cfg(), label, where, Profiles)
}

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a Qwen3 spec read from a GGUF file, disagrees with the receiver, read
// from config.json ([arch.Fields.CompareGGUF]): the dimensions and routing
// exactly, rope_theta and rms_norm_eps within [arch.Float32Tolerance] (the
// metadata holds them as float32), max_position_embeddings against
// context_length exactly. A key the metadata lacks compares as the value
// llama.cpp assumes, and the message says so; one llama.cpp cannot read is
// not compared (its ConfigProblems report it).
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	return arch.CompareConfig(fields, s, fromGGUF)
}

package gptoss

import "github.com/weightaudit/weightaudit/arch"

// Profile is a published gpt-oss model: its reference configuration and
// the contract's ranges for its parameter counts.
type Profile = arch.Published[Config]

// Profiles lists the recognized models. Each total range brackets the
// model card's (116.83 B, 20.91 B) by one unit of its last digit; the
// active ranges bracket the active count by the seed's definition, which
// counts the input embedding (5.71 B, 4.19 B), where the card's 5.13 B
// and 3.61 B leave it out ([arch] reports both).
var Profiles = []Profile{
	{Profile: arch.Profile{Name: "gpt-oss-120b", Label: "120b", Total: [2]int64{116.82e9, 116.84e9}, Active: [2]int64{5.70e9, 5.72e9}}, Config: GptOss120B()},
	{Profile: arch.Profile{Name: "gpt-oss-20b", Label: "20b", Total: [2]int64{20.90e9, 20.92e9}, Active: [2]int64{4.18e9, 4.20e9}}, Config: GptOss20B()},
}

// fields are the config fields compared with the published profiles and
// between config.json and GGUF metadata.
var fields = arch.Fields[Config]{
	{Name: "vocab_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.VocabSize }},
	{Name: "hidden_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HiddenSize }},
	{Name: "intermediate_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.IntermediateSize }},
	{Name: "num_hidden_layers", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumHiddenLayers }},
	{Name: "num_attention_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumAttentionHeads }},
	{Name: "num_key_value_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumKeyValueHeads }},
	{Name: "head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HeadDim }},
	{Name: "num_local_experts", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumLocalExperts }},
	{Name: "num_experts_per_tok", InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumExpertsPerTok }},
	{Name: "sliding_window", InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.SlidingWindow }},
	{Name: "tie_word_embeddings", OfProfile: true, Get: func(c *Config) any { return c.TieWordEmbeddings }},
	{Name: "rope_theta", InGGUF: true, Get: func(c *Config) any { return c.RopeTheta }},
	{Name: "rms_norm_eps", InGGUF: true, Get: func(c *Config) any { return c.RMSNormEps }},
	{Name: "max_position_embeddings", InGGUF: true, Get: func(c *Config) any { return c.MaxPositionEmbeddings }},
}

// Recognize matches the spec against [Profiles] by its structural
// dimensions ([arch.Recognize]); every field that then differs from
// the profile is a conflict.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	return arch.Recognize(fields, s.Cfg(), "", "", Profiles)
}

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a spec read from a GGUF file, disagrees with the receiver, read from
// config.json ([arch.Fields.CompareGGUF]).
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	return arch.CompareConfig(fields, s, fromGGUF)
}

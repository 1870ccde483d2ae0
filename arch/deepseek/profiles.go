package deepseek

import "github.com/weightaudit/weightaudit/arch"

// Profile is a published model of the family: its reference configuration
// and the contract's ranges for its parameter counts.
type Profile = arch.Published[Config]

// Profiles lists the recognized models, by their dimensions (their names
// carry no size label). DeepSeek-V3's ranges bracket its model card's
// 671 B total and 37.6 B active by the seed's definition (36.6 B without
// the input embedding, as the card counts); Kimi K2's its card's 1 T
// total (1.03 T exactly) and 32 B active (32.9 B with the embedding).
var Profiles = []Profile{
	{Profile: arch.Profile{Name: "DeepSeek-V3", Label: "671B", Total: [2]int64{670e9, 672e9}, Active: [2]int64{37e9, 38e9}}, Config: DeepSeekV3()},
	{Profile: arch.Profile{Name: "Kimi-K2", Label: "1T", Total: [2]int64{1.02e12, 1.04e12}, Active: [2]int64{32e9, 34e9}}, Config: KimiK2()},
}

// fields are the config fields compared with the published profiles and
// between config.json and GGUF metadata: the dimensions are structural
// (they identify the profile), the routing is not. num_key_value_heads is
// not in GGUF (llama.cpp writes MLA as one KV head), nor are n_group and
// topk_group, which are therefore not compared at all: a GGUF file of
// DeepSeek-V3 would otherwise contradict its own profile.
var fields = arch.Fields[Config]{
	{Name: "vocab_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.VocabSize }},
	{Name: "hidden_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HiddenSize }},
	{Name: "intermediate_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.IntermediateSize }},
	{Name: "moe_intermediate_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.MoEIntermediateSize }},
	{Name: "num_hidden_layers", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumHiddenLayers }},
	{Name: "num_attention_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumAttentionHeads }},
	{Name: "q_lora_rank", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.qRank() }},
	{Name: "kv_lora_rank", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.KVLoraRank }},
	{Name: "qk_nope_head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.QKNopeHeadDim }},
	{Name: "qk_rope_head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.QKRopeHeadDim }},
	{Name: "v_head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.VHeadDim }},
	{Name: "n_routed_experts", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NRoutedExperts }},
	{Name: "n_shared_experts", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NSharedExperts }},
	{Name: "first_k_dense_replace", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.FirstKDenseReplace }},
	{Name: "num_experts_per_tok", InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumExpertsPerTok }},
	{Name: "routed_scaling_factor", InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.RoutedScalingFactor }},
	{Name: "tie_word_embeddings", OfProfile: true, Get: func(c *Config) any { return c.TieWordEmbeddings }},
	{Name: "rope_theta", InGGUF: true, Get: func(c *Config) any { return c.RopeTheta }},
	{Name: "rms_norm_eps", InGGUF: true, Get: func(c *Config) any { return c.RMSNormEps }},
	{Name: "max_position_embeddings", InGGUF: true, Get: func(c *Config) any { return c.MaxPositionEmbeddings }},
}

// Recognize matches the spec against [Profiles] by its structural
// dimensions ([arch.Recognize]; no size label names these models);
// every field that then differs from the profile (routing included) is a
// conflict.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	return arch.Recognize(fields, s.Cfg(), "", "", Profiles)
}

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a spec read from a GGUF file, disagrees with the receiver, read from
// config.json ([arch.Fields.CompareGGUF]).
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	return arch.CompareConfig(fields, s, fromGGUF)
}

package phi3

import (
	"regexp"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/arch"
)

// Profile is a published Phi-3 model: its reference configuration, the
// contract's ranges for its parameter counts, and the word Microsoft's
// repository names use for its size ("mini", "medium").
type Profile struct {
	arch.Published[Config]
	Word string
}

// Profiles lists the recognized models. Each range brackets the model
// card's total (Phi-3-mini: 3.8B; Phi-3-medium: 14B) by one unit of its
// last digit either way; a dense model's active count is its total.
// Phi-3-mini-4k, Phi-3-mini-128k and Phi-3.5-mini have the same
// dimensions (the 128k models differ in the RoPE scaling and the context,
// which are not compared), so they all match Phi-3-mini.
var Profiles = []Profile{
	{Word: "mini", Published: arch.Published[Config]{Config: Phi3Mini4K(),
		Profile: arch.Profile{Name: "Phi-3-mini", Label: "3.8B", Total: [2]int64{3.7e9, 3.9e9}, Active: [2]int64{3.7e9, 3.9e9}}}},
	{Word: "medium", Published: arch.Published[Config]{Config: Phi3Medium4K(),
		Profile: arch.Profile{Name: "Phi-3-medium", Label: "14B", Total: [2]int64{13e9, 15e9}, Active: [2]int64{13e9, 15e9}}}},
}

// sizeLabel matches a size label in a name: Microsoft's words "mini" and
// "medium", or a number of billions ("3.8B", "14b"), standing apart from
// letters and digits on both sides (not the "4k" of "mini-4k", nor a
// quantization's letters).
var sizeLabel = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|[^0-9a-z.])(mini|medium|\d+(?:\.\d+)?b)(?:$|[^0-9a-z])`)
})

// FindLabel returns the first size label in any of names (a GGUF
// general.name or size_label, a repository id, a folder or file name):
// "mini" or "medium" in lower case, a number of billions in upper case
// ("3.8B"); and the name it was found in. "" when none has one.
func FindLabel(names ...string) (label, where string) {
	for _, n := range names {
		if m := sizeLabel().FindStringSubmatch(n); m != nil {
			l := strings.ToLower(m[1])
			if strings.HasSuffix(l, "b") {
				l = strings.ToUpper(l)
			}
			return l, n
		}
	}
	return "", ""
}

// fields are the config fields compared with the published profiles and
// between config.json and GGUF metadata: the dimensions are structural
// (they identify the profile). The RoPE base and scaling, norm epsilon,
// context lengths and sliding window are not compared with the profiles:
// the 4k and 128k models differ in them.
var fields = arch.Fields[Config]{
	{Name: "vocab_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.VocabSize }},
	{Name: "hidden_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HiddenSize }},
	{Name: "intermediate_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.IntermediateSize }},
	{Name: "num_hidden_layers", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumHiddenLayers }},
	{Name: "num_attention_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumAttentionHeads }},
	{Name: "num_key_value_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumKeyValueHeads }},
	{Name: "head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HeadDim }},
	{Name: "tie_word_embeddings", OfProfile: true, Get: func(c *Config) any { return c.TieWordEmbeddings }},
	{Name: "rope_theta", InGGUF: true, Get: func(c *Config) any { return c.RopeTheta }},
	{Name: "rms_norm_eps", InGGUF: true, Get: func(c *Config) any { return c.RMSNormEps }},
	{Name: "max_position_embeddings", InGGUF: true, Get: func(c *Config) any { return c.MaxPositionEmbeddings }},
	{Name: "original_max_position_embeddings", InGGUF: true, Get: func(c *Config) any { return c.OriginalMaxPositionEmbeddings }},
	{Name: "sliding_window", InGGUF: true, Get: func(c *Config) any { return c.SlidingWindow }},
	{Name: "rope_scaling", InGGUF: true, GGUFBy: "rope_factors_long.weight", Get: func(c *Config) any { return c.RopeFactors() }},
}

// Recognize matches the spec and the size label found in names
// ([FindLabel]) against [Profiles] ([arch.MatchProfiles]). A profile
// applies when the config has its structural dimensions or a name carries
// its label or word; every field that then differs from the profile is a
// conflict, as is a label naming another profile than the dimensions do.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	label, where := FindLabel(names...)
	return arch.MatchProfiles(fields, s.Cfg(), label, where, Profiles, func(p *Profile) (*arch.Profile, *Config, bool) {
		return &p.Profile, p.Config, strings.EqualFold(p.Label, label) || strings.EqualFold(p.Word, label)
	})
}

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a Phi-3 spec read from a GGUF file, disagrees with the receiver, read
// from config.json ([arch.Fields.CompareGGUF]): the dimensions and context
// lengths exactly, rope_theta and rms_norm_eps within
// [arch.Float32Tolerance], the LongRoPE scaling by whether the file has
// rope_factors_long.weight. A key the metadata lacks compares as the
// value llama.cpp assumes, and the message says so.
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	return arch.CompareConfig(fields, s, fromGGUF)
}

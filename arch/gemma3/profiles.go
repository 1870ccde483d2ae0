package gemma3

import (
	"regexp"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/arch"
)

// Profile is a published Gemma 3 text model: its reference configuration
// and the contract's ranges for its parameter counts.
type Profile struct {
	arch.Profile
	Config *Config
}

// Profiles lists the recognized models. Gemma-3-1B's range brackets the
// card's "1B" by 5% either way (the exact count is 999,885,952); a dense
// model's active count is its total. The -pt and -it checkpoints have the
// same dimensions.
//
// Gemma-3-4B is the language model of the multimodal gemma-3-4b (its
// vision tower is counted apart): 3,880,263,168 exactly, the card's "4B"
// (its 4.3 B counts the vision tower and projector too); the range is
// that of the language model within 1%.
var Profiles = []Profile{
	{Profile: arch.Profile{Name: "Gemma-3-1B", Label: "1B", Total: [2]int64{0.95e9, 1.05e9}, Active: [2]int64{0.95e9, 1.05e9}},
		Config: Gemma3_1B()},
	{Profile: arch.Profile{Name: "Gemma-3-4B", Label: "4B", Total: [2]int64{3.84e9, 3.92e9}, Active: [2]int64{3.84e9, 3.92e9}},
		Config: Gemma3_4B()},
}

// sizeLabel matches a size label in a name: a number of billions or
// millions ("1b", "4B", "270m") standing apart from letters and digits on
// both sides (not the "3" of "gemma-3", nor a quantization's letters).
var sizeLabel = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|[^0-9a-z.])(\d+(?:\.\d+)?[bm])(?:$|[^0-9a-z])`)
})

// FindLabel returns the first size label in any of names (a GGUF
// general.name or size_label, a repository id, a folder or file name), in
// upper case ("1B"), and the name it was found in; "" when none has one.
func FindLabel(names ...string) (label, where string) {
	for _, n := range names {
		if m := sizeLabel().FindStringSubmatch(n); m != nil {
			return strings.ToUpper(m[1]), n
		}
	}
	return "", ""
}

// fields are the config fields compared with the published profiles and
// between config.json and GGUF metadata: the dimensions are structural
// (they identify the profile). The RoPE bases, norm epsilon, context
// length and sliding window are not compared with the profiles: a
// fine-tune may change them and still be the model.
var fields = arch.Fields[Config]{
	{Name: "vocab_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.VocabSize }},
	{Name: "hidden_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HiddenSize }},
	{Name: "intermediate_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.IntermediateSize }},
	{Name: "num_hidden_layers", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumHiddenLayers }},
	{Name: "num_attention_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumAttentionHeads }},
	{Name: "num_key_value_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumKeyValueHeads }},
	{Name: "head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HeadDim }},
	{Name: "tie_word_embeddings", OfProfile: true, InGGUF: true, GGUFBy: "output.weight", Get: func(c *Config) any { return c.TieWordEmbeddings }},
	{Name: "sliding_window_pattern", OfProfile: true, Get: func(c *Config) any { return c.SlidingWindowPattern }},
	{Name: "rope_theta", InGGUF: true, Get: func(c *Config) any { return c.RopeTheta }},
	{Name: "rms_norm_eps", InGGUF: true, Get: func(c *Config) any { return c.RMSNormEps }},
	{Name: "max_position_embeddings", InGGUF: true, Get: func(c *Config) any { return c.MaxPositionEmbeddings }},
	{Name: "sliding_window", InGGUF: true, Get: func(c *Config) any { return c.SlidingWindow }},
}

// Recognize matches the spec and the size label found in names
// ([FindLabel]) against [Profiles] ([arch.MatchProfiles]). A profile
// applies when the config has its structural dimensions or a name carries
// its label; every field that then differs from the profile is a
// conflict, as is a label naming another profile than the dimensions do.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	label, where := FindLabel(names...)
	return arch.MatchProfiles(fields, s.Cfg(), label, where, Profiles, func(p *Profile) (*arch.Profile, *Config, bool) {
		return &p.Profile, p.Config, strings.EqualFold(p.Label, label)
	})
}

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a Gemma 3 spec read from a GGUF file, disagrees with the receiver, read
// from config.json ([arch.Fields.CompareGGUF]): the dimensions, context
// length and sliding window exactly, rope_theta and rms_norm_eps within
// [arch.Float32Tolerance], the tying by whether the file has
// output.weight. A key the metadata lacks compares as the value llama.cpp
// assumes, and the message says so.
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	return arch.CompareConfig(fields, s, fromGGUF)
}

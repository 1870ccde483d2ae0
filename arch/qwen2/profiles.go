package qwen2

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/arch"
)

// Profile is a published Qwen2.5 model: its reference configuration, the
// contract's ranges for its parameter counts, and the other size label a
// GGUF file of it may carry.
type Profile struct {
	arch.Published[Config]
	// GGUFLabel is the general.size_label llama.cpp's converter computes
	// from the exact parameter count when the model's name gives none
	// (gguf-py/gguf/utility.py size_label): "7.6B" for Qwen2.5-7B.
	GGUFLabel string
}

// Profiles lists the recognized models. Each range brackets the model
// card's total (Qwen/Qwen2.5-0.5B: 0.49B, Qwen2.5-7B: 7.61B, Qwen2.5-72B:
// 72.7B) by one unit of its last digit either way; a dense model's active
// count is its total. Qwen2-0.5B, Qwen2-7B and Qwen2-72B have the
// dimensions of their Qwen2.5 namesakes, so they match these profiles too.
var Profiles = []Profile{
	newProfile("Qwen2.5-0.5B", "0.5B", [2]int64{0.48e9, 0.50e9}, Qwen2_5_0_5B()),
	newProfile("Qwen2.5-7B", "7B", [2]int64{7.60e9, 7.62e9}, Qwen2_5_7B()),
	newProfile("Qwen2.5-72B", "72B", [2]int64{72.6e9, 72.8e9}, Qwen2_5_72B()),
}

func newProfile(name, label string, total [2]int64, c *Config) Profile {
	return Profile{Published: arch.Published[Config]{Profile: arch.Profile{Name: name, Label: label, Total: total, Active: total}, Config: c},
		GGUFLabel: roundedNotation(c.Predict().Total)}
}

// roundedNotation is llama.cpp's model_weight_count_rounded_notation with
// its default of two digits (gguf-py/gguf/utility.py): n scaled to K, M,
// B or T, with as many decimals as bring the rounded value to two digits
// (7,615,616,512 → "7.6B", 494,032,768 → "494M", 72,706,203,648 → "73B").
func roundedNotation(n int64) string {
	x, suffix := float64(n), "K"
	switch {
	case x > 1e12:
		x, suffix = x*1e-12, "T"
	case x > 1e9:
		x, suffix = x*1e-9, "B"
	case x > 1e6:
		x, suffix = x*1e-6, "M"
	default:
		x *= 1e-3
	}
	digits := len(strings.TrimLeft(strconv.FormatFloat(math.RoundToEven(x), 'f', 0, 64), "0"))
	return strconv.FormatFloat(x, 'f', max(2-digits, 0), 64) + suffix
}

// denseLabel matches a dense model's size label such as "7B", "0.5B",
// "0_5b" or "494M": a number followed by B or M, standing apart from
// letters and digits on both sides (not the "2.5" of "Qwen2.5", nor the
// "M" of "Q4_K_M").
var denseLabel = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|[^0-9a-z.])(\d+(?:[._]\d+)?)([bm])(?:$|[^0-9a-z])`)
})

// moeSuffix is what follows the total of a mixture-of-experts label
// ("57B-A14B"): a label that is followed by it is not a dense one.
var moeSuffix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^[-_]a\d`) })

// FindDenseLabel returns the first dense size label in any of names (a
// GGUF general.size_label, general.name or basename, a repository id, a
// folder or file name), normalized to upper case with a dot ("0_5b" →
// "0.5B"), and the name it was found in; "" when none has one. The total
// of a mixture-of-experts label ("57B" of "57B-A14B") is not one.
func FindDenseLabel(names ...string) (label, where string) {
	for _, n := range names {
		for _, m := range denseLabel().FindAllStringSubmatchIndex(n, -1) {
			end := m[5] // the end of the B or M
			if moeSuffix().MatchString(n[end:]) {
				continue
			}
			num := strings.ReplaceAll(n[m[2]:m[3]], "_", ".")
			return num + strings.ToUpper(n[m[4]:m[5]]), n
		}
	}
	return "", ""
}

// fields are the config fields compared with the published profiles and
// between config.json and GGUF metadata: the dimensions are structural
// (they identify the profile). The RoPE base, norm epsilon, context length
// and sliding window are not compared with the profiles: the base and
// instruct models differ in them, and a fine-tune may extend the context
// and still be the model.
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
}

// Recognize matches the spec and the dense size label found in names
// ([FindDenseLabel]) against [Profiles] ([arch.MatchProfiles]). A profile
// applies when the config has its structural dimensions or a name carries
// its label (or the label llama.cpp computes for it, "7.6B" for
// Qwen2.5-7B); every field that then differs from the profile
// (tie_word_embeddings included) is a conflict, as is a label naming
// another profile than the dimensions do.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	label, where := FindDenseLabel(names...)
	return arch.MatchProfiles(fields, s.Cfg(), label, where, Profiles, func(p *Profile) (*arch.Profile, *Config, bool) {
		return &p.Profile, p.Config, strings.EqualFold(p.Label, label) || strings.EqualFold(p.GGUFLabel, label)
	})
}

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a Qwen2 spec read from a GGUF file, disagrees with the receiver, read
// from config.json ([arch.Fields.CompareGGUF]): the dimensions exactly,
// rope_theta and rms_norm_eps within [arch.Float32Tolerance] (the metadata
// holds them as float32), max_position_embeddings against context_length
// exactly. A key the metadata lacks compares as the value llama.cpp
// assumes, and the message says so; one llama.cpp cannot read is not
// compared (its ConfigProblems report it).
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	return arch.CompareConfig(fields, s, fromGGUF)
}

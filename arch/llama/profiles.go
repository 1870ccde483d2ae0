package llama

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/arch"
)

// Profile is a published model of the family: its reference configuration,
// the contract's ranges for its parameter counts, and the names it goes by.
type Profile struct {
	arch.Published[Config]
	// names matches the model's name in a repository id, a GGUF
	// general.name or a file name, lower-cased with '_' and ' ' read as
	// '-'; fine-tunes ("-Instruct") keep the name.
	names func() *regexp.Regexp // compiled on first use
}

// Profiles lists the recognized models. Each range brackets the total (and
// active) count the prediction gives for the published config, which the
// tests work out by hand, within the precision of the model card's figure:
// Llama 3.1 8B's 8.03 B, Llama 3.2 1B's 1.24 B, Mistral 7B's 7.24 B,
// Mixtral 8x7B's 46.7 B total and 12.9 B active.
var Profiles = []Profile{
	newProfile(arch.Profile{Name: "Llama-2-7B", Label: "7B", Total: [2]int64{6.7e9, 6.8e9}, Active: [2]int64{6.7e9, 6.8e9}},
		Llama2_7B(), `llama-?2-7b`),
	newProfile(arch.Profile{Name: "Llama-3-8B", Label: "8B", Total: [2]int64{8.0e9, 8.1e9}, Active: [2]int64{8.0e9, 8.1e9}},
		Llama3_8B(), `llama-?3-8b`),
	newProfile(arch.Profile{Name: "Llama-3.1-8B", Label: "8B", Total: [2]int64{8.0e9, 8.1e9}, Active: [2]int64{8.0e9, 8.1e9}},
		Llama31_8B(), `llama-?3\.1-8b`),
	newProfile(arch.Profile{Name: "Llama-3.2-1B", Label: "1B", Total: [2]int64{1.2e9, 1.3e9}, Active: [2]int64{1.2e9, 1.3e9}},
		Llama32_1B(), `llama-?3\.2-1b`),
	newProfile(arch.Profile{Name: "Mistral-7B-v0.1", Label: "7B", Total: [2]int64{7.2e9, 7.3e9}, Active: [2]int64{7.2e9, 7.3e9}},
		Mistral7B_v01(), `mistral-7b-(instruct-)?v0\.1`),
	newProfile(arch.Profile{Name: "Mixtral-8x7B-v0.1", Label: "8x7B", Total: [2]int64{46.6e9, 46.8e9}, Active: [2]int64{12.8e9, 13.0e9}},
		Mixtral8x7B_v01(), `mixtral-8x7b`),
}

// newProfile returns the profile p of the model published with config c,
// whose names the regular expression names matches.
func newProfile(p arch.Profile, c *Config, names string) Profile {
	return Profile{Published: arch.Published[Config]{Profile: p, Config: c}, names: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(names) })}
}

// familyOf returns the registered family of a model type.
func familyOf(modelType string) string {
	if modelType == TypeMixtral {
		return "mixtral"
	}
	return "llama"
}

// sizeLabel matches a size label as model names carry them: "8B", "1.2B",
// "8x7B", "8x7.2B", bounded by anything but a letter or digit (and, before
// it, a dot: the "1" of "3.1B" in "Llama-3.1B" is no label of its own).
var sizeLabel = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|[^a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?:[^a-z0-9]|$)`)
})

// FindSizeLabel returns the first size label in any of names (a GGUF
// general.size_label or general.name, a repository id, a folder or file
// name), normalized as "8B" or "8x7B", and where it was found; "" when none
// has one. llama.cpp's converter writes labels such as "8.0B", "1.2B" or
// "8x7.2B" (gguf-py gguf/utility.py size_label) unless the model's
// folder name gives one; [Profile] comparisons accept both.
func FindSizeLabel(names ...string) (label, where string) {
	for _, n := range names {
		if m := sizeLabel().FindStringSubmatch(n); m != nil {
			label = m[2] + "B"
			if m[1] != "" {
				label = m[1] + "x" + label
			}
			return label, n
		}
	}
	return "", ""
}

// parseLabel splits a normalized label into its experts (0 for a dense
// model), its size in billions and the decimals the size is written with.
func parseLabel(l string) (experts int64, size float64, decimals int, ok bool) {
	num, found := strings.CutSuffix(l, "B")
	if !found {
		return 0, 0, 0, false
	}
	if e, rest, found := strings.Cut(num, "x"); found {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		experts, num = n, rest
	}
	size, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, 0, 0, false
	}
	if _, frac, found := strings.Cut(num, "."); found {
		decimals = len(frac)
	}
	return experts, size, decimals, true
}

// labelFits reports whether a size label describes p: its own label
// ("8x7B"), or the size llama.cpp's converter computes, rounded as the
// label is written: the total for a dense model ("1.2B" for Llama 3.2 1B's
// 1.236 B), the parameters of one expert per layer with everything shared
// for a mixture of experts ("8x7.2B" for Mixtral's 7.24 B).
func labelFits(label string, p *Profile) bool {
	e, size, dec, ok := parseLabel(label)
	pe, psize, _, pok := parseLabel(p.Label)
	if !ok || !pok || e != pe {
		return false
	}
	if size == psize {
		return true
	}
	pred := p.Config.Predict()
	n := pred.Total
	if pe > 0 {
		exp := pred.Components[arch.CompExpertGate] + pred.Components[arch.CompExpertUp] + pred.Components[arch.CompExpertDown]
		n = pred.Total - exp + exp/pe
	}
	scale := math.Pow(10, float64(dec))
	return math.Round(float64(n)/1e9*scale)/scale == size
}

// fields are the config fields compared with the published profiles and
// between config.json and the GGUF file: the dimensions are structural,
// the routing is not; the GGUF file tells tie_word_embeddings and the
// llama3 RoPE scaling by whether it has output.weight and
// rope_freqs.weight. The RoPE base and scaling, norm epsilon and context
// length are not compared with the profiles: a fine-tune may extend the
// context and still be the model.
var fields = arch.Fields[Config]{
	{Name: "vocab_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.VocabSize }},
	{Name: "hidden_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HiddenSize }},
	{Name: "num_hidden_layers", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumHiddenLayers }},
	{Name: "num_attention_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumAttentionHeads }},
	{Name: "num_key_value_heads", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumKeyValueHeads }},
	{Name: "head_dim", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.HeadDim }},
	{Name: "intermediate_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.IntermediateSize }},
	{Name: "num_local_experts", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumLocalExperts }},
	{Name: "num_experts_per_tok", InGGUF: true, OfProfile: true, Get: func(c *Config) any { return c.NumExpertsPerTok }},
	{Name: "tie_word_embeddings", InGGUF: true, GGUFBy: "output.weight", OfProfile: true, Get: func(c *Config) any { return c.TieWordEmbeddings }},
	{Name: "rope_scaling", InGGUF: true, GGUFBy: "rope_freqs.weight", Get: func(c *Config) any {
		if c.Llama3Rope() {
			return "llama3"
		}
		return "not llama3"
	}},
	{Name: "rope_theta", InGGUF: true, Get: func(c *Config) any { return c.RopeTheta }},
	{Name: "rms_norm_eps", InGGUF: true, Get: func(c *Config) any { return c.RMSNormEps }},
	{Name: "max_position_embeddings", InGGUF: true, Get: func(c *Config) any { return c.MaxPositionEmbeddings }},
}

// Recognize matches the spec and the size label found in names against the
// [Profiles] of its family. A profile applies when the config has its
// structural dimensions (Llama 3 8B and 3.1 8B share theirs: a name, then
// the RoPE scaling, decides) or, failing that, when a name is the
// profile's ("Meta-Llama-3.1-8B-Instruct"); a bare size label ("7B") names
// no profile on its own, as Llama 2 and Mistral share it. Every field that
// then differs from the profile (routing included) is a conflict, as is a
// label or a name that contradicts the dimensions.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	c := s.Cfg()
	var r arch.Recognition
	r.Label, r.LabelWhere = FindSizeLabel(names...)
	var byDims []*Profile
	var byName *Profile
	var nameWhere string
	for i := range Profiles {
		p := &Profiles[i]
		if familyOf(p.Config.ModelType) != s.Family() {
			continue
		}
		if byName == nil {
			for _, n := range names {
				if p.names().MatchString(strings.NewReplacer("_", "-", " ", "-").Replace(strings.ToLower(n))) {
					byName, nameWhere = p, n
					break
				}
			}
		}
		if fields.SameStructure(c, p.Config) {
			byDims = append(byDims, p)
		}
	}
	var applied *Profile
	switch {
	case len(byDims) > 0:
		applied = byDims[0]
		for _, p := range byDims { // the RoPE scaling tells Llama 3 8B from 3.1 8B
			if p.Config.Llama3Rope() == c.Llama3Rope() {
				applied = p
				break
			}
		}
		for _, p := range byDims { // unless a name says which
			if p == byName {
				applied = p
			}
		}
		r.ByDims = &applied.Profile
		named := byName != nil && byName != applied && !fields.SameStructure(byName.Config, applied.Config)
		if named {
			r.Conflicts = append(r.Conflicts, arch.Conflict{Message: fmt.Sprintf("the name %q says %s but the dimensions are those of %s", nameWhere, byName.Name, applied.Name)})
		}
		if r.Label != "" && !labelFits(r.Label, applied) && !(named && r.LabelWhere == nameWhere) {
			r.Conflicts = append(r.Conflicts, arch.Conflict{Message: fmt.Sprintf("the name %q says %s but the dimensions are those of %s (%s)", r.LabelWhere, r.Label, applied.Name, applied.Label)})
		}
	case byName != nil:
		applied = byName
	}
	if applied != nil {
		r.Profile = &applied.Profile
		r.Conflicts = append(r.Conflicts, fields.ProfileConflicts(c, applied.Config, applied.Name)...)
	}
	return r
}

// CompareConfig lists each field the GGUF file carries on which fromGGUF,
// a spec read from GGUF metadata, disagrees with the receiver, read from
// config.json: the family (llama.expert_count makes a Mixtral), the
// dimensions and routing exactly, rope_theta and rms_norm_eps within
// [arch.Float32Tolerance] (the metadata holds them as float32),
// max_position_embeddings against context_length exactly; and, from the
// file's tensors, tie_word_embeddings (whether it has output.weight) and
// the llama3 RoPE scaling (whether it has rope_freqs.weight: a Llama 3.1
// GGUF without it runs with plain RoPE). Mistral's config.json and its
// GGUF ("llama") are one family. A key the metadata lacks compares as the
// value llama.cpp assumes, and the message says so; one llama.cpp cannot
// read is not compared (its ConfigProblems report it).
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	var out []arch.Conflict
	if g, ok := fromGGUF.(*Spec); ok && s.Family() != g.Family() {
		out = append(out, arch.Conflict{Field: "model_type", Message: fmt.Sprintf("config.json describes %s (model_type %q), the GGUF metadata %s (%s.expert_count %d)",
			s.Family(), s.Cfg().ModelType, g.Family(), ggufArch, g.Cfg().NumLocalExperts)})
	}
	return append(out, arch.CompareConfig(fields, s, fromGGUF)...)
}

package llama

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
)

// Profile is a published model of the family: its reference configuration,
// the contract's ranges for its parameter counts, and the names it goes by.
type Profile struct {
	arch.Profile
	Config *Config
	// names matches the model's name in a repository id, a GGUF
	// general.name or a file name, lower-cased with '_' and ' ' read as
	// '-'; fine-tunes ("-Instruct") keep the name.
	names *regexp.Regexp
}

// Profiles lists the recognized models. Each range brackets the total (and
// active) count the prediction gives for the published config, which the
// tests work out by hand, within the precision of the model card's figure:
// Llama 3.1 8B's 8.03 B, Llama 3.2 1B's 1.24 B, Mistral 7B's 7.24 B,
// Mixtral 8x7B's 46.7 B total and 12.9 B active.
var Profiles = []Profile{
	{Profile: arch.Profile{Name: "Llama-2-7B", Label: "7B", Total: [2]int64{6.7e9, 6.8e9}, Active: [2]int64{6.7e9, 6.8e9}},
		Config: Llama2_7B(), names: regexp.MustCompile(`llama-?2-7b`)},
	{Profile: arch.Profile{Name: "Llama-3-8B", Label: "8B", Total: [2]int64{8.0e9, 8.1e9}, Active: [2]int64{8.0e9, 8.1e9}},
		Config: Llama3_8B(), names: regexp.MustCompile(`llama-?3-8b`)},
	{Profile: arch.Profile{Name: "Llama-3.1-8B", Label: "8B", Total: [2]int64{8.0e9, 8.1e9}, Active: [2]int64{8.0e9, 8.1e9}},
		Config: Llama31_8B(), names: regexp.MustCompile(`llama-?3\.1-8b`)},
	{Profile: arch.Profile{Name: "Llama-3.2-1B", Label: "1B", Total: [2]int64{1.2e9, 1.3e9}, Active: [2]int64{1.2e9, 1.3e9}},
		Config: Llama32_1B(), names: regexp.MustCompile(`llama-?3\.2-1b`)},
	{Profile: arch.Profile{Name: "Mistral-7B-v0.1", Label: "7B", Total: [2]int64{7.2e9, 7.3e9}, Active: [2]int64{7.2e9, 7.3e9}},
		Config: Mistral7B_v01(), names: regexp.MustCompile(`mistral-7b-(instruct-)?v0\.1`)},
	{Profile: arch.Profile{Name: "Mixtral-8x7B-v0.1", Label: "8x7B", Total: [2]int64{46.6e9, 46.8e9}, Active: [2]int64{12.8e9, 13.0e9}},
		Config: Mixtral8x7B_v01(), names: regexp.MustCompile(`mixtral-8x7b`)},
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
var sizeLabel = regexp.MustCompile(`(?i)(?:^|[^a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)b(?:[^a-z0-9]|$)`)

// FindSizeLabel returns the first size label in any of names (a GGUF
// general.size_label or general.name, a repository id, a folder or file
// name), normalized as "8B" or "8x7B", and where it was found; "" when none
// has one. llama.cpp's converter writes labels such as "8.0B", "1.2B" or
// "8x7.2B" (gguf-py gguf/utility.py size_label) unless the model's
// folder name gives one; [Profile] comparisons accept both.
func FindSizeLabel(names ...string) (label, where string) {
	for _, n := range names {
		if m := sizeLabel.FindStringSubmatch(n); m != nil {
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

// field is one config field compared against a profile or another source.
type field struct {
	name       string
	structural bool // part of the architecture's shape (as opposed to routing)
	// inGGUF says the GGUF file carries it, in a key or (ggufBy) in the
	// presence of a tensor: CompareConfig compares it.
	inGGUF bool
	ggufBy string // the tensor whose presence tells it, "" for a key
	// ofProfile says Recognize compares it with the published profiles.
	// The RoPE base and scaling, norm epsilon, context length and window
	// are not: a fine-tune may extend the context and still be the
	// model.
	ofProfile bool
	get       func(*Config) any
}

var fields = []field{
	{"vocab_size", true, true, "", true, func(c *Config) any { return c.VocabSize }},
	{"hidden_size", true, true, "", true, func(c *Config) any { return c.HiddenSize }},
	{"num_hidden_layers", true, true, "", true, func(c *Config) any { return c.NumHiddenLayers }},
	{"num_attention_heads", true, true, "", true, func(c *Config) any { return c.NumAttentionHeads }},
	{"num_key_value_heads", true, true, "", true, func(c *Config) any { return c.NumKeyValueHeads }},
	{"head_dim", true, true, "", true, func(c *Config) any { return c.HeadDim }},
	{"intermediate_size", true, true, "", true, func(c *Config) any { return c.IntermediateSize }},
	{"num_local_experts", true, true, "", true, func(c *Config) any { return c.NumLocalExperts }},
	{"num_experts_per_tok", false, true, "", true, func(c *Config) any { return c.NumExpertsPerTok }},
	{"tie_word_embeddings", false, true, "output.weight", true, func(c *Config) any { return c.TieWordEmbeddings }},
	{"rope_scaling", false, true, "rope_freqs.weight", false, func(c *Config) any {
		if c.Llama3Rope() {
			return "llama3"
		}
		return "not llama3"
	}},
	{"rope_theta", false, true, "", false, func(c *Config) any { return c.RopeTheta }},
	{"rms_norm_eps", false, true, "", false, func(c *Config) any { return c.RMSNormEps }},
	{"max_position_embeddings", false, true, "", false, func(c *Config) any { return c.MaxPositionEmbeddings }},
}

// float32Tolerance is the relative difference within which two float
// fields agree. GGUF stores rope.freq_base and layer_norm_rms_epsilon as
// float32, whose rounding moves a value by at most 2⁻²⁴ of itself; the
// tolerance is twice that, one float32 epsilon (2⁻²³ ≈ 1.2e-7). So 1e-5
// in config.json and float32(1e-5) in the metadata agree, while any
// difference a person writes (1e-5 against 1e-6) does not.
const float32Tolerance = 0x1p-23

// same reports whether two values of a field agree: floats within
// float32Tolerance of the larger magnitude (below float32's normal range,
// when they round to the same float32; NaN only with NaN, an infinity only
// with itself), anything else exactly.
func same(a, b any) bool {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	if !ok1 || !ok2 {
		return a == b
	}
	m := max(math.Abs(x), math.Abs(y))
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.IsNaN(x) && math.IsNaN(y)
	case x == y:
		return true
	case math.IsInf(m, 1):
		return false
	case m < 0x1p-126: // float32's smallest normal number
		return float32(x) == float32(y)
	}
	return math.Abs(x-y) <= float32Tolerance*m
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
	c := s.cfg
	var r arch.Recognition
	r.Label, r.LabelWhere = FindSizeLabel(names...)
	var byDims []*Profile
	var byName *Profile
	var nameWhere string
	for i := range Profiles {
		p := &Profiles[i]
		if familyOf(p.Config.ModelType) != s.family {
			continue
		}
		if byName == nil {
			for _, n := range names {
				if p.names.MatchString(strings.NewReplacer("_", "-", " ", "-").Replace(strings.ToLower(n))) {
					byName, nameWhere = p, n
					break
				}
			}
		}
		if sameStructure(c, p.Config) {
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
		named := byName != nil && byName != applied && !sameStructure(byName.Config, applied.Config)
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
		for _, f := range fields {
			if !f.ofProfile {
				continue
			}
			if got, want := f.get(c), f.get(applied.Config); got != want {
				r.Conflicts = append(r.Conflicts, arch.Conflict{Field: f.name, Message: fmt.Sprintf("%s is %v, %s has %v", f.name, got, applied.Name, want)})
			}
		}
	}
	return r
}

// sameStructure reports whether a and b have the same structural fields.
func sameStructure(a, b *Config) bool {
	for _, f := range fields {
		if f.structural && f.get(a) != f.get(b) {
			return false
		}
	}
	return true
}

// CompareConfig lists each field the GGUF file carries on which fromGGUF,
// a spec read from GGUF metadata, disagrees with the receiver, read from
// config.json: the family (llama.expert_count makes a Mixtral), the
// dimensions and routing exactly, rope_theta and rms_norm_eps within
// float32Tolerance (the metadata holds them as float32),
// max_position_embeddings against context_length exactly; and, from the
// file's tensors, tie_word_embeddings (whether it has output.weight) and
// the llama3 RoPE scaling (whether it has rope_freqs.weight: a Llama 3.1
// GGUF without it runs with plain RoPE). Mistral's config.json and its
// GGUF ("llama") are one family. A key the metadata lacks compares as the
// value llama.cpp assumes, and the message says so; one llama.cpp cannot
// read is not compared (its ConfigProblems report it).
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	g, ok := fromGGUF.(*Spec)
	if !ok {
		return []arch.Conflict{{Field: "model_type", Message: fmt.Sprintf("config.json describes %s, the GGUF metadata %s", s.family, fromGGUF.Family())}}
	}
	var out []arch.Conflict
	if s.family != g.family {
		out = append(out, arch.Conflict{Field: "model_type", Message: fmt.Sprintf("config.json describes %s (model_type %q), the GGUF metadata %s (%s.expert_count %d)",
			s.family, s.cfg.ModelType, g.family, ggufArch, g.cfg.NumLocalExperts)})
	}
	for _, f := range fields {
		if !f.inGGUF {
			continue
		}
		var note string
		if src := g.gguf; src != nil {
			if _, bad := src.unread[f.name]; bad {
				continue
			}
			switch {
			case f.ggufBy != "":
				note = fmt.Sprintf(" (judged by whether the file has %s)", f.ggufBy)
			case src.absent[f.name]:
				note = fmt.Sprintf(" (%s absent: what llama.cpp assumes)", src.key(f.name))
			}
		}
		if a, b := f.get(s.cfg), f.get(g.cfg); !same(a, b) {
			out = append(out, arch.Conflict{Field: f.name, Message: fmt.Sprintf("config.json has %s %v, the GGUF metadata %v%s", f.name, a, b, note)})
		}
	}
	return out
}

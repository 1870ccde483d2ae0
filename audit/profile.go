package audit

import (
	"fmt"
	"regexp"
	"strings"
)

// Profile is a published model the audit recognizes: its reference
// configuration and the seed's ranges for its parameter counts.
type Profile struct {
	Name   string // e.g. "Qwen3-235B-A22B"
	Label  string // the size label, e.g. "235B-A22B"
	Config *Config
	// Total and Active are the closed ranges FALSIFY-QM3E-001 and -002
	// require of the parameter counts.
	Total, Active [2]int64
}

// Profiles lists the recognized models. The ranges of Qwen3-235B-A22B are
// the seed's ([234 B, 236 B] total, [22 B, 23 B] active); those of
// Qwen3-30B-A3B bracket its published 30.5 B / 3.3 B the same way.
var Profiles = []Profile{
	{Name: "Qwen3-235B-A22B", Label: "235B-A22B", Config: Qwen3_235B_A22B(),
		Total: [2]int64{234e9, 236e9}, Active: [2]int64{22e9, 23e9}},
	{Name: "Qwen3-30B-A3B", Label: "30B-A3B", Config: Qwen3_30B_A3B(),
		Total: [2]int64{30e9, 31e9}, Active: [2]int64{3e9, 4e9}},
}

// field is one config field compared against a profile.
type field struct {
	name       string
	structural bool // part of the architecture's shape (as opposed to routing)
	get        func(*Config) any
}

var profileFields = []field{
	{"vocab_size", true, func(c *Config) any { return c.VocabSize }},
	{"hidden_size", true, func(c *Config) any { return c.HiddenSize }},
	{"num_hidden_layers", true, func(c *Config) any { return c.NumHiddenLayers }},
	{"num_attention_heads", true, func(c *Config) any { return c.NumAttentionHeads }},
	{"num_key_value_heads", true, func(c *Config) any { return c.NumKeyValueHeads }},
	{"head_dim", true, func(c *Config) any { return c.HeadDim }},
	{"num_experts", true, func(c *Config) any { return c.NumExperts }},
	{"moe_intermediate_size", true, func(c *Config) any { return c.MoEIntermediateSize }},
	{"num_experts_per_tok", false, func(c *Config) any { return c.NumExpertsPerTok }},
	{"norm_topk_prob", false, func(c *Config) any { return c.NormTopKProb }},
	{"decoder_sparse_step", false, func(c *Config) any { return c.DecoderSparseStep }},
	{"mlp_only_layers", false, func(c *Config) any { return fmt.Sprint(c.MLPOnlyLayers) }},
	{"tie_word_embeddings", false, func(c *Config) any { return c.TieWordEmbeddings }},
}

// labelRE matches a size label such as "235B-A22B" or "30b_a3b".
var labelRE = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)B[-_]A(\d+(?:\.\d+)?)B`)

// FindLabel returns the first size label in any of names (a GGUF
// general.name or size_label, a repository id, a folder or file name),
// normalized to upper case, and where it was found; "" when none has one.
func FindLabel(names ...string) (label, where string) {
	for _, n := range names {
		if m := labelRE.FindStringSubmatch(n); m != nil {
			return strings.ToUpper(m[1]) + "B-A" + strings.ToUpper(m[2]) + "B", n
		}
	}
	return "", ""
}

// Recognition is how a checkpoint relates to the known profiles.
type Recognition struct {
	Profile    *Profile // nil when no profile applies
	ByDims     *Profile // the profile whose structural dimensions c has
	Label      string   // the size label found, if any
	LabelWhere string
	// Conflicts name each field of c that contradicts the profile, and a
	// label that contradicts the dimensions.
	Conflicts []Conflict
}

// Conflict is one contradiction of a profile.
type Conflict struct {
	Field   string // the config field, "" for a label that names another profile
	Message string
}

// Recognize matches c and the label found in names against [Profiles]. A
// profile applies when c has its structural dimensions or a name carries
// its label; every field of c that then differs from the profile (routing
// included) is a conflict, as is a label naming another profile than the
// dimensions do.
func Recognize(c *Config, names ...string) Recognition {
	var r Recognition
	r.Label, r.LabelWhere = FindLabel(names...)
	var byLabel *Profile
	for i := range Profiles {
		p := &Profiles[i]
		if strings.EqualFold(p.Label, r.Label) {
			byLabel = p
		}
		same := true
		for _, f := range profileFields {
			if f.structural && f.get(c) != f.get(p.Config) {
				same = false
			}
		}
		if same {
			r.ByDims = p
		}
	}
	switch {
	case r.ByDims != nil:
		r.Profile = r.ByDims
		if r.Label != "" && byLabel != r.ByDims {
			r.Conflicts = append(r.Conflicts, Conflict{Message: fmt.Sprintf("the name %q says %s but the dimensions are those of %s", r.LabelWhere, r.Label, r.ByDims.Name)})
		}
	case byLabel != nil:
		r.Profile = byLabel
	}
	if r.Profile != nil {
		for _, f := range profileFields {
			if got, want := f.get(c), f.get(r.Profile.Config); got != want {
				r.Conflicts = append(r.Conflicts, Conflict{Field: f.name, Message: fmt.Sprintf("%s is %v, %s has %v", f.name, got, r.Profile.Name, want)})
			}
		}
	}
	return r
}

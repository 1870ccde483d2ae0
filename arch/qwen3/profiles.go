package qwen3

import (
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
)

// Profile is a published Qwen3 model: its reference configuration and the
// contract's ranges for its parameter counts.
type Profile struct {
	arch.Profile
	Config *Config
}

// Profiles lists the recognized models. The ranges of Qwen3-235B-A22B are
// the seed's ([234 B, 236 B] total, [22 B, 23 B] active); those of
// Qwen3-30B-A3B bracket its published 30.5 B / 3.3 B the same way.
var Profiles = []Profile{
	{Profile: arch.Profile{Name: "Qwen3-235B-A22B", Label: "235B-A22B", Total: [2]int64{234e9, 236e9}, Active: [2]int64{22e9, 23e9}},
		Config: Qwen3_235B_A22B()},
	{Profile: arch.Profile{Name: "Qwen3-30B-A3B", Label: "30B-A3B", Total: [2]int64{30e9, 31e9}, Active: [2]int64{3e9, 4e9}},
		Config: Qwen3_30B_A3B()},
}

// field is one config field compared against a profile or another source.
type field struct {
	name       string
	structural bool // part of the architecture's shape (as opposed to routing)
	inGGUF     bool // GGUF metadata carries it
	get        func(*Config) any
}

var fields = []field{
	{"vocab_size", true, true, func(c *Config) any { return c.VocabSize }},
	{"hidden_size", true, true, func(c *Config) any { return c.HiddenSize }},
	{"num_hidden_layers", true, true, func(c *Config) any { return c.NumHiddenLayers }},
	{"num_attention_heads", true, true, func(c *Config) any { return c.NumAttentionHeads }},
	{"num_key_value_heads", true, true, func(c *Config) any { return c.NumKeyValueHeads }},
	{"head_dim", true, true, func(c *Config) any { return c.HeadDim }},
	{"num_experts", true, true, func(c *Config) any { return c.NumExperts }},
	{"moe_intermediate_size", true, true, func(c *Config) any { return c.MoEIntermediateSize }},
	{"num_experts_per_tok", false, true, func(c *Config) any { return c.NumExpertsPerTok }},
	{"norm_topk_prob", false, true, func(c *Config) any { return c.NormTopKProb }},
	{"decoder_sparse_step", false, false, func(c *Config) any { return c.DecoderSparseStep }},
	{"mlp_only_layers", false, false, func(c *Config) any { return fmt.Sprint(c.MLPOnlyLayers) }},
	{"tie_word_embeddings", false, false, func(c *Config) any { return c.TieWordEmbeddings }},
}

// Recognize matches the spec and the label found in names against
// [Profiles]. A profile applies when the config has its structural
// dimensions or a name carries its label; every field that then differs
// from the profile (routing included) is a conflict, as is a label naming
// another profile than the dimensions do.
func (s *Spec) Recognize(names ...string) arch.Recognition {
	c := s.cfg
	var r arch.Recognition
	r.Label, r.LabelWhere = arch.FindMoELabel(names...)
	var byLabel, byDims *Profile
	for i := range Profiles {
		p := &Profiles[i]
		if strings.EqualFold(p.Label, r.Label) {
			byLabel = p
		}
		same := true
		for _, f := range fields {
			if f.structural && f.get(c) != f.get(p.Config) {
				same = false
			}
		}
		if same {
			byDims = p
		}
	}
	var applied *Profile
	switch {
	case byDims != nil:
		applied, r.ByDims = byDims, &byDims.Profile
		if r.Label != "" && byLabel != byDims {
			r.Conflicts = append(r.Conflicts, arch.Conflict{Message: fmt.Sprintf("the name %q says %s but the dimensions are those of %s", r.LabelWhere, r.Label, byDims.Name)})
		}
	case byLabel != nil:
		applied = byLabel
	}
	if applied != nil {
		r.Profile = &applied.Profile
		for _, f := range fields {
			if got, want := f.get(c), f.get(applied.Config); got != want {
				r.Conflicts = append(r.Conflicts, arch.Conflict{Field: f.name, Message: fmt.Sprintf("%s is %v, %s has %v", f.name, got, applied.Name, want)})
			}
		}
	}
	return r
}

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a Qwen3 spec read from a GGUF file, disagrees with the receiver, read
// from config.json.
func (s *Spec) CompareConfig(fromGGUF arch.Spec) []arch.Conflict {
	g, ok := fromGGUF.(*Spec)
	if !ok {
		return []arch.Conflict{{Field: "model_type", Message: fmt.Sprintf("config.json describes %s, the GGUF metadata %s", s.family, fromGGUF.Family())}}
	}
	var out []arch.Conflict
	for _, f := range fields {
		if !f.inGGUF {
			continue
		}
		if a, b := f.get(s.cfg), f.get(g.cfg); a != b {
			out = append(out, arch.Conflict{Field: f.name, Message: fmt.Sprintf("config.json has %s %v, the GGUF metadata %v", f.name, a, b)})
		}
	}
	return out
}

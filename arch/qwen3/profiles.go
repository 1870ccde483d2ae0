package qwen3

import (
	"fmt"
	"math"
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
	inGGUF     bool // GGUF metadata carries it: CompareConfig compares it
	// ofProfile says Recognize compares it with the published
	// profiles. The RoPE base, norm epsilon and context length are not:
	// a fine-tune may extend the context and still be the model.
	ofProfile bool
	get       func(*Config) any
}

var fields = []field{
	{"vocab_size", true, true, true, func(c *Config) any { return c.VocabSize }},
	{"hidden_size", true, true, true, func(c *Config) any { return c.HiddenSize }},
	{"num_hidden_layers", true, true, true, func(c *Config) any { return c.NumHiddenLayers }},
	{"num_attention_heads", true, true, true, func(c *Config) any { return c.NumAttentionHeads }},
	{"num_key_value_heads", true, true, true, func(c *Config) any { return c.NumKeyValueHeads }},
	{"head_dim", true, true, true, func(c *Config) any { return c.HeadDim }},
	{"num_experts", true, true, true, func(c *Config) any { return c.NumExperts }},
	{"moe_intermediate_size", true, true, true, func(c *Config) any { return c.MoEIntermediateSize }},
	{"num_experts_per_tok", false, true, true, func(c *Config) any { return c.NumExpertsPerTok }},
	{"norm_topk_prob", false, true, true, func(c *Config) any { return c.NormTopKProb }},
	{"decoder_sparse_step", false, false, true, func(c *Config) any { return c.DecoderSparseStep }},
	{"mlp_only_layers", false, false, true, func(c *Config) any { return fmt.Sprint(c.MLPOnlyLayers) }},
	{"tie_word_embeddings", false, false, true, func(c *Config) any { return c.TieWordEmbeddings }},
	{"rope_theta", false, true, false, func(c *Config) any { return c.RopeTheta }},
	{"rms_norm_eps", false, true, false, func(c *Config) any { return c.RMSNormEps }},
	{"max_position_embeddings", false, true, false, func(c *Config) any { return c.MaxPositionEmbeddings }},
}

// float32Tolerance is the relative difference within which two float
// fields agree. GGUF stores rope.freq_base and layer_norm_rms_epsilon as
// float32, whose rounding moves a value by at most 2⁻²⁴ of itself; the
// tolerance is twice that, one float32 epsilon (2⁻²³ ≈ 1.2e-7). So 1e-6
// in config.json and float32(1e-6) = 9.99999997e-7 in the metadata agree,
// while any difference a person writes (1e-6 against 1e-5, 1e4 against
// 1e6) does not.
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

// CompareConfig lists each field GGUF metadata carries on which fromGGUF,
// a Qwen3 spec read from a GGUF file, disagrees with the receiver, read
// from config.json: the dimensions and routing exactly, rope_theta and
// rms_norm_eps within float32Tolerance (the metadata holds them as
// float32), max_position_embeddings against context_length exactly. A
// key the metadata lacks compares as the value llama.cpp assumes, and the
// message says so; one llama.cpp cannot read is not compared (its
// ConfigProblems report it).
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
		var note string
		if src := g.gguf; src != nil {
			if _, bad := src.unread[f.name]; bad {
				continue
			}
			if src.absent[f.name] {
				note = fmt.Sprintf(" (%s absent: what llama.cpp assumes)", src.key(f.name))
			}
		}
		if a, b := f.get(s.cfg), f.get(g.cfg); !same(a, b) {
			out = append(out, arch.Conflict{Field: f.name, Message: fmt.Sprintf("config.json has %s %v, the GGUF metadata %v%s", f.name, a, b, note)})
		}
	}
	return out
}

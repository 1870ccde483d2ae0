package arch_test

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/arch"
)

func TestSameValue(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"equal ints", int64(8), int64(8), true},
		{"other ints", int64(8), int64(9), false},
		{"int and float", int64(1), 1.0, false},
		{"float32 rounding", 1e-6, float64(float32(1e-6)), true},
		{"a written difference", 1e-6, 1e-5, false},
		{"RoPE bases", 1e4, 1e6, false},
		{"NaN and NaN", math.NaN(), math.NaN(), true},
		{"NaN and a number", math.NaN(), 1.0, false},
		{"infinity and itself", math.Inf(1), math.Inf(1), true},
		{"infinity and the largest float", math.Inf(1), math.MaxFloat64, false},
		{"subnormals that round alike", 1e-46, 1.1e-46, true},
		{"bools", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := arch.SameValue(tt.a, tt.b); got != tt.want {
				t.Errorf("SameValue(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// published is a family's profile as MatchProfiles reads it.
type published struct {
	arch.Profile
	cfg *toy
}

var (
	toyFields = arch.Fields[toy]{
		{Name: "hidden_size", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *toy) any { return c.Hidden }},
		{Name: "num_experts", Structural: true, InGGUF: true, OfProfile: true, Get: func(c *toy) any { return c.Experts }},
		{Name: "num_key_value_heads", InGGUF: true, OfProfile: true, Get: func(c *toy) any { return c.KVHeads }},
		{Name: "rms_norm_eps", InGGUF: true, Get: func(c *toy) any { return c.Eps }},
	}
	toyProfiles = []published{
		{arch.Profile{Name: "Toy-1B", Label: "1B"}, &toy{Hidden: 32, KVHeads: 2}},
		{arch.Profile{Name: "Toy-8B", Label: "8B"}, &toy{Hidden: 64, KVHeads: 2}},
	}
)

func TestMatchProfiles(t *testing.T) {
	tests := []struct {
		name      string
		cfg       toy
		label     string
		profile   string   // "" for none
		byDims    bool     // the dimensions name it
		conflicts []string // the conflicts' fields, "label" for a label's
	}{
		{name: "by dimensions", cfg: toy{Hidden: 32, KVHeads: 2}, profile: "Toy-1B", byDims: true},
		{name: "by dimensions and label", cfg: toy{Hidden: 64, KVHeads: 2}, label: "8b", profile: "Toy-8B", byDims: true},
		{name: "routing differs", cfg: toy{Hidden: 32, KVHeads: 1, Eps: 1}, profile: "Toy-1B", byDims: true, conflicts: []string{"num_key_value_heads"}},
		{name: "label against dimensions", cfg: toy{Hidden: 32, KVHeads: 2}, label: "8B", profile: "Toy-1B", byDims: true, conflicts: []string{"label"}},
		{name: "by label alone", cfg: toy{Hidden: 48, KVHeads: 2}, label: "8B", profile: "Toy-8B", conflicts: []string{"hidden_size"}},
		{name: "neither", cfg: toy{Hidden: 48}, label: "3B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := arch.MatchProfiles(toyFields, &tt.cfg, tt.label, "name", toyProfiles, func(p *published) (*arch.Profile, *toy, bool) {
				return &p.Profile, p.cfg, strings.EqualFold(p.Label, tt.label)
			})
			var got string
			if r.Profile != nil {
				got = r.Profile.Name
			}
			fields := conflictFields(r.Conflicts)
			if got != tt.profile || (r.ByDims != nil) != tt.byDims || !cmp.Equal(fields, tt.conflicts) {
				t.Errorf("MatchProfiles = %q (by dims %v), conflicts %v; want %q (%v), %v\n%+v", got, r.ByDims != nil, fields, tt.profile, tt.byDims, tt.conflicts, r.Conflicts)
			}
			if r.Label != tt.label || (tt.label != "" && r.LabelWhere != "name") {
				t.Errorf("MatchProfiles label %q in %q, want %q in %q", r.Label, r.LabelWhere, tt.label, "name")
			}
		})
	}
}

// conflictFields returns the field of each conflict, "label" for a label
// naming another profile.
func conflictFields(cs []arch.Conflict) []string {
	var out []string
	for _, c := range cs {
		if c.Field == "" {
			c.Field = "label"
		}
		out = append(out, c.Field)
	}
	return out
}

func TestCompareGGUF(t *testing.T) {
	hf := toyConfig
	var g toy
	src, err := toyKeys.Read(meta(without(toyKeys.Write("toy", &toyConfig, false), "attention.head_count_kv", "attention.layer_norm_rms_epsilon")), &g, false)
	if err != nil {
		t.Fatal(err)
	}
	// head_count_kv absent: llama.cpp's head_count (4) against 2, said
	// so; the epsilon unreadable: not compared; the experts not read.
	got := toyFields.CompareGGUF(&hf, &g, src)
	want := []arch.Conflict{
		{Field: "num_experts", Message: "config.json has num_experts 4, the GGUF metadata 0"},
		{Field: "num_key_value_heads", Message: "config.json has num_key_value_heads 2, the GGUF metadata 4 (toy.attention.head_count_kv absent: what llama.cpp assumes)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CompareGGUF (-want +got):\n%s", diff)
	}
	if got := toyFields.CompareGGUF(&hf, &hf, nil); got != nil {
		t.Errorf("CompareGGUF of a config with itself = %v, want none", got)
	}
}

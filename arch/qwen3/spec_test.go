package qwen3_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// Locate must agree with the expected list it stands in for, entry by
// entry, for every shape of config and both formats, and know nothing
// else.
func TestLocateMatchesExpected(t *testing.T) {
	mixed := qwen3.TinyMoE()
	mixed.NumHiddenLayers, mixed.DecoderSparseStep, mixed.MLPOnlyLayers, mixed.TieWordEmbeddings = 7, 2, []int64{5}, true
	dense := qwen3.TinyMoE()
	dense.ModelType, dense.NumExperts, dense.NumExpertsPerTok = "qwen3", 0, 0
	for name, cfg := range map[string]*qwen3.Config{"235B": qwen3.Qwen3_235B_A22B(), "tiny": qwen3.TinyMoE(), "mixed": mixed, "dense": dense} {
		spec, err := qwen3.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
			exp := spec.Expected(f)
			if spec.Count(f) != len(exp) {
				t.Errorf("%s %s: Count = %d, len(Expected) = %d", name, f, spec.Count(f), len(exp))
			}
			for i, want := range exp {
				got, idx, ok := spec.Locate(f, want.Name)
				if !ok || idx != i || got.Name != want.Name || !slices.Equal(got.Shape, want.Shape) ||
					got.Layer != want.Layer || got.Component != want.Component || got.Expert != want.Expert {
					t.Fatalf("%s %s: Locate(%q) = %+v, %d, %v; want %+v, %d", name, f, want.Name, got, idx, ok, want, i)
				}
			}
			for _, bad := range []string{"", "model.layers.", "model.layers.7.self_attn.q_proj.weight", "model.layers.01.input_layernorm.weight",
				"blk.0.attn_q.bias", "model.layers.0.mlp.experts.4.gate_proj.weight", "model.layers.0.mlp.experts.x.up_proj.weight",
				"blk.99.attn_q.weight", "model.layers.-1.input_layernorm.weight", fmt.Sprintf("model.layers.%d.mlp.experts.0.gate_proj.weight", 1<<40)} {
				if e, _, ok := spec.Locate(f, bad); ok && !slices.ContainsFunc(exp, func(x arch.Expected) bool { return x.Name == bad }) {
					t.Errorf("%s %s: Locate(%q) = %+v, want not found", name, f, bad, e)
				}
			}
		}
	}
}

// mustSpec returns the spec of c by its model_type.
func mustSpec(tb testing.TB, c *qwen3.Config) *qwen3.Spec {
	tb.Helper()
	s, err := qwen3.New(c)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// hf and gg list the expected tensors of c in each format.
func hf(tb testing.TB, c *qwen3.Config) []arch.Expected {
	return mustSpec(tb, c).Expected(checkpoint.FormatSafetensors)
}

func gg(tb testing.TB, c *qwen3.Config) []arch.Expected {
	return mustSpec(tb, c).Expected(checkpoint.FormatGGUF)
}

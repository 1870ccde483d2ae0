package qwen3_test

import (
	"fmt"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// Locate and Assign must agree with the expected list they stand in for,
// entry by entry, for every shape of config and both formats, and know
// nothing else.
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
		for _, f := range archtest.Formats {
			bad := []string{"", "model.layers.", "model.layers.7.self_attn.q_proj.weight", "model.layers.01.input_layernorm.weight",
				"blk.0.attn_q.bias", "model.layers.0.mlp.experts.4.gate_proj.weight", "model.layers.0.mlp.experts.x.up_proj.weight",
				"blk.99.attn_q.weight", "model.layers.-1.input_layernorm.weight", fmt.Sprintf("model.layers.%d.mlp.experts.0.gate_proj.weight", 1<<40)}
			t.Run(name+"/"+string(f), func(t *testing.T) { archtest.CheckTable(t, spec, f, bad...) })
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

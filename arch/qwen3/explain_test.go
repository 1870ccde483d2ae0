package qwen3_test

import (
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// ExplainShapes blames a config.json field every tensor contradicts, and
// nothing when the tensors agree or the fault is theirs.
func TestExplainShapes(t *testing.T) {
	syn := archtest.Synth{HF: synth.HFOptions{DType: safetensors.F32}}
	inv := syn.Load(t, "tiny", qwen3.MustNew(qwen3.TinyMoE()), checkpoint.FormatSafetensors).Inventory()
	tests := []struct {
		name  string
		edit  func(c *qwen3.Config)
		field string // "" for no blame
		msg   string
	}{
		{"agrees", func(*qwen3.Config) {}, "", ""},
		{"experts", func(c *qwen3.Config) { c.NumExperts = 3 }, "num_experts", "num_experts is 3, but the tensors hold 4"},
		{"expert width", func(c *qwen3.Config) { c.MoEIntermediateSize = 16 }, "moe_intermediate_size", "is 16, but the tensors hold 32"},
		{"hidden", func(c *qwen3.Config) { c.HiddenSize = 64 }, "hidden_size", "is 64, but the tensors hold 32"},
		{"kv heads", func(c *qwen3.Config) { c.NumKeyValueHeads = 4 }, "num_key_value_heads", "is 4, but the tensors hold 2"},
		// Fewer layers stored than the config says: a lost layer, not a
		// wrong config.
		{"layers", func(c *qwen3.Config) { c.NumHiddenLayers = 3 }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := qwen3.TinyMoE()
			tt.edit(c)
			got := qwen3.MustNew(c).ExplainShapes(inv)
			switch {
			case tt.field == "" && len(got) != 0:
				t.Errorf("ExplainShapes = %+v, want none", got)
			case tt.field != "" && (len(got) != 1 || got[0].Field != tt.field || got[0].File != "config.json" || !strings.Contains(got[0].Message, tt.msg)):
				t.Errorf("ExplainShapes = %+v, want one blaming %s with %q", got, tt.field, tt.msg)
			}
		})
	}
}

package qwen3_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
)

// Every config no model can have is refused with arch.ErrConfig, naming
// the key, before any count is computed from it.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *qwen3.Config)
		wantMsg string
	}{
		{"no hidden size", func(c *qwen3.Config) { c.HiddenSize = 0 }, `"hidden_size"`},
		{"negative vocab", func(c *qwen3.Config) { c.VocabSize = -1 }, `"vocab_size"`},
		{"no KV heads", func(c *qwen3.Config) { c.NumKeyValueHeads = 0 }, `"num_key_value_heads"`},
		{"heads do not group", func(c *qwen3.Config) { c.NumKeyValueHeads = 3 }, "num_key_value_heads 3"},
		{"top-k above E", func(c *qwen3.Config) { c.NumExpertsPerTok = 129 }, `"num_experts_per_tok"`},
		{"top-k 0", func(c *qwen3.Config) { c.NumExpertsPerTok = 0 }, `"num_experts_per_tok"`},
		{"negative experts", func(c *qwen3.Config) { c.NumExperts = -2 }, `"num_experts"`},
		{"experts without width", func(c *qwen3.Config) { c.MoEIntermediateSize = 0 }, `"moe_intermediate_size"`},
		{"dense layer without width", func(c *qwen3.Config) { c.IntermediateSize, c.MLPOnlyLayers = 0, []int64{3} }, "layer 3"},
		{"too many layers", func(c *qwen3.Config) { c.NumHiddenLayers = 1 << 20 }, "limit"},
		{"dimension beyond the limit", func(c *qwen3.Config) { c.VocabSize, c.HiddenSize = 1<<40, 1<<40 }, "limit"},
		// Within every limit, yet 94 layers of 2^20 experts of width 2^20
		// on a 2^20-wide stream hold about 94 · 3 · 2^60 parameters.
		{"parameter count overflows", func(c *qwen3.Config) { c.HiddenSize, c.NumExperts, c.MoEIntermediateSize = 1<<20, 1<<20, 1<<20 }, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := qwen3.Qwen3_235B_A22B()
			tt.edit(c)
			_, err := qwen3.NewMoE(c)
			if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("NewMoE(%s) error = %v, want arch.ErrConfig naming %s", tt.name, err, tt.wantMsg)
			}
		})
	}
	for _, c := range []*qwen3.Config{qwen3.Qwen3_235B_A22B(), qwen3.Qwen3_30B_A3B(), qwen3.TinyMoE()} {
		if _, err := qwen3.NewMoE(c); err != nil {
			t.Errorf("NewMoE(published %d layers) = %v", c.NumHiddenLayers, err)
		}
	}
}

// transformers 5 writes the RoPE base inside rope_parameters; it takes
// precedence over a top-level rope_theta, as standardize_rope_params
// gives it.
func TestRopeParameters(t *testing.T) {
	for _, tt := range []struct {
		json string
		want float64
	}{
		{`{"model_type": "qwen3_moe", "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}`, 1e6},
		{`{"model_type": "qwen3_moe", "rope_theta": 5000, "rope_parameters": {"rope_theta": 1000000.0}}`, 1e6},
		{`{"model_type": "qwen3_moe", "rope_theta": 5000, "rope_parameters": null}`, 5000},
		{`{"model_type": "qwen3_moe"}`, 10000},
	} {
		c, err := qwen3.ParseConfig([]byte(tt.json))
		if err != nil || c.RopeTheta != tt.want {
			t.Errorf("%s: rope_theta %v, %v; want %v", tt.json, c.RopeTheta, err, tt.want)
		}
	}
	if _, err := qwen3.ParseConfig([]byte(`{"model_type": "qwen3_moe", "rope_parameters": {"rope_theta": "x"}}`)); err == nil || !strings.Contains(err.Error(), "rope_parameters") {
		t.Errorf("a string rope_theta: %v, want an error naming rope_parameters", err)
	}
}

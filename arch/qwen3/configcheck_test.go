package qwen3_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
)

// A config.json that omits rope_theta, rms_norm_eps and
// max_position_embeddings gets transformers' defaults
// (Qwen3MoeConfig: rope_theta 10000, rms_norm_eps 1e-6,
// max_position_embeddings 32768), not zeros.
func TestParseConfigDefaults(t *testing.T) {
	c, err := qwen3.ParseConfig([]byte(`{"model_type": "qwen3_moe", "vocab_size": 64, "hidden_size": 32,
		"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32, "Rope_Theta": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.RopeTheta != 10000 || c.RMSNormEps != 1e-6 || c.MaxPositionEmbeddings != 32768 || c.HeadDim != 8 || c.DecoderSparseStep != 1 {
		t.Errorf("ParseConfig = rope_theta %v, rms_norm_eps %v, max_position_embeddings %d, head_dim %d, decoder_sparse_step %d; want 10000, 1e-06, 32768, 8, 1",
			c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings, c.HeadDim, c.DecoderSparseStep)
	}
}

// Values no model runs with are problems the spec reports, not errors
// that stop the count: each names its key.
func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *qwen3.Config)
		want []arch.Conflict
	}{
		{"clean", func(c *qwen3.Config) {}, nil},
		{"epsilon 0 is allowed", func(c *qwen3.Config) { c.RMSNormEps = 0 }, nil},
		{"negative rope_theta", func(c *qwen3.Config) { c.RopeTheta = -1 },
			[]arch.Conflict{{Field: "rope_theta", Message: "rope_theta is -1, want a positive finite number"}}},
		{"rope_theta 0", func(c *qwen3.Config) { c.RopeTheta = 0 },
			[]arch.Conflict{{Field: "rope_theta", Message: "rope_theta is 0, want a positive finite number"}}},
		{"rope_theta NaN", func(c *qwen3.Config) { c.RopeTheta = math.NaN() },
			[]arch.Conflict{{Field: "rope_theta", Message: "rope_theta is NaN, want a positive finite number"}}},
		{"negative rms_norm_eps", func(c *qwen3.Config) { c.RMSNormEps = -1e-6 },
			[]arch.Conflict{{Field: "rms_norm_eps", Message: "rms_norm_eps is -1e-06, want a finite number ≥ 0"}}},
		{"infinite rms_norm_eps", func(c *qwen3.Config) { c.RMSNormEps = math.Inf(1) },
			[]arch.Conflict{{Field: "rms_norm_eps", Message: "rms_norm_eps is +Inf, want a finite number ≥ 0"}}},
		{"all three", func(c *qwen3.Config) {
			c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = math.Inf(1), math.NaN(), -5
		},
			[]arch.Conflict{
				{Field: "rope_theta", Message: "rope_theta is +Inf, want a positive finite number"},
				{Field: "rms_norm_eps", Message: "rms_norm_eps is NaN, want a finite number ≥ 0"},
				{Field: "max_position_embeddings", Message: "max_position_embeddings is -5, want ≥ 1"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := qwen3.TinyMoE()
			tt.edit(c)
			s, err := qwen3.NewMoE(c)
			if err != nil {
				t.Fatalf("NewMoE = %v; these values must not stop the count", err)
			}
			if diff := cmp.Diff(tt.want, s.ConfigProblems()); diff != "" {
				t.Errorf("ConfigProblems() (-want +got):\n%s", diff)
			}
		})
	}
}

// CompareConfig compares rope_theta, rms_norm_eps and
// max_position_embeddings too: the floats within one float32 epsilon
// (2^-23 ≈ 1.19e-7) relative, so that a value and its float32 rounding
// agree, and nothing a person writes differently does.
func TestCompareConfigFloats(t *testing.T) {
	f32 := func(x float64) float64 { return float64(float32(x)) }
	tests := []struct {
		name       string
		hf, fromGG func(c *qwen3.Config)
		want       []string // the fields in conflict
	}{
		{"float32 rounding agrees", func(c *qwen3.Config) {}, func(c *qwen3.Config) { c.RMSNormEps, c.RopeTheta = f32(1e-6), f32(1e6) }, nil},
		{"1e-5 against 1e-6", func(c *qwen3.Config) { c.RMSNormEps = 1e-5 }, func(c *qwen3.Config) {}, []string{"rms_norm_eps"}},
		// 1e-6 relative is well beyond float32's rounding.
		{"one part in a million", func(c *qwen3.Config) { c.RMSNormEps = 1e-6 * (1 + 1e-6) }, func(c *qwen3.Config) {}, []string{"rms_norm_eps"}},
		{"rope_theta 1e4 against 1e6", func(c *qwen3.Config) { c.RopeTheta = 1e4 }, func(c *qwen3.Config) {}, []string{"rope_theta"}},
		{"infinite rope_theta", func(c *qwen3.Config) { c.RopeTheta = math.Inf(1) }, func(c *qwen3.Config) {}, []string{"rope_theta"}},
		{"beyond float32's range", func(c *qwen3.Config) { c.RopeTheta = 1e300 }, func(c *qwen3.Config) { c.RopeTheta = 1e301 }, []string{"rope_theta"}},
		{"subnormal float32 rounding agrees", func(c *qwen3.Config) { c.RMSNormEps = 1e-40 }, func(c *qwen3.Config) { c.RMSNormEps = f32(1e-40) }, nil},
		{"context length", func(c *qwen3.Config) { c.MaxPositionEmbeddings = 40960 }, func(c *qwen3.Config) {}, []string{"max_position_embeddings"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := qwen3.TinyMoE(), qwen3.TinyMoE()
			tt.hf(a)
			tt.fromGG(b)
			var got []string
			for _, c := range qwen3.MustNew(a).CompareConfig(qwen3.MustNew(b)) {
				got = append(got, c.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CompareConfig fields (-want +got):\n%s", diff)
			}
		})
	}
}

// The published profiles are not held to a context length or RoPE base: a
// fine-tune that extends the context is still the model.
func TestRecognizeIgnoresContext(t *testing.T) {
	c := qwen3.Qwen3_235B_A22B()
	c.MaxPositionEmbeddings, c.RopeTheta = 131072, 5e6
	r := qwen3.MustNew(c).Recognize("Qwen3-235B-A22B")
	if r.Profile == nil || r.Profile.Name != "Qwen3-235B-A22B" || len(r.Conflicts) != 0 {
		t.Errorf("Recognize = profile %v, conflicts %+v; want Qwen3-235B-A22B without any", r.Profile, r.Conflicts)
	}
}

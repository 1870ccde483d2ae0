package qwen3_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen3"
)

// Expected figures are worked by hand in ../shared/reference/qwen3moe.md
// and, for 30B-A3B, here: per layer attention 2048·4096·2 + 2048·512·2 + 256
// = 18,874,624, router 262,144, experts 128·3·2048·768 = 603,979,776,
// norms 4,096; active experts 8·3·2048·768 = 37,748,736.
func TestPredict(t *testing.T) {
	tests := []struct {
		name          string
		cfg           func() *qwen3.Config
		total, active int64
	}{
		{"Qwen3-235B-A22B", qwen3.Qwen3_235B_A22B, 235_093_634_560, 22_190_763_520},
		{"Qwen3-30B-A3B", qwen3.Qwen3_30B_A3B, 30_532_122_624, 48*(18_874_624+262_144+37_748_736+4_096) + 2*151936*2048 + 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.cfg().Predict()
			if p.Total != tt.total || p.Active != tt.active {
				t.Errorf("Predict() = total %d, active %d; want %d, %d", p.Total, p.Active, tt.total, tt.active)
			}
			var sum int64
			for _, n := range p.Components {
				sum += n
			}
			if sum != p.Total {
				t.Errorf("components sum to %d, total is %d", sum, p.Total)
			}
		})
	}
	c := qwen3.Qwen3_235B_A22B()
	p := c.Predict()
	if got := p.Components[arch.CompEmbedding]; got != 622_329_856 {
		t.Errorf("embedding = %d, want 622,329,856", got)
	}
	if got := p.Layers[0].Total; got != 71_303_424+524_288+2_415_919_104+8_192 {
		t.Errorf("layer 0 = %d", got)
	}
	// 25.7 B active with top-10, as the issue works out.
	c.NumExpertsPerTok = 10
	if a := c.Predict().Active; a < 25_600_000_000 || a > 25_800_000_000 {
		t.Errorf("active with top-10 = %d, want about 25.7 B", a)
	}
	// Tied embeddings drop lm_head.
	c = qwen3.Qwen3_235B_A22B()
	c.TieWordEmbeddings = true
	if got := c.Predict().Total; got != 235_093_634_560-622_329_856 {
		t.Errorf("tied total = %d", got)
	}
}

// The prediction and the expected tensor list are two independent
// derivations from the same config: they must agree for every shape of
// config, dense layers included.
func TestPredictMatchesExpected(t *testing.T) {
	cfgs := map[string]*qwen3.Config{"235B": qwen3.Qwen3_235B_A22B(), "tiny": qwen3.TinyMoE()}
	mixed := qwen3.TinyMoE()
	mixed.NumHiddenLayers, mixed.DecoderSparseStep, mixed.MLPOnlyLayers, mixed.TieWordEmbeddings = 7, 2, []int64{5}, true
	cfgs["mixed"] = mixed
	dense := qwen3.TinyMoE()
	dense.NumExperts, dense.ModelType = 0, "qwen3"
	cfgs["dense"] = dense
	for name, c := range cfgs {
		for _, f := range archtest.Formats {
			if err := archtest.CheckPrediction(mustSpec(t, c), f); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

package phi3_test

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The forward wiring of each config and format, spelled out: the fused
// projections; for config.json the sliding window and LongRoPE with the
// short factors and the attention factor √(1 + ln 4 / ln 64) = √(4/3)
// (Tiny: 256 positions over 64); for the GGUF file, read back from its
// metadata, no window (llama.cpp disables Phi-3's), the factors left to
// the file's rope_factors_short.weight and the converter's
// rope.scaling.attn_factor through float32.
func TestForwardConfig(t *testing.T) {
	base := forward.Config{Hidden: 32, Heads: 4, KVHeads: 2, HeadDim: 8, FusedQKV: true, FusedGateUp: true, Eps: 1e-5, Theta: 10000}
	with := func(edit func(*forward.Config)) forward.Config {
		c := base
		edit(&c)
		return c
	}
	plain := phi3.Tiny()
	plain.RopeScaling = nil
	given := phi3.Tiny()
	af := 1.5
	given.RopeScaling.AttentionFactor = &af
	attn := math.Sqrt(4.0 / 3)
	tests := []struct {
		name     string
		cfg      *phi3.Config
		hf, gguf forward.Config
	}{
		{"longrope", phi3.Tiny(),
			with(func(c *forward.Config) {
				c.Window, c.Scaling = 128, forward.RopeScaling{Type: forward.RopeLongRoPE, Name: "longrope", Factors: []float32{1, 1, 1, 1}, AttnFactor: attn}
			}),
			with(func(c *forward.Config) {
				c.Scaling = forward.RopeScaling{Type: forward.RopeLongRoPE, Name: "longrope", AttnFactor: float64(float32(attn))}
			})},
		// rope_scaling's attention_factor is transformers'; the converter
		// ignores it and writes its own.
		{"attention_factor given", given,
			with(func(c *forward.Config) {
				c.Window, c.Scaling = 128, forward.RopeScaling{Type: forward.RopeLongRoPE, Name: "longrope", Factors: []float32{1, 1, 1, 1}, AttnFactor: 1.5}
			}),
			with(func(c *forward.Config) {
				c.Scaling = forward.RopeScaling{Type: forward.RopeLongRoPE, Name: "longrope", AttnFactor: float64(float32(attn))}
			})},
		{"no scaling", plain, with(func(c *forward.Config) { c.Window = 128 }), base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := phi3.MustNew(tt.cfg)
			// √(1 + ln 4 / ln 64) rounds apart from √(4/3) in the last bit.
			if diff := cmp.Diff(tt.hf, spec.Forward(checkpoint.FormatSafetensors), cmpopts.EquateApprox(1e-15, 0)); diff != "" {
				t.Errorf("Forward(safetensors) mismatch (-want +got):\n%s", diff)
			}
			got, _, err := arch.FromCheckpoint(archtest.Default.Load(t, "m", spec, checkpoint.FormatGGUF))
			if err != nil {
				t.Fatal(err)
			}
			fw := got.(arch.Forwarder)
			if diff := cmp.Diff(tt.gguf, fw.Forward(checkpoint.FormatGGUF), cmpopts.EquateApprox(1e-7, 0)); diff != "" {
				t.Errorf("Forward(gguf) of the GGUF file's spec mismatch (-want +got):\n%s", diff)
			}
			if fw.Sparse(0) || fw.NormEps() != float64(float32(1e-5)) {
				t.Errorf("Sparse(0) = %v, NormEps() = %v", fw.Sparse(0), fw.NormEps())
			}
		})
	}
}

// What the kernels do not compute declines: Phi-4-mini's partial rotary
// factor, another activation, a rope_scaling type other than LongRoPE's
// ("yarn", which transformers reads as longrope but llama.cpp's
// converter scales otherwise), LongRoPE without head_dim/2 short factors
// (Phi3_5Mini reproduces no factors). "su" is LongRoPE's old name.
func TestForwardUnsupported(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(c *phi3.Config)
		scaling     forward.RopeType
		unsupported string
	}{
		{"su", func(c *phi3.Config) { c.RopeScaling.Type = "su" }, forward.RopeLongRoPE, ""},
		{"silu", func(c *phi3.Config) { c.HiddenAct, c.PartialRotaryFactor = "silu", 1 }, forward.RopeLongRoPE, ""},
		{"partial rotary", func(c *phi3.Config) { c.PartialRotaryFactor = 0.75 }, forward.RopeLongRoPE, "partial_rotary_factor 0.75"},
		{"gelu", func(c *phi3.Config) { c.HiddenAct = "gelu_new" }, forward.RopeLongRoPE, `hidden_act "gelu_new"`},
		{"yarn", func(c *phi3.Config) { c.RopeScaling.Type = "yarn" }, forward.RopeUnsupported, ""},
		{"no short factors", func(c *phi3.Config) { c.RopeScaling.ShortFactor = nil }, forward.RopeUnsupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := phi3.Tiny()
			tt.edit(c)
			fc := phi3.MustNew(c).Forward(checkpoint.FormatSafetensors)
			if fc.Scaling.Type != tt.scaling || fc.Unsupported != tt.unsupported {
				t.Errorf("Forward: scaling %v (%q), unsupported %q; want %v, %q", fc.Scaling.Type, fc.Scaling.Name, fc.Unsupported, tt.scaling, tt.unsupported)
			}
		})
	}
}

// The attention factor the converter writes, and reads back: for Tiny
// √(4/3) (s = 4, ln 4 / ln 64 = 1/3); none without LongRoPE.
func TestGGUFAttnFactor(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  *phi3.Config
		want float64 // 0: no key
	}{{"tiny", phi3.Tiny(), math.Sqrt(4.0 / 3)}, {"mini 4k", phi3.Phi3Mini4K(), 0}} {
		var got float64
		for _, kv := range phi3.MustNew(tt.cfg).GGUFMetadata() {
			if kv.Key == "phi3.rope.scaling.attn_factor" {
				f, _ := kv.Value.AsFloat()
				got = f
			}
		}
		if got != float64(float32(tt.want)) {
			t.Errorf("%s: rope.scaling.attn_factor %v, want %v", tt.name, got, tt.want)
		}
	}
}

// On the synthesized layout (data all zeros; the GGUF file's LongRoPE
// factors too, which the kernels refuse) the spot-check runs Phi-3's
// block from config.json and names the dead embedding.
func TestSpotCheckWiring(t *testing.T) {
	ck := archtest.Default.Load(t, "tiny", phi3.MustNew(phi3.Tiny()), checkpoint.FormatSafetensors)
	r, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Layer: 1, Tokens: []int{1}})
	if err != nil || len(r.Dead) == 0 || r.Dead[0].Kind != spotcheck.DeadEmbedding {
		t.Errorf("spotcheck.Run = %+v, %v; want the zero embedding named", r, err)
	}
}

package llama_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The forward wiring of each model and format, spelled out: what
// transformers computes from config.json, and what llama.cpp's converter
// changed in a GGUF file (Q/K rows permuted, the llama3 scaling as
// rope_freqs, no sliding window). The numbers come from the tiny configs.
func TestForwardConfig(t *testing.T) {
	yarn := llama.TinyDense()
	yarn.RopeScaling = &llama.RopeScaling{RopeType: "yarn", Factor: 4}
	linear := llama.TinyDense()
	linear.RopeScaling = &llama.RopeScaling{Type: "linear", Factor: 4}
	params := llama.TinyDense() // transformers 5 writes rope_parameters
	params.RopeScaling, params.RopeParameters = nil, &llama.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64, RopeTheta: 500000}
	base := forward.Config{Hidden: 32, Heads: 4, KVHeads: 2, HeadDim: 8, Eps: 1e-5, Theta: 500000}
	yarn4 := forward.RopeScaling{Type: forward.RopeYaRN, Name: "yarn", Factor: 4, OriginalMaxPositions: 128, BetaFast: 32, BetaSlow: 1,
		Truncate: true, AttnFactor: 0.1*math.Log(4) + 1}
	l3 := forward.RopeScaling{Type: forward.RopeLlama3, Name: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 64}
	with := func(edit func(*forward.Config)) forward.Config {
		c := base
		edit(&c)
		return c
	}
	tests := []struct {
		name     string
		cfg      *llama.Config
		hf, gguf forward.Config
	}{
		{"llama 3.1 (llama3 scaling)", llama.TinyDense(),
			with(func(c *forward.Config) { c.Scaling = l3 }),
			with(func(c *forward.Config) {
				c.Scaling, c.Layout = forward.RopeScaling{Type: forward.RopeFreqFactors, Name: "llama3"}, forward.RopeInterleaved
			})},
		{"rope_parameters", params,
			with(func(c *forward.Config) { c.Scaling = l3 }),
			with(func(c *forward.Config) {
				c.Scaling, c.Layout = forward.RopeScaling{Type: forward.RopeFreqFactors, Name: "llama3"}, forward.RopeInterleaved
			})},
		{"linear", linear,
			with(func(c *forward.Config) {
				c.Scaling = forward.RopeScaling{Type: forward.RopeLinear, Name: "linear", Factor: 4}
			}),
			with(func(c *forward.Config) {
				c.Scaling, c.Layout = forward.RopeScaling{Type: forward.RopeLinear, Name: "linear", Factor: 4}, forward.RopeInterleaved
			})},
		// transformers' _compute_yarn_parameters defaults: the original
		// context max_position_embeddings (128), betas 32 and 1, truncate,
		// attention factor 0.1·ln(4) + 1. The converter's TextModel writes
		// rope.scaling.type yarn, the factor and the original context;
		// llama.cpp always truncates.
		{"yarn", yarn,
			with(func(c *forward.Config) { c.Scaling = yarn4 }),
			with(func(c *forward.Config) { c.Scaling, c.Layout = yarn4, forward.RopeInterleaved })},
		{"mistral (sliding window 16)", llama.TinyMistral(),
			with(func(c *forward.Config) { c.Theta, c.Window = 10000, 16 }),
			with(func(c *forward.Config) { c.Theta, c.Layout = 10000, forward.RopeInterleaved })},
		{"mixtral", llama.TinyMoE(),
			with(func(c *forward.Config) { c.Theta, c.Experts, c.TopK, c.NormTopK = 1e6, 4, 2, true }),
			with(func(c *forward.Config) {
				c.Theta, c.Experts, c.TopK, c.NormTopK, c.Layout = 1e6, 4, 2, true, forward.RopeInterleaved
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := llama.MustNew(tt.cfg)
			if diff := cmp.Diff(tt.hf, spec.Forward(checkpoint.FormatSafetensors)); diff != "" {
				t.Errorf("Forward(safetensors) mismatch (-want +got):\n%s", diff)
			}
			// The GGUF file's own spec, read back from its metadata.
			ck := archtest.Default.Load(t, "m", spec, checkpoint.FormatGGUF)
			got, _, err := arch.FromCheckpoint(ck)
			if err != nil {
				t.Fatal(err)
			}
			fw := got.(arch.Forwarder)
			// The floats as float32 (rms_norm_eps, rope.scaling.factor).
			if diff := cmp.Diff(tt.gguf, fw.Forward(checkpoint.FormatGGUF), cmpopts.EquateApprox(1e-7, 0)); diff != "" {
				t.Errorf("Forward(gguf) of the GGUF file's spec mismatch (-want +got):\n%s", diff)
			}
			if fw.Sparse(0) != (tt.cfg.NumLocalExperts > 0) || fw.NormEps() != float64(float32(tt.cfg.RMSNormEps)) {
				t.Errorf("Sparse(0) = %v, NormEps() = %v", fw.Sparse(0), fw.NormEps())
			}
		})
	}
}

// A GGUF file's llama.rope.scaling.type is read: yarn as llama.cpp runs
// it (the original context defaulting to the training context), a type
// the kernels do not implement declines the spot-check (its Forward says
// unsupported), and a
// linear type without a factor is llama.cpp's no scaling.
func TestForwardGGUFScalingType(t *testing.T) {
	tests := []struct {
		name string
		kvs  []gguf.KV
		want forward.RopeScaling
	}{
		{"yarn", []gguf.KV{{Key: "llama.rope.scaling.type", Value: gguf.String("yarn")}, {Key: "llama.rope.scaling.factor", Value: gguf.Float32(4)}},
			forward.RopeScaling{Type: forward.RopeYaRN, Name: "yarn", Factor: 4, OriginalMaxPositions: 128, BetaFast: 32, BetaSlow: 1,
				Truncate: true, AttnFactor: 0.1*math.Log(4) + 1}},
		{"dynamic", []gguf.KV{{Key: "llama.rope.scaling.type", Value: gguf.String("dynamic")}, {Key: "llama.rope.scaling.factor", Value: gguf.Float32(2)}},
			forward.RopeScaling{Type: forward.RopeUnsupported, Name: "dynamic"}},
		{"linear without factor", []gguf.KV{{Key: "llama.rope.scaling.type", Value: gguf.String("linear")}}, forward.RopeScaling{}},
		{"none", []gguf.KV{{Key: "llama.rope.scaling.type", Value: gguf.String("none")}}, forward.RopeScaling{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := llama.TinyDense()
			c.RopeScaling = nil
			l := archtest.Default.Layout(t, "m", llama.MustNew(c), checkpoint.FormatGGUF)
			src := l.Source()
			editGGUF(t, l, src, func(kvs []gguf.KV) []gguf.KV { return append(kvs, tt.kvs...) })
			spec, _, err := arch.FromCheckpoint(load(t, src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, spec.(arch.Forwarder).Forward(checkpoint.FormatGGUF).Scaling, cmpopts.EquateApprox(1e-7, 0)); diff != "" {
				t.Errorf("Forward(gguf).Scaling mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// A factor that is not a float is the metadata's error.
	c := llama.TinyDense()
	c.RopeScaling = nil
	l := archtest.Default.Layout(t, "m", llama.MustNew(c), checkpoint.FormatGGUF)
	src := l.Source()
	editGGUF(t, l, src, func(kvs []gguf.KV) []gguf.KV {
		return append(kvs, gguf.KV{Key: "llama.rope.scaling.type", Value: gguf.String("linear")},
			gguf.KV{Key: "llama.rope.scaling.factor", Value: gguf.String("4")})
	})
	if _, _, err := arch.FromCheckpoint(load(t, src)); !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), "llama.rope.scaling.factor") {
		t.Errorf("FromCheckpoint(factor a string) = %v, want arch.ErrConfig naming llama.rope.scaling.factor", err)
	}
}

package qwen2_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/cost"
)

// Every config no model can have is refused with arch.ErrConfig, naming
// the key, before any count is computed from it.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *qwen2.Config)
		wantMsg string
	}{
		{"no hidden size", func(c *qwen2.Config) { c.HiddenSize = 0 }, `"hidden_size"`},
		{"negative vocab", func(c *qwen2.Config) { c.VocabSize = -1 }, `"vocab_size"`},
		{"no MLP width", func(c *qwen2.Config) { c.IntermediateSize = 0 }, `"intermediate_size"`},
		{"no layers", func(c *qwen2.Config) { c.NumHiddenLayers = 0 }, `"num_hidden_layers"`},
		{"no heads", func(c *qwen2.Config) { c.NumAttentionHeads = 0 }, `"num_attention_heads"`},
		{"no KV heads", func(c *qwen2.Config) { c.NumKeyValueHeads = 0 }, `"num_key_value_heads"`},
		{"negative head_dim", func(c *qwen2.Config) { c.HeadDim = -128 }, `"head_dim"`},
		{"heads do not group", func(c *qwen2.Config) { c.NumKeyValueHeads = 3 }, "num_key_value_heads 3"},
		{"too many layers", func(c *qwen2.Config) { c.NumHiddenLayers = 1 << 20 }, "limit"},
		{"dimension beyond the limit", func(c *qwen2.Config) { c.VocabSize = 1 << 40 }, `"vocab_size"`},
		// Within every limit, yet 4096 layers of a 2^20-wide stream with
		// 2^20-wide heads hold about 4096 · 4 · 2^60 parameters.
		{"parameter count overflows", func(c *qwen2.Config) {
			c.HiddenSize, c.HeadDim, c.NumAttentionHeads, c.NumKeyValueHeads, c.NumHiddenLayers = 1<<20, 1<<20, 1<<20, 1<<20, 4096
		}, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := qwen2.Qwen2_5_72B()
			tt.edit(c)
			_, err := qwen2.New(c)
			if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("New(%s) error = %v, want arch.ErrConfig naming %s", tt.name, err, tt.wantMsg)
			}
		})
	}
	for _, c := range []*qwen2.Config{qwen2.Qwen2_5_7B(), qwen2.Qwen2_5_0_5B(), qwen2.Qwen2_5_72B(), qwen2.Tiny()} {
		if _, err := qwen2.New(c); err != nil {
			t.Errorf("New(published %d layers) = %v", c.NumHiddenLayers, err)
		}
	}
}

// A config.json is refused through the registry as well, naming the key:
// a dimension it lacks, or a value of the wrong type.
func TestFromConfigErrors(t *testing.T) {
	full := map[string]any{"model_type": "qwen2", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
		"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
	tests := []struct {
		name string
		edit func(m map[string]any)
		key  string
	}{
		{"no intermediate_size", func(m map[string]any) { delete(m, "intermediate_size") }, `"intermediate_size"`},
		{"no num_key_value_heads", func(m map[string]any) { delete(m, "num_key_value_heads") }, `"num_key_value_heads"`},
		{"hidden_size a string", func(m map[string]any) { m["hidden_size"] = "32" }, `"hidden_size"`},
		{"sliding_window a string", func(m map[string]any) { m["sliding_window"] = "4096" }, `"sliding_window"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range full {
				m[k] = v
			}
			tt.edit(m)
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = arch.FromConfig(data)
			if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("FromConfig(%s) error = %v, want arch.ErrConfig naming %s", tt.name, err, tt.key)
			}
		})
	}
	data, _ := json.Marshal(full)
	if s, err := arch.FromConfig(data); err != nil || s.Family() != "qwen2" {
		t.Errorf("FromConfig(complete) = %v, %v; want a qwen2 spec", s, err)
	}
}

// A config.json that omits the optional keys gets Qwen2Config's defaults
// (rope_theta 10000, rms_norm_eps 1e-6, max_position_embeddings 32768,
// sliding_window 4096, max_window_layers 28, head_dim hidden_size / heads),
// not zeros; a null sliding_window is None, as transformers reads it.
func TestParseConfigDefaults(t *testing.T) {
	c, err := qwen2.ParseConfig([]byte(`{"model_type": "qwen2", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
		"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "Rope_Theta": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.RopeTheta != 10000 || c.RMSNormEps != 1e-6 || c.MaxPositionEmbeddings != 32768 || c.HeadDim != 8 ||
		c.SlidingWindow == nil || *c.SlidingWindow != 4096 || c.MaxWindowLayers != 28 || c.UseSlidingWindow || c.TieWordEmbeddings {
		t.Errorf("ParseConfig = %+v; want the defaults", c)
	}
	c, err = qwen2.ParseConfig([]byte(`{"sliding_window": null, "head_dim": 16, "hidden_size": 32, "num_attention_heads": 4}`))
	if err != nil || c.SlidingWindow != nil || c.HeadDim != 16 {
		t.Errorf("ParseConfig(null sliding_window, head_dim 16) = %+v, %v; want no window and head_dim 16", c, err)
	}
}

// transformers 5 writes the RoPE base inside rope_parameters, and its
// standardize_rope_params prefers it there to a top-level rope_theta.
func TestParseConfigRopeParameters(t *testing.T) {
	tests := []struct {
		json string
		want float64
	}{
		{`{"rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}`, 1e6},
		{`{"rope_theta": 5e5, "rope_parameters": {"rope_theta": 1e6}}`, 1e6},
		{`{"rope_theta": 5e5, "rope_parameters": {"rope_type": "default"}}`, 5e5},
		{`{"rope_theta": 5e5, "rope_parameters": null}`, 5e5},
		{`{"rope_parameters": {"rope_theta": 1e400}}`, math.Inf(1)}, // as Python's float reads it: a problem, not an error
	}
	for _, tt := range tests {
		c, err := qwen2.ParseConfig([]byte(tt.json))
		if err != nil {
			t.Errorf("ParseConfig(%s) = %v", tt.json, err)
		} else if c.RopeTheta != tt.want {
			t.Errorf("ParseConfig(%s) = rope_theta %v, want %v", tt.json, c.RopeTheta, tt.want)
		}
	}
	// Not an object; Python's literals below the top level, which
	// arch.DecodeConfig reads at the top level only.
	for _, bad := range []string{`{"rope_parameters": "1e6"}`, `{"rope_parameters": {"rope_theta": NaN}}`} {
		_, err := qwen2.ParseConfig([]byte(bad))
		if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), `"rope_parameters"`) {
			t.Errorf("ParseConfig(%s) = %v, want arch.ErrConfig naming rope_parameters", bad, err)
		}
	}
}

// Values no model runs with are problems the spec reports, not errors
// that stop the count: each names its key.
func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *qwen2.Config)
		want []arch.Conflict
	}{
		{"clean", func(c *qwen2.Config) {}, nil},
		{"epsilon 0 is allowed", func(c *qwen2.Config) { c.RMSNormEps = 0 }, nil},
		{"a window of 0 without use_sliding_window", func(c *qwen2.Config) { *c.SlidingWindow = 0 }, nil},
		{"rope_theta NaN", func(c *qwen2.Config) { c.RopeTheta = math.NaN() },
			[]arch.Conflict{{Field: "rope_theta", Message: "rope_theta is NaN, want a positive finite number"}}},
		{"negative rms_norm_eps", func(c *qwen2.Config) { c.RMSNormEps = -1e-6 },
			[]arch.Conflict{{Field: "rms_norm_eps", Message: "rms_norm_eps is -1e-06, want a finite number ≥ 0"}}},
		{"context of 0", func(c *qwen2.Config) { c.MaxPositionEmbeddings = 0 },
			[]arch.Conflict{{Field: "max_position_embeddings", Message: "max_position_embeddings is 0, want ≥ 1"}}},
		{"a window of 0", func(c *qwen2.Config) { c.UseSlidingWindow, *c.SlidingWindow = true, 0 },
			[]arch.Conflict{{Field: "sliding_window", Message: "sliding_window is 0, want ≥ 1 with use_sliding_window true"}}},
		{"layer_types too short", func(c *qwen2.Config) { c.LayerTypes = []string{"full_attention"} },
			[]arch.Conflict{{Field: "layer_types", Message: "layer_types is a list of 1, want one entry per layer (2)"}}},
		{"layer_types unknown", func(c *qwen2.Config) { c.LayerTypes = []string{"full_attention", "chunked_attention"} },
			[]arch.Conflict{{Field: "layer_types", Message: `layer_types is "chunked_attention" at layer 1, want "full_attention" or "sliding_attention"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := qwen2.Tiny()
			tt.edit(c)
			s, err := qwen2.New(c)
			if err != nil {
				t.Fatalf("New = %v; these values must not stop the count", err)
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
// agree, and nothing a person writes differently does; the dimensions
// exactly.
func TestCompareConfig(t *testing.T) {
	tests := []struct {
		name       string
		hf, fromGG func(c *qwen2.Config)
		want       []string // the fields in conflict
	}{
		{"float32 rounding agrees", func(c *qwen2.Config) {}, func(c *qwen2.Config) { c.RMSNormEps, c.RopeTheta = f32(1e-6), f32(1e6) }, nil},
		{"1e-5 against 1e-6", func(c *qwen2.Config) { c.RMSNormEps = 1e-5 }, func(c *qwen2.Config) {}, []string{"rms_norm_eps"}},
		{"one part in a million", func(c *qwen2.Config) { c.RMSNormEps = 1e-6 * (1 + 1e-6) }, func(c *qwen2.Config) {}, []string{"rms_norm_eps"}},
		{"rope_theta 1e4 against 1e6", func(c *qwen2.Config) { c.RopeTheta = 1e4 }, func(c *qwen2.Config) {}, []string{"rope_theta"}},
		{"infinite rope_theta", func(c *qwen2.Config) { c.RopeTheta = math.Inf(1) }, func(c *qwen2.Config) {}, []string{"rope_theta"}},
		{"subnormal float32 rounding agrees", func(c *qwen2.Config) { c.RMSNormEps = 1e-40 }, func(c *qwen2.Config) { c.RMSNormEps = f32(1e-40) }, nil},
		{"context length", func(c *qwen2.Config) { c.MaxPositionEmbeddings = 32768 }, func(c *qwen2.Config) {}, []string{"max_position_embeddings"}},
		{"MLP width", func(c *qwen2.Config) { c.IntermediateSize = 96 }, func(c *qwen2.Config) {}, []string{"intermediate_size"}},
		{"KV heads", func(c *qwen2.Config) { c.NumKeyValueHeads = 4 }, func(c *qwen2.Config) {}, []string{"num_key_value_heads"}},
		// Not carried by GGUF metadata: not compared.
		{"sliding window", func(c *qwen2.Config) { c.UseSlidingWindow = true }, func(c *qwen2.Config) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := qwen2.Tiny(), qwen2.Tiny()
			tt.hf(a)
			tt.fromGG(b)
			var got []string
			for _, c := range qwen2.MustNew(a).CompareConfig(qwen2.MustNew(b)) {
				got = append(got, c.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CompareConfig fields (-want +got):\n%s", diff)
			}
		})
	}
}

// The KV cache and the attention FLOPs, by hand: Qwen2.5-7B stores per
// position 2·L·n_kv·d_k = 2·28·4·128 = 28,672 values, 57,344 bytes in F16
// (so 7,516,192,768 bytes at 131,072 positions); one token at ctx 4096
// costs 4·L·n_h·d_k·ctx = 4·28·28·128·4096 = 1,644,167,168 attention
// FLOPs.
func TestCosts(t *testing.T) {
	s := qwen2.MustNew(qwen2.Qwen2_5_7B())
	if diff := cmp.Diff([]arch.KVRows{{Rows: 2 * 28 * 4, Width: 128}}, s.KVCache()); diff != "" {
		t.Errorf("KVCache() (-want +got):\n%s", diff)
	}
	if got, err := cost.KVCacheBytes(s, 131072, 1, "f16"); err != nil || got != 7_516_192_768 {
		t.Errorf("KVCacheBytes(131072, f16) = %d, %v; want 7,516,192,768", got, err)
	}
	if got := s.AttentionFLOPs(4096); got != 1_644_167_168 {
		t.Errorf("AttentionFLOPs(4096) = %d, want 1,644,167,168", got)
	}
	if got := s.Obligations(); got.Total != "FALSIFY-QWEN2-001" || got.EndToEnd != "FALSIFY-QWEN2-007" || got.Gate != "F-QWEN2-001" {
		t.Errorf("Obligations() = %+v", got)
	}
}

// With use_sliding_window, layers from max_window_layers on (or those
// layer_types names) keep and attend to the last sliding_window positions
// only. Tiny with 6 layers, max_window_layers 4 and a window of 100: 4
// full layers and 2 sliding ones, 2 KV heads of 8; at ctx 1000 the
// attention costs 4·4 heads·8·(4·1000 + 2·100) = 537,600 FLOPs, at ctx 50
// 4·4·8·(6·50) = 38,400.
func TestSlidingWindow(t *testing.T) {
	c := qwen2.Tiny()
	c.NumHiddenLayers, c.MaxWindowLayers, c.UseSlidingWindow, *c.SlidingWindow = 6, 4, true, 100
	s := qwen2.MustNew(c)
	if diff := cmp.Diff([]arch.KVRows{{Rows: 2 * 4 * 2, Width: 8}, {Rows: 2 * 2 * 2, Width: 8, Window: 100}}, s.KVCache()); diff != "" {
		t.Errorf("KVCache() (-want +got):\n%s", diff)
	}
	if got := s.AttentionFLOPs(1000); got != 537_600 {
		t.Errorf("AttentionFLOPs(1000) = %d, want 537,600", got)
	}
	if got := s.AttentionFLOPs(50); got != 38_400 {
		t.Errorf("AttentionFLOPs(50) = %d, want 38,400", got)
	}
	// layer_types overrides max_window_layers.
	c.LayerTypes = []string{"sliding_attention", "full_attention", "sliding_attention", "full_attention", "full_attention", "full_attention"}
	var windows []int64
	for i := range c.NumHiddenLayers {
		windows = append(windows, c.Window(i))
	}
	if diff := cmp.Diff([]int64{100, 0, 100, 0, 0, 0}, windows); diff != "" {
		t.Errorf("Window with layer_types (-want +got):\n%s", diff)
	}
	// Without use_sliding_window, or with a null window, no layer slides.
	c.UseSlidingWindow = false
	if w := c.Window(0); w != 0 {
		t.Errorf("Window(0) without use_sliding_window = %d", w)
	}
	c.UseSlidingWindow, c.SlidingWindow = true, nil
	if w := c.Window(0); w != 0 {
		t.Errorf("Window(0) with a null sliding_window = %d", w)
	}
}

package gemma3_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gemma3"
)

// The config.json of google/gemma-3-1b-it, with the keys the audit reads,
// parses as Gemma3_1B: tie_word_embeddings, which the file omits, is
// Gemma3TextConfig's default true. The registry finds it by model_type.
func TestParsePublished(t *testing.T) {
	data := []byte(`{"architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "head_dim": 256,
		"hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152, "intermediate_size": 6912,
		"max_position_embeddings": 32768, "model_type": "gemma3_text", "num_attention_heads": 4,
		"num_hidden_layers": 26, "num_key_value_heads": 1, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
		"rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": 512,
		"sliding_window_pattern": 6, "torch_dtype": "bfloat16", "vocab_size": 262144}`)
	c, err := gemma3.ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gemma3.Gemma3_1B(), c, cmpopts.IgnoreUnexported(gemma3.Config{})); diff != "" {
		t.Errorf("ParseConfig (-want +got):\n%s", diff)
	}
	spec, err := arch.FromConfig(data)
	if err != nil || spec.Family() != "gemma3" || spec.Predict().Total != 999_885_952 {
		t.Errorf("arch.FromConfig = %v, %v", spec, err)
	}
	var local []int64
	for i := range c.NumHiddenLayers {
		if !c.Sliding(i) {
			local = append(local, i)
		}
	}
	if diff := cmp.Diff([]int64{5, 11, 17, 23}, local); diff != "" {
		t.Errorf("global layers (-want +got):\n%s", diff)
	}
}

// A config.json that omits the optional keys gets Gemma3TextConfig's
// defaults; layer_types, when given, decides each layer's kind.
func TestParseConfigDefaults(t *testing.T) {
	c, err := gemma3.ParseConfig([]byte(`{"model_type": "gemma3_text", "vocab_size": 64, "hidden_size": 32,
		"intermediate_size": 48, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
		"layer_types": ["full_attention", "sliding_attention", "full_attention"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadDim != 256 || c.RopeTheta != 1e6 || c.RopeLocalBaseFreq != 10000 || c.RMSNormEps != 1e-6 || c.MaxPositionEmbeddings != 131072 ||
		!c.TieWordEmbeddings || c.SlidingWindow != 4096 || c.SlidingWindowPattern != 6 {
		t.Errorf("ParseConfig defaults = %+v", c)
	}
	if c.Sliding(0) || !c.Sliding(1) || c.Sliding(2) {
		t.Errorf("Sliding = %v %v %v, want false true false (layer_types)", c.Sliding(0), c.Sliding(1), c.Sliding(2))
	}
}

// Every config no model can have is refused with arch.ErrConfig, naming
// the key.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, want string
		edit       func(c *gemma3.Config)
	}{
		{"no hidden size", `"hidden_size"`, func(c *gemma3.Config) { c.HiddenSize = 0 }},
		{"no head_dim", `"head_dim"`, func(c *gemma3.Config) { c.HeadDim = 0 }},
		{"heads do not group", "num_key_value_heads 3", func(c *gemma3.Config) { c.NumKeyValueHeads = 3 }},
		{"too many layers", "limit", func(c *gemma3.Config) { c.NumHiddenLayers = 1 << 20 }},
		{"parameter count overflows", "overflows", func(c *gemma3.Config) {
			// 26 layers of 2·2^20·(2^40 + 2^40) = 2^62 attention parameters.
			c.HiddenSize, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 1<<20, 1<<20, 1<<20, 1<<20
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := gemma3.Gemma3_1B()
			tt.edit(c)
			if _, err := gemma3.New(c); !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want arch.ErrConfig naming %s", err, tt.want)
			}
		})
	}
}

// Values no model runs with are problems the spec reports, each naming
// its key.
func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *gemma3.Config)
		want []string
	}{
		{"clean", func(c *gemma3.Config) {}, nil},
		{"local RoPE base NaN", func(c *gemma3.Config) { c.RopeLocalBaseFreq = math.NaN() }, []string{"rope_local_base_freq"}},
		{"no window", func(c *gemma3.Config) { c.SlidingWindow = 0 }, []string{"sliding_window"}},
		{"pattern 0", func(c *gemma3.Config) { c.SlidingWindowPattern = 0 }, []string{"sliding_window_pattern"}},
		{"layer_types too short", func(c *gemma3.Config) { c.LayerTypes = []string{"full_attention"} }, []string{"layer_types"}},
		{"negative epsilon", func(c *gemma3.Config) { c.RMSNormEps = -1 }, []string{"rms_norm_eps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := gemma3.Gemma3_1B()
			tt.edit(c)
			var got []string
			for _, p := range gemma3.MustNew(c).ConfigProblems() {
				got = append(got, p.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ConfigProblems fields (-want +got):\n%s", diff)
			}
		})
	}
}

package llama_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/llama"
)

// dims is a config.json body without braces: Llama-3.1-8B's dimensions
// minus the keys whose defaults the tests probe.
const dims = `"vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32`

// ParseConfig fills what config.json omits as transformers does for each
// model type, and tells an absent key from a null one where transformers
// does.
func TestParseConfigDefaults(t *testing.T) {
	sw := func(n int64) *int64 { return &n }
	tests := []struct {
		name string
		json string
		want func(c *llama.Config) // the expected fields
	}{
		{"llama: transformers' LlamaConfig defaults", `{"model_type": "llama", ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = 32, 128, 10000, 1e-6, 2048
		}},
		{"llama: num_key_value_heads null", `{"model_type": "llama", "num_key_value_heads": null, ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = 32, 128, 10000, 1e-6, 2048
		}},
		{"llama: head_dim given", `{"model_type": "llama", "head_dim": 64, "num_key_value_heads": 8, ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = 8, 64, 10000, 1e-6, 2048
		}},
		{"llama: keys of other model types ignored", `{"model_type": "llama", "sliding_window": 16, "num_local_experts": 8, "num_experts_per_tok": 2, ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = 32, 128, 10000, 1e-6, 2048
		}},
		{"mistral: MistralConfig defaults", `{"model_type": "mistral", ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings, c.SlidingWindow = 8, 128, 10000, 1e-6, 131072, sw(4096)
		}},
		{"mistral: num_key_value_heads null, sliding_window null", `{"model_type": "mistral", "num_key_value_heads": null, "sliding_window": null, ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = 32, 128, 10000, 1e-6, 131072
		}},
		{"mixtral: MixtralConfig defaults", `{"model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2, ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = 8, 128, 1e6, 1e-5, 131072
			c.NumLocalExperts, c.NumExpertsPerTok = 8, 2
		}},
		{"transformers 5: rope_parameters' rope_theta wins", `{"model_type": "llama", "rope_theta": 10000.0, "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0}, ` + dims + `}`, func(c *llama.Config) {
			c.NumKeyValueHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.MaxPositionEmbeddings = 32, 128, 500000, 1e-6, 2048
			c.RopeParameters = &llama.RopeScaling{RopeType: "llama3", RopeTheta: 500000, Factor: 8}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := llama.ParseConfig([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			want := &llama.Config{VocabSize: 128256, HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32, NumAttentionHeads: 32}
			want.ModelType = got.ModelType
			tt.want(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseConfig (-want +got):\n%s", diff)
			}
		})
	}
}

// The RoPE type is read from rope_scaling's rope_type or type, or from
// rope_parameters, case aside, as transformers and llama.cpp's converter
// read it.
func TestRopeType(t *testing.T) {
	for _, tt := range []struct {
		json   string
		llama3 bool
	}{
		{`"rope_scaling": {"rope_type": "llama3", "factor": 8.0}`, true},
		{`"rope_scaling": {"type": "llama3"}`, true},
		{`"rope_scaling": {"rope_type": "Llama3"}`, true},
		{`"rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0}`, true},
		{`"rope_scaling": {"type": "linear", "factor": 2.0}`, false},
		{`"rope_scaling": null`, false},
		{`"rope_theta": 10000`, false},
	} {
		c, err := llama.ParseConfig([]byte(`{"model_type": "llama", ` + tt.json + `, ` + dims + `}`))
		if err != nil {
			t.Fatalf("%s: %v", tt.json, err)
		}
		if c.Llama3Rope() != tt.llama3 {
			t.Errorf("%s: Llama3Rope() = %v, want %v", tt.json, c.Llama3Rope(), tt.llama3)
		}
	}
}

// A published config survives config.json: written as the synthesizer
// writes it (encoding/json) and read back, it is the same config.
func TestConfigJSONRoundTrip(t *testing.T) {
	for _, c := range []*llama.Config{llama.Llama31_8B(), llama.Llama32_1B(), llama.Mistral7B_v01(), llama.Mixtral8x7B_v01(),
		llama.Llama2_7B(), llama.TinyDense(), llama.TinyMistral(), llama.TinyMoE()} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := llama.ParseConfig(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", c.ModelType, diff)
		}
	}
}

// Every config no model can have is refused with arch.ErrConfig, naming
// the key, before any count is computed from it; bias tensors, which the
// family does not predict, with arch.ErrUnsupportedArch.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		base    func() *llama.Config
		edit    func(c *llama.Config)
		want    error
		wantMsg string
	}{
		{"no hidden size", llama.Llama31_8B, func(c *llama.Config) { c.HiddenSize = 0 }, arch.ErrConfig, `"hidden_size"`},
		{"negative vocab", llama.Llama31_8B, func(c *llama.Config) { c.VocabSize = -1 }, arch.ErrConfig, `"vocab_size"`},
		{"no intermediate size", llama.Llama31_8B, func(c *llama.Config) { c.IntermediateSize = 0 }, arch.ErrConfig, `"intermediate_size"`},
		{"no KV heads", llama.Llama31_8B, func(c *llama.Config) { c.NumKeyValueHeads = 0 }, arch.ErrConfig, `"num_key_value_heads"`},
		{"no head_dim", llama.Llama31_8B, func(c *llama.Config) { c.HeadDim = 0 }, arch.ErrConfig, `"head_dim"`},
		{"heads do not group", llama.Llama31_8B, func(c *llama.Config) { c.NumKeyValueHeads = 3 }, arch.ErrConfig, "num_key_value_heads 3"},
		{"too many layers", llama.Llama31_8B, func(c *llama.Config) { c.NumHiddenLayers = 1 << 20 }, arch.ErrConfig, `"num_hidden_layers"`},
		{"dimension beyond the limit", llama.Llama31_8B, func(c *llama.Config) { c.VocabSize = 1 << 40 }, arch.ErrConfig, `"vocab_size"`},
		// Within every limit, yet 4,096 layers of 2^20 experts of width
		// 2^20 on a 2^20-wide stream hold about 2^74 parameters.
		{"parameter count overflows", llama.Mixtral8x7B_v01, func(c *llama.Config) {
			c.HiddenSize, c.NumLocalExperts, c.IntermediateSize, c.NumHiddenLayers = 1<<20, 1<<20, 1<<20, 4096
		}, arch.ErrConfig, "overflows"},
		{"no experts", llama.Mixtral8x7B_v01, func(c *llama.Config) { c.NumLocalExperts = 0 }, arch.ErrConfig, `"num_local_experts"`},
		{"top-k 0", llama.Mixtral8x7B_v01, func(c *llama.Config) { c.NumExpertsPerTok = 0 }, arch.ErrConfig, `"num_experts_per_tok"`},
		{"top-k above E", llama.Mixtral8x7B_v01, func(c *llama.Config) { c.NumExpertsPerTok = 9 }, arch.ErrConfig, `"num_experts_per_tok"`},
		{"experts in a dense model", llama.Llama31_8B, func(c *llama.Config) { c.NumLocalExperts = 8 }, arch.ErrConfig, "num_local_experts"},
		{"another model type", llama.Llama31_8B, func(c *llama.Config) { c.ModelType = "qwen2" }, arch.ErrUnsupportedArch, `"qwen2"`},
		{"attention biases", llama.Llama31_8B, func(c *llama.Config) { c.AttentionBias = true }, arch.ErrUnsupportedArch, `"attention_bias"`},
		{"MLP biases", llama.Llama31_8B, func(c *llama.Config) { c.MLPBias = true }, arch.ErrUnsupportedArch, `"mlp_bias"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base()
			tt.edit(c)
			_, err := llama.New(c)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("New(%s) error = %v, want %v naming %s", tt.name, err, tt.want, tt.wantMsg)
			}
		})
	}
	// From config.json: a key missing or of the wrong type names the key.
	for _, tt := range []struct {
		json, wantMsg string
		want          error
	}{
		{`{"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32}`, `"intermediate_size"`, arch.ErrConfig},
		{`{"model_type": "llama", "hidden_size": "4096", ` + dims[strings.Index(dims, `"intermediate_size"`):] + `}`, `"hidden_size"`, arch.ErrConfig},
		{`{"model_type": "mistral", "sliding_window": NaN, ` + dims + `}`, `"sliding_window"`, arch.ErrConfig},
		{`{"model_type": "llama", "rope_scaling": "llama3", ` + dims + `}`, `"rope_scaling"`, arch.ErrConfig},
		{`{"model_type": "llama", "attention_bias": true, ` + dims + `}`, `"attention_bias"`, arch.ErrUnsupportedArch},
	} {
		_, err := arch.FromConfig([]byte(tt.json))
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("FromConfig(%s) = %v, want %v naming %s", tt.json, err, tt.want, tt.wantMsg)
		}
	}
	for _, c := range []*llama.Config{llama.Llama2_7B(), llama.Llama3_8B(), llama.Llama31_8B(), llama.Llama32_1B(), llama.Mistral7B_v01(),
		llama.Mixtral8x7B_v01(), llama.TinyDense(), llama.TinyMistral(), llama.TinyMoE()} {
		if _, err := llama.New(c); err != nil {
			t.Errorf("New(%s, %d layers) = %v", c.ModelType, c.NumHiddenLayers, err)
		}
	}
}

// Values no model runs with are problems the spec reports, not errors
// that stop the count: each names its key.
func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *llama.Config)
		want []arch.Conflict
	}{
		{"clean", func(c *llama.Config) {}, nil},
		{"epsilon 0 is allowed", func(c *llama.Config) { c.RMSNormEps = 0 }, nil},
		{"rope_theta 0", func(c *llama.Config) { c.RopeTheta = 0 },
			[]arch.Conflict{{Field: "rope_theta", Message: "rope_theta is 0, want a positive finite number"}}},
		{"rope_theta NaN", func(c *llama.Config) { c.RopeTheta = math.NaN() },
			[]arch.Conflict{{Field: "rope_theta", Message: "rope_theta is NaN, want a positive finite number"}}},
		{"odd head_dim", func(c *llama.Config) { c.HeadDim, c.NumAttentionHeads, c.NumKeyValueHeads = 7, 4, 2 },
			[]arch.Conflict{{Field: "head_dim", Message: "head_dim is 7, want an even number (RoPE rotates pairs of dimensions)"}}},
		{"infinite rms_norm_eps", func(c *llama.Config) { c.RMSNormEps = math.Inf(1) },
			[]arch.Conflict{{Field: "rms_norm_eps", Message: "rms_norm_eps is +Inf, want a finite number ≥ 0"}}},
		{"sliding window 0", func(c *llama.Config) { w := int64(0); c.SlidingWindow = &w },
			[]arch.Conflict{{Field: "sliding_window", Message: "sliding_window is 0, want ≥ 1, or null for full attention"}}},
		{"context 0", func(c *llama.Config) { c.MaxPositionEmbeddings = 0 },
			[]arch.Conflict{{Field: "max_position_embeddings", Message: "max_position_embeddings is 0, want ≥ 1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := llama.TinyMistral()
			tt.edit(c)
			s, err := llama.New(c)
			if err != nil {
				t.Fatalf("New = %v; these values must not stop the count", err)
			}
			if diff := cmp.Diff(tt.want, s.ConfigProblems()); diff != "" {
				t.Errorf("ConfigProblems() (-want +got):\n%s", diff)
			}
		})
	}
}

// The KV cache and attention FLOPs: 2·L·n_kv rows of head_dim per
// position, and 4·L·n_h·d_k·ctx, over at most the sliding window.
func TestCost(t *testing.T) {
	tests := []struct {
		name        string
		cfg         *llama.Config
		rows, width int64
		window      int64
		flops8k     int64 // at ctx 8,192
		flops4k     int64
	}{
		// 2·32·8 = 512 rows of 128; 4·32·32·128·8,192 = 4,294,967,296.
		{"Llama-3.1-8B", llama.Llama31_8B(), 512, 128, 0, 4_294_967_296, 2_147_483_648},
		// The same layers with a 4,096 window: attention at 8,192 costs
		// what it does at 4,096.
		{"Mistral-7B-v0.1", llama.Mistral7B_v01(), 512, 128, 4096, 2_147_483_648, 2_147_483_648},
		// 2·16·8 = 256 rows of 64; 4·16·32·64·8,192 = 1,073,741,824.
		{"Llama-3.2-1B", llama.Llama32_1B(), 256, 64, 0, 1_073_741_824, 536_870_912},
		{"Mixtral-8x7B", llama.Mixtral8x7B_v01(), 512, 128, 0, 4_294_967_296, 2_147_483_648},
	}
	for _, tt := range tests {
		s := llama.MustNew(tt.cfg)
		kv := s.KVCache()
		if len(kv) != 1 || kv[0] != (arch.KVRows{Rows: tt.rows, Width: tt.width, Window: tt.window}) {
			t.Errorf("%s: KVCache() = %+v, want %d rows of %d, window %d", tt.name, kv, tt.rows, tt.width, tt.window)
		}
		if got := s.AttentionFLOPs(8192); got != tt.flops8k {
			t.Errorf("%s: AttentionFLOPs(8192) = %d, want %d", tt.name, got, tt.flops8k)
		}
		if got := s.AttentionFLOPs(4096); got != tt.flops4k {
			t.Errorf("%s: AttentionFLOPs(4096) = %d, want %d", tt.name, got, tt.flops4k)
		}
	}
}

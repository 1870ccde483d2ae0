package gemma3_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/spotcheck"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The forward wiring of Gemma 3's layers in each format, spelled out for
// the tiny config with the 4B's linear scaling and a soft cap: a global
// layer (5) and a local one (0) as transformers computes them from
// config.json, and as llama.cpp computes the GGUF file, whose norms the
// converter stored as 1 + w (NormPlusOne off) and whose spec, read back
// from the metadata, carries the scaling, the window, the soft cap and
// llama.cpp's attention scale 1/√head_dim = 1/4.
func TestForwardConfig(t *testing.T) {
	c := gemma3.Tiny()
	softcap := 5.0
	c.RopeScaling, c.FinalLogitSoftcapping = json.RawMessage(`{"factor": 8.0, "rope_type": "linear"}`), &softcap
	global := forward.Config{Hidden: 32, Heads: 4, KVHeads: 2, HeadDim: 16, QKNorm: true, PostNorms: true, NormPlusOne: true,
		Act: forward.ActGELUTanh, AttnScale: 0.25, Eps: 1e-6, Theta: 1e6,
		Scaling:    forward.RopeScaling{Type: forward.RopeLinear, Name: "linear", Factor: 8},
		EmbedScale: math.Sqrt(32), FinalSoftcap: 5}
	local := global
	local.Theta, local.Scaling, local.Window = 10000, forward.RopeScaling{}, 16
	spec := gemma3.MustNew(c)
	ck := archtest.Default.Load(t, "m", spec, checkpoint.FormatGGUF)
	read, _, err := arch.FromCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range archtest.Formats {
		fw, want, eps := spec, [2]forward.Config{global, local}, 1e-6
		if f == checkpoint.FormatGGUF {
			fw, eps = read.(*gemma3.Spec), float64(float32(eps))
			want[0].NormPlusOne, want[1].NormPlusOne = false, false
		}
		// The floats of a spec read from GGUF went through float32.
		approx := cmpopts.EquateApprox(1e-7, 0)
		if diff := cmp.Diff(want[0], fw.Forward(f), approx); diff != "" {
			t.Errorf("%s: Forward mismatch (-want +got):\n%s", f, diff)
		}
		if diff := cmp.Diff(want[0], fw.LayerForward(f, 5), approx); diff != "" {
			t.Errorf("%s: LayerForward(5) mismatch (-want +got):\n%s", f, diff)
		}
		if diff := cmp.Diff(want[1], fw.LayerForward(f, 0), approx); diff != "" {
			t.Errorf("%s: LayerForward(0) mismatch (-want +got):\n%s", f, diff)
		}
		if fw.Sparse(0) || fw.NormEps() != eps {
			t.Errorf("%s: Sparse(0) = %v, NormEps() = %v", f, fw.Sparse(0), fw.NormEps())
		}
	}
}

// query_pre_attn_scalar: config.json's (Gemma3TextConfig's default 256
// when absent) for a Hugging Face checkpoint; of a GGUF file, what
// llama.cpp scales by: head_dim, but hidden_size / heads for its 27B type
// of 62 layers (google/gemma-3-27b: hidden 5376, 32 heads, so 168, the
// config's own value; head_dim is 128).
func TestForwardAttentionScale(t *testing.T) {
	c, err := gemma3.ParseConfig([]byte(`{"model_type": "gemma3_text", "vocab_size": 64, "hidden_size": 32,
		"intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := gemma3.MustNew(c).Forward(checkpoint.FormatSafetensors).AttnScale; got != 1.0/16 {
		t.Errorf("AttnScale without query_pre_attn_scalar = %v, want 256^-0.5 = 1/16", got)
	}
	big := gemma3.Tiny()
	big.NumHiddenLayers, big.HiddenSize, big.NumAttentionHeads, big.NumKeyValueHeads, big.HeadDim = 62, 5376, 32, 16, 128
	big.VocabSize, big.IntermediateSize, big.QueryPreAttnScalar = 64, 8, 168
	for _, tt := range []struct {
		name string
		cfg  *gemma3.Config
		want float64
	}{{"tiny", gemma3.Tiny(), 16}, {"27B shape", big, 168}} {
		got, _, err := archtest.Default.Read(t, "m", gemma3.MustNew(tt.cfg), checkpoint.FormatGGUF)
		if err != nil {
			t.Fatal(err)
		}
		if q := got.Config().(*gemma3.Config).QueryPreAttnScalar; q != tt.want {
			t.Errorf("%s: query_pre_attn_scalar read from GGUF = %v, want %v", tt.name, q, tt.want)
		}
	}
}

// What the kernels do not compute declines: a RoPE scaling other than
// linear, an attention soft cap, another activation, bidirectional
// attention, transformers 5's rope_parameters. A null rope_scaling and
// the published activation are Gemma 3's own.
func TestForwardUnsupported(t *testing.T) {
	f := 50.0
	tests := []struct {
		name        string
		edit        func(c *gemma3.Config)
		scaling     forward.RopeType
		unsupported string
	}{
		{"published", func(c *gemma3.Config) {
			c.RopeScaling, c.HiddenActivation = json.RawMessage("null"), "gelu_pytorch_tanh"
		}, forward.RopeDefault, ""},
		{"default type", func(c *gemma3.Config) { c.RopeScaling = json.RawMessage(`{"rope_type": "default"}`) }, forward.RopeDefault, ""},
		{"linear as type", func(c *gemma3.Config) { c.RopeScaling = json.RawMessage(`{"type": "linear", "factor": 8}`) }, forward.RopeLinear, ""},
		{"yarn", func(c *gemma3.Config) { c.RopeScaling = json.RawMessage(`{"rope_type": "yarn", "factor": 8}`) }, forward.RopeUnsupported, ""},
		{"not an object", func(c *gemma3.Config) { c.RopeScaling = json.RawMessage(`"linear"`) }, forward.RopeUnsupported, ""},
		{"attn soft cap", func(c *gemma3.Config) { c.AttnLogitSoftcapping = &f }, forward.RopeDefault, "attn_logit_softcapping"},
		{"gelu", func(c *gemma3.Config) { c.HiddenActivation = "gelu" }, forward.RopeDefault, `hidden_activation "gelu"`},
		{"bidirectional", func(c *gemma3.Config) { c.UseBidirectionalAttention = true }, forward.RopeDefault, "use_bidirectional_attention"},
		{"rope_parameters", func(c *gemma3.Config) {
			c.RopeParameters = json.RawMessage(`{"full_attention": {"rope_type": "linear", "factor": 8, "rope_theta": 1e6}}`)
		}, forward.RopeDefault, "rope_parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := gemma3.Tiny()
			tt.edit(c)
			fc := gemma3.MustNew(c).Forward(checkpoint.FormatSafetensors)
			if fc.Scaling.Type != tt.scaling || fc.Unsupported != tt.unsupported {
				t.Errorf("Forward: scaling %v (%q), unsupported %q; want %v, %q", fc.Scaling.Type, fc.Scaling.Name, fc.Unsupported, tt.scaling, tt.unsupported)
			}
		})
	}
}

// The GGUF keys of the RoPE scaling and the soft cap are written as the
// converter writes them and read back; a scaling type llama.cpp knows but
// the kernels do not is read by name, and linear without a factor is no
// scaling (llama.cpp's freq_scale 1).
func TestGGUFScalingKeys(t *testing.T) {
	c := gemma3.Gemma3_4B()
	var keys []string
	for _, kv := range gemma3.MustNew(c).GGUFMetadata() {
		keys = append(keys, kv.Key)
	}
	if n := len(keys); n < 2 || keys[n-2] != "gemma3.rope.scaling.type" || keys[n-1] != "gemma3.rope.scaling.factor" {
		t.Errorf("GGUFMetadata of Gemma-3-4B ends %v, want the rope scaling type and factor", keys)
	}
	tests := []struct {
		name string
		kvs  []gguf.KV
		want forward.RopeScaling
	}{
		{"yarn", []gguf.KV{{Key: "gemma3.rope.scaling.type", Value: gguf.String("yarn")}, {Key: "gemma3.rope.scaling.factor", Value: gguf.Float32(4)}},
			forward.RopeScaling{Type: forward.RopeUnsupported, Name: "yarn"}},
		{"linear without factor", []gguf.KV{{Key: "gemma3.rope.scaling.type", Value: gguf.String("linear")}}, forward.RopeScaling{}},
		{"none", []gguf.KV{{Key: "gemma3.rope.scaling.type", Value: gguf.String("none")}}, forward.RopeScaling{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := archtest.Edited{Spec: gemma3.MustNew(gemma3.Tiny()), Meta: func(kvs []gguf.KV) []gguf.KV { return append(kvs, tt.kvs...) }}
			got, _, err := archtest.Default.Read(t, "m", spec, checkpoint.FormatGGUF)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.(arch.Forwarder).Forward(checkpoint.FormatGGUF).Scaling); diff != "" {
				t.Errorf("Forward(gguf).Scaling mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// On the synthesized multimodal layout (data all zeros) the spot-check
// runs the language model under language_model.model. and names the dead
// embedding, rather than declining; spotcheck/families_test.go checks the
// block against its definition.
func TestSpotCheckMultimodal(t *testing.T) {
	for _, f := range archtest.Formats {
		ck := archtest.Default.Load(t, "tiny", gemma3.MustNew(gemma3.TinyMultimodal()), f)
		r, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Layer: 5, Tokens: []int{1}})
		if err != nil || len(r.Dead) == 0 || r.Dead[0].Kind != spotcheck.DeadEmbedding {
			t.Errorf("%s: spotcheck.Run = %+v, %v; want the zero embedding named", f, r, err)
		}
	}
}

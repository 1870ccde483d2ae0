package gemma3_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// gemma4bConfig is google/gemma-3-4b-it's config.json: the text and
// vision configs give only what differs from transformers' defaults.
const gemma4bConfig = `{
  "architectures": ["Gemma3ForConditionalGeneration"],
  "boi_token_index": 255999, "eoi_token_index": 256000, "eos_token_id": [1, 106], "image_token_index": 262144,
  "initializer_range": 0.02, "mm_tokens_per_image": 256, "model_type": "gemma3",
  "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text", "num_hidden_layers": 34,
    "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "sliding_window": 1024},
  "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0",
  "vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304, "model_type": "siglip_vision_model",
    "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14, "vision_use_head": false}
}`

// The published config reads as Gemma3_4B: the text decoder with
// Gemma3TextConfig's defaults where text_config is silent (262,208 rows,
// 8 heads, 4 KV heads of 256), and the SigLIP tower.
func TestParseMultimodal(t *testing.T) {
	c, err := gemma3.ParseConfig([]byte(gemma4bConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := gemma3.Gemma3_4B()
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(gemma3.Config{})); diff != "" {
		t.Errorf("text config (-want +got):\n%s", diff)
	}
	got := gemma3.MustNew(c).Config().(*gemma3.MultimodalConfig)
	if diff := cmp.Diff(gemma3.MustNew(want).Config(), got, cmpopts.IgnoreUnexported(gemma3.Config{})); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// gemma-3-4b worked by hand. The language model (d 2560, V 262208, 34
// layers of 8 heads and 4 KV heads of 256, MLP 10240, tied): a layer
// 2560·2048 + 2·2560·1024 + 2048·2560 + 2·256 + 3·2560·10240 + 4·2560 =
// 94,382,592; 34 of them 3,209,008,128 (the Gemma 3 report's 3,209 M
// non-embedding parameters); with the embedding (671,252,480) and final
// norm 3,880,263,168. The SigLIP tower (h 1152, MLP 4304, 27 layers, 14×14
// patches of a 896² image: 4096 positions): a layer 4·1152 + 4·(1152² +
// 1152) + 2·4304·1152 + 4304 + 1152 = 15,239,504; with the patch
// embedding (1152·3·14·14 + 1152), positions (4096·1152) and the post
// LayerNorm 416,866,032 (the report's 417 M vision encoder); the
// projector 1152·2560 + 1152 = 2,950,272. In all 4,300,079,472 (the
// card's 4.3 B).
func TestMultimodalCounts(t *testing.T) {
	spec := gemma3.MustNew(gemma3.Gemma3_4B())
	p := spec.Predict()
	if p.Total != 3_880_263_168 || p.Vision != 416_866_032+2_950_272 {
		t.Errorf("total %d, vision %d; want 3,880,263,168 and 419,816,304", p.Total, p.Vision)
	}
	var parts [4]int64
	for _, e := range spec.Expected(checkpoint.FormatSafetensors) {
		n := int64(1)
		for _, x := range e.Shape {
			n *= x
		}
		parts[e.Part] += n
	}
	if parts[arch.PartModel] != p.Total || parts[arch.PartVision] != p.Vision {
		t.Errorf("the table holds %v; the prediction %d and %d", parts, p.Total, p.Vision)
	}
	// 1 + 34·13 + 1 language tensors, 3 + 27·16 + 2 + 2 on the vision side.
	if n := spec.Count(checkpoint.FormatSafetensors); n != 444+439 {
		t.Errorf("%d tensors, want 883", n)
	}
	if n := spec.Count(checkpoint.FormatGGUF); n != 444 {
		t.Errorf("%d GGUF tensors, want the language model's 444", n)
	}
}

// The multimodal layout audits cleanly: the language model's total under
// the profile, the vision tower apart; its GGUF (llama.cpp converts the
// language model alone; the tower goes to a separate mmproj file) too.
func TestAuditMultimodal(t *testing.T) {
	spec := gemma3.MustNew(gemma3.Gemma3_4B())
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		r := auditOf(t, "gemma-3-4b-it", spec, f)
		vision := int64(419_816_304)
		if f == checkpoint.FormatGGUF {
			vision = 0
		}
		if !r.Pass || r.Params.Total != 3_880_263_168 || r.Params.Vision != vision || r.Model.Profile != "Gemma-3-4B" {
			t.Errorf("%s: pass %v, params %+v, profile %q; findings %+v", f, r.Pass, r.Params, r.Model.Profile, r.Findings)
		}
	}
}

// A missing or misshaped tensor of the vision side is named, and leaves
// the language model's counts alone.
func TestMultimodalDefects(t *testing.T) {
	spec := gemma3.MustNew(gemma3.TinyMultimodal()) // tower 16 wide, text 32
	for _, tt := range []struct {
		name, tensor, msg string
		edit              func(es []arch.Expected) []arch.Expected
	}{
		{"missing fc2", "vision_tower.vision_model.encoder.layers.1.mlp.fc2.weight", "missing", func(es []arch.Expected) []arch.Expected {
			return slices.DeleteFunc(es, func(e arch.Expected) bool {
				return e.Name == "vision_tower.vision_model.encoder.layers.1.mlp.fc2.weight"
			})
		}},
		{"projector transposed", "multi_modal_projector.mm_input_projection_weight", "want [16 32]", func(es []arch.Expected) []arch.Expected {
			for i := range es {
				if es[i].Name == "multi_modal_projector.mm_input_projection_weight" {
					es[i].Shape = []int64{32, 16}
				}
			}
			return es
		}},
	} {
		r := auditOf(t, "tiny", edited{Spec: spec, GGUFWriter: spec, edit: func(_ checkpoint.Format, es []arch.Expected) []arch.Expected { return tt.edit(es) }},
			checkpoint.FormatSafetensors)
		if r.Pass || r.Params.Total != spec.Predict().Total || !slices.ContainsFunc(r.Findings, func(f audit.Finding) bool {
			return f.Tensor == tt.tensor && strings.Contains(f.Message, tt.msg)
		}) {
			t.Errorf("%s: pass %v, total %d; no finding names %s with %q: %+v", tt.name, r.Pass, r.Params.Total, tt.tensor, tt.msg, r.Findings)
		}
	}
}

// edited is a spec whose layout a test changes, to synthesize a
// checkpoint with a defect; its config.json and GGUF metadata are the
// spec's own.
type edited struct {
	arch.Spec
	arch.GGUFWriter
	edit func(f checkpoint.Format, es []arch.Expected) []arch.Expected
}

func (e edited) Expected(f checkpoint.Format) []arch.Expected { return e.edit(f, e.Spec.Expected(f)) }

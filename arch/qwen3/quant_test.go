package qwen3_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// The quantization_config of Qwen's pre-quantized releases of
// Qwen3-235B-A22B (Qwen/Qwen3-235B-A22B-FP8, -GPTQ-Int4) and of an AWQ
// conversion (AutoAWQ GEMM, group 128).
var (
	fp8  = &arch.QuantConfig{QuantMethod: "fp8", Fmt: "e4m3", ActivationScheme: "dynamic", WeightBlockSize: []int64{128, 128}}
	gptq = &arch.QuantConfig{QuantMethod: "gptq", Bits: 4, GroupSize: 128, DescAct: no(), Sym: yes()}
	awq  = &arch.QuantConfig{QuantMethod: "awq", Bits: 4, GroupSize: 128, Version: "gemm", ZeroPoint: yes()}
)

func quantized(c *qwen3.Config, q *arch.QuantConfig) *qwen3.Config {
	c.QuantizationConfig = q
	return c
}

// Each release holds the model's 235,093,634,560 parameters; what it adds
// is counted apart, worked by hand per layer (d 4096, q 8192, k and v
// 512, 128 experts of 1536, 94 layers):
//
//	FP8, one scale per 128×128 block: q 64·32 + k 4·32 + v 4·32 + o 32·64
//	  + 128 experts·(2·12·32 + 32·12) = 151,808; ×94 = 14,269,952.
//	GPTQ, group 128: per [out, in] weight qzeros [in/128, out/8], scales
//	  [in/128, out] and g_idx [in]: q 299,008, k and v 22,528 each, o
//	  303,104, an expert's gate and up 59,392 each and down 56,832:
//	  23,126,016 a layer, 2,173,845,504 in all.
//	AWQ, group 128: the same without g_idx: q 294,912, k and v 18,432,
//	  o 294,912, an expert 3·55,296: 21,860,352 a layer, 2,054,873,088.
//
// The packed weights count 8 values an int32.
func TestQuantizedReleaseCounts(t *testing.T) {
	for _, tt := range []struct {
		name       string
		q          *arch.QuantConfig
		companions int64
		perExpert  int // tensors one expert stores
	}{
		{"FP8", fp8, 14_269_952, 6},
		{"GPTQ-Int4", gptq, 2_173_845_504, 12},
		{"AWQ", awq, 2_054_873_088, 9},
	} {
		spec := qwen3.MustNew(quantized(qwen3.Qwen3_235B_A22B(), tt.q))
		p := spec.Predict()
		if p.Total != 235_093_634_560 || p.Companions != tt.companions {
			t.Errorf("%s: total %d, companions %d; want 235,093,634,560 and %d", tt.name, p.Total, p.Companions, tt.companions)
		}
		var parts [3]int64
		n := 0
		for _, e := range spec.Expected(checkpoint.FormatSafetensors) {
			v := int64(max(e.Values, 1))
			for _, x := range e.Shape {
				v *= x
			}
			parts[e.Part] += v
			if e.Layer == 0 && e.Expert == 7 {
				n++
			}
		}
		if parts[arch.PartModel] != p.Total || parts[arch.PartCompanion] != p.Companions || n != tt.perExpert {
			t.Errorf("%s: the table holds %v and %d tensors an expert; want the prediction and %d", tt.name, parts, n, tt.perExpert)
		}
	}
}

// The 235B releases audit cleanly: the same total as the BF16 model, the
// companions apart (FP8 stored as published: F8_E4M3 weights, F32 scales).
func TestAuditQuantizedRelease(t *testing.T) {
	for _, tt := range []struct {
		name string
		q    *arch.QuantConfig
	}{{"FP8", fp8}, {"GPTQ-Int4", gptq}, {"AWQ", awq}} {
		syn := archtest.Synth{HF: synth.HFOptions{Shards: 24, FP8Blocks: tt.q == fp8}}
		r := syn.Audit(t, "Qwen3-235B-A22B-"+tt.name, qwen3.MustNew(quantized(qwen3.Qwen3_235B_A22B(), tt.q)), checkpoint.FormatSafetensors)
		if !r.Pass || r.Params.Total != 235_093_634_560 || r.Params.Companions != r.Params.PredictedCompanions || r.Params.Companions == 0 ||
			r.Model.Profile != "Qwen3-235B-A22B" {
			t.Errorf("%s: pass %v, params %+v, profile %q; findings %+v", tt.name, r.Pass, r.Params, r.Model.Profile, r.Findings)
		}
	}
}

// What a broken conversion leaves is a named finding: a missing block
// scale, a qweight packed along the output instead of the input, qzeros
// of another group count than group_size says.
func TestQuantizedDefects(t *testing.T) {
	// TinyMoE: d 32, q 32, k and v 16, experts of 32.
	for _, tt := range []struct {
		name        string
		q           *arch.QuantConfig
		edit        archtest.Edit
		tensor, msg string
	}{
		{"missing scale", fp8, archtest.Drop("model.layers.1.mlp.experts.3.down_proj.weight_scale_inv"),
			"model.layers.1.mlp.experts.3.down_proj.weight_scale_inv", "missing"},
		// k_proj [16, 32]: qweight [32/8, 16]; packed along the output [16/8, 32].
		{"qweight packed along the output", gptq, archtest.Reshape("model.layers.0.self_attn.k_proj.qweight", 2, 32),
			"model.layers.0.self_attn.k_proj.qweight", "shape [2 32], want [4 16]"},
		{"qzeros of group 16", &arch.QuantConfig{QuantMethod: "gptq", Bits: 4, GroupSize: 32}, archtest.Reshape("model.layers.1.mlp.experts.0.up_proj.qzeros", 2, 4),
			"model.layers.1.mlp.experts.0.up_proj.qzeros", "shape [2 4], want [1 4]"},
	} {
		spec := qwen3.MustNew(quantized(qwen3.TinyMoE(), tt.q))
		syn := archtest.Synth{HF: synth.HFOptions{Shards: 2}}
		r := syn.Audit(t, "tiny-"+tt.name, archtest.Edited{Spec: spec, Edit: tt.edit}, checkpoint.FormatSafetensors)
		if r.Pass || !archtest.HasFinding(r, audit.CheckTensors, tt.tensor, tt.msg) {
			t.Errorf("%s: pass %v; no finding names %s with %q: %+v", tt.name, r.Pass, tt.tensor, tt.msg, r.Findings)
		}
	}
}

// A scheme the tables do not predict is not guessed at: the audit checks
// the files' format and says why the architecture was not checked.
func TestUnknownQuantization(t *testing.T) {
	spec := qwen3.MustNew(qwen3.TinyMoE())
	l := archtest.Synth{}.Layout(t, "tiny", spec, checkpoint.FormatSafetensors)
	for i := range l.Files {
		if l.Files[i].Name == "config.json" {
			cfg := strings.Replace(string(l.Files[i].Head), `"model_type"`, `"quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true}, "model_type"`, 1)
			l.Files[i].Head, l.Files[i].Size = []byte(cfg), int64(len(cfg))
		}
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Run(ck, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Model.NotChecked, `quant_method "bitsandbytes"`) {
		t.Errorf("not checked %q, verdict %q; want the quantization named", r.Model.NotChecked, r.Verdict)
	}
}

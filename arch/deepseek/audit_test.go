package deepseek_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/arch/deepseek/deepseektest"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// sharded synthesizes F32 safetensors in n shards, or one F16 GGUF file
// without a tokenizer.
func sharded(n int) archtest.Synth {
	return archtest.Synth{HF: synth.HFOptions{Shards: n, DType: safetensors.F32}, GGUF: synth.GGUFOptions{Type: "F16", NoTokenizer: true}}
}

// The published DeepSeek-V3 layout (headers real, data virtual: 163
// shards, 91,991 tensors) audits cleanly in both formats under the
// family's own ids, with the model total, the multi-token-prediction
// parameters and the block scales reported apart (the GGUF has neither:
// llama.cpp drops the one and dequantizes the other).
func TestAuditDeepSeekV3(t *testing.T) {
	spec := deepseek.MustNew(deepseek.DeepSeekV3())
	for _, f := range archtest.Formats {
		r := sharded(163).Audit(t, "DeepSeek-V3", spec, f)
		mtp, scales := int64(13_463_426_304), int64(41_540_496)
		if f == checkpoint.FormatGGUF {
			mtp, scales = 0, 0
		}
		p := r.Params
		if !r.Pass || r.Gate.ID != "F-DSV3-001" || !r.Gate.Pass || r.Model.Profile != "DeepSeek-V3" || p.Total != 671_026_419_200 ||
			p.Active != 37_552_297_472 || p.ActiveWithoutEmbedding != 36_625_618_432 || p.MTP != mtp || p.Companions != scales ||
			p.Elements != 671_026_419_200+mtp+scales {
			t.Errorf("%s: pass %v, gate %+v, profile %q, params %+v; failed %v", f, r.Pass, r.Gate, r.Model.Profile, p, archtest.Failed(r))
		}
	}
}

// Defects of the parts this family adds are caught and named: a missing
// or misshaped block scale (as a weight_block_size other than the
// tensors' makes), a missing multi-token-prediction tensor, a missing half
// of llama.cpp's split kv_b.
func TestAuditDefects(t *testing.T) {
	spec := deepseek.MustNew(deepseek.Tiny())
	ob := deepseek.Obligations
	tests := []struct {
		name           string
		format         checkpoint.Format
		edit           archtest.Edit
		tensor, msg    string
		fail, mustPass []string
	}{
		{"missing expert scale", checkpoint.FormatSafetensors, archtest.Drop("model.layers.1.mlp.experts.2.up_proj.weight_scale_inv"),
			"model.layers.1.mlp.experts.2.up_proj.weight_scale_inv", "missing", []string{audit.CheckTensors}, []string{ob.Total, ob.Blocks}},
		// 8×8 blocks where the config says 16×16: [16, 32] → [2, 4] instead of [1, 2].
		{"scale of another block size", checkpoint.FormatSafetensors, archtest.Reshape("model.layers.0.self_attn.o_proj.weight_scale_inv", 4, 4),
			"model.layers.0.self_attn.o_proj.weight_scale_inv", "shape [4 4], want [2 2]", []string{audit.CheckTensors}, []string{ob.Total}},
		{"missing MTP eh_proj", checkpoint.FormatSafetensors, archtest.Drop("model.layers.3.eh_proj.weight"),
			"model.layers.3.eh_proj.weight", "missing", []string{audit.CheckTensors}, []string{ob.Total}},
		{"missing attn_v_b", checkpoint.FormatGGUF, archtest.Drop("blk.2.attn_v_b.weight"),
			"blk.2.attn_v_b.weight", "missing", []string{audit.CheckTensors, ob.Total, ob.Blocks}, nil},
		{"misshaped attn_k_b", checkpoint.FormatGGUF, archtest.Reshape("blk.1.attn_k_b.weight", 16, 8, 4),
			"blk.1.attn_k_b.weight", "want [8 16 4]", []string{audit.CheckTensors, ob.Blocks}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sharded(2).Audit(t, "tiny", archtest.Edited{Spec: spec, Edit: tt.edit}, tt.format)
			if r.Pass || r.Verdict != audit.VerdictFail {
				t.Errorf("verdict %q; want a failure", r.Verdict)
			}
			for _, id := range tt.fail {
				if !archtest.Fails(r, id) {
					t.Errorf("check %s did not fail (failed: %v)", id, archtest.Failed(r))
				}
			}
			for _, id := range tt.mustPass {
				if archtest.Fails(r, id) {
					t.Errorf("check %s failed; a companion or MTP defect is not one of the model's counts: %v", id, archtest.Failed(r))
				}
			}
			if !archtest.HasFinding(r, audit.CheckTensors, tt.tensor, tt.msg) {
				t.Errorf("no finding names %s with %q: %+v", tt.tensor, tt.msg, r.Findings)
			}
		})
	}
}

// A GGUF file converted before llama.cpp split kv_b (attn_kv_b whole,
// key_length and value_length the per-head widths, no *_mla keys) reads
// back as the same model and audits cleanly: 1 + 3·12 + 58·17 + 2 = 1,025
// tensors for DeepSeek-V3, the count llama.cpp logs for those files.
func TestLegacyKVB(t *testing.T) {
	for _, c := range []*deepseek.Config{deepseek.Tiny(), deepseek.DeepSeekV3()} {
		spec := deepseek.MustNew(c)
		legacy := deepseektest.LegacyKVB(spec, c)
		ck := sharded(1).Load(t, "legacy", legacy, checkpoint.FormatGGUF)
		got, _, err := arch.FromCheckpoint(ck)
		if err != nil {
			t.Fatal(err)
		}
		if c.NumHiddenLayers == 61 {
			if n := got.Count(checkpoint.FormatGGUF); n != 1_025 {
				t.Errorf("legacy DeepSeek-V3 GGUF: %d tensors predicted, want 1,025", n)
			}
		}
		r, err := audit.Run(ck, audit.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Pass || r.Params.Total != spec.Predict().Total {
			t.Errorf("%s legacy GGUF: pass %v, total %d; failed %v", c.ModelType, r.Pass, r.Params.Total, archtest.Failed(r))
		}
	}
}

// The metadata written for a synthesized GGUF reads back as the config it
// came from, less what GGUF does not carry.
func TestGGUFRoundTrip(t *testing.T) {
	for _, c := range []*deepseek.Config{deepseek.Tiny(), deepseek.KimiK2(), deepseek.DeepSeekV3()} {
		ck := sharded(1).Load(t, "rt", deepseek.MustNew(c), checkpoint.FormatGGUF)
		got, conflicts, err := arch.FromCheckpoint(ck)
		if err != nil || len(conflicts) != 0 {
			t.Fatalf("%s: %v, conflicts %v", c.ModelType, err, conflicts)
		}
		g := got.Config().(*deepseek.Config)
		if *g.QLoraRank != *c.QLoraRank || g.KVLoraRank != c.KVLoraRank || g.QKNopeHeadDim != c.QKNopeHeadDim || g.VHeadDim != c.VHeadDim ||
			g.QKRopeHeadDim != c.QKRopeHeadDim || g.NRoutedExperts != c.NRoutedExperts || g.NSharedExperts != c.NSharedExperts ||
			g.FirstKDenseReplace != c.FirstKDenseReplace || g.NumKeyValueHeads != c.NumAttentionHeads || g.VocabSize != c.VocabSize ||
			g.NumNextNPredictLayers != 0 || float32(g.RoutedScalingFactor) != float32(c.RoutedScalingFactor) ||
			g.NGroup != c.NGroup || g.TopkGroup != c.TopkGroup || g.ScoringFunc != c.ScoringFunc || g.NormTopkProb != c.NormTopkProb {
			t.Errorf("%s: read back %+v", c.ModelType, g)
		}
		// The forward configurations agree but for what llama.cpp does
		// its own way: kv_b split, the rotary pairs always interleaved,
		// the YaRN ramp always truncated and cos, sin unscaled.
		hf, gg := deepseek.MustNew(c).Forward(checkpoint.FormatSafetensors), got.(arch.Forwarder).Forward(checkpoint.FormatGGUF)
		if gg.Groups != hf.Groups || gg.TopKGroups != hf.TopKGroups || !gg.SigmoidRouting || float32(gg.RoutedScale) != float32(hf.RoutedScale) ||
			math.Abs(gg.AttnScale/hf.AttnScale-1) > 1e-7 || gg.Scaling.Factor != hf.Scaling.Factor || gg.Scaling.BetaFast != hf.Scaling.BetaFast ||
			gg.Scaling.OriginalMaxPositions != hf.Scaling.OriginalMaxPositions || gg.Scaling.Type != hf.Scaling.Type || (hf.Scaling.Name != "" && gg.Scaling.AttnFactor != 1) || !gg.MLA.SplitKVB || gg.Unsupported != "" {
			t.Errorf("%s: GGUF forward %+v (MLA %+v), safetensors %+v", c.ModelType, gg, *gg.MLA, hf)
		}
		if p := got.Predict(); p.Total != c.Predict().Total {
			t.Errorf("%s: GGUF total %d, config %d", c.ModelType, p.Total, c.Predict().Total)
		}
	}
}

// Configs no model runs with are refused naming the key.
func TestConfigRefused(t *testing.T) {
	for key, edit := range map[string]func(c *deepseek.Config){
		"num_experts_per_tok":   func(c *deepseek.Config) { c.NumExpertsPerTok = 5 },
		"n_group":               func(c *deepseek.Config) { c.NGroup = 3 },
		"topk_group":            func(c *deepseek.Config) { c.TopkGroup = 3 },
		"first_k_dense_replace": func(c *deepseek.Config) { c.FirstKDenseReplace = 4 },
		"weight_block_size":     func(c *deepseek.Config) { c.QuantizationConfig.WeightBlockSize = []int64{128} },
		"kv_lora_rank":          func(c *deepseek.Config) { c.KVLoraRank = 0 },
	} {
		c := deepseek.Tiny()
		edit(c)
		if _, err := deepseek.New(c); !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: New = %v, want an arch.ErrConfig naming it", key, err)
		}
	}
}

// A null q_lora_rank (DeepSeek-V2-Lite's form) is a full q_proj; an
// absent one is DeepseekV3Config's default 1536.
func TestQLoraRank(t *testing.T) {
	c, err := deepseek.ParseConfig([]byte(`{"model_type":"deepseek_v3","q_lora_rank":null}`))
	if err != nil || c.QLoraRank != nil {
		t.Errorf("null: %v, %v; want nil", c.QLoraRank, err)
	}
	c, err = deepseek.ParseConfig([]byte(`{"model_type":"deepseek_v3"}`))
	if err != nil || c.QLoraRank == nil || *c.QLoraRank != 1536 {
		t.Errorf("absent: %v, %v; want 1536", c.QLoraRank, err)
	}
	tiny := deepseek.Tiny()
	tiny.QLoraRank = nil
	spec := deepseek.MustNew(tiny)
	if _, _, ok := spec.Locate(checkpoint.FormatSafetensors, "model.layers.0.self_attn.q_proj.weight"); !ok {
		t.Error("no q_proj without q LoRA")
	}
	r := sharded(1).Audit(t, "noqlora", spec, checkpoint.FormatGGUF)
	if !r.Pass {
		t.Errorf("without q LoRA, GGUF: %v", archtest.Failed(r))
	}
}

// The spot-check runs a layer of each kind of Tiny without its FP8
// quantization, in both formats. Tiny's FP8 configuration over weights
// the harness stores as F32 beside their weight_scale_inv is refused with
// an error naming the tensor, not run with unscaled values (the FP8
// releases' form runs: spotcheck's TestDeepSeekFP8).
func TestSpotCheck(t *testing.T) {
	ck := sharded(1).Load(t, "tiny", deepseek.MustNew(deepseek.Tiny()), checkpoint.FormatSafetensors)
	if _, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Tokens: []int{1}}); err == nil || !strings.Contains(err.Error(), "weight_scale_inv") || !strings.Contains(err.Error(), "FP8") {
		t.Errorf("spotcheck.Run(F32 weights under an FP8 config) = %v, want an error naming the scales and FP8", err)
	}
	c := deepseek.Tiny()
	c.QuantizationConfig = nil
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		ck := sharded(1).Load(t, "tiny", deepseek.MustNew(c), f)
		for layer := range 2 {
			if _, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Layer: layer, Tokens: []int{1, 2}}); err != nil {
				t.Errorf("%v layer %d: spotcheck.Run = %v", f, layer, err)
			}
		}
	}
}

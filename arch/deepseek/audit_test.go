package deepseek_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// edited is a spec whose layout (and GGUF metadata) a test changes, to
// synthesize a checkpoint with a defect or in an older form; its
// config.json is the spec's own.
type edited struct {
	*deepseek.Spec
	edit func(f checkpoint.Format, es []arch.Expected) []arch.Expected
	meta func([]gguf.KV) []gguf.KV
}

func (e edited) Expected(f checkpoint.Format) []arch.Expected {
	return e.edit(f, e.Spec.Expected(f))
}

func (e edited) GGUFMetadata() []gguf.KV {
	if e.meta == nil {
		return e.Spec.GGUFMetadata()
	}
	return e.meta(e.Spec.GGUFMetadata())
}

// load synthesizes spec in format f (safetensors in shards, or one F16
// GGUF file) under name and loads it.
func load(tb testing.TB, name string, spec arch.Spec, f checkpoint.Format, shards int) *checkpoint.Checkpoint {
	tb.Helper()
	var l *synth.Layout
	var err error
	if f == checkpoint.FormatSafetensors {
		l, err = synth.HF(name, spec, synth.HFOptions{Shards: shards, DType: safetensors.F32})
	} else {
		l, err = synth.GGUF(name, spec, synth.GGUFOptions{Type: "F16", NoTokenizer: true})
	}
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

func auditOf(tb testing.TB, name string, spec arch.Spec, f checkpoint.Format, shards int) *audit.Report {
	tb.Helper()
	r, err := audit.Run(load(tb, name, spec, f, shards), audit.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func failed(r *audit.Report) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Pass && !c.Skipped {
			out = append(out, c.ID+": "+c.Detail)
		}
	}
	return out
}

// The published DeepSeek-V3 layout (headers real, data virtual: 163
// shards, 91,991 tensors) audits cleanly in both formats under the
// family's own ids, with the model total, the multi-token-prediction
// parameters and the block scales reported apart (the GGUF has neither:
// llama.cpp drops the one and dequantizes the other).
func TestAuditDeepSeekV3(t *testing.T) {
	spec := deepseek.MustNew(deepseek.DeepSeekV3())
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		r := auditOf(t, "DeepSeek-V3", spec, f, 163)
		mtp, scales := int64(13_463_426_304), int64(41_540_496)
		if f == checkpoint.FormatGGUF {
			mtp, scales = 0, 0
		}
		p := r.Params
		if !r.Pass || r.Gate.ID != "F-DSV3-001" || !r.Gate.Pass || r.Model.Profile != "DeepSeek-V3" || p.Total != 671_026_419_200 ||
			p.Active != 37_552_297_472 || p.ActiveWithoutEmbedding != 36_625_618_432 || p.MTP != mtp || p.Companions != scales ||
			p.Elements != 671_026_419_200+mtp+scales {
			t.Errorf("%s: pass %v, gate %+v, profile %q, params %+v; failed %v", f, r.Pass, r.Gate, r.Model.Profile, p, failed(r))
		}
	}
}

// Defects of the parts this family adds are caught and named: a missing
// or misshaped block scale (as a weight_block_size other than the
// tensors' makes), a missing multi-token-prediction tensor, a missing half
// of llama.cpp's split kv_b.
func TestAuditDefects(t *testing.T) {
	spec := deepseek.MustNew(deepseek.Tiny())
	drop := func(name string) func(checkpoint.Format, []arch.Expected) []arch.Expected {
		return func(_ checkpoint.Format, es []arch.Expected) []arch.Expected {
			return slices.DeleteFunc(es, func(e arch.Expected) bool { return e.Name == name })
		}
	}
	reshape := func(name string, shape []int64) func(checkpoint.Format, []arch.Expected) []arch.Expected {
		return func(_ checkpoint.Format, es []arch.Expected) []arch.Expected {
			for i := range es {
				if es[i].Name == name {
					es[i].Shape = shape
				}
			}
			return es
		}
	}
	ob := deepseek.Obligations
	tests := []struct {
		name           string
		format         checkpoint.Format
		edit           func(checkpoint.Format, []arch.Expected) []arch.Expected
		tensor, msg    string
		fail, mustPass []string
	}{
		{"missing expert scale", checkpoint.FormatSafetensors, drop("model.layers.1.mlp.experts.2.up_proj.weight_scale_inv"),
			"model.layers.1.mlp.experts.2.up_proj.weight_scale_inv", "missing", []string{audit.CheckTensors}, []string{ob.Total, ob.Blocks}},
		// 8×8 blocks where the config says 16×16: [16, 32] → [2, 4] instead of [1, 2].
		{"scale of another block size", checkpoint.FormatSafetensors, reshape("model.layers.0.self_attn.o_proj.weight_scale_inv", []int64{4, 4}),
			"model.layers.0.self_attn.o_proj.weight_scale_inv", "shape [4 4], want [2 2]", []string{audit.CheckTensors}, []string{ob.Total}},
		{"missing MTP eh_proj", checkpoint.FormatSafetensors, drop("model.layers.3.eh_proj.weight"),
			"model.layers.3.eh_proj.weight", "missing", []string{audit.CheckTensors}, []string{ob.Total}},
		{"missing attn_v_b", checkpoint.FormatGGUF, drop("blk.2.attn_v_b.weight"),
			"blk.2.attn_v_b.weight", "missing", []string{audit.CheckTensors, ob.Total, ob.Blocks}, nil},
		{"misshaped attn_k_b", checkpoint.FormatGGUF, reshape("blk.1.attn_k_b.weight", []int64{16, 8, 4}),
			"blk.1.attn_k_b.weight", "want [8 16 4]", []string{audit.CheckTensors, ob.Blocks}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := auditOf(t, "tiny", edited{Spec: spec, edit: tt.edit}, tt.format, 2)
			if r.Pass || r.Verdict != audit.VerdictFail {
				t.Errorf("verdict %q; want a failure", r.Verdict)
			}
			ids := map[string]bool{}
			for _, c := range r.Checks {
				ids[c.ID] = !c.Pass && !c.Skipped
			}
			for _, id := range tt.fail {
				if !ids[id] {
					t.Errorf("check %s did not fail (failed: %v)", id, failed(r))
				}
			}
			for _, id := range tt.mustPass {
				if ids[id] {
					t.Errorf("check %s failed; a companion or MTP defect is not one of the model's counts: %v", id, failed(r))
				}
			}
			if !slices.ContainsFunc(r.Findings, func(f audit.Finding) bool {
				return f.Check == audit.CheckTensors && f.Tensor == tt.tensor && strings.Contains(f.Message, tt.msg)
			}) {
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
		h, rank := c.NumAttentionHeads, c.KVLoraRank
		legacy := edited{Spec: spec,
			edit: func(f checkpoint.Format, es []arch.Expected) []arch.Expected {
				var out []arch.Expected
				for _, e := range es {
					switch {
					case strings.HasSuffix(e.Name, ".attn_k_b.weight"):
						e.Name = strings.Replace(e.Name, "attn_k_b", "attn_kv_b", 1)
						e.Component, e.Shape = deepseek.CompAttnKVB, []int64{rank, h * (c.QKNopeHeadDim + c.VHeadDim)}
					case strings.HasSuffix(e.Name, ".attn_v_b.weight"):
						continue
					}
					out = append(out, e)
				}
				return out
			},
			meta: func(kvs []gguf.KV) []gguf.KV {
				var out []gguf.KV
				for _, kv := range kvs {
					switch kv.Key {
					case "deepseek2.attention.key_length_mla", "deepseek2.attention.value_length_mla":
						continue
					case "deepseek2.attention.key_length":
						kv.Value = gguf.Uint32(uint32(c.QKNopeHeadDim + c.QKRopeHeadDim))
					case "deepseek2.attention.value_length":
						kv.Value = gguf.Uint32(uint32(c.VHeadDim))
					}
					out = append(out, kv)
				}
				return out
			}}
		ck := load(t, "legacy", legacy, checkpoint.FormatGGUF, 1)
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
			t.Errorf("%s legacy GGUF: pass %v, total %d; failed %v", c.ModelType, r.Pass, r.Params.Total, failed(r))
		}
	}
}

// The metadata written for a synthesized GGUF reads back as the config it
// came from, less what GGUF does not carry.
func TestGGUFRoundTrip(t *testing.T) {
	for _, c := range []*deepseek.Config{deepseek.Tiny(), deepseek.KimiK2()} {
		ck := load(t, "rt", deepseek.MustNew(c), checkpoint.FormatGGUF, 1)
		got, conflicts, err := arch.FromCheckpoint(ck)
		if err != nil || len(conflicts) != 0 {
			t.Fatalf("%s: %v, conflicts %v", c.ModelType, err, conflicts)
		}
		g := got.Config().(*deepseek.Config)
		if *g.QLoraRank != *c.QLoraRank || g.KVLoraRank != c.KVLoraRank || g.QKNopeHeadDim != c.QKNopeHeadDim || g.VHeadDim != c.VHeadDim ||
			g.QKRopeHeadDim != c.QKRopeHeadDim || g.NRoutedExperts != c.NRoutedExperts || g.NSharedExperts != c.NSharedExperts ||
			g.FirstKDenseReplace != c.FirstKDenseReplace || g.NumKeyValueHeads != c.NumAttentionHeads || g.VocabSize != c.VocabSize ||
			g.NumNextNPredictLayers != 0 || float32(g.RoutedScalingFactor) != float32(c.RoutedScalingFactor) {
			t.Errorf("%s: read back %+v", c.ModelType, g)
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
	r := auditOf(t, "noqlora", spec, checkpoint.FormatGGUF, 1)
	if !r.Pass {
		t.Errorf("without q LoRA, GGUF: %v", failed(r))
	}
}

// The family has no forward pass yet: the spot-check says so.
func TestSpotCheckNotApplicable(t *testing.T) {
	ck := load(t, "tiny", deepseek.MustNew(deepseek.Tiny()), checkpoint.FormatSafetensors, 1)
	if _, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Tokens: []int{1}}); !errors.Is(err, arch.ErrNotApplicable) {
		t.Errorf("spotcheck.Run = %v, want arch.ErrNotApplicable", err)
	}
}

package gptoss_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// syn synthesizes BF16 safetensors in three shards, as published, or one
// F16 GGUF file without a tokenizer.
var syn = archtest.Synth{HF: synth.HFOptions{Shards: 3, DType: safetensors.BF16}, GGUF: synth.GGUFOptions{Type: "F16", NoTokenizer: true}}

// The published layouts audit cleanly in both formats: the exact totals,
// both definitions of active, the MXFP4 scales apart, the profile.
func TestAuditPublished(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		c                    *gptoss.Config
		total, active, noEmb int64
		scales               int64
	}{
		{"gpt-oss-120b", gptoss.GptOss120B(), 116_829_156_672, 5_711_982_912, 5_132_849_472, 36 * 128 * 3 * 2880 * 2880 / 32},
		{"gpt-oss-20b", gptoss.GptOss20B(), 20_914_757_184, 4_187_440_704, 3_608_307_264, 24 * 32 * 3 * 2880 * 2880 / 32},
	} {
		for _, f := range archtest.Formats {
			r := syn.Audit(t, tt.name, gptoss.MustNew(tt.c), f)
			scales := tt.scales
			if f == checkpoint.FormatGGUF {
				scales = 0
			}
			p := r.Params
			if !r.Pass || r.Gate.ID != "F-GPTOSS-001" || r.Model.Profile != tt.name || p.Total != tt.total || p.Active != tt.active ||
				p.ActiveWithoutEmbedding != tt.noEmb || p.Companions != scales {
				t.Errorf("%s %s: pass %v, gate %+v, profile %q, params %+v; failed %v", tt.name, f, r.Pass, r.Gate, r.Model.Profile, p, archtest.Failed(r))
			}
		}
	}
}

// Defects of what this family adds are caught and named: missing MXFP4
// scales, blocks packed along the wrong dimension, sinks of the wrong
// length, a missing expert bias in GGUF.
func TestAuditDefects(t *testing.T) {
	spec := gptoss.MustNew(gptoss.Tiny()) // d 64, f 32, 4 experts, 4 heads
	ob := gptoss.Obligations
	for _, tt := range []struct {
		name        string
		format      checkpoint.Format
		edit        archtest.Edit
		tensor, msg string
		fail        []string
	}{
		{"missing scales", checkpoint.FormatSafetensors, archtest.Drop("model.layers.1.mlp.experts.down_proj_scales"),
			"model.layers.1.mlp.experts.down_proj_scales", "missing", []string{audit.CheckTensors}},
		// Packed along d instead of f: [E, f, d/32, 16] where [E, d, f/32, 16] is due.
		{"blocks packed along the wrong dimension", checkpoint.FormatSafetensors, archtest.Reshape("model.layers.0.mlp.experts.down_proj_blocks", 4, 32, 2, 16),
			"model.layers.0.mlp.experts.down_proj_blocks", "want [4 64 1 16]", []string{audit.CheckTensors, ob.Blocks}}, // the count is the same
		{"sinks of the wrong length", checkpoint.FormatSafetensors, archtest.Reshape("model.layers.1.self_attn.sinks", 2),
			"model.layers.1.self_attn.sinks", "want [4]", []string{audit.CheckTensors, ob.Total, ob.Blocks}},
		{"missing expert bias", checkpoint.FormatGGUF, archtest.Drop("blk.0.ffn_up_exps.bias"),
			"blk.0.ffn_up_exps.bias", "missing", []string{audit.CheckTensors, ob.Total, ob.Blocks}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := syn.Audit(t, "tiny", archtest.Edited{Spec: spec, Edit: tt.edit}, tt.format)
			if r.Pass || r.Verdict != audit.VerdictFail {
				t.Errorf("verdict %q; want a failure", r.Verdict)
			}
			for _, id := range tt.fail {
				if !archtest.Fails(r, id) {
					t.Errorf("check %s did not fail (failed: %v)", id, archtest.Failed(r))
				}
			}
			if !archtest.HasFinding(r, audit.CheckTensors, tt.tensor, tt.msg) {
				t.Errorf("no finding names %s with %q: %+v", tt.tensor, tt.msg, r.Findings)
			}
		})
	}
}

// A dequantized upload (no quantization_config: GptOssExperts' own
// [E, d, 2f] and [E, f, d]) audits as the same model.
func TestAuditDequantized(t *testing.T) {
	c := gptoss.GptOss20B()
	c.QuantizationConfig = nil
	r := syn.Audit(t, "gpt-oss-20b-BF16", gptoss.MustNew(c), checkpoint.FormatSafetensors)
	if !r.Pass || r.Params.Total != 20_914_757_184 || r.Params.Companions != 0 {
		t.Errorf("pass %v, params %+v; failed %v", r.Pass, r.Params, archtest.Failed(r))
	}
}

// The metadata written for a synthesized GGUF reads back as the config.
func TestGGUFRoundTrip(t *testing.T) {
	c := gptoss.GptOss20B()
	got, conflicts, err := syn.Read(t, "rt", gptoss.MustNew(c), checkpoint.FormatGGUF)
	if err != nil || len(conflicts) != 0 {
		t.Fatalf("%v, conflicts %v", err, conflicts)
	}
	g := got.Config().(*gptoss.Config)
	if g.NumLocalExperts != 32 || g.NumExpertsPerTok != 4 || g.SlidingWindow != 128 || g.HeadDim != 64 || g.NumKeyValueHeads != 8 ||
		!slices.Equal(g.LayerTypes, c.LayerTypes) || float32(g.RopeTheta) != 150000 {
		t.Errorf("read back %+v", g)
	}
}

// Configs no model runs with are refused naming the key.
func TestConfigRefused(t *testing.T) {
	for key, edit := range map[string]func(c *gptoss.Config){
		"num_experts_per_tok": func(c *gptoss.Config) { c.NumExpertsPerTok = 5 },
		"num_key_value_heads": func(c *gptoss.Config) { c.NumKeyValueHeads = 3 },
		"intermediate_size":   func(c *gptoss.Config) { c.IntermediateSize = 40 }, // not blocks of 32
	} {
		c := gptoss.Tiny()
		edit(c)
		if _, err := gptoss.New(c); !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: New = %v, want an arch.ErrConfig naming it", key, err)
		}
	}
}

// The spot-check runs Tiny gpt-oss (no RoPE scaling) and with the
// published models' YaRN, in both formats (a GGUF file gives it in the
// rope.scaling keys), and declines a scaling it does not compute.
func TestSpotCheckYaRN(t *testing.T) {
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		ck := syn.Load(t, "tiny", gptoss.MustNew(gptoss.Tiny()), f)
		if _, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Tokens: []int{1}}); err != nil {
			t.Errorf("%v: spotcheck.Run(Tiny) = %v", f, err)
		}
		c := gptoss.Tiny()
		c.RopeScaling = json.RawMessage(`{"beta_fast":32.0,"beta_slow":1.0,"factor":32.0,"original_max_position_embeddings":4096,"rope_type":"yarn","truncate":false}`)
		ck = syn.Load(t, "yarn", gptoss.MustNew(c), f)
		if _, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Tokens: []int{1, 2}}); err != nil {
			t.Errorf("%v: spotcheck.Run(yarn) = %v", f, err)
		}
		c.RopeScaling = json.RawMessage(`{"factor":4.0,"rope_type":"dynamic"}`)
		ck = syn.Load(t, "dynamic", gptoss.MustNew(c), f)
		if _, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Tokens: []int{1}}); !errors.Is(err, arch.ErrNotApplicable) || !strings.Contains(fmt.Sprint(err), "dynamic") {
			t.Errorf("%v: spotcheck.Run(dynamic) = %v, want arch.ErrNotApplicable naming dynamic", f, err)
		}
	}
}

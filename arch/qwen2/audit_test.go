package qwen2_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The published Qwen2.5-0.5B layout (headers real, data virtual) audits
// cleanly in both formats: its exact count, its profile, every obligation
// under the family's own ids and the gate.
func TestAuditPublished(t *testing.T) {
	spec := qwen2.MustNew(qwen2.Qwen2_5_0_5B())
	for _, f := range archtest.Formats {
		r := archtest.Default.Audit(t, "Qwen2.5-0.5B", spec, f)
		if !r.Pass || r.Gate.ID != "F-QWEN2-001" || !r.Gate.Pass || r.Params.Total != 494_032_768 || r.Params.Active != 494_032_768 ||
			r.Model.Profile != "Qwen2.5-0.5B" || r.Model.Label != "0.5B" {
			t.Errorf("%s: pass %v, gate %+v, params %+v, profile %q, label %q; want a pass of 494,032,768 as Qwen2.5-0.5B",
				f, r.Pass, r.Gate, r.Params, r.Model.Profile, r.Model.Label)
		}
		if failed := archtest.Failed(r); len(failed) > 0 {
			t.Errorf("%s: checks failed: %v", f, failed)
		}
	}
}

// Defects of the biases are caught and named through the audit: the
// tensor check names the tensor, the block walk says what breaks, and
// the counts and the gate fail.
func TestAuditBiasDefects(t *testing.T) {
	spec := qwen2.MustNew(qwen2.Tiny()) // q width 32, k and v width 16
	ob := qwen2.Obligations
	tests := []struct {
		name   string
		format checkpoint.Format
		edit   archtest.Edit
		tensor string
		// the messages the tensor check and the block walk give
		tensorMsg, blockMsg string
		fail                []string // the checks that must fail
	}{
		{"missing q_proj.bias", checkpoint.FormatSafetensors, archtest.Drop("model.layers.1.self_attn.q_proj.bias"),
			"model.layers.1.self_attn.q_proj.bias", "missing: qwen2 predicts attn_q_bias [32]", "layer 1: no attn_q_bias tensor",
			[]string{audit.CheckTensors, ob.Total, ob.Active, ob.FLOPs, ob.Blocks, ob.EndToEnd}},
		{"missing attn_q.bias", checkpoint.FormatGGUF, archtest.Drop("blk.1.attn_q.bias"),
			"blk.1.attn_q.bias", "missing: qwen2 predicts attn_q_bias [32]", "layer 1: no attn_q_bias tensor",
			[]string{audit.CheckTensors, ob.Total, ob.Active, ob.FLOPs, ob.Blocks, ob.EndToEnd}},
		{"k_proj.bias of the wrong length", checkpoint.FormatSafetensors, archtest.Reshape("model.layers.0.self_attn.k_proj.bias", 17),
			"model.layers.0.self_attn.k_proj.bias", "shape [17], want [16]", "layer 0: k bias has length 17, the k projection gives width 16",
			[]string{audit.CheckTensors, ob.Total, ob.Active, ob.FLOPs, ob.Blocks, ob.EndToEnd}},
		{"attn_k.bias of the wrong length", checkpoint.FormatGGUF, archtest.Reshape("blk.0.attn_k.bias", 32),
			"blk.0.attn_k.bias", "shape [32], want [16]", "layer 0: k bias has length 32, the k projection gives width 16",
			[]string{audit.CheckTensors, ob.Total, ob.Active, ob.FLOPs, ob.Blocks, ob.EndToEnd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := archtest.Default.Audit(t, "Qwen2.5-tiny", archtest.Edited{Spec: spec, Edit: tt.edit}, tt.format)
			if r.Pass || r.Gate.Pass || r.Verdict != audit.VerdictFail {
				t.Errorf("verdict %q, gate %+v; want a failure", r.Verdict, r.Gate)
			}
			for _, id := range tt.fail {
				if !archtest.Fails(r, id) {
					t.Errorf("check %s passed, want it failed (failed: %v)", id, archtest.Failed(r))
				}
			}
			if !archtest.HasFinding(r, audit.CheckTensors, tt.tensor, tt.tensorMsg) {
				t.Errorf("no %s finding names %s with %q: %+v", audit.CheckTensors, tt.tensor, tt.tensorMsg, r.Findings)
			}
			blockTensor := tt.tensor // the walk names the tensor it blames; none for one that is missing
			if strings.HasPrefix(tt.blockMsg, "layer 1: no ") {
				blockTensor = ""
			}
			if !archtest.HasFinding(r, ob.Blocks, blockTensor, tt.blockMsg) {
				t.Errorf("no %s finding says %q: %+v", ob.Blocks, tt.blockMsg, r.Findings)
			}
		})
	}
}

// The spot-check runs Qwen2's block: the spec wires the q/k/v biases, no
// q/k norms and transformers' RoPE layout in both formats (llama.cpp's
// qwen2 keeps the rows), and a layer's sliding window where the config
// gives one. On the synthesized layout, whose data reads as zeros, it
// runs and names the dead embedding rather than declining
// (spotcheck/families_test.go checks the block against its definition).
func TestSpotCheckWiring(t *testing.T) {
	c := qwen2.Tiny()
	c.UseSlidingWindow, c.MaxWindowLayers = true, 1
	spec := qwen2.MustNew(c)
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		fc := spec.Forward(f)
		if !fc.QKVBias || fc.QKNorm || fc.Layout != forward.RopeHalf || fc.Experts != 0 || fc.Window != 0 {
			t.Errorf("%s: Forward = %+v, want biases, no q/k norms, rotate-half, dense, no window", f, fc)
		}
		if w0, w1 := spec.LayerForward(f, 0).Window, spec.LayerForward(f, 1).Window; w0 != 0 || w1 != 128 {
			t.Errorf("%s: windows of layers 0 and 1 = %d, %d, want 0 and 128", f, w0, w1)
		}
		r, err := spotcheck.Run(context.Background(), archtest.Default.Load(t, "tiny", qwen2.MustNew(qwen2.Tiny()), f), spotcheck.Options{Tokens: []int{1}})
		if err != nil || len(r.Dead) == 0 || r.Dead[0].Kind != spotcheck.DeadEmbedding {
			t.Errorf("%s: spotcheck.Run = %+v, %v; want the zero embedding named", f, r, err)
		}
	}
}

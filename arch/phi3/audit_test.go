package phi3_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The published Phi-3-mini-4k and Phi-3.5-mini layouts (headers real,
// data virtual) audit cleanly in both formats: the exact count, the
// profile, every obligation under the family's own ids and the gate.
func TestAuditPublished(t *testing.T) {
	for name, cfg := range map[string]*phi3.Config{"Phi-3-mini-4k-instruct": phi3.Phi3Mini4K(), "Phi-3.5-mini-instruct": phi3.Phi3_5Mini()} {
		spec := phi3.MustNew(cfg)
		for _, f := range archtest.Formats {
			r := archtest.Default.Audit(t, name, spec, f)
			if !r.Pass || r.Gate.ID != "F-PHI3-001" || !r.Gate.Pass || r.Params.Total != 3_821_079_552 || r.Params.Active != 3_821_079_552 ||
				r.Model.Profile != "Phi-3-mini" || r.Model.Label != "mini" {
				t.Errorf("%s %s: pass %v, gate %+v, params %+v, profile %q, label %q; want a pass of 3,821,079,552 as Phi-3-mini",
					name, f, r.Pass, r.Gate, r.Params, r.Model.Profile, r.Model.Label)
			}
			if failed := archtest.Failed(r); len(failed) > 0 {
				t.Errorf("%s %s: checks failed: %v", name, f, failed)
			}
		}
	}
}

// A misshaped fused projection is caught and named through the audit: the
// tensor check names the tensor and the shape it wants, the block walk
// says the split does not fit, and the gate fails.
func TestAuditMisshapedFused(t *testing.T) {
	spec := phi3.MustNew(phi3.Tiny()) // d 32, q 32, k = v = 16: qkv [64, 32]; gate_up [96, 32]
	ob := phi3.Obligations
	tests := []struct {
		name                string
		format              checkpoint.Format
		tensor              string
		shape               []int64
		tensorMsg, blockMsg string
		blames              string // the tensor the block walk's finding names
	}{
		{"qkv_proj without v", checkpoint.FormatSafetensors, "model.layers.1.self_attn.qkv_proj.weight", []int64{48, 32},
			"shape [48 32], want [64 32]", "layer 1: qkv_proj gives width 48, the split into q 32, k 16 and v 16 needs 64",
			"model.layers.1.self_attn.qkv_proj.weight"},
		{"attn_qkv as wide as q", checkpoint.FormatGGUF, "blk.0.attn_qkv.weight", []int64{32, 32},
			"shape [32 32], want [32 64]", "layer 0: qkv_proj gives width 32, the split into q 32, k 16 and v 16 needs 64",
			"blk.0.attn_qkv.weight"},
		{"gate_up_proj of one half", checkpoint.FormatSafetensors, "model.layers.0.mlp.gate_up_proj.weight", []int64{48, 32},
			"shape [48 32], want [96 32]", "takes inputs of width 48, the activation has width 24",
			"model.layers.0.mlp.down_proj.weight"}, // after the chunking
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := archtest.Default.Audit(t, "Phi-3-tiny", archtest.Edited{Spec: spec, Edit: archtest.Reshape(tt.tensor, tt.shape...)}, tt.format)
			if r.Pass || r.Gate.Pass || r.Verdict != audit.VerdictFail {
				t.Errorf("verdict %q, gate %+v; want a failure", r.Verdict, r.Gate)
			}
			if !archtest.HasFinding(r, audit.CheckTensors, tt.tensor, tt.tensorMsg) {
				t.Errorf("no %s finding names %s with %q: %+v", audit.CheckTensors, tt.tensor, tt.tensorMsg, r.Findings)
			}
			if !archtest.HasFinding(r, ob.Blocks, tt.blames, tt.blockMsg) {
				t.Errorf("no %s finding names %s with %q: %+v", ob.Blocks, tt.blames, tt.blockMsg, r.Findings)
			}
		})
	}
}

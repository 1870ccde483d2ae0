package phi3_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// edited is a spec whose layout a test changes, to synthesize a
// checkpoint with a defect; its config.json and GGUF metadata are the
// spec's own, so the audit predicts the sound layout.
type edited struct {
	arch.Spec
	arch.GGUFWriter
	edit func(es []arch.Expected) []arch.Expected
}

func (e edited) Expected(f checkpoint.Format) []arch.Expected { return e.edit(e.Spec.Expected(f)) }

// auditOf synthesizes spec in format f (F32 safetensors in two shards, or
// an F16 GGUF file) under name and audits it.
func auditOf(tb testing.TB, name string, spec arch.Spec, f checkpoint.Format) *audit.Report {
	tb.Helper()
	var l *synth.Layout
	var err error
	if f == checkpoint.FormatSafetensors {
		l, err = synth.HF(name, spec, synth.HFOptions{Shards: 2, DType: safetensors.F32})
	} else {
		l, err = synth.GGUF(name, spec, synth.GGUFOptions{Type: "F16"})
	}
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		tb.Fatal(err)
	}
	r, err := audit.Run(ck, audit.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// The published Phi-3-mini-4k and Phi-3.5-mini layouts (headers real,
// data virtual) audit cleanly in both formats: the exact count, the
// profile, every obligation under the family's own ids and the gate.
func TestAuditPublished(t *testing.T) {
	for name, cfg := range map[string]*phi3.Config{"Phi-3-mini-4k-instruct": phi3.Phi3Mini4K(), "Phi-3.5-mini-instruct": phi3.Phi3_5Mini()} {
		spec := phi3.MustNew(cfg)
		for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
			r := auditOf(t, name, spec, f)
			if !r.Pass || r.Gate.ID != "F-PHI3-001" || !r.Gate.Pass || r.Params.Total != 3_821_079_552 || r.Params.Active != 3_821_079_552 ||
				r.Model.Profile != "Phi-3-mini" || r.Model.Label != "mini" {
				t.Errorf("%s %s: pass %v, gate %+v, params %+v, profile %q, label %q; want a pass of 3,821,079,552 as Phi-3-mini",
					name, f, r.Pass, r.Gate, r.Params, r.Model.Profile, r.Model.Label)
			}
			for _, c := range r.Checks {
				if !c.Pass && !c.Skipped {
					t.Errorf("%s %s: check %s failed: %s", name, f, c.ID, c.Detail)
				}
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
	reshape := func(name string, shape []int64) func([]arch.Expected) []arch.Expected {
		return func(es []arch.Expected) []arch.Expected {
			for i := range es {
				if es[i].Name == name {
					es[i].Shape = shape
				}
			}
			return es
		}
	}
	tests := []struct {
		name                string
		format              checkpoint.Format
		tensor              string
		shape               []int64
		tensorMsg, blockMsg string
	}{
		{"qkv_proj without v", checkpoint.FormatSafetensors, "model.layers.1.self_attn.qkv_proj.weight", []int64{48, 32},
			"shape [48 32], want [64 32]", "layer 1: qkv_proj gives width 48, the split into q 32, k 16 and v 16 needs 64"},
		{"attn_qkv as wide as q", checkpoint.FormatGGUF, "blk.0.attn_qkv.weight", []int64{32, 32},
			"shape [32 32], want [32 64]", "layer 0: qkv_proj gives width 32, the split into q 32, k 16 and v 16 needs 64"},
		{"gate_up_proj of one half", checkpoint.FormatSafetensors, "model.layers.0.mlp.gate_up_proj.weight", []int64{48, 32},
			"shape [48 32], want [96 32]", "takes inputs of width 48, the activation has width 24"}, // down_proj, after the chunking
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := auditOf(t, "Phi-3-tiny", edited{Spec: spec, GGUFWriter: spec, edit: reshape(tt.tensor, tt.shape)}, tt.format)
			if r.Pass || r.Gate.Pass || r.Verdict != audit.VerdictFail {
				t.Errorf("verdict %q, gate %+v; want a failure", r.Verdict, r.Gate)
			}
			has := func(check, tensor, msg string) bool {
				return slices.ContainsFunc(r.Findings, func(f audit.Finding) bool {
					return f.Check == check && (tensor == "" || f.Tensor == tensor) && strings.Contains(f.Message, msg)
				})
			}
			if !has(audit.CheckTensors, tt.tensor, tt.tensorMsg) {
				t.Errorf("no %s finding names %s with %q: %+v", audit.CheckTensors, tt.tensor, tt.tensorMsg, r.Findings)
			}
			if !has(ob.Blocks, "", tt.blockMsg) {
				t.Errorf("no %s finding says %q: %+v", ob.Blocks, tt.blockMsg, r.Findings)
			}
		})
	}
}

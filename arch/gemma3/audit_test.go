package gemma3_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// without is a spec whose layout lacks one tensor; its config.json and
// GGUF metadata are the spec's own, so the audit predicts the sound
// layout.
type without struct {
	arch.Spec
	arch.GGUFWriter
	drop string
}

func (w without) Expected(f checkpoint.Format) []arch.Expected {
	return slices.DeleteFunc(w.Spec.Expected(f), func(e arch.Expected) bool { return e.Name == w.drop })
}

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

// The published Gemma-3-1B layout (headers real, data virtual) audits
// cleanly in both formats: the exact count, the profile and its label,
// every obligation under the family's own ids and the gate.
func TestAuditPublished(t *testing.T) {
	spec := gemma3.MustNew(gemma3.Gemma3_1B())
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		r := auditOf(t, "gemma-3-1b-it", spec, f)
		if !r.Pass || r.Gate.ID != "F-GEMMA3-001" || !r.Gate.Pass || r.Params.Total != 999_885_952 || r.Params.Active != 999_885_952 ||
			r.Model.Profile != "Gemma-3-1B" || r.Model.Label != "1B" {
			t.Errorf("%s: pass %v, gate %+v, params %+v, profile %q, label %q; want a pass of 999,885,952 as Gemma-3-1B",
				f, r.Pass, r.Gate, r.Params, r.Model.Profile, r.Model.Label)
		}
		for _, c := range r.Checks {
			if !c.Pass && !c.Skipped {
				t.Errorf("%s: check %s failed: %s", f, c.ID, c.Detail)
			}
		}
	}
}

// A layer without its post_feedforward_layernorm is caught in both
// formats: the tensor check names the missing tensor and what it is, the
// block walk says the layer cannot be composed, and the gate fails.
func TestAuditMissingPostFeedforwardNorm(t *testing.T) {
	spec := gemma3.MustNew(gemma3.Tiny())
	ob := gemma3.Obligations
	for f, name := range map[checkpoint.Format]string{
		checkpoint.FormatSafetensors: "model.layers.5.post_feedforward_layernorm.weight",
		checkpoint.FormatGGUF:        "blk.5.post_ffw_norm.weight",
	} {
		t.Run(string(f), func(t *testing.T) {
			r := auditOf(t, "gemma-3-tiny", without{Spec: spec, GGUFWriter: spec, drop: name}, f)
			if r.Pass || r.Gate.Pass || r.Verdict != audit.VerdictFail {
				t.Errorf("verdict %q, gate %+v; want a failure", r.Verdict, r.Gate)
			}
			has := func(check, tensor, msg string) bool {
				return slices.ContainsFunc(r.Findings, func(x audit.Finding) bool {
					return x.Check == check && (tensor == "" || x.Tensor == tensor) && strings.Contains(x.Message, msg)
				})
			}
			if !has(audit.CheckTensors, name, "missing: gemma3 predicts ffn_post_norm [32]") {
				t.Errorf("no %s finding names %s as a missing ffn_post_norm", audit.CheckTensors, name)
			}
			if !has(ob.Blocks, "", "layer 5: no ffn_post_norm tensor") {
				t.Errorf("no %s finding says layer 5 lacks its ffn_post_norm", ob.Blocks)
			}
			if t.Failed() {
				for _, x := range r.Findings {
					t.Logf("  %+v", x)
				}
			}
		})
	}
}

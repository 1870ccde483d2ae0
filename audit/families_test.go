package audit_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// without is a family's example spec with one expected tensor left out of
// its layout, to synthesize a checkpoint that lacks it. The GGUF metadata
// is the spec's own.
type without struct {
	arch.Spec
	arch.GGUFWriter
	drop string
}

func (w without) Expected(f checkpoint.Format) []arch.Expected {
	return slices.DeleteFunc(w.Spec.Expected(f), func(e arch.Expected) bool { return e.Name == w.drop })
}

// bare is a family that gives nothing but the [arch.Spec] methods: the
// Qwen3-MoE layout under another name, without cost terms, block walk,
// forward wiring, contract, profiles or GGUF metadata. The checks that
// need those must say they do not apply, never answer with Qwen3's.
type bare struct{ arch.Spec }

func (bare) Family() string { return "bare" }

func (b bare) Config() any {
	c := *b.Spec.Config().(*qwen3.Config)
	c.ModelType = "bare_test"
	return &c
}

func init() {
	arch.Register(arch.Family{Name: "bare", ModelTypes: []string{"bare_test"}, GGUFArch: "bare_test",
		FromConfig: func(data []byte) (arch.Spec, error) {
			c, err := qwen3.ParseConfig(data)
			if err != nil {
				return nil, err
			}
			s, err := qwen3.NewMoE(c)
			return bare{s}, err
		},
		FromGGUF: func(*arch.GGUFMeta) (arch.Spec, error) { return nil, arch.ErrNotApplicable },
		Example:  func() arch.Spec { return bare{qwen3.MustNew(qwen3.TinyMoE())} },
	})
}

// broken is the bare family with a proof harness that found a
// counterexample: its formulas are wrong, so no checkpoint of it passes.
type broken struct{ bare }

func (broken) Family() string { return "broken" }

func (b broken) Config() any {
	c := b.bare.Config().(*qwen3.Config)
	c.ModelType = "broken_test"
	return c
}

func (broken) Harnesses() []arch.HarnessResult {
	return []arch.HarnessResult{{ID: "KANI-BROKEN-001", Obligation: "BROKEN-INV-001", Strategy: "exhaustive", Bound: 1, Configs: 1,
		Detail: "vocab_size 1: the layout holds 3, the prediction says 2"}}
}

func init() {
	arch.Register(arch.Family{Name: "broken", ModelTypes: []string{"broken_test"}, GGUFArch: "broken_test",
		FromConfig: func(data []byte) (arch.Spec, error) {
			c, err := qwen3.ParseConfig(data)
			if err != nil {
				return nil, err
			}
			s, err := qwen3.NewMoE(c)
			return broken{bare{s}}, err
		},
		FromGGUF: func(*arch.GGUFMeta) (arch.Spec, error) { return nil, arch.ErrNotApplicable },
		Example:  func() arch.Spec { return broken{bare{qwen3.MustNew(qwen3.TinyMoE())}} },
	})
}

// A harness that fails fails the gate and the verdict, with a finding
// naming it: the family's formulas cannot be trusted.
func TestFailingHarnessFailsTheGate(t *testing.T) {
	r, err := audit.Run(synthesize(t, broken{bare{qwen3.MustNew(qwen3.TinyMoE())}}, checkpoint.FormatSafetensors), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Pass || r.Verdict != audit.VerdictFail || r.Gate.Pass || len(r.Coverage.Harnesses) != 1 ||
		!slices.ContainsFunc(r.Findings, func(f audit.Finding) bool { return f.Check == "KANI-BROKEN-001" }) {
		t.Errorf("verdict %q, gate %v, harnesses %+v, findings %+v; want a failure naming KANI-BROKEN-001", r.Verdict, r.Gate.Pass, r.Coverage.Harnesses, r.Findings)
	}
}

// A family without the capabilities gets its obligations 3, 5, 6 and 7
// reported as not applicable, under ids of its own, and no gate.
func TestBareFamilyNotApplicable(t *testing.T) {
	r, err := audit.Run(synthesize(t, bare{qwen3.MustNew(qwen3.TinyMoE())}, checkpoint.FormatSafetensors), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ob := arch.NewObligations("BARE")
	skipped := map[string]bool{}
	for _, c := range r.Checks {
		if c.Skipped {
			skipped[c.ID] = true
			if c.Pass || !strings.HasPrefix(c.Detail, "not applicable") {
				t.Errorf("skipped check %s: pass %v, detail %q", c.ID, c.Pass, c.Detail)
			}
		}
		if strings.Contains(c.ID, "QM3E") {
			t.Errorf("check %s: a Qwen3-MoE id for family bare", c.ID)
		}
	}
	for _, id := range []string{ob.FLOPs, ob.Roofline, ob.Blocks, ob.EndToEnd} {
		if !skipped[id] {
			t.Errorf("check %s not reported as not applicable (skipped: %v)", id, skipped)
		}
	}
	if r.Gate.ID != ob.Gate || r.Gate.Pass || r.Pass || r.Model.Profile != "" {
		t.Errorf("gate %+v, Pass() %v, profile %q; want %s not passing and no profile", r.Gate, r.Pass, r.Model.Profile, ob.Gate)
	}
	if _, err := spotcheck.Run(context.Background(), synthesize(t, bare{qwen3.MustNew(qwen3.TinyMoE())}, checkpoint.FormatSafetensors),
		spotcheck.Options{Tokens: []int{1}}); !errors.Is(err, arch.ErrNotApplicable) {
		t.Errorf("spotcheck.Run(bare) = %v, want arch.ErrNotApplicable", err)
	}
}

// synthesize lays spec out in format f: F32 safetensors with two shards,
// or an F16 GGUF file.
func synthesize(tb testing.TB, spec arch.Spec, f checkpoint.Format) *checkpoint.Checkpoint {
	tb.Helper()
	var l *synth.Layout
	var err error
	if f == checkpoint.FormatSafetensors {
		l, err = synth.HF("example", spec, synth.HFOptions{Shards: 2, DType: safetensors.F32})
	} else {
		l, err = synth.GGUF("example", spec, synth.GGUFOptions{Type: "F16"})
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

// Every registered family goes through the same checks: its example model
// in both formats audits cleanly with the counts its spec predicts, under
// the seven obligations of its own ids and the structural checks, none of
// them skipped for lack of a capability the family has; and a tensor left
// out is named as missing and fails the gate.
func TestEveryFamilyGoesThroughTheSameChecks(t *testing.T) {
	fams := arch.Families()
	if len(fams) == 0 {
		t.Fatal("no family registered")
	}
	structural := []string{audit.CheckTensors, audit.CheckFiles, audit.CheckConfig, audit.CheckProfile}
	for _, fam := range fams {
		spec := fam.Example()
		if spec.Family() != fam.Name {
			t.Errorf("%s: Example().Family() = %q", fam.Name, spec.Family())
		}
		ob := arch.ObligationsOf(spec)
		wantIDs := append(slices.Clone(structural), ob.List()...)
		_, walks := spec.(arch.BlockWalker)
		_, costs := spec.(arch.Coster)
		for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
			t.Run(fam.Name+"/"+string(f), func(t *testing.T) {
				if _, ok := spec.(arch.GGUFWriter); !ok && f == checkpoint.FormatGGUF {
					t.Skipf("%s writes no GGUF metadata", fam.Name)
				}
				r, err := audit.Run(synthesize(t, spec, f), audit.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, c := range r.Checks {
					ids = append(ids, c.ID)
					skippable := c.ID == audit.CheckConfig || (c.ID == ob.Blocks || c.ID == ob.EndToEnd) && !walks || (c.ID == ob.FLOPs || c.ID == ob.Roofline) && !costs
					if c.Skipped && !skippable {
						t.Errorf("check %s skipped though %s has the capability: %s", c.ID, fam.Name, c.Detail)
					}
					if !c.Pass && !c.Skipped {
						t.Errorf("check %s failed: %s", c.ID, c.Detail)
					}
				}
				slices.Sort(ids)
				slices.Sort(wantIDs)
				if !slices.Equal(ids, wantIDs) {
					t.Errorf("checks %v, want %v", ids, wantIDs)
				}
				pred := spec.Predict()
				if r.Model.Family != fam.Name || r.Params.Total != pred.Total || r.Params.Active != pred.Active {
					t.Errorf("family %q, params %d / %d, want %q, %d / %d", r.Model.Family, r.Params.Total, r.Params.Active, fam.Name, pred.Total, pred.Active)
				}
				if r.Gate.ID != ob.Gate || r.Gate.Pass != (walks && costs) || r.Pass != r.Gate.Pass {
					t.Errorf("gate %+v, Pass() %v; want %s passing (all capabilities: %v)", r.Gate, r.Pass, ob.Gate, walks && costs)
				}

				// A checkpoint without the last tensor of layer 0.
				var drop string
				for _, e := range spec.Expected(f) {
					if e.Layer == 0 {
						drop = e.Name
					}
				}
				gw, _ := spec.(arch.GGUFWriter)
				broken, err := audit.Run(synthesize(t, without{Spec: spec, GGUFWriter: gw, drop: drop}, f), audit.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if broken.Pass || broken.Gate.Pass || checkByID(broken, audit.CheckTensors).Pass {
					t.Errorf("without %s: Pass() %v, gate %v, %s pass %v; want all false", drop, broken.Pass, broken.Gate.Pass, audit.CheckTensors, checkByID(broken, audit.CheckTensors).Pass)
				}
				named := slices.ContainsFunc(broken.Findings, func(x audit.Finding) bool {
					return x.Check == audit.CheckTensors && x.Tensor == drop && strings.Contains(x.Message, "missing")
				})
				if !named {
					t.Errorf("without %s: no %s finding names it missing: %+v", drop, audit.CheckTensors, broken.Findings)
				}
			})
		}
	}
}

// Every output format of the table writes the same report, and only the
// names it lists are found.
func TestFormats(t *testing.T) {
	r, err := audit.Run(synthesize(t, qwen3.MustNew(qwen3.TinyMoE()), checkpoint.FormatSafetensors), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range audit.Formats {
		got, ok := audit.LookupFormat(f.Name)
		if !ok || got.Name != f.Name {
			t.Errorf("LookupFormat(%q) = %v, %v", f.Name, got.Name, ok)
		}
		var b strings.Builder
		if err := f.Write(r, &b); err != nil || b.Len() == 0 {
			t.Errorf("format %s wrote %d bytes, %v", f.Name, b.Len(), err)
		}
		if !strings.Contains(audit.FormatNames(), f.Name) {
			t.Errorf("FormatNames() = %q lacks %s", audit.FormatNames(), f.Name)
		}
	}
	if _, ok := audit.LookupFormat("xml"); ok {
		t.Error(`LookupFormat("xml") found a format`)
	}
}

package audit

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/textfmt"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// shapeFindings turns the problems of a shape walk into findings of check
// id.
func shapeFindings(id string, ps []arch.Problem) []Finding {
	out := make([]Finding, 0, len(ps))
	for _, p := range ps {
		f := Finding{Check: id, Message: p.Message}
		if p.Tensor != nil {
			f.Tensor, f.File = p.Tensor.Name, p.Tensor.File
		}
		out = append(out, f)
	}
	return out
}

// spots returns the first one-layer and the first full spot-check result
// of the options, nil for none.
func (o Options) spots() (layer, full *spotcheck.Result) {
	for _, s := range o.Spot {
		if s.Full && full == nil {
			full = s
		} else if !s.Full && layer == nil {
			layer = s
		}
	}
	return layer, full
}

// spotFinding is the findings of a spot-check that did not pass, or none:
// one for each sign of a dead block it saw, each saying which, and one
// for a shape, finiteness or precision failure.
func spotFinding(id string, s *spotcheck.Result) []Finding {
	if s == nil || s.Passes() {
		return nil
	}
	what := fmt.Sprintf("the spot-check of layer %d", s.Layer)
	if s.Full {
		what = "the full spot-check"
	}
	var out []Finding
	for _, d := range s.Dead {
		out = append(out, Finding{Check: id, Message: fmt.Sprintf("%s saw a dead block: %s", what, d)})
	}
	rest := *s // the same spot-check but for the dead block
	rest.Dead = nil
	if !rest.Passes() {
		msg := fmt.Sprintf("the spot-check gave shape %v from %v, finite %v, float32 vs float64 %.3g (tolerance %.0e)",
			s.ShapeOut, s.ShapeIn, s.Finite, s.MaxRelErr, spotcheck.Tolerance)
		if s.NotCompared > 0 {
			msg += fmt.Sprintf(", %d of %d tokens not compared", s.NotCompared, len(s.Tokens))
		}
		out = append(out, Finding{Check: id, Message: msg})
	}
	return out
}

// checkBlocks is obligation 6 (FALSIFY-QM3E-006): every block preserves
// [seq, d], structurally from the weights' shapes (the family's block
// walk), and empirically where a spot-check ran.
func checkBlocks(a *auditRun, id string) outcome {
	sh := a.shapes
	if !sh.Applicable {
		return outcome{skip: "the architecture gives no block shape walk"}
	}
	layer, full := a.opts.spots()
	o := outcome{measured: sh.Blocks, predicted: sh.Layers,
		detail: fmt.Sprintf("all %d blocks map [seq, %d] to [seq, %d] by their weights' shapes", sh.Layers, sh.D, sh.D)}
	switch {
	case full != nil:
		o.level = "empirical"
		o.detail += fmt.Sprintf("; every block ran on the weights (--full, %d tokens): finite, float32 vs float64 %.2g", len(full.Tokens), full.MaxRelErr)
	case layer != nil:
		o.level = "empirical"
		o.detail += fmt.Sprintf("; block %d ran on the weights (%d tokens): %v → %v, finite, float32 vs float64 %.2g", layer.Layer, len(layer.Tokens), layer.ShapeIn, layer.ShapeOut, layer.MaxRelErr)
	default:
		o.detail += "; not run on the weights (" + spotHint(a.spec, "audit --spotcheck") + ")"
	}
	ran := layer
	if ran == nil {
		ran = full
	}
	o.findings = append(shapeFindings(id, sh.PerBlock), spotFinding(id, ran)...)
	return o
}

// checkEndToEnd is obligation 7 (FALSIFY-QM3E-007): tokens → [seq, d] → …
// → [seq, V], structurally, and by a full forward where one ran.
func checkEndToEnd(a *auditRun, id string) outcome {
	sh := a.shapes
	if !sh.Applicable {
		return outcome{skip: "the architecture gives no block shape walk"}
	}
	_, full := a.opts.spots()
	o := outcome{detail: fmt.Sprintf("tokens → [seq, %d] → %d blocks → [seq, %d] → [seq, %d] by the weights' shapes", sh.D, sh.Layers, sh.D, sh.Vocab)}
	if full != nil {
		o.level = "empirical"
		o.detail += fmt.Sprintf("; the full model ran: %v tokens → logits %v", full.ShapeIn, full.ShapeOut)
	} else {
		o.detail += "; not run end to end (" + spotHint(a.spec, "audit --spotcheck on a model under "+textfmt.Bytes(spotcheck.MaxFullBytes)) + ")"
	}
	o.findings = append(shapeFindings(id, sh.EndToEnd), spotFinding(id, full)...)
	return o
}

// spotHint says how to run the weights: the hint, or that the family has
// no forward pass yet.
func spotHint(spec arch.Spec, hint string) string {
	if _, ok := spec.(arch.Forwarder); !ok {
		return "the spot-check has no forward pass for " + spec.Family() + " yet"
	}
	return hint
}

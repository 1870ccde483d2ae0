package compare

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/weightaudit/weightaudit/internal/junit"
	"github.com/weightaudit/weightaudit/internal/outfmt"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// Formats lists the output formats, the default first.
var Formats = outfmt.Table[*Report]{
	{Name: "table", Write: (*Report).WriteText},
	{Name: "json", Write: (*Report).WriteJSON},
	{Name: "markdown", Write: (*Report).WriteMarkdown},
	{Name: "junit", Write: (*Report).WriteJUnit},
	{Name: "html", Write: (*Report).WriteHTML},
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return textfmt.WriteJSON(w, r) }

// maxRows bounds the pairs and tensors a text report lists; the JSON has
// them all.
const maxRows = textfmt.MaxTextFindings

// worst returns the pairs ordered by how close they come to their bound,
// failed first.
func (r *Report) worst() []Pair {
	ps := slices.Clone(r.Pairs)
	ratio := func(p Pair) float64 {
		if p.Bound == 0 {
			return 0
		}
		return p.RelRMS / p.Bound
	}
	slices.SortStableFunc(ps, func(a, b Pair) int {
		switch {
		case a.Pass != b.Pass:
			if !a.Pass {
				return -1
			}
			return 1
		case ratio(a) > ratio(b):
			return -1
		case ratio(a) < ratio(b):
			return 1
		}
		return 0
	})
	return ps
}

// WriteText writes the report for people: the verdict first, the two
// sides, the failed pairs (then the closest to their bound), what has no
// partner, and the metadata findings.
func (r *Report) WriteText(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("%s\n", r.Headline)
	for _, s := range []struct {
		label string
		side  Side
	}{{"A", r.A}, {"B", r.B}} {
		p.F("%s  %s (%s, %s, %s tensors)\n", s.label, s.side.Source, s.side.Family, s.side.Format, textfmt.Count(int64(s.side.Tensors)))
	}
	mode := fmt.Sprintf("%d sampled rows per tensor, %d per routed expert's (seed %d)", r.Sample, max(1, r.Sample/expertShare), r.Seed)
	if r.Full {
		mode = "every row"
	}
	p.F("compared %d tensor pair(s), %s; %s read\n", len(r.Pairs), mode, textfmt.Bytes(r.BytesRead))
	if len(r.Metadata) > 0 {
		p.F("\nmetadata (%d)\n", len(r.Metadata))
		for i, f := range r.Metadata {
			if i == maxRows {
				p.F("  …and %d more (see --format json)\n", len(r.Metadata)-maxRows)
				break
			}
			p.F("  %s\n", f.Message)
		}
	}
	ps := r.worst()
	title := "closest to their bound"
	if r.Failed > 0 {
		title = "beyond their bound, then the closest"
	}
	p.F("\ntensors %s\n", title)
	for i, x := range ps {
		if i == maxRows || (x.Pass && i >= 5) {
			break
		}
		status := "ok  "
		if !x.Pass {
			status = "FAIL"
		}
		p.F("  %s %s  %s ~ %s  [%s→%s] rel %.3g (bound %.3g) max %.3g cos %.6f\n", status, x.Role, x.A, x.B, x.TypeA, x.TypeB, x.RelRMS, x.Bound, x.MaxAbs, x.Cosine)
		if x.Diagnosis != "" {
			p.F("       %s\n", x.Diagnosis)
		}
	}
	var lacking, expected []Unpaired
	for _, u := range r.Unpaired {
		if u.Expected {
			expected = append(expected, u)
		} else {
			lacking = append(lacking, u)
		}
	}
	if len(lacking) > 0 {
		p.F("\nwithout a partner (%d)\n", len(lacking))
		for i, u := range lacking {
			if i == maxRows {
				p.F("  …and %d more (see --format json)\n", len(lacking)-maxRows)
				break
			}
			p.F("  %s %s: %s\n", strings.ToUpper(u.Side), u.Tensor, u.Reason)
		}
	}
	if len(expected) > 0 {
		p.F("\n%d tensor(s) the other format does not carry, as expected (the first: %s: %s)\n", len(expected), expected[0].Tensor, expected[0].Reason)
	}
	return p.Err
}

// WriteMarkdown writes the report as a Markdown section, for a CI
// summary.
func (r *Report) WriteMarkdown(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("## weightaudit compare: %s\n\n", textfmt.MDEscape(r.Headline))
	p.F("| side | source | family | format | tensors |\n| --- | --- | --- | --- | ---: |\n")
	p.F("| A | `%s` | %s | %s | %d |\n| B | `%s` | %s | %s | %d |\n\n", r.A.Source, r.A.Family, r.A.Format, r.A.Tensors, r.B.Source, r.B.Family, r.B.Format, r.B.Tensors)
	p.F("| | role | A | B | types | rel RMS | bound | cosine | diagnosis |\n| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |\n")
	for i, x := range r.worst() {
		if i == maxRows {
			break
		}
		p.F("| %s | %s | `%s` | `%s` | %s→%s | %.3g | %.3g | %.6f | %s |\n", textfmt.PassIcon(x.Pass), x.Role, x.A, x.B, x.TypeA, x.TypeB, x.RelRMS, x.Bound, x.Cosine, textfmt.MDEscape(x.Diagnosis))
	}
	for _, f := range r.Metadata {
		p.F("\n- metadata: %s", textfmt.MDEscape(f.Message))
	}
	for _, u := range r.Unpaired {
		if !u.Expected {
			p.F("\n- %s `%s` without a partner: %s", strings.ToUpper(u.Side), u.Tensor, textfmt.MDEscape(u.Reason))
		}
	}
	p.F("\n")
	return p.Err
}

// WriteJUnit writes the report as JUnit XML: the verdict and headline as
// the suite's properties, the run's start and duration as its timestamp
// and time, one test case per tensor pair (named by its role, failed with
// its diagnosis), one per tensor without a partner that should have one
// (failed) or could not be paired yet (skipped), and one, [CaseMetadata],
// for the metadata; the classname is the two sources and the family.
func (r *Report) WriteJUnit(w io.Writer) error {
	s := junit.Suite{Name: "weightaudit compare " + r.A.Source + " " + r.B.Source, Started: r.Started, Seconds: r.Seconds,
		Properties: []junit.Property{{Name: "verdict", Value: r.Verdict}, {Name: "headline", Value: r.Headline}}}
	class := junit.ClassName(r.A.Source+" vs "+r.B.Source, r.A.Family)
	for _, p := range r.Pairs {
		c := junit.Case{Name: p.Role, ClassName: class,
			SystemOut: fmt.Sprintf("%s ~ %s [%s→%s] rel %.3g (bound %.3g) max %.3g cos %.6f", p.A, p.B, p.TypeA, p.TypeB, p.RelRMS, p.Bound, p.MaxAbs, p.Cosine)}
		if !p.Pass {
			c.Failure = &junit.Failure{Message: p.B + ": " + p.Diagnosis, Text: c.SystemOut}
		}
		s.Add(c)
	}
	for _, u := range r.Unpaired {
		c := junit.Case{Name: strings.ToUpper(u.Side) + " " + u.Tensor, ClassName: class}
		switch {
		case u.Expected:
			continue
		case u.NotCompared:
			c.Skipped = &junit.Skipped{Message: u.Reason}
		default:
			c.Failure = &junit.Failure{Message: u.Reason}
		}
		s.Add(c)
	}
	meta := junit.Case{Name: CaseMetadata, ClassName: class}
	if len(r.Metadata) > 0 {
		var msgs []string
		for _, f := range r.Metadata {
			msgs = append(msgs, f.Message)
		}
		meta.Failure = junit.FailureOf("metadata finding", msgs)
	}
	s.Add(meta)
	return junit.Write(w, s)
}

// CaseMetadata names the JUnit case of the metadata comparison
// (config.json against the GGUF metadata, types against the recipe).
const CaseMetadata = "COMPARE-METADATA"

package verify

import (
	"fmt"
	"io"
	"slices"

	"github.com/weightaudit/weightaudit/internal/junit"
	"github.com/weightaudit/weightaudit/internal/outfmt"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// Formats lists the output formats of a verify [Report], the default
// first: a new format is one row.
var Formats = outfmt.Table[*Report]{
	{Name: "table", Write: (*Report).WriteText},
	{Name: "json", Write: (*Report).WriteJSON},
	{Name: "markdown", Write: (*Report).WriteMarkdown},
	{Name: "junit", Write: (*Report).WriteJUnit},
	{Name: "html", Write: (*Report).WriteHTML},
}

// DiffFormats lists the output formats of a [DiffReport], the default
// first.
var DiffFormats = outfmt.Table[*DiffReport]{
	{Name: "table", Write: (*DiffReport).WriteText},
	{Name: "json", Write: (*DiffReport).WriteJSON},
	{Name: "markdown", Write: (*DiffReport).WriteMarkdown},
	{Name: "junit", Write: (*DiffReport).WriteJUnit},
	{Name: "html", Write: (*DiffReport).WriteHTML},
}

// The names of the JUnit cases of a verify report that are not a
// finding's check.
const (
	// CaseFile names the case of one file: "VERIFY-FILE name", failed
	// by any finding about the file.
	CaseFile = "VERIFY-FILE"
	// CaseOther gathers the findings that name no file of the report.
	CaseOther = "VERIFY-OTHER"
)

// WriteMarkdown writes the report as Markdown for a CI step summary: the
// headline, the files with their digests and status, the findings (at
// most 40) and the per-layer summary folded away.
func (r *Report) WriteMarkdown(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("## %s %s\n\n", textfmt.Icon(r.Verdict), textfmt.MDEscape(r.Headline))
	p.F("`%s`: %s, %d file(s), %d tensor(s); read %s of %s in %.2f s.\n\n",
		r.Source, r.Format, r.Totals.Files, r.Totals.Tensors, textfmt.Bytes(r.Totals.BytesRead), textfmt.Bytes(r.Totals.Bytes), r.Seconds)
	p.F("| file | size | sha256 | status |\n| --- | ---: | --- | --- |\n")
	for _, f := range r.Files {
		sum := "`" + short(f.SHA256) + "`"
		if f.SHA256 == "" {
			sum = fmt.Sprintf("(read %s)", textfmt.Bytes(f.Read))
		}
		status := f.Status
		if f.ExpectedFrom != "" && (f.Status == "ok" || f.Status == "mismatch") {
			status += " (" + f.ExpectedFrom + ")"
		}
		p.F("| `%s` | %s | %s | %s |\n", f.Name, textfmt.Bytes(f.Size), sum, textfmt.MDEscape(status))
	}
	if len(r.Findings) > 0 {
		p.F("\n### Findings (%d)\n\n| check | file | tensor | message |\n| --- | --- | --- | --- |\n", len(r.Findings))
		for i, f := range r.Findings {
			if i == textfmt.MaxTextFindings {
				p.F("\n…and %d more (see the JSON report).\n", len(r.Findings)-i)
				break
			}
			p.F("| `%s` | %s | %s | %s |\n", f.Check, textfmt.MDCode(f.File), textfmt.MDCode(f.Tensor), textfmt.MDEscape(f.Message))
		}
	}
	if len(r.Layers) > 0 {
		p.F("\n<details><summary>Layers</summary>\n\n| layer | tensors | bytes | NaN | Inf | all-zero | zero runs | absmax | findings |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, l := range r.Layers {
			name := fmt.Sprint(l.Layer)
			if l.Layer < 0 {
				name = "other"
			}
			p.F("| %s | %d | %s | %d | %d | %d | %d | %.4g | %d |\n", name, l.Tensors, textfmt.Bytes(l.Bytes), l.NaN, l.Inf, l.AllZero, l.ZeroRuns, l.AbsMax, l.Findings)
		}
		p.F("\n</details>\n")
	}
	return p.Err
}

// WriteJUnit writes the report as JUnit XML: the verdict and headline as
// the suite's properties, the run's start and duration as its timestamp
// and time, one case per file ([CaseFile] and the file's name; its
// classname the source and format) failed by the findings about that file
// (their check ids open the failure's lines), skipped when the file was
// not read to its end because the run was interrupted; the findings that
// name no file of the report's go to one case [CaseOther].
func (r *Report) WriteJUnit(w io.Writer) error {
	s := junit.Suite{Name: "weightaudit verify " + r.Source, Started: r.Started, Seconds: r.Seconds,
		Properties: []junit.Property{{Name: "verdict", Value: r.Verdict}, {Name: "headline", Value: r.Headline}}}
	class := junit.ClassName(r.Source, string(r.Format))
	seen := map[string]bool{}
	for _, f := range r.Files {
		seen[f.Name] = true
	}
	byFile := map[string][]Finding{}
	var other []Finding
	for _, f := range r.Findings {
		names := f.Files
		if f.File != "" {
			names = []string{f.File}
		}
		// A finding about no file, or only about files outside the
		// report's (a shard the index names that is absent, a layer's
		// files), fails the case of the rest: none is left out.
		if !slices.ContainsFunc(names, func(n string) bool { return seen[n] }) {
			other = append(other, f)
		}
		for _, n := range names {
			byFile[n] = append(byFile[n], f)
		}
	}
	fail := func(c *junit.Case, fs []Finding) {
		lines := make([]string, len(fs))
		for i, f := range fs {
			lines[i] = f.Check + ": " + findingLine(f)
		}
		c.Failure = junit.FailureOf("finding", lines)
	}
	for _, f := range r.Files {
		c := junit.Case{Name: CaseFile + " " + f.Name, ClassName: class, SystemOut: fileLine(f)}
		switch {
		case len(byFile[f.Name]) > 0:
			fail(&c, byFile[f.Name])
		case f.Status == "incomplete":
			c.Skipped = &junit.Skipped{Message: "not read to its end: the run was interrupted"}
		}
		s.Add(c)
	}
	if len(other) > 0 {
		c := junit.Case{Name: CaseOther, ClassName: class}
		fail(&c, other)
		s.Add(c)
	}
	return junit.Write(w, s)
}

// fileLine says what verify found of one file.
func fileLine(f FileCheck) string {
	out := fmt.Sprintf("%d bytes, read %d, status %s", f.Size, f.Read, f.Status)
	if f.SHA256 != "" {
		out += ", sha256 " + f.SHA256
	}
	if f.ExpectedFrom != "" {
		out += ", compared with " + f.ExpectedFrom
	}
	if f.Note != "" {
		out += "; " + f.Note
	}
	return out
}

// findingLine is a finding's message with what it is about.
func findingLine(f Finding) string {
	where := f.File
	switch {
	case f.Tensor != "":
		where = fmt.Sprintf("tensor %s (%s)", f.Tensor, f.File)
	case f.Layer != "":
		where = "layer " + f.Layer
	}
	if where == "" {
		return f.Message
	}
	return where + ": " + f.Message
}

// WriteMarkdown writes the diff as Markdown for a CI step summary: the
// verdict, the two sides, and a table of the tensors that differ (at most
// 40; the JSON and JUnit reports list them all).
func (r *DiffReport) WriteMarkdown(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("## %s %s\n\n", textfmt.Icon(r.Verdict), r.headline())
	p.F("- a: `%s`\n- b: `%s`\n", r.A, r.B)
	rows := r.differences()
	if len(rows) > 0 {
		p.F("\n| | tensor | a | b |\n| --- | --- | --- | --- |\n")
		for i, d := range rows {
			if i == textfmt.MaxTextFindings {
				p.F("\n…and %d more (see the JSON report).\n", len(rows)-i)
				break
			}
			p.F("| %s | `%s` | %s | %s |\n", d.kind, d.name, textfmt.MDEscape(d.a), textfmt.MDEscape(d.b))
		}
	}
	if len(r.Unhashed) > 0 {
		p.F("\n%d tensor(s) not compared (no digest).\n", len(r.Unhashed))
	}
	return p.Err
}

// The names of the JUnit cases of a diff that are not a tensor's.
const (
	// DiffSame is the case of the tensors that are the same on both
	// sides (one case for them all).
	DiffSame = "DIFF-SAME"
	// DiffTensorCase names the case of a tensor that differs: "DIFF-TENSOR
	// name", failed with how it differs (added, removed, reshaped,
	// retyped, changed).
	DiffTensorCase = "DIFF-TENSOR"
)

// WriteJUnit writes the diff as JUnit XML: one passing case [DiffSame]
// counting the tensors that are the same, one failed case per tensor that
// differs (a tensor both reshaped and retyped is one case), one skipped
// case per tensor a side has no digest for; the classname is the two
// sides.
func (r *DiffReport) WriteJUnit(w io.Writer) error {
	s := junit.Suite{Name: "weightaudit diff " + r.A + " " + r.B, Started: r.Started, Seconds: r.Seconds,
		Properties: []junit.Property{{Name: "verdict", Value: r.Verdict}}}
	class := r.A + " vs " + r.B
	s.Add(junit.Case{Name: DiffSame, ClassName: class, SystemOut: fmt.Sprintf("%d tensor(s) with the same shape, dtype and bytes", r.Same)})
	for _, d := range r.differences() {
		msg := fmt.Sprintf("%s: a %s, b %s", d.kind, d.a, d.b)
		s.Add(junit.Case{Name: DiffTensorCase + " " + d.name, ClassName: class, Failure: &junit.Failure{Message: msg}})
	}
	for _, t := range r.Unhashed {
		s.Add(junit.Case{Name: DiffTensorCase + " " + t.Name, ClassName: class, Skipped: &junit.Skipped{Message: "not compared: a side has no digest for it"}})
	}
	return junit.Write(w, s)
}

// diffRow is one tensor that differs, for the Markdown and JUnit reports.
type diffRow struct {
	kind, name, a, b string
}

// differences lists the tensors that differ, each once, in the text
// report's order: removed, added, reshaped (and retyped with it),
// retyped, changed.
func (r *DiffReport) differences() []diffRow {
	var rows []diffRow
	for _, t := range r.Removed {
		rows = append(rows, diffRow{"removed", t.Name, fmt.Sprintf("%s %v", t.DType, t.Shape), "—"})
	}
	for _, t := range r.Added {
		rows = append(rows, diffRow{"added", t.Name, "—", fmt.Sprintf("%s %v", t.DType, t.Shape)})
	}
	seen := map[string]bool{}
	for _, c := range r.Reshaped {
		seen[c.Name] = true
		rows = append(rows, diffRow{"reshaped", c.Name, fmt.Sprintf("%s %v", c.A.DType, c.A.Shape), fmt.Sprintf("%s %v", c.B.DType, c.B.Shape)})
	}
	for _, c := range r.Retyped {
		if !seen[c.Name] {
			rows = append(rows, diffRow{"retyped", c.Name, c.A.DType, c.B.DType})
		}
	}
	for _, c := range r.Changed {
		a, b := "sha256 "+short(c.A.SHA256), "sha256 "+short(c.B.SHA256)
		if c.FirstDiff != nil {
			b += fmt.Sprintf(" (first difference at byte %d", *c.FirstDiff)
			if c.MaxAbsDelta != nil {
				b += fmt.Sprintf(", max |Δ| %.6g", *c.MaxAbsDelta)
			}
			b += ")"
		}
		rows = append(rows, diffRow{"changed", c.Name, a, b})
	}
	return rows
}

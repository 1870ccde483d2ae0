package verify

import (
	"fmt"
	"io"
	"strconv"

	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// The checks of a diff's HTML page, one per way a tensor can differ; a
// check fails when some tensor differs that way, and the page's findings
// name each such tensor under the check's id.
const (
	diffAdded    = "DIFF-ADDED"
	diffRemoved  = "DIFF-REMOVED"
	diffReshaped = "DIFF-RESHAPED"
	diffRetyped  = "DIFF-RETYPED"
	diffChanged  = "DIFF-CHANGED"
	diffUnhashed = "DIFF-UNHASHED"
)

// maxDiffRows bounds the rows of each of the page's tables; the JSON
// report lists every tensor.
const maxDiffRows = 1000

// WriteHTML writes the diff as one self-contained HTML page (package
// internal/htmlreport): the verdict (pass when the tensors are identical)
// and, as root causes, the first tensors that differ; the two sides, the
// counts of each kind of difference and the bytes read; one check per
// kind; a table of the tensors that differ (for a changed tensor compared
// by content, the offset of its first differing byte and the largest
// difference of its values), the files whose digests differ and the
// tensors not compared; then every difference in the searchable list.
func (r *DiffReport) WriteHTML(w io.Writer) error {
	return htmlreport.Write(w, r.htmlPage())
}

// diffHTMLRow is one tensor that differs, as the page shows it.
type diffHTMLRow struct {
	check, kind, name string
	a, b              string // dtype and shape of each side, "—" for none
	file              string
	firstDiff, maxAbs string
}

// htmlRows lists the tensors that differ, each once, in the text report's
// order: removed, added, reshaped (and retyped with it), retyped, changed.
func (r *DiffReport) htmlRows() []diffHTMLRow {
	var rows []diffHTMLRow
	side := func(dtype string, shape []int64) string { return fmt.Sprintf("%s %v", dtype, shape) }
	files := func(c DiffChange) string {
		if c.A.File == c.B.File {
			return c.A.File
		}
		return c.A.File + " → " + c.B.File
	}
	for _, t := range r.Removed {
		rows = append(rows, diffHTMLRow{check: diffRemoved, kind: "removed", name: t.Name, a: side(t.DType, t.Shape), b: "—"})
	}
	for _, t := range r.Added {
		rows = append(rows, diffHTMLRow{check: diffAdded, kind: "added", name: t.Name, a: "—", b: side(t.DType, t.Shape)})
	}
	reshaped := map[string]bool{}
	for _, c := range r.Reshaped {
		reshaped[c.Name] = true
		kind := "reshaped"
		if c.A.DType != c.B.DType {
			kind = "reshaped and retyped"
		}
		rows = append(rows, diffHTMLRow{check: diffReshaped, kind: kind, name: c.Name, a: side(c.A.DType, c.A.Shape), b: side(c.B.DType, c.B.Shape), file: files(c)})
	}
	for _, c := range r.Retyped {
		if !reshaped[c.Name] {
			rows = append(rows, diffHTMLRow{check: diffRetyped, kind: "retyped", name: c.Name, a: side(c.A.DType, c.A.Shape), b: side(c.B.DType, c.B.Shape), file: files(c)})
		}
	}
	for _, c := range r.Changed {
		row := diffHTMLRow{check: diffChanged, kind: "changed", name: c.Name, a: "sha256 " + short(c.A.SHA256), b: "sha256 " + short(c.B.SHA256), file: files(c)}
		if c.FirstDiff != nil {
			row.firstDiff = textfmt.Count(*c.FirstDiff)
		}
		if c.MaxAbsDelta != nil {
			row.maxAbs = strconv.FormatFloat(*c.MaxAbsDelta, 'g', 6, 64)
		}
		rows = append(rows, row)
	}
	return rows
}

// message says how a tensor differs, for the root causes and findings.
func (d diffHTMLRow) message() string {
	s := fmt.Sprintf("%s: a %s, b %s", d.kind, d.a, d.b)
	if d.firstDiff != "" {
		s += ", first difference at byte " + d.firstDiff
	}
	if d.maxAbs != "" {
		s += ", max |Δ| " + d.maxAbs
	}
	return s
}

func (r *DiffReport) htmlPage() *htmlreport.Page {
	p := &htmlreport.Page{Title: "weightaudit diff " + r.A + " " + r.B, Verdict: r.Verdict, Headline: r.headline()}
	rows := r.htmlRows()
	for i, d := range rows {
		if i == htmlreport.MaxRootCauses {
			p.RootCauses = append(p.RootCauses, fmt.Sprintf("…and %d more tensor(s) that differ, in the findings", len(rows)-i))
			break
		}
		p.RootCauses = append(p.RootCauses, d.name+": "+d.message())
	}
	count := func(n int) string { return textfmt.Count(int64(n)) }
	p.Facts = []htmlreport.Fact{
		{Key: "a", Label: "A", Value: r.A},
		{Key: "b", Label: "B", Value: r.B},
		{Key: "differences", Label: "tensors that differ", Value: count(r.Differences())},
		{Key: "same", Label: "tensors the same", Value: count(r.Same), Note: "shape, dtype and bytes"},
		{Key: "added", Label: "added", Value: count(len(r.Added)), Note: "in B only"},
		{Key: "removed", Label: "removed", Value: count(len(r.Removed)), Note: "in A only"},
		{Key: "reshaped", Label: "reshaped", Value: count(len(r.Reshaped))},
		{Key: "retyped", Label: "retyped", Value: count(len(r.Retyped))},
		{Key: "changed", Label: "changed", Value: count(len(r.Changed)), Note: "same shape and dtype, other bytes"},
		{Key: "unhashed", Label: "not compared", Value: count(len(r.Unhashed)), Note: "a side has no digest"},
		{Key: "files_changed", Label: "files whose digests differ", Value: count(len(r.Files))},
		{Key: "bytes_read", Label: "tensor bytes read", Value: textfmt.Count(r.BytesRead), Note: textfmt.Bytes(r.BytesRead)},
	}
	for _, c := range []struct {
		id, title string
		n         int
	}{
		{diffAdded, "no tensor in B only", len(r.Added)},
		{diffRemoved, "no tensor in A only", len(r.Removed)},
		{diffReshaped, "every tensor on both sides has one shape", len(r.Reshaped)},
		{diffRetyped, "every tensor on both sides has one dtype", len(r.Retyped)},
		{diffChanged, "the same bytes where shape and dtype agree", len(r.Changed)},
	} {
		row := htmlreport.Check{ID: c.id, Title: c.title, Status: "PASS", Level: "tensors", Detail: "none"}
		if c.n > 0 {
			row.Status, row.Detail = "FAIL", fmt.Sprintf("%d tensor(s)", c.n)
		}
		p.Checks = append(p.Checks, row)
	}
	unhashed := htmlreport.Check{ID: diffUnhashed, Title: "every tensor on both sides compared", Status: "PASS", Level: "tensors", Detail: "every tensor had a digest or its bytes"}
	if len(r.Unhashed) > 0 {
		unhashed.Status, unhashed.Detail = "SKIP", fmt.Sprintf("%d tensor(s) not compared: a side has no digest for them", len(r.Unhashed))
	}
	p.Checks = append(p.Checks, unhashed)

	dt := cappedTable(htmlreport.Table{Key: "differences", Title: "Tensors that differ",
		Columns: []string{"kind", "tensor", "a", "b", "file", "first differing byte", "max |Δ|"},
		Numeric: []bool{false, false, false, false, false, true, true}}, rows, "; the JSON report has them all",
		func(d diffHTMLRow) []string { return []string{d.kind, d.name, d.a, d.b, d.file, d.firstDiff, d.maxAbs} })
	ft := cappedTable(htmlreport.Table{Key: "files_changed", Title: "Files whose digests differ", Columns: []string{"file", "a sha256", "b sha256"}},
		r.Files, "", func(f DiffFileRef) []string { return []string{f.Name, f.A, f.B} })
	ut := cappedTable(htmlreport.Table{Key: "unhashed", Title: "Tensors not compared (no digest)", Columns: []string{"tensor", "dtype", "shape"}},
		r.Unhashed, "", func(t DiffTensor) []string { return []string{t.Name, t.DType, fmt.Sprint(t.Shape)} })
	for _, t := range []htmlreport.Table{dt, ft, ut} {
		if len(t.Rows) > 0 {
			p.Tables = append(p.Tables, t)
		}
	}
	for _, d := range rows {
		p.Findings = append(p.Findings, htmlreport.Finding{Check: d.check, Tensor: d.name, File: d.file, Message: d.message()})
	}
	return p
}

// cappedTable fills t with a row per item, at most maxDiffRows, its title
// saying how many there were (and more) when there were more.
func cappedTable[T any](t htmlreport.Table, items []T, more string, row func(T) []string) htmlreport.Table {
	for i, it := range items {
		if i == maxDiffRows {
			t.Title += fmt.Sprintf(" (the first %d of %d%s)", maxDiffRows, len(items), more)
			break
		}
		t.Rows = append(t.Rows, row(it))
	}
	return t
}

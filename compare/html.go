package compare

import (
	"fmt"
	"io"
	"strings"

	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// maxHTMLPairs bounds the pairs the page's table lists (failed first,
// then the closest to their bound); the JSON report has them all.
const maxHTMLPairs = 500

// WriteHTML writes the report as one self-contained HTML page (package
// internal/htmlreport): the verdict and, as root causes, the failed pairs
// with their diagnoses; the two sides and the counts; the metadata
// checks; the pairs, failed first, each with its error against its
// bound; and every failed pair, unpaired tensor and metadata finding in
// the searchable list.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlreport.Write(w, r.htmlPage())
}

func (r *Report) htmlPage() *htmlreport.Page {
	p := &htmlreport.Page{Title: "weightaudit compare " + r.A.Source + " " + r.B.Source, Verdict: r.Verdict, Headline: r.Headline}
	worst := r.worst()
	for _, pr := range worst {
		if pr.Pass || len(p.RootCauses) == htmlreport.MaxRootCauses {
			break
		}
		p.RootCauses = append(p.RootCauses, pairCause(pr))
	}
	for _, m := range r.Metadata {
		if len(p.RootCauses) < htmlreport.MaxRootCauses {
			p.RootCauses = append(p.RootCauses, "metadata "+m.Field+": "+m.Message)
		}
	}
	missing := 0
	for _, u := range r.Unpaired {
		if !u.Expected && !u.NotCompared {
			missing++
		}
	}
	side := func(s Side) string {
		return fmt.Sprintf("%s, %s, %s tensors", s.Format, s.Family, textfmt.Count(int64(s.Tensors)))
	}
	sample := fmt.Sprintf("%d rows a tensor", r.Sample)
	if r.Full {
		sample = "every row"
	}
	p.Facts = []htmlreport.Fact{
		{Key: "a", Label: "A", Value: r.A.Source, Note: side(r.A)},
		{Key: "b", Label: "B", Value: r.B.Source, Note: side(r.B)},
		{Key: "pairs", Label: "pairs compared", Value: textfmt.Count(int64(len(r.Pairs))), Note: sample},
		{Key: "failed", Label: "pairs beyond their bound", Value: textfmt.Count(int64(r.Failed))},
		{Key: "unpaired", Label: "tensors without a partner", Value: textfmt.Count(int64(len(r.Unpaired))), Note: fmt.Sprintf("%d missing", missing)},
		{Key: "bytes_read", Label: "tensor bytes read", Value: textfmt.Count(r.BytesRead), Note: textfmt.Bytes(r.BytesRead)},
	}
	status := "PASS"
	if len(r.Metadata) > 0 {
		status = "FAIL"
	}
	p.Checks = []htmlreport.Check{{ID: "COMPARE-METADATA", Title: "config and recipe against the GGUF keys and types", Status: status, Level: "metadata",
		Detail: fmt.Sprintf("%d finding(s)", len(r.Metadata))}}
	rows := [][]string{}
	for i, pr := range worst {
		if i == maxHTMLPairs {
			break
		}
		st := "PASS"
		if !pr.Pass {
			st = "FAIL"
		}
		rows = append(rows, []string{st, pr.Role, pr.A, pr.B, pr.TypeA + " → " + pr.TypeB,
			fmt.Sprintf("%.3g", pr.RelRMS), fmt.Sprintf("%.3g", pr.Bound), fmt.Sprintf("%.6f", pr.Cosine)})
	}
	title := "Pairs, failed first"
	if len(worst) > maxHTMLPairs {
		title += fmt.Sprintf(" (the first %d of %d; the JSON report has them all)", maxHTMLPairs, len(worst))
	}
	p.Tables = []htmlreport.Table{{Key: "pairs", Title: title,
		Columns: []string{"status", "role", "A", "B", "types", "rel. RMSE", "bound", "cosine"},
		Numeric: []bool{false, false, false, false, false, true, true, true}, Rows: rows}}
	for _, pr := range worst {
		if pr.Pass {
			break
		}
		p.Findings = append(p.Findings, htmlreport.Finding{Check: "COMPARE-PAIR", Tensor: pr.A, File: pr.B, Message: pairCause(pr)})
	}
	for _, u := range r.Unpaired {
		kind := "missing"
		switch {
		case u.Expected:
			kind = "expected"
		case u.NotCompared:
			kind = "not compared"
		}
		p.Findings = append(p.Findings, htmlreport.Finding{Check: "COMPARE-UNPAIRED", Tensor: u.Tensor, File: "side " + u.Side, Message: kind + ": " + u.Reason})
	}
	for _, m := range r.Metadata {
		p.Findings = append(p.Findings, htmlreport.Finding{Check: "COMPARE-METADATA", Tensor: m.Tensor, Message: strings.TrimSpace(m.Field + " " + m.Message)})
	}
	return p
}

// pairCause says what is wrong with a failed pair: its error against its
// bound and the diagnosis when there is one.
func pairCause(pr Pair) string {
	s := fmt.Sprintf("%s: rel. RMSE %.3g over the bound %.3g (%s → %s)", pr.Role, pr.RelRMS, pr.Bound, pr.TypeA, pr.TypeB)
	if pr.Diagnosis != "" {
		s += "; " + pr.Diagnosis
	}
	return s
}

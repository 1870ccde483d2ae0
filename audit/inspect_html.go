package audit

import (
	"fmt"
	"io"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// WriteHTML writes the inspect report as one self-contained HTML page
// (package internal/htmlreport): the files, tensors, parameters and bytes,
// the tallies per dtype, the parameters and bytes per layer stacked by
// dtype, and the format's problems in the searchable list. A report
// decoded from JSON (no checkpoint behind it) gets no chart.
func (r *InspectReport) WriteHTML(w io.Writer) error {
	return htmlreport.Write(w, r.htmlPage())
}

func (r *InspectReport) htmlPage() *htmlreport.Page {
	verdict, headline := "pass", fmt.Sprintf("%s: %s tensors, %s parameters in %d file(s), no problem found",
		r.Source, textfmt.Count(int64(r.Totals.Tensors)), textfmt.Params(r.Totals.Params), r.Totals.Files)
	if len(r.Problems) > 0 {
		verdict, headline = "fail", fmt.Sprintf("%s: %d problem(s) in the files", r.Source, len(r.Problems))
	}
	p := &htmlreport.Page{Title: "weightaudit inspect " + r.Source, Verdict: verdict, Headline: headline}
	for i, pr := range r.Problems {
		if i == htmlreport.MaxRootCauses {
			break
		}
		p.RootCauses = append(p.RootCauses, pr)
	}
	t := r.Totals
	p.Facts = []htmlreport.Fact{
		{Key: "files", Label: "files", Value: textfmt.Count(int64(t.Files)), Note: fmt.Sprintf("%s, headers %s", r.Format, textfmt.Bytes(t.HeaderBytes))},
		{Key: "tensors", Label: "tensors", Value: textfmt.Count(int64(t.Tensors))},
		{Key: "params", Label: "parameters", Value: textfmt.Count(t.Params), Note: textfmt.Params(t.Params)},
		{Key: "bytes", Label: "tensor bytes", Value: textfmt.Count(t.Bytes), Note: textfmt.Bytes(t.Bytes)},
	}
	if a := r.architecture(); a != "" {
		p.Facts = append(p.Facts, htmlreport.Fact{Key: "arch", Label: "architecture", Value: a})
	}
	dt := htmlreport.Table{Key: "dtypes", Title: "Tensors per dtype", Columns: []string{"dtype", "tensors", "parameters", "bytes"},
		Numeric: []bool{false, true, true, true}}
	for _, d := range r.DTypes {
		dt.Rows = append(dt.Rows, []string{d.DType, textfmt.Count(int64(d.Tensors)), textfmt.Count(d.Params), textfmt.Count(d.Bytes)})
	}
	p.Tables = []htmlreport.Table{dt}
	if r.ck != nil {
		inv := r.ck.Inventory()
		run := &auditRun{inv: inv, roles: make([]arch.Role, len(inv.Tensors)), report: &Report{DTypes: r.DTypes}}
		lc, ln := run.layerShares().charts("layer", "layer", 0, false)
		p.Sections = []htmlreport.Section{{Title: "Parameters and bytes per layer", Charts: lc, Notes: ln,
			Caption: "Stacked by dtype; \"other\" holds the tensors outside the decoder layers (embedding, final norm, lm_head)."}}
	}
	for _, pr := range r.Problems {
		file, msg, _ := strings.Cut(pr, ": ")
		if msg == "" {
			file, msg = "", pr
		}
		p.Findings = append(p.Findings, htmlreport.Finding{Check: "FORMAT", File: file, Message: msg})
	}
	return p
}

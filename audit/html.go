package audit

import (
	"fmt"
	"io"

	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// WriteHTML writes the report as one self-contained HTML page (package
// internal/htmlreport): the verdict and root causes, the checks, the
// parameter counts and the bytes per dtype, charts of the parameters and
// bytes per layer and per component stacked by dtype, of the memory
// against the context length at each KV cache type with each machine's
// capacity, and of the roofline per machine, then the findings with a
// filter box. The charts need the audit's run: a report decoded from
// JSON gets the tables only.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlreport.Write(w, r.htmlPage())
}

func (r *Report) htmlPage() *htmlreport.Page {
	p := &htmlreport.Page{Title: "weightaudit audit " + r.Source, Verdict: r.Verdict, Headline: r.Headline}
	if r.Error != "" {
		p.RootCauses = []string{r.Error}
		return p
	}
	first := map[string]Finding{}
	for _, f := range r.Findings {
		if _, ok := first[f.Check]; !ok {
			first[f.Check] = f
		}
	}
	for _, c := range r.Checks {
		if c.Pass || c.Skipped || len(p.RootCauses) == htmlreport.MaxRootCauses {
			continue
		}
		why := c.Detail
		if f, ok := first[c.ID]; ok {
			why = findingText(f)
			if c.Findings > 1 {
				why += fmt.Sprintf(" (and %d more)", c.Findings-1)
			}
		}
		p.RootCauses = append(p.RootCauses, c.ID+" "+c.Title+": "+why)
	}
	eq := func(got, want int64) string {
		if got == want {
			return "= predicted"
		}
		return "≠ predicted " + textfmt.Count(want)
	}
	model := r.Model.Family
	if r.Model.Profile != "" {
		model = r.Model.Profile + " (" + r.Model.Family + ")"
	}
	p.Facts = []htmlreport.Fact{
		{Key: "model", Label: "model", Value: model, Note: fmt.Sprintf("%s, %d file(s), %s", r.Format, r.Files.Count, r.Source)},
		{Key: "params.total", Label: "total parameters", Value: textfmt.Count(r.Params.Total), Note: textfmt.Params(r.Params.Total) + " " + eq(r.Params.Total, r.Params.PredictedTotal)},
		{Key: "params.active", Label: "active parameters", Value: textfmt.Count(r.Params.Active), Note: textfmt.Params(r.Params.Active) + " " + eq(r.Params.Active, r.Params.PredictedActive)},
		{Key: "weights_bytes", Label: "weight bytes", Value: textfmt.Count(r.Memory.WeightsBytes), Note: textfmt.Bytes(r.Memory.WeightsBytes) + " as stored"},
		{Key: "coverage", Label: "coverage", Value: fmt.Sprintf("%d/%d", r.Coverage.Verified, r.Coverage.Total), Note: fmt.Sprintf("gate %s %s", r.Gate.ID, textfmt.Verdict(r.Gate.Pass))},
	}
	if r.Model.NotChecked != "" {
		p.Facts = append(p.Facts, htmlreport.Fact{Key: "not_checked", Label: "architecture not checked", Value: "—", Note: r.Model.NotChecked})
	}
	for _, c := range r.Checks {
		p.Checks = append(p.Checks, htmlreport.Check{ID: c.ID, Title: c.Title, Status: c.status(), Level: c.Level, Detail: c.Detail})
	}
	for _, h := range r.Coverage.Harnesses {
		p.Checks = append(p.Checks, htmlreport.Check{ID: h.ID, Title: fmt.Sprintf("%s harness of %s, bound %d", h.Strategy, h.Obligation, h.Bound), Status: textfmt.Verdict(h.Pass), Level: "harness", Detail: h.Detail})
	}
	if r.Gate.ID != "" {
		p.Checks = append(p.Checks, htmlreport.Check{ID: r.Gate.ID, Title: "QA gate: all seven falsification tests pass, coverage 1, the files sound",
			Status: textfmt.Verdict(r.Gate.Pass), Level: "gate", Detail: fmt.Sprintf("coverage %d/%d", r.Coverage.Verified, r.Coverage.Total)})
	}
	dt := htmlreport.Table{Key: "dtypes", Title: "Bytes per dtype", Columns: []string{"dtype", "tensors", "parameters", "bytes", "size"}, Numeric: []bool{false, true, true, true, true}}
	for _, d := range r.DTypes {
		dt.Rows = append(dt.Rows, []string{d.DType, textfmt.Count(int64(d.Tensors)), textfmt.Count(d.Params), textfmt.Count(d.Bytes), textfmt.Bytes(d.Bytes)})
	}
	gt := htmlreport.Table{Key: "groups", Title: "Parameters per component group", Columns: []string{"group", "tallied", "predicted", ""}, Numeric: []bool{false, true, true, false}}
	for _, g := range r.Params.Groups {
		gt.Rows = append(gt.Rows, []string{g.Group, textfmt.Count(g.Params), textfmt.Count(g.Predicted), eq(g.Params, g.Predicted)})
	}
	p.Tables = []htmlreport.Table{dt, gt}
	if r.basis != nil {
		p.Sections = r.basis.htmlCharts()
	}
	for _, f := range r.Findings {
		p.Findings = append(p.Findings, htmlreport.Finding{Check: f.Check, Tensor: f.Tensor, File: f.File, Message: f.Message})
	}
	return p
}

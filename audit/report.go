package audit

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/junit"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	return textfmt.WriteJSON(w, r)
}

func (r *Report) modelLine() string {
	name := r.Model.Family
	if r.Model.Profile != "" {
		name = r.Model.Profile + " (" + r.Model.Family + ")"
	}
	return fmt.Sprintf("%s, %s, %d file(s)", name, r.Format, r.Files.Count)
}

// WriteText writes the report for a terminal: the headline (the verdict)
// first, then the gate, the checks, the findings, a per-layer table in which runs of
// identical layers share a row, memory and throughput.
func (r *Report) WriteText(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("%s\n", r.Headline)
	if r.Error != "" {
		return p.Err
	}
	p.F("gate %s %s — coverage %d/%d\n", r.Gate.ID, textfmt.Verdict(r.Gate.Pass), r.Coverage.Verified, r.Coverage.Total)
	for _, h := range r.Coverage.Harnesses {
		p.F("harness %s %s — %s, bound %d, %s: %s\n", h.ID, textfmt.Verdict(h.Pass), h.Strategy, h.Bound, h.Obligation, h.Detail)
	}
	p.F("source %s\n", r.Source)
	if r.Fetch != nil {
		p.F("remote %s\n", r.Fetch)
	}
	p.F("\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		level := ""
		if c.Level != "" {
			level = "[" + c.Level + "] "
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", c.status(), c.ID, level, c.Detail)
	}
	tw.Flush()
	eq := func(got, want int64) string {
		if got == want {
			return "= predicted"
		}
		return fmt.Sprintf("≠ predicted %s", textfmt.Count(want))
	}
	p.F("\nparams  total %s (%s) %s; active %s (%s) %s\n", textfmt.Count(r.Params.Total), textfmt.Params(r.Params.Total), eq(r.Params.Total, r.Params.PredictedTotal),
		textfmt.Count(r.Params.Active), textfmt.Params(r.Params.Active), eq(r.Params.Active, r.Params.PredictedActive))
	if r.Params.ActiveWithoutEmbedding != r.Params.Active {
		p.F("        active without the input embedding %s (%s), as model cards count it\n", textfmt.Count(r.Params.ActiveWithoutEmbedding), textfmt.Params(r.Params.ActiveWithoutEmbedding))
	}
	if r.Params.Vision != 0 {
		p.F("        apart from the total: vision tower and projector %s (%s) %s\n", textfmt.Count(r.Params.Vision), textfmt.Params(r.Params.Vision), eq(r.Params.Vision, r.Params.PredictedVision))
	}
	if r.Params.MTP != 0 || r.Params.Companions != 0 {
		p.F("        apart from the total: multi-token prediction %s %s; quantization scales and other companions %s elements %s; every element stored %s\n",
			textfmt.Count(r.Params.MTP), eq(r.Params.MTP, r.Params.PredictedMTP), textfmt.Count(r.Params.Companions), eq(r.Params.Companions, r.Params.PredictedCompanions), textfmt.Count(r.Params.Elements))
	}
	var gs []string
	for _, g := range r.Params.Groups {
		mark := ""
		if g.Params != g.Predicted {
			mark = fmt.Sprintf(" (predicted %s)", textfmt.Params(g.Predicted))
		}
		gs = append(gs, fmt.Sprintf("%s %s%s", g.Group, textfmt.Params(g.Params), mark))
	}
	p.F("        %s\n", strings.Join(gs, " · "))
	if len(r.Findings) > 0 {
		p.F("\n%d finding(s)", len(r.Findings))
		if len(r.Findings) > textfmt.MaxTextFindings {
			p.F(", the first %d (all of them with --format json)", textfmt.MaxTextFindings)
		}
		p.F(":\n")
		for i, f := range r.Findings {
			if i == textfmt.MaxTextFindings {
				break
			}
			p.F("  %s  %s\n", f.Check, findingText(f))
		}
	}
	p.F("\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\ttensors\tparams\tactive\tbytes\tpredicted\tfindings\t\n")
	for _, g := range auditLayerGroups(r.Layers) {
		l := g.first
		pred := "="
		if l.PredictedParams != l.Params {
			pred = textfmt.Count(l.PredictedParams)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", g.label, textfmt.Count(int64(l.Tensors)), textfmt.Count(l.Params), textfmt.Count(l.Active), textfmt.Count(l.Bytes), pred, l.Findings)
	}
	tw.Flush()
	m := r.Memory
	p.F("\nmemory at ctx %d, batch %d\n", m.Ctx, m.Batch)
	p.F("  weights      %s (as stored)\n", textfmt.Bytes(m.WeightsBytes))
	var qs []string
	for _, q := range m.WeightsByQuant {
		if q.Err == nil {
			qs = append(qs, fmt.Sprintf("%s %s", q.Quant, textfmt.Bytes(q.Bytes)))
		}
	}
	p.F("  predicted    %s\n", strings.Join(qs, " · "))
	p.F("  KV cache     %s (%s)", textfmt.Bytes(m.KVCacheBytes), m.KVType)
	for _, kt := range []string{"f16", "bf16", "q8_0", "q4_0"} {
		if kt != m.KVType {
			if n, ok := m.KVCacheByType[kt]; ok {
				p.F(" · %s %s", kt, textfmt.Bytes(n))
			}
		}
	}
	p.F("\n  activations  %s\n  total        %s\n", textfmt.Bytes(m.ActivationsBytes), textfmt.Bytes(m.TotalBytes))
	f := r.FLOPs.PerToken
	p.F("\nFLOPs/token at ctx %d: %s = 2A %s + attention %s\n", r.FLOPs.Ctx, textfmt.Count(f.Total), textfmt.Count(f.Dense), textfmt.Count(f.Attention))
	if len(r.Throughput) > 0 {
		p.F("\nroofline, batch %d (tok/s, bound; all weights per step | active weights per step)\n", r.Throughput[0].Batch)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for i := 0; i+1 < len(r.Throughput); i += 2 {
			a, b := r.Throughput[i], r.Throughput[i+1]
			fits := fitsText(a)
			fmt.Fprintf(tw, "  %s\t%.1f (%s)\t%.1f (%s)\t%s\n", a.Hardware.Name, a.TokensPerSecond, a.Bound, b.TokensPerSecond, b.Bound, fits)
		}
		tw.Flush()
	}
	return p.Err
}

// status is a check's outcome in capitals: PASS, FAIL, or SKIP for a check
// that does not apply.
func (c Check) status() string {
	if c.Skipped {
		return "SKIP"
	}
	return textfmt.Verdict(c.Pass)
}

func findingText(f Finding) string {
	var where []string
	if f.Tensor != "" {
		where = append(where, f.Tensor)
	}
	if f.File != "" {
		where = append(where, "in "+f.File)
	}
	if f.Field != "" {
		where = append(where, "field "+f.Field)
	}
	if len(where) == 0 {
		return f.Message
	}
	return strings.Join(where, " ") + ": " + f.Message
}

type layerGroup[T any] struct {
	label string
	first T
}

// groupLayers folds runs of consecutive layers whose rows are the same
// into one row, so 94 identical blocks read as one. layer gives a row's
// layer (negative outside the decoder layers: labelled "other").
func groupLayers[T any](ls []T, layer func(T) int, same func(a, b T) bool) []layerGroup[T] {
	var out []layerGroup[T]
	for i := 0; i < len(ls); {
		j := i
		for j+1 < len(ls) && layer(ls[i]) >= 0 && layer(ls[j+1]) == layer(ls[j])+1 && same(ls[j+1], ls[i]) {
			j++
		}
		label := fmt.Sprint(layer(ls[i]))
		switch {
		case layer(ls[i]) < 0:
			label = "other"
		case j > i:
			label = fmt.Sprintf("%d-%d (each)", layer(ls[i]), layer(ls[j]))
		}
		out = append(out, layerGroup[T]{label: label, first: ls[i]})
		i = j + 1
	}
	return out
}

// auditLayerGroups groups the rows of the audit's per-layer table.
func auditLayerGroups(ls []LayerAudit) []layerGroup[LayerAudit] {
	return groupLayers(ls, func(l LayerAudit) int { return l.Layer }, func(a, b LayerAudit) bool {
		return a.Tensors == b.Tensors && a.Params == b.Params && a.Active == b.Active && a.Bytes == b.Bytes &&
			a.PredictedParams == b.PredictedParams && a.Findings == b.Findings
	})
}

// WriteMarkdown writes the report as Markdown for a CI step summary.
func (r *Report) WriteMarkdown(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("## %s %s\n\n", textfmt.Icon(r.Verdict), textfmt.MDEscape(r.Headline))
	if r.Error != "" {
		p.F("Source `%s`: %s.\n", r.Source, textfmt.MDEscape(r.Error))
		return p.Err
	}
	p.F("gate `%s` %s · coverage **%d/%d** · `%s`\n\n", r.Gate.ID, textfmt.Verdict(r.Gate.Pass), r.Coverage.Verified, r.Coverage.Total, r.Source)
	for _, h := range r.Coverage.Harnesses {
		p.F("- harness `%s` %s (%s, bound %d, %s): %s\n", h.ID, textfmt.Verdict(h.Pass), h.Strategy, h.Bound, h.Obligation, textfmt.MDEscape(h.Detail))
	}
	if len(r.Coverage.Harnesses) > 0 {
		p.F("\n")
	}
	if r.Fetch != nil {
		p.F("Remote: %s.\n\n", r.Fetch)
	}
	p.F("| | check | level | detail |\n| --- | --- | --- | --- |\n")
	for _, c := range r.Checks {
		p.F("| %s | `%s` | %s | %s |\n", textfmt.Icon(c.status()), c.ID, c.Level, textfmt.MDEscape(c.Detail))
	}
	p.F("\n| params | tallied | predicted |\n| --- | ---: | ---: |\n")
	p.F("| total | %s | %s |\n| active | %s | %s |\n", textfmt.Count(r.Params.Total), textfmt.Count(r.Params.PredictedTotal), textfmt.Count(r.Params.Active), textfmt.Count(r.Params.PredictedActive))
	if r.Params.Vision != 0 {
		p.F("| vision tower and projector | %s | %s |\n", textfmt.Count(r.Params.Vision), textfmt.Count(r.Params.PredictedVision))
	}
	if r.Params.MTP != 0 || r.Params.Companions != 0 {
		p.F("| multi-token prediction | %s | %s |\n| scales and other companions | %s | %s |\n", textfmt.Count(r.Params.MTP), textfmt.Count(r.Params.PredictedMTP), textfmt.Count(r.Params.Companions), textfmt.Count(r.Params.PredictedCompanions))
	}
	if len(r.Findings) > 0 {
		p.F("\n### Findings (%d)\n\n| check | tensor | file | message |\n| --- | --- | --- | --- |\n", len(r.Findings))
		for i, f := range r.Findings {
			if i == textfmt.MaxTextFindings {
				p.F("\n…and %d more (see the JSON report).\n", len(r.Findings)-textfmt.MaxTextFindings)
				break
			}
			p.F("| `%s` | %s | %s | %s |\n", f.Check, textfmt.MDCode(f.Tensor), textfmt.MDCode(f.File), textfmt.MDEscape(f.Message))
		}
	}
	p.F("\n<details><summary>Layers</summary>\n\n| layer | tensors | params | active | bytes | findings |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, g := range auditLayerGroups(r.Layers) {
		l := g.first
		p.F("| %s | %d | %s | %s | %s | %d |\n", g.label, l.Tensors, textfmt.Count(l.Params), textfmt.Count(l.Active), textfmt.Count(l.Bytes), l.Findings)
	}
	p.F("\n</details>\n\n")
	m := r.Memory
	p.F("**Memory** at ctx %d, batch %d: weights %s, KV cache %s (%s), activations %s, total %s.  \n", m.Ctx, m.Batch, textfmt.Bytes(m.WeightsBytes), textfmt.Bytes(m.KVCacheBytes), m.KVType, textfmt.Bytes(m.ActivationsBytes), textfmt.Bytes(m.TotalBytes))
	p.F("**FLOPs/token**: %s (2A %s + attention %s).\n", textfmt.Count(r.FLOPs.PerToken.Total), textfmt.Count(r.FLOPs.PerToken.Dense), textfmt.Count(r.FLOPs.PerToken.Attention))
	if len(r.Throughput) > 0 {
		p.F("\n| hardware | tok/s, all weights | tok/s, active weights | fits |\n| --- | ---: | ---: | --- |\n")
		for i := 0; i+1 < len(r.Throughput); i += 2 {
			a, b := r.Throughput[i], r.Throughput[i+1]
			p.F("| %s | %.1f (%s) | %.1f (%s) | %s |\n", a.Hardware.Name, a.TokensPerSecond, a.Bound, b.TokensPerSecond, b.Bound, fitsText(a))
		}
	}
	return p.Err
}

// CheckRun is the id of the one check of an [Unfinished] report's JUnit:
// the audit runs to its end.
const CheckRun = "AUDIT-RUN"

// WriteJUnit writes the report as JUnit XML: the verdict and headline as
// the suite's first properties, the run's start and duration as its
// timestamp and time, then one test case per check (the gate included),
// named by the check's stable id (the title, which may change, opens its
// output), its classname the model (source and family); each failure
// lists its findings, each check that does not apply is skipped.
func (r *Report) WriteJUnit(w io.Writer) error {
	s := junit.Suite{Name: "weightaudit " + r.Source, Started: r.Started, Seconds: r.Seconds,
		Properties: []junit.Property{{Name: "verdict", Value: r.Verdict}, {Name: "headline", Value: r.Headline}}}
	class := junit.ClassName(r.Source, r.Model.Family)
	byCheck := map[string][]string{}
	for _, f := range r.Findings {
		byCheck[f.Check] = append(byCheck[f.Check], findingText(f))
	}
	add := func(c Check) {
		jc := junit.Case{Name: c.ID, ClassName: class, SystemOut: c.Title + ": " + c.Detail}
		switch {
		case c.Skipped:
			jc.Skipped = &junit.Skipped{Message: c.Detail}
		case !c.Pass:
			jc.Failure = &junit.Failure{Message: c.Detail, Text: strings.Join(byCheck[c.ID], "\n")}
		}
		s.Add(jc)
	}
	for _, c := range r.Checks {
		add(c)
	}
	for _, h := range r.Coverage.Harnesses {
		add(Check{ID: h.ID, Title: fmt.Sprintf("%s harness of %s, bound %d over %s", h.Strategy, h.Obligation, h.Bound, h.Domain), Pass: h.Pass, Detail: h.Detail})
	}
	if r.Error != "" {
		add(Check{ID: CheckRun, Title: "the audit runs to its end", Detail: r.Error})
		return junit.Write(w, s)
	}
	gate := fmt.Sprintf("coverage %d/%d", r.Coverage.Verified, r.Coverage.Total)
	if !r.Gate.Pass && r.Verdict == VerdictFail {
		gate += "; " + r.Headline
	}
	add(Check{ID: r.Gate.ID, Title: "QA gate: all seven falsification tests pass, coverage 1, the files sound", Pass: r.Gate.Pass, Detail: gate})
	return junit.Write(w, s)
}

// fitsText says whether the weights and KV cache fit the machine's memory.
func fitsText(r cost.Roofline) string {
	switch {
	case r.Hardware.MemoryBytes <= 0:
		return "memory size unknown"
	case r.Fits:
		return "fits in memory"
	}
	return "does not fit in memory"
}

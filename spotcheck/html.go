package spotcheck

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/internal/htmlreport"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// checkTitles says what each check of a spot-check asks.
var checkTitles = map[string]string{
	CheckShape:     "the output is [n_tokens, hidden] for a block, [n_tokens, vocab] for the whole model",
	CheckFinite:    "every output value is finite",
	CheckPrecision: "float32 agrees with float64 on the same weights and routing",
	CheckDead:      "no sign of a dead block",
}

// maxHTMLTokens bounds the tokens the page's tables and charts show; the
// JSON report has them all.
const maxHTMLTokens = 256

// WriteHTML writes the result as one self-contained HTML page (package
// internal/htmlreport): the verdict and, as root causes, the checks that
// failed (each sign of a dead block on its own); the source, what was
// run, the shapes, the precision and the bytes read; the checks; per
// token its output's L2 norm and the experts the router chose with their
// weights, as tables and charts (the norm per position, the positions
// whose output is not finite marked; the routing weights stacked by
// rank); then the signs of a dead block and the failed checks in the
// searchable list.
func (s *Result) WriteHTML(w io.Writer) error {
	return htmlreport.Write(w, s.htmlPage())
}

func (s *Result) htmlPage() *htmlreport.Page {
	pass := s.Passes()
	verdict := strings.ToLower(textfmt.Verdict(pass))
	p := &htmlreport.Page{Title: "weightaudit spotcheck " + s.Source + " " + s.what(), Verdict: verdict,
		Headline: fmt.Sprintf("spot-check %s of %s: %s — %d token(s), %s → %s, max relative difference float32 vs float64 %s",
			s.what(), s.Family, textfmt.Verdict(pass), len(s.Tokens), shape(s.ShapeIn), shape(s.ShapeOut), num(s.MaxRelErr))}
	for _, c := range s.checks() {
		status := textfmt.Verdict(c.pass)
		p.Checks = append(p.Checks, htmlreport.Check{ID: c.id, Title: checkTitles[c.id], Status: status, Level: "forward", Detail: c.detail})
		if c.pass {
			continue
		}
		if c.id == CheckDead {
			for _, d := range s.Dead {
				p.RootCauses = append(p.RootCauses, c.id+" "+checkTitles[c.id]+": "+d.String())
				p.Findings = append(p.Findings, htmlreport.Finding{Check: c.id, Tensor: deadWhere(d), File: s.Source, Message: d.String()})
			}
			continue
		}
		p.RootCauses = append(p.RootCauses, c.id+" "+checkTitles[c.id]+": "+c.detail)
		p.Findings = append(p.Findings, htmlreport.Finding{Check: c.id, File: s.Source, Message: c.detail})
	}
	layer, layerNote := strconv.Itoa(s.Layer), "one decoder block"
	if s.Full {
		layer, layerNote = "full model", "every layer, the final norm and lm_head: the output is the logits"
	}
	ids := make([]string, len(s.Tokens))
	for i, t := range s.Tokens {
		ids[i] = strconv.Itoa(t)
	}
	p.Facts = []htmlreport.Fact{
		{Key: "source", Label: "source", Value: s.Source, Note: s.Family},
		{Key: "layer", Label: "layer", Value: layer, Note: layerNote},
		{Key: "tokens", Label: "tokens", Value: textfmt.Count(int64(len(s.Tokens))), Note: "ids " + strings.Join(ids, ", ")},
		{Key: "shape_in", Label: "shape in", Value: shape(s.ShapeIn)},
		{Key: "shape_out", Label: "shape out", Value: shape(s.ShapeOut)},
		{Key: "finite", Label: "output finite", Value: strconv.FormatBool(s.Finite)},
		{Key: "max_rel_err", Label: "float32 vs float64", Value: num(s.MaxRelErr), Note: fmt.Sprintf("max relative difference; tolerance %.0e", Tolerance)},
		{Key: "bytes_read", Label: "tensor bytes read", Value: textfmt.Count(s.BytesRead),
			Note: fmt.Sprintf("%s, %.4f%% of the checkpoint's %s", textfmt.Bytes(s.BytesRead), 100*float64(s.BytesRead)/math.Max(1, float64(s.TensorBytes)), textfmt.Bytes(s.TensorBytes))},
		{Key: "tensor_bytes", Label: "tensor bytes in the checkpoint", Value: textfmt.Count(s.TensorBytes)},
		{Key: "seconds", Label: "time", Value: fmt.Sprintf("%.3f s", s.Seconds)},
	}
	n := min(len(s.Tokens), len(s.OutputNorms), maxHTMLTokens)
	more := ""
	if len(s.Tokens) > n {
		more = fmt.Sprintf(" (the first %d of %d; the JSON report has them all)", n, len(s.Tokens))
	}
	tt := htmlreport.Table{Key: "tokens", Title: "Output per token" + more, Columns: []string{"position", "token", "output L2 norm", "experts chosen"},
		Numeric: []bool{true, true, true, false}}
	rt := htmlreport.Table{Key: "routing", Title: "Experts the router chose" + more, Columns: []string{"position", "token", "rank", "expert", "routing weight"},
		Numeric: []bool{true, true, true, true, true}}
	for i := range n {
		var chosen []string
		if i < len(s.Experts) {
			for j, e := range s.Experts[i] {
				chosen = append(chosen, strconv.Itoa(e))
				rt.Rows = append(rt.Rows, []string{strconv.Itoa(i), strconv.Itoa(s.Tokens[i]), strconv.Itoa(j + 1), strconv.Itoa(e), num(s.weight(i, j))})
			}
		}
		tt.Rows = append(tt.Rows, []string{strconv.Itoa(i), strconv.Itoa(s.Tokens[i]), num(s.OutputNorms[i]), strings.Join(chosen, ", ")})
	}
	p.Tables = []htmlreport.Table{tt}
	if len(rt.Rows) > 0 {
		p.Tables = append(p.Tables, rt)
	}
	if len(s.Dead) > 0 {
		dt := htmlreport.Table{Key: "dead", Title: "Signs of a dead block", Columns: []string{"kind", "where", "tokens", "what"}}
		for _, d := range s.Dead {
			dt.Rows = append(dt.Rows, []string{d.Kind.String(), deadWhere(d), fmt.Sprint(d.Tokens), d.String()})
		}
		p.Tables = append(p.Tables, dt)
	}
	p.Sections = []htmlreport.Section{s.tokenCharts(n)}
	return p
}

// tokenCharts draws the first n tokens' output norms and routing weights.
func (s *Result) tokenCharts(n int) htmlreport.Section {
	sec := htmlreport.Section{Title: "Per token",
		Caption: "The L2 norm of each position's output row (× marks a position whose output holds NaN or Inf), and the routing weights of the experts each token was sent to, highest first (with --full, in the first routed layer)."}
	norms := htmlreport.Line{Name: "output L2 norm", Color: 0}
	bad := htmlreport.Mark{Name: "NaN/Inf", Color: 1, Shape: "cross"}
	for i := range n {
		v, x := s.OutputNorms[i], float64(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad.X, bad.Y = append(bad.X, x), append(bad.Y, math.NaN())
			continue
		}
		norms.X, norms.Y = append(norms.X, x), append(norms.Y, v)
	}
	l := htmlreport.Lines{Title: "output L2 norm per position", XLabel: "position", YLabel: "L2 norm", Width: 360, Height: 220, IntegerX: true, LegendLeft: true,
		XFormat: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
		YFormat: func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }}
	if len(norms.X) > 0 {
		// The points ringed too: a single finite one draws no line.
		l.Lines = append(l.Lines, norms)
		l.Marks = append(l.Marks, htmlreport.Mark{X: norms.X, Y: norms.Y, Color: 0, Shape: "circle"})
	}
	if len(bad.X) > 0 {
		l.Marks = append(l.Marks, bad)
	}
	sec.AddLines(l)
	k := 0
	for i := range min(n, len(s.Experts)) {
		k = max(k, len(s.Experts[i]))
	}
	if k == 0 {
		sec.Notes = append(sec.Notes, "no routed layer was run: no experts to show")
		return sec
	}
	b := htmlreport.Bars{Title: "routing weight by rank", XLabel: "position: token", YLabel: "routing weight", Width: 360, Height: 220}
	for i := range min(n, len(s.Experts)) {
		b.Categories = append(b.Categories, fmt.Sprintf("%d: %d", i, s.Tokens[i]))
	}
	for j := range k {
		ser := htmlreport.Series{Name: ordinal(j + 1)}
		for i := range b.Categories {
			ser.Values = append(ser.Values, s.weight(i, j))
		}
		b.Series = append(b.Series, ser)
	}
	c, err := htmlreport.StackedBars(b)
	if err != nil {
		sec.Notes = append(sec.Notes, err.Error())
	} else {
		sec.Charts = append(sec.Charts, c)
	}
	return sec
}

// weight is the routing weight of token i's j-th expert, 0 when the
// result has none.
func (s *Result) weight(i, j int) float64 {
	if i < len(s.ExpertWeights) && j < len(s.ExpertWeights[i]) {
		return s.ExpertWeights[i][j]
	}
	return 0
}

// deadWhere says where a sign of a dead block was seen.
func deadWhere(d Dead) string {
	switch {
	case d.Kind == DeadEmbedding:
		return "embedding"
	case d.Layer < 0:
		return "logits"
	}
	return "layer " + strconv.Itoa(d.Layer)
}

// shape formats s as the text report and the other pages do: [4 4096].
func shape(s []int) string { return fmt.Sprint(s) }

// num shows a measured value to six significant digits.
func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return strconv.Itoa(n) + "th"
	case n%10 == 1:
		return strconv.Itoa(n) + "st"
	case n%10 == 2:
		return strconv.Itoa(n) + "nd"
	case n%10 == 3:
		return strconv.Itoa(n) + "rd"
	}
	return strconv.Itoa(n) + "th"
}

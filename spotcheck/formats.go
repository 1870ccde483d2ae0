package spotcheck

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/weightaudit/weightaudit/internal/junit"
	"github.com/weightaudit/weightaudit/internal/outfmt"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// Formats lists the output formats of a [Result], the default first: a
// new format is one row.
var Formats = outfmt.Table[*Result]{
	{Name: "table", Write: (*Result).WriteText},
	{Name: "json", Write: (*Result).WriteJSON},
	{Name: "markdown", Write: (*Result).WriteMarkdown},
	{Name: "junit", Write: (*Result).WriteJUnit},
	{Name: "html", Write: (*Result).WriteHTML},
}

// The checks of a spot-check, as its Markdown and JUnit reports name
// them; [Result.Passes] is true when all of them pass.
const (
	// CheckShape: the output is [n_tokens, hidden] for a block (the
	// input's shape), [n_tokens, vocab] for the whole model.
	CheckShape = "SPOT-SHAPE"
	// CheckFinite: every output value is finite.
	CheckFinite = "SPOT-FINITE"
	// CheckPrecision: the float32 path agrees with the float64 path
	// within [Tolerance].
	CheckPrecision = "SPOT-PRECISION"
	// CheckDead: no sign of a dead block ([Dead]).
	CheckDead = "SPOT-DEAD"
)

// check is one row of a spot-check's checks.
type check struct {
	id     string
	pass   bool
	detail string
}

// checks lists the spot-check's checks in a fixed order.
func (s *Result) checks() []check {
	shapeOK := len(s.ShapeOut) == 2 && len(s.ShapeIn) == 2 && s.ShapeOut[0] == s.ShapeIn[0] && (s.Full || s.ShapeOut[1] == s.ShapeIn[1])
	dead := make([]string, len(s.Dead))
	for i, d := range s.Dead {
		dead[i] = d.String()
	}
	deadDetail := "no sign of a dead block"
	if len(dead) > 0 {
		deadDetail = strings.Join(dead, "; ")
	}
	return []check{
		{CheckShape, shapeOK, fmt.Sprintf("%v -> %v", s.ShapeIn, s.ShapeOut)},
		{CheckFinite, s.Finite, fmt.Sprintf("finite %v", s.Finite)},
		{CheckPrecision, s.MaxRelErr <= Tolerance && s.NotCompared == 0, "f32 vs f64 " + s.precision()},
		{CheckDead, len(dead) == 0, deadDetail},
	}
}

// precision says how far float32 and float64 agreed: "max relative
// difference 2.1e-07 (tolerance 1e-03)", and how many tokens were not
// compared when some were not.
func (s *Result) precision() string {
	out := fmt.Sprintf("max relative difference %.3g (tolerance %.0e)", s.MaxRelErr, Tolerance)
	if s.NotCompared > 0 {
		out += fmt.Sprintf("; %d of %d tokens not compared (an output row not finite, or zero in float64 only)", s.NotCompared, len(s.Tokens))
	}
	return out
}

// what names what was run: "layer L" or "full model".
func (s *Result) what() string {
	if s.Full {
		return "full model"
	}
	return fmt.Sprintf("layer %d", s.Layer)
}

// WriteJSON writes the result as indented JSON.
func (s *Result) WriteJSON(w io.Writer) error { return textfmt.WriteJSON(w, s) }

// WriteText writes the result for a terminal: the verdict first, then
// the tokens, shapes, precision, the experts each token was routed to,
// the output norms, the signs of a dead block, the bytes read and the
// time.
func (s *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "spot-check %s  %s\n", s.what(), textfmt.Verdict(s.Passes()))
	fmt.Fprintf(&b, "  tokens       %v\n", s.Tokens)
	fmt.Fprintf(&b, "  shape        %v -> %v\n", s.ShapeIn, s.ShapeOut)
	fmt.Fprintf(&b, "  finite       %v\n", s.Finite)
	fmt.Fprintf(&b, "  f32 vs f64   %s\n", s.precision())
	for i, ids := range s.Experts {
		fmt.Fprintf(&b, "  token %-6d experts %s\n", s.Tokens[i], s.expertList(i, ids))
	}
	norms := make([]string, len(s.OutputNorms))
	for i, n := range s.OutputNorms {
		norms[i] = fmt.Sprintf("%.4g", n)
	}
	fmt.Fprintf(&b, "  output norms %s\n", strings.Join(norms, ", "))
	for i, d := range s.Dead {
		label := ""
		if i == 0 {
			label = "dead block"
		}
		fmt.Fprintf(&b, "  %-12s %s\n", label, d)
	}
	fmt.Fprintf(&b, "  read         %s of %s of tensor data (%.4f%%)\n", textfmt.Bytes(s.BytesRead), textfmt.Bytes(s.TensorBytes), 100*float64(s.BytesRead)/math.Max(1, float64(s.TensorBytes)))
	fmt.Fprintf(&b, "  time         %.3f s\n", s.Seconds)
	_, err := io.WriteString(w, b.String())
	return err
}

// expertList is token i's experts with their weights: "3 (0.412), 7 (0.201)".
func (s *Result) expertList(i int, ids []int) string {
	ws := make([]string, len(ids))
	for j := range ids {
		ws[j] = fmt.Sprintf("%d (%.3f)", ids[j], s.ExpertWeights[i][j])
	}
	return strings.Join(ws, ", ")
}

// WriteMarkdown writes the result as Markdown for a CI step summary: the
// verdict, a table of the checks, the experts per token and the bytes
// read.
func (s *Result) WriteMarkdown(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	p.F("## %s spot-check %s %s\n\n", textfmt.PassIcon(s.Passes()), s.what(), textfmt.Verdict(s.Passes()))
	p.F("`%s` (%s), tokens %v.\n\n| | check | detail |\n| --- | --- | --- |\n", s.Source, s.Family, s.Tokens)
	for _, c := range s.checks() {
		p.F("| %s | `%s` | %s |\n", textfmt.PassIcon(c.pass), c.id, strings.ReplaceAll(c.detail, "|", `\|`))
	}
	if len(s.Experts) > 0 {
		p.F("\n| token | experts (weight) |\n| ---: | --- |\n")
		for i, ids := range s.Experts {
			p.F("| %d | %s |\n", s.Tokens[i], s.expertList(i, ids))
		}
	}
	p.F("\nRead %s of %s of tensor data in %.3f s.\n", textfmt.Bytes(s.BytesRead), textfmt.Bytes(s.TensorBytes), s.Seconds)
	return p.Err
}

// WriteJUnit writes the result as JUnit XML: one case per check, named by
// its id, its classname the source and family; the run's start and
// duration are the suite's timestamp and time.
func (s *Result) WriteJUnit(w io.Writer) error {
	suite := junit.Suite{Name: "weightaudit spotcheck " + s.Source + " " + s.what(), Started: s.Started, Seconds: s.Seconds,
		Properties: []junit.Property{{Name: "verdict", Value: strings.ToLower(textfmt.Verdict(s.Passes()))}}}
	class := junit.ClassName(s.Source, s.Family)
	for _, c := range s.checks() {
		jc := junit.Case{Name: c.id, ClassName: class, SystemOut: c.detail}
		if !c.pass {
			jc.Failure = &junit.Failure{Message: c.detail}
		}
		suite.Add(jc)
	}
	return junit.Write(w, suite)
}

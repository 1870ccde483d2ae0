package htmlreport_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// spotTokens are the tokens the spot-checks run, through layer 0 of the
// tiny Qwen3-MoE (4 experts, the router picks 2).
var spotTokens = []int{3, 17, 42}

// spotJSON is the part of a spot-check's JSON report the page is compared
// with.
type spotJSON struct {
	Source        string
	Layer         int
	Tokens        []int
	ShapeIn       []int       `json:"shape_in"`
	ShapeOut      []int       `json:"shape_out"`
	Finite        bool        `json:"finite"`
	Experts       [][]int     `json:"experts"`
	ExpertWeights [][]float64 `json:"expert_weights"`
	BytesRead     int64       `json:"bytes_read"`
	TensorBytes   int64       `json:"tensor_bytes"`
	MaxRelErr     *float64    `json:"max_rel_err"` // null when not finite
	NotCompared   int         `json:"not_compared"`
	OutputNorms   []*float64  `json:"output_norms"` // null when not finite
	Dead          []struct {
		Kind   string `json:"kind"`
		Tokens []int  `json:"tokens"`
	} `json:"dead"`
}

// spot runs layer 0 of the checkpoint in src on spotTokens.
func spot(t *testing.T, src hub.Source) *spotcheck.Result {
	t.Helper()
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := spotcheck.Run(context.Background(), ck, spotcheck.Options{Layer: 0, Tokens: spotTokens})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// memDir serves the files of dir in memory under the source name name.
func memDir(t *testing.T, dir, name string) hub.Source {
	t.Helper()
	src := hub.NewMem(name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		src.Add(e.Name(), bytes.NewReader(b), int64(len(b)))
	}
	return src
}

// checkSpotPage checks what the page shows against the JSON report: the
// verdict by the checks' rules restated on the JSON (shapes, finite, the
// precision within 1e-3 on every token, no sign of a dead block), the facts, each
// token's output norm and experts, each routing weight, each sign of a
// dead block.
func checkSpotPage(t *testing.T, got pageDOM, jr spotJSON) {
	t.Helper()
	precise := jr.MaxRelErr != nil && *jr.MaxRelErr <= 1e-3 && jr.NotCompared == 0 // agreement shown for every token
	shapeOK := slices.Equal(jr.ShapeIn, jr.ShapeOut)
	pass := jr.Finite && precise && shapeOK && len(jr.Dead) == 0
	if want := map[bool]string{true: "pass", false: "fail"}[pass]; got.Banner != want {
		t.Errorf("banner %q, want %s by the JSON", got.Banner, want)
	}
	for id, ok := range map[string]bool{"SPOT-SHAPE": shapeOK, "SPOT-FINITE": jr.Finite, "SPOT-PRECISION": precise, "SPOT-DEAD": len(jr.Dead) == 0} {
		if want := map[bool]string{true: "PASS", false: "FAIL"}[ok]; got.Checks[id] != want {
			t.Errorf("check %s shown %q, want %s by the JSON", id, got.Checks[id], want)
		}
	}
	if pass != (len(got.Causes) == 0) {
		t.Errorf("verdict pass %v with root causes %q", pass, got.Causes)
	}
	shape := func(s []int) string { return fmt.Sprint(s) } // as the text report writes it, and diff's page
	for key, want := range map[string]string{"source": jr.Source, "layer": strconv.Itoa(jr.Layer), "shape_in": shape(jr.ShapeIn),
		"shape_out": shape(jr.ShapeOut), "finite": strconv.FormatBool(jr.Finite)} {
		if got.Facts[key] != want {
			t.Errorf("fact %s shown %q, JSON %q", key, got.Facts[key], want)
		}
	}
	for key, want := range map[string]int64{"tokens": int64(len(jr.Tokens)), "bytes_read": jr.BytesRead, "tensor_bytes": jr.TensorBytes} {
		if n := count(t, got.Facts[key]); n != want || want == 0 {
			t.Errorf("fact %s shown %d, JSON %d", key, n, want)
		}
	}
	checkNumber(t, "max_rel_err", got.Facts["max_rel_err"], jr.MaxRelErr)
	rows := got.Tables["tokens"]
	if len(rows) != len(jr.Tokens) {
		t.Fatalf("%d token rows, JSON %d tokens", len(rows), len(jr.Tokens))
	}
	for i, r := range rows {
		if r[0] != strconv.Itoa(i) || r[1] != strconv.Itoa(jr.Tokens[i]) {
			t.Errorf("token row %d: %q, JSON token %d", i, r, jr.Tokens[i])
		}
		checkNumber(t, fmt.Sprintf("output norm %d", i), r[2], jr.OutputNorms[i])
		if want := strings.Trim(strings.ReplaceAll(fmt.Sprint(jr.Experts[i]), " ", ", "), "[]"); r[3] != want {
			t.Errorf("token row %d: experts %q, JSON %q", i, r[3], want)
		}
	}
	var routing [][]string
	for i, ids := range jr.Experts {
		for j, e := range ids {
			routing = append(routing, []string{strconv.Itoa(i), strconv.Itoa(jr.Tokens[i]), strconv.Itoa(j + 1), strconv.Itoa(e), fmt.Sprint(jr.ExpertWeights[i][j])})
		}
	}
	if len(got.Tables["routing"]) != len(routing) || len(routing) == 0 {
		t.Errorf("%d routing rows, the JSON has %d choices", len(got.Tables["routing"]), len(routing))
	}
	for k, r := range got.Tables["routing"] {
		if k >= len(routing) || !slices.Equal(r[:4], routing[k][:4]) {
			t.Errorf("routing row %d: %q, JSON %q", k, r, routing[min(k, len(routing)-1)])
			continue
		}
		w, _ := strconv.ParseFloat(routing[k][4], 64)
		checkNumber(t, "routing weight "+strconv.Itoa(k), r[4], &w)
	}
	if len(got.Tables["dead"]) != len(jr.Dead) {
		t.Errorf("%d rows of signs of a dead block, JSON %d", len(got.Tables["dead"]), len(jr.Dead))
	}
	for i, r := range got.Tables["dead"] {
		if i < len(jr.Dead) && (r[0] != jr.Dead[i].Kind || r[2] != fmt.Sprint(jr.Dead[i].Tokens)) {
			t.Errorf("dead row %d: %q, JSON %+v", i, r, jr.Dead[i])
		}
	}
}

// checkNumber checks a number shown to six digits against the JSON's,
// where null (not finite) is shown as NaN or ±Inf.
func checkNumber(t *testing.T, what, shown string, want *float64) {
	t.Helper()
	v, err := strconv.ParseFloat(shown, 64)
	switch {
	case err != nil:
		t.Errorf("%s shown %q: %v", what, shown, err)
	case want == nil:
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			t.Errorf("%s shown %q, JSON null (not finite)", what, shown)
		}
	case !close6(v, *want):
		t.Errorf("%s shown %q, JSON %v", what, shown, *want)
	}
}

// TestBrowserSpotcheck opens spotcheck's page in Chromium for layer 0 of
// the tiny F32 checkpoint as committed, and of a copy with NaN planted in
// expert 1's down_proj, served under a name holding markup: nothing but
// the page loads, nothing is logged, the numbers shown are the JSON
// report's, and both charts are drawn. The planted NaN reaches the outputs
// of exactly the tokens the healthy run routes to expert 1 (the router's
// input, before the experts, is unchanged): their norms are not finite,
// the run fails with a non-finite output naming them, and the name is
// shown as text, none of it run.
func TestBrowserSpotcheck(t *testing.T) {
	healthy := spot(t, hub.NewDir(tinyDir("hf-f32")))
	var jr spotJSON
	_, got := openReport(t, func(w *bytes.Buffer) error { return healthy.WriteHTML(w) }, func(w *bytes.Buffer) error { return healthy.WriteJSON(w) }, &jr, "spot.png")
	checkSpotPage(t, got, jr)
	if got.Banner != "pass" || got.SVGs != 2 || len(jr.Experts) != len(spotTokens) {
		t.Errorf("healthy run: banner %q, %d charts, experts %v: want pass, 2, one choice per token", got.Banner, got.SVGs, jr.Experts)
	}
	var nanTokens []int // routed to expert 1
	for i, ids := range jr.Experts {
		if slices.Contains(ids, 1) {
			nanTokens = append(nanTokens, spotTokens[i])
		}
	}
	if len(nanTokens) == 0 || len(nanTokens) == len(spotTokens) {
		t.Fatalf("expert 1 chosen for tokens %v: the test wants some tokens routed to it and some not", nanTokens)
	}
	dir := plantTiny(t, "hf-f32", map[string]func([]byte) []byte{
		"model.layers.0.mlp.experts.1.down_proj.weight": func([]byte) []byte { return []byte{0, 0, 0xc0, 0x7f} }, // float32 NaN
	})
	broken := spot(t, memDir(t, dir, hostileSource))
	var jb spotJSON
	p, got := openReport(t, func(w *bytes.Buffer) error { return broken.WriteHTML(w) }, func(w *bytes.Buffer) error { return broken.WriteJSON(w) }, &jb, "nan.png")
	checkSpotPage(t, got, jb)
	if pwned := eval[string](t, p, `String(window.pwned)`); pwned != "undefined" {
		t.Errorf("planted markup ran: window.pwned = %v", pwned)
	}
	if jb.NotCompared != len(nanTokens) || got.Checks["SPOT-PRECISION"] != "FAIL" {
		t.Errorf("NaN planted in expert 1: %d tokens not compared, SPOT-PRECISION %s; want the %d tokens routed to it, FAIL", jb.NotCompared, got.Checks["SPOT-PRECISION"], len(nanTokens))
	}
	if got.Banner != "fail" || jb.Finite || got.SVGs != 2 {
		t.Errorf("NaN planted: banner %q, finite %v, %d charts; want fail, false, 2", got.Banner, jb.Finite, got.SVGs)
	}
	for i, n := range jb.OutputNorms {
		if want := slices.Contains(nanTokens, spotTokens[i]); (n == nil) != want {
			t.Errorf("token %d: JSON norm %v; want null exactly for the tokens routed to expert 1, %v", spotTokens[i], n, nanTokens)
		}
	}
	if len(jb.Dead) != 1 || jb.Dead[0].Kind != "non-finite" || !slices.Equal(jb.Dead[0].Tokens, nanTokens) {
		t.Errorf("JSON dead %+v, want one non-finite for tokens %v", jb.Dead, nanTokens)
	}
	if !slices.ContainsFunc(got.Causes, func(c string) bool { return strings.HasPrefix(c, "SPOT-DEAD ") && strings.Contains(c, "NaN or Inf") }) {
		t.Errorf("root causes %q, want the non-finite output", got.Causes)
	}
}

// TestWriteSpotcheckHTMLEscapes checks the document of a failed run of a
// source named with markup: the name appears only escaped, and the
// page's one script is its own.
func TestWriteSpotcheckHTMLEscapes(t *testing.T) {
	dir := plantTiny(t, "hf-f32", map[string]func([]byte) []byte{
		"model.layers.0.self_attn.o_proj.weight": func([]byte) []byte { return []byte{0, 0, 0x80, 0x7f} }, // float32 +Inf
	})
	r := spot(t, memDir(t, dir, hostileSource+`"&'`))
	if r.Passes() {
		t.Fatalf("+Inf planted in o_proj: the run passes")
	}
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if strings.Contains(doc, "<img src=x") || strings.Contains(doc, `onerror="window`) {
		t.Errorf("the document holds the source's markup unescaped")
	}
	if esc := "&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;&#34;&amp;&#39;"; strings.Count(doc, esc) < 3 {
		t.Errorf("the document names the source escaped as %q %d times, want in the title, the facts and the findings", esc, strings.Count(doc, esc))
	}
	if n := strings.Count(doc, "<script"); n != 1 {
		t.Errorf("%d <script elements, want the page's one", n)
	}
}

package spotcheck_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck"
)

// A result holding NaN or Inf (a non-finite block output) still encodes,
// the non-finite numbers as null; finite ones as they are.
func TestResultJSONNonFinite(t *testing.T) {
	r := &spotcheck.Result{Layer: 1, MaxRelErr: math.NaN(), OutputNorms: []float64{1.5, math.Inf(1), math.NaN()}, Tokens: []int{1}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	for _, want := range []string{`"max_rel_err":null`, `"output_norms":[1.5,null,null]`, `"layer":1`, `"tokens":[1]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	if strings.Count(string(b), `"max_rel_err"`) != 1 {
		t.Errorf("JSON %s has max_rel_err twice", b)
	}
	r.MaxRelErr = 2e-7
	if b, _ := json.Marshal(r); !strings.Contains(string(b), `"max_rel_err":2e-7`) {
		t.Errorf("finite max_rel_err: %s", b)
	}
}

// The JSON verdict follows the checks, whatever the fields held: a NaN
// output fails SPOT-FINITE, so pass is false and verdict "fail"; a NaN
// routing weight (a NaN router input) encodes as null, the finite ones as
// they are.
func TestResultJSONVerdict(t *testing.T) {
	r := &spotcheck.Result{Layer: 0, Tokens: []int{1, 2}, ShapeIn: []int{2, 4}, ShapeOut: []int{2, 4}, Finite: true,
		Experts: [][]int{{3, 1}, {0, 2}}, ExpertWeights: [][]float64{{0.75, 0.25}, {math.NaN(), math.Inf(-1)}},
		OutputNorms: []float64{1, 2}, MaxRelErr: 1e-7, Dead: []spotcheck.Dead{}, Pass: false, Verdict: "fail"}
	decode := func() map[string]any {
		t.Helper()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := decode()
	if m["pass"] != true || m["verdict"] != "pass" {
		t.Errorf("finite, precise result: pass %v, verdict %v; want true, pass", m["pass"], m["verdict"])
	}
	want := []any{[]any{0.75, 0.25}, []any{nil, nil}}
	if got := m["expert_weights"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("expert_weights = %v, want %v", got, want)
	}
	r.Finite, r.OutputNorms, r.Pass, r.Verdict = false, []float64{1, math.NaN()}, true, "pass"
	if m := decode(); m["pass"] != false || m["verdict"] != "fail" {
		t.Errorf("NaN output: pass %v, verdict %v; want false, fail", m["pass"], m["verdict"])
	}
}

package spotcheck_test

import (
	"encoding/json"
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

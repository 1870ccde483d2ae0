package spotcheck

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// MarshalJSON encodes the result with its verdict (pass and verdict from
// the checks, whatever the fields held) and with null in place of a
// non-finite max_rel_err, output norm or routing weight: a dead block's
// NaN output must still give a JSON report (encoding/json refuses NaN and
// Inf).
func (r *Result) MarshalJSON() ([]byte, error) {
	type plain Result // without this method
	finite := func(x float64) *float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	norms := make([]*float64, len(r.OutputNorms))
	for i, n := range r.OutputNorms {
		norms[i] = finite(n)
	}
	var weights [][]*float64
	if r.ExpertWeights != nil {
		weights = make([][]*float64, len(r.ExpertWeights))
		for i, ws := range r.ExpertWeights {
			if ws == nil {
				continue
			}
			weights[i] = make([]*float64, len(ws))
			for j, w := range ws {
				weights[i][j] = finite(w)
			}
		}
	}
	v := *r
	v.Pass = r.Passes()
	v.Verdict = strings.ToLower(textfmt.Verdict(v.Pass))
	return json.Marshal(struct {
		*plain
		ExpertWeights [][]*float64 `json:"expert_weights"`
		MaxRelErr     *float64     `json:"max_rel_err"`
		OutputNorms   []*float64   `json:"output_norms"`
	}{(*plain)(&v), weights, finite(r.MaxRelErr), norms})
}

package spotcheck

import (
	"encoding/json"
	"math"
)

// MarshalJSON encodes the result with null in place of a non-finite
// max_rel_err or output norm: a dead block's NaN output must still give a
// JSON report (encoding/json refuses NaN and Inf).
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
	return json.Marshal(struct {
		*plain
		MaxRelErr   *float64   `json:"max_rel_err"`
		OutputNorms []*float64 `json:"output_norms"`
	}{(*plain)(r), finite(r.MaxRelErr), norms})
}

package spotcheck

import (
	"math"
	"testing"
)

// "All equal" is exact for zeros and within DeadTolerance (1e-6 of the
// largest magnitude) otherwise; a NaN or an infinity is never equal.
func TestDeadEquality(t *testing.T) {
	one := float32(1)
	ulp := math.Nextafter32(one, 2) // 1 + 2^-23 ≈ 1 + 1.19e-7
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name  string
		xs    []float32
		equal bool
	}{
		{"zeros", []float32{0, 0, 0}, true},
		{"negative zero", []float32{0, float32(math.Copysign(0, -1))}, true},
		{"exactly equal", []float32{0.3, 0.3, 0.3}, true},
		{"one ulp apart", []float32{one, ulp, one}, true},
		{"8e-7 apart", []float32{1, 1 + 8e-7}, true},
		{"2e-6 apart", []float32{1, 1 + 2e-6}, false},
		{"tiny but spread", []float32{1e-30, 2e-30}, false},
		{"zero and a tiny value", []float32{0, 1e-30}, false},
		{"random", []float32{0.013, -0.021, 0.004}, false},
		{"NaN", []float32{nan, nan}, false},
		{"Inf", []float32{inf, inf}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allEqual(tt.xs); got != tt.equal {
				t.Errorf("allEqual(%v) = %v, want %v", tt.xs, got, tt.equal)
			}
			// The same as rows: the first element repeated against the rest.
			a := make([]float32, len(tt.xs)-1)
			for i := range a {
				a[i] = tt.xs[0]
			}
			if got := rowsEqual(a, tt.xs[1:]); got != tt.equal {
				t.Errorf("rowsEqual(%v, %v) = %v, want %v", a, tt.xs[1:], got, tt.equal)
			}
		})
	}
}

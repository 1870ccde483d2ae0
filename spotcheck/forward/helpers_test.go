package forward_test

import (
	"math"
	"math/rand/v2"
	"testing"
)

// newRand returns a deterministic generator for a test.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// randVec returns n values uniform in [-scale, scale).
func randVec(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (2*r.Float64() - 1) * scale
	}
	return v
}

// randVec32 returns n float32 values uniform in [-scale, scale).
func randVec32(r *rand.Rand, n int, scale float64) []float32 {
	return to32(randVec(r, n, scale))
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// ones returns n float32 ones.
func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// maxAbsDiff returns max |a[i] − b[i]|.
func maxAbsDiff[T float32 | float64](a, b []T) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// maxAbs returns max |a[i]|.
func maxAbs[T float32 | float64](a []T) float64 {
	m := 0.0
	for _, x := range a {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// relErr is the normwise relative error max|got − want| / max|want|.
func relErr[T, U float32 | float64](got []T, want []U) float64 {
	d, m := 0.0, 0.0
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = max(m, math.Abs(float64(want[i])))
	}
	if m == 0 {
		return d
	}
	return d / m
}

// checkClose fails unless got and want agree within tol relative (normwise).
func checkClose[T, U float32 | float64](tb testing.TB, what string, got []T, want []U, tol float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: len = %d, want %d", what, len(got), len(want))
	}
	e := relErr(got, want)
	if testing.Verbose() {
		tb.Logf("%s: relative error %.3g (tolerance %.3g)", what, e, tol)
	}
	if !(e <= tol) {
		tb.Errorf("%s: relative error %.3g, want ≤ %.3g", what, e, tol)
	}
}

// bitsEqual reports whether a and b are identical bit for bit.
func bitsEqual[T float32 | float64](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(float64(a[i])) != math.Float64bits(float64(b[i])) {
			return false
		}
	}
	return true
}

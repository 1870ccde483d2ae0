package compare

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The expected squared error of a float type follows its definition: a
// value in [2^e, 2^(e+1)) is rounded to a grid of spacing 2^(e−mantissa
// bits), which adds s²/12 of variance; checked against math.Ldexp on
// values of every magnitude, signs, zeros and non-finite values (which
// add nothing).
func TestSqErrFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	row := make([]float32, 4096)
	for i := range row {
		row[i] = float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(60)-30))
	}
	row[0], row[1], row[2], row[3] = 0, float32(math.Inf(1)), float32(math.NaN()), -1.5
	for dtype, bits := range map[string]int{"F16": 10, "BF16": 7, "F8_E4M3": 3} {
		var want float64
		for _, x := range row {
			if x == 0 || math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
				continue
			}
			_, e := math.Frexp(float64(x)) // x = m·2^e, m in [0.5, 1): the binade is 2^(e−1)
			s := math.Ldexp(1, e-1-bits)
			want += s * s / 12
		}
		if got := sqErr(dtype, row); math.Abs(got-want) > 1e-12*want {
			t.Errorf("%s: %g, want %g", dtype, got, want)
		}
	}
	if got := sqErr("F32", row); got != 0 {
		t.Errorf("F32: %g, want 0", got)
	}
}

// BenchmarkSqErr measures the bound's inner loop, which --full runs over
// every element of both sides.
func BenchmarkSqErr(b *testing.B) {
	row := make([]float32, 4096)
	for i := range row {
		row[i] = float32(i%97) * 0.013
	}
	for _, dtype := range []string{"BF16", "Q4_K", "Q8_0"} {
		b.Run(dtype, func(b *testing.B) {
			b.SetBytes(int64(4 * len(row)))
			for b.Loop() {
				sqErr(dtype, row)
			}
		})
	}
}

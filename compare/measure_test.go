package compare

import (
	"math"
	"math/rand/v2"
	"testing"
)

// measureRows returns rows a and b of n elements: a of values spread over
// many binades, with zeros, float32 subnormals, NaN and ±Inf mixed in; b
// a noisy copy of a with non-finite values of its own.
func measureRows(rng *rand.Rand, n int) (a, b []float32) {
	a, b = make([]float32, n), make([]float32, n)
	for i := range a {
		x := float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*3))
		switch rng.IntN(50) {
		case 0:
			x = 0
		case 1:
			x = math.Float32frombits(uint32(rng.IntN(1 << 23))) // subnormal
		case 2:
			x = float32(math.NaN())
		case 3:
			x = float32(math.Inf(1 - 2*rng.IntN(2)))
		}
		a[i] = x
		b[i] = x * (1 + float32(rng.NormFloat64()*0.01))
		if rng.IntN(80) == 0 {
			b[i] = float32(math.Inf(-1))
		}
	}
	return a, b
}

// The fused pass gives what add and sqErr give apart, to the bit: for a
// float type against a block type either way round, two float types, two
// block types (which it hands to add and sqErr), exact types, GPTQ groups
// and one group a row, on rows whose length is not a multiple of the
// blocks, accumulated over several rows.
func TestMeasureMatchesAddAndSqErr(t *testing.T) {
	pairs := [][2]string{
		{"BF16", "Q4_K"}, {"BF16", "Q6_K"}, {"F16", "Q8_0"}, {"Q4_K", "BF16"}, {"F32", "Q5_K"},
		{"BF16", "BF16"}, {"F32", "BF16"}, {"F16", "F8_E4M3"}, {"F32", "F32"}, {"F32", "F64"},
		{"Q4_K", "Q6_K"}, {"BF16", int4Prefix + "128"}, {"F32", int4Prefix + "-1"}, {"BF16", "IQ2_XS"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range pairs {
		for _, n := range []int{1, 31, 100, 256, 4096, 4100} {
			ma, mb := modelOf(p[0]), modelOf(p[1])
			var got, want stats
			for range 3 {
				a, b := measureRows(rng, n)
				got.measure(a, b, ma, mb)
				want.add(a, b)
				want.expected += sqErr(p[0], a) + sqErr(p[1], a)
			}
			if !sameStats(got, want) {
				t.Errorf("%s against %s, rows of %d: measure gives %+v, add and sqErr %+v", p[0], p[1], n, got, want)
			}
			if n >= 100 && (want.nonFinite == 0 || want.expected == 0 && p[0] != "F32") {
				t.Errorf("%s against %s, rows of %d: the rows exercise nothing (%+v)", p[0], p[1], n, want)
			}
		}
	}
}

// sameStats reports whether two stats hold the same bits (NaN included).
func sameStats(x, y stats) bool {
	same := func(p, q float64) bool { return math.Float64bits(p) == math.Float64bits(q) }
	return same(x.a2, y.a2) && same(x.b2, y.b2) && same(x.ab, y.ab) && same(x.diff2, y.diff2) &&
		same(x.maxAbs, y.maxAbs) && same(x.expected, y.expected) && x.nonFinite == y.nonFinite
}

// BenchmarkMeasure measures a row pair of 4,096 elements the way --full
// does (the fused pass) against add and sqErr run apart (the baseline),
// for the stock conversions; bytes are A's and B's float32 values.
func BenchmarkMeasure(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.02)
		y[i] = x[i] * (1 + float32(rng.NormFloat64()*0.01))
	}
	for _, p := range [][2]string{{"BF16", "Q4_K"}, {"BF16", "Q6_K"}, {"BF16", "Q8_0"}, {"F32", "BF16"}} {
		ma, mb := modelOf(p[0]), modelOf(p[1])
		b.Run(p[0]+"-"+p[1]+"/apart", func(b *testing.B) {
			b.SetBytes(int64(8 * len(x)))
			var st stats
			for b.Loop() {
				st.add(x, y)
				st.expected += sqErr(p[0], x) + sqErr(p[1], x)
			}
		})
		b.Run(p[0]+"-"+p[1]+"/fused", func(b *testing.B) {
			b.SetBytes(int64(8 * len(x)))
			var st stats
			for b.Loop() {
				st.measure(x, y, ma, mb)
			}
		})
	}
}

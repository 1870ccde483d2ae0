package gguf_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// Simple quantizers written for these tests (not ggml's, which search for
// better scales): round-to-nearest with the scale stored as f16. The
// dequantized value must then lie within half a quantization step of the
// input.

// toF16 rounds a positive normal-range v up or to nearest (up if roundUp)
// to a half and returns its bits and value.
func toF16(tb testing.TB, v float64, roundUp bool) (uint16, float64) {
	tb.Helper()
	if v == 0 {
		return 0, 0
	}
	frac, exp := math.Frexp(v) // v = frac·2^exp, frac in [0.5, 1)
	if exp-1 < -14 || exp-1 > 15 {
		tb.Fatalf("toF16(%v): outside the normal half range", v)
	}
	m := frac * 2048 // 11 significant bits: [1024, 2048)
	if roundUp {
		m = math.Ceil(m)
	} else {
		m = math.RoundToEven(m)
	}
	if m == 2048 {
		m, exp = 1024, exp+1
	}
	h := uint16(exp-1+15)<<10 | uint16(m-1024)
	return h, math.Ldexp(m, exp-11)
}

// randomRow returns n values: mostly uniform in [-scale, scale], with a
// per-32 offset of -0.8 to 0.8, so that some sub-blocks are all positive
// or all negative.
func randomRow(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		off := float64((i/32)%5-2) * 0.4
		x[i] = float32(off + (2*r.Float64()-1)*0.5)
	}
	return x
}

func quantizeQ8_0(tb testing.TB, x []float32) (src []byte, step []float64) {
	for b := 0; b < len(x); b += 32 {
		amax := 0.0
		for _, v := range x[b : b+32] {
			amax = max(amax, math.Abs(float64(v)))
		}
		h, d := toF16(tb, amax/127, false)
		src = append(src, le16(h)...)
		for _, v := range x[b : b+32] {
			q := 0.0
			if d != 0 {
				q = max(-128, min(127, math.Round(float64(v)/d)))
			}
			src = append(src, byte(int8(q)))
			step = append(step, d)
		}
	}
	return src, step
}

func quantizeQ4_0(tb testing.TB, x []float32) (src []byte, step []float64) {
	for b := 0; b < len(x); b += 32 {
		amax := 0.0
		for _, v := range x[b : b+32] {
			amax = max(amax, math.Abs(float64(v)))
		}
		h, d := toF16(tb, amax/7, false)
		src = append(src, le16(h)...)
		var q [32]byte
		for j, v := range x[b : b+32] {
			if d != 0 {
				q[j] = byte(max(0, min(15, math.Round(float64(v)/d)+8)))
			}
			step = append(step, d)
		}
		for j := range 16 {
			src = append(src, q[j]|q[j+16]<<4)
		}
	}
	return src, step
}

// quantizeQ4_K picks, per sub-block of 32, an offset m1 = dmin·m ≥ -min(x,0)
// and a step d1 = d·sc covering max(x)+m1 in 15 steps, with d and dmin
// rounded up to halves so that sc, m ≤ 63; then q = round((x+m1)/d1).
func quantizeQ4_K(tb testing.TB, x []float32) (src []byte, step []float64) {
	for b := 0; b < len(x); b += 256 {
		var lo, hi [8]float64
		maxNeg := 0.0
		for j := range 8 {
			lo[j], hi[j] = 0, math.Inf(-1)
			for _, v := range x[b+32*j : b+32*j+32] {
				lo[j] = min(lo[j], float64(v))
				hi[j] = max(hi[j], float64(v))
			}
			maxNeg = max(maxNeg, -lo[j])
		}
		hMin, dmin := toF16(tb, maxNeg/63, true)
		var m [8]int
		var m1, rng [8]float64
		maxRange := 0.0
		for j := range 8 {
			if dmin != 0 {
				m[j] = int(math.Ceil(-lo[j] / dmin))
			}
			m1[j] = dmin * float64(m[j])
			rng[j] = hi[j] + m1[j]
			maxRange = max(maxRange, rng[j])
		}
		hD, d := toF16(tb, maxRange/(15*63), true)
		var sc [8]int
		for j := range 8 {
			if d != 0 {
				sc[j] = int(math.Ceil(rng[j] / (15 * d)))
			}
			if sc[j] > 63 || m[j] > 63 {
				tb.Fatalf("quantizeQ4_K: sub-block %d: sc %d, m %d", j, sc[j], m[j])
			}
		}
		// Pack as get_scale_min_k4 unpacks: j < 4 in the low six bits of
		// bytes j and j+4; j ≥ 4 in the nibbles of byte j+4 with the top
		// two bits in bits 6-7 of bytes j-4 and j.
		var scales [12]byte
		for j := range 8 {
			if j < 4 {
				scales[j] |= byte(sc[j])
				scales[j+4] |= byte(m[j])
				continue
			}
			scales[j+4] = byte(sc[j]&15) | byte(m[j]&15)<<4
			scales[j-4] |= byte(sc[j]>>4) << 6
			scales[j] |= byte(m[j]>>4) << 6
		}
		src = append(src, le16(hD)...)
		src = append(src, le16(hMin)...)
		src = append(src, scales[:]...)
		var q [256]byte
		for j := range 8 {
			d1 := d * float64(sc[j])
			for l, v := range x[b+32*j : b+32*j+32] {
				if d1 != 0 {
					q[32*j+l] = byte(max(0, min(15, math.Round((float64(v)+m1[j])/d1))))
				}
				step = append(step, d1)
			}
		}
		for c := range 4 {
			for l := range 32 {
				src = append(src, q[64*c+l]|q[64*c+32+l]<<4)
			}
		}
	}
	return src, step
}

func TestDequantizeRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		typ      gguf.Type
		n        int
		quantize func(testing.TB, []float32) ([]byte, []float64)
	}{
		{"Q8_0", gguf.TypeQ8_0, 4096, quantizeQ8_0},
		{"Q4_0", gguf.TypeQ4_0, 4096, quantizeQ4_0},
		{"Q4_K", gguf.TypeQ4_K, 4096, quantizeQ4_K},
		{"Q4_K/one block", gguf.TypeQ4_K, 256, quantizeQ4_K},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		for _, d := range decoders {
			t.Run(c.name+"/"+d.name, func(t *testing.T) {
				x := randomRow(r, c.n)
				src, step := c.quantize(t, x)
				if size, _ := c.typ.RowSize(int64(c.n)); int64(len(src)) != size {
					t.Fatalf("quantized %d elements to %d bytes, want %d", c.n, len(src), size)
				}
				y := make([]float32, c.n)
				if err := d.f(c.typ, y, src); err != nil {
					t.Fatalf("%s(%v) = %v", d.name, c.typ, err)
				}
				for i := range x {
					// Half a step, plus the float32 rounding of y.
					bound := step[i]/2 + 1e-6*(1+math.Abs(float64(x[i])))
					if e := math.Abs(float64(y[i]) - float64(x[i])); e > bound {
						t.Fatalf("%s(%v): element %d = %v, input %v: error %g > %g", d.name, c.typ, i, y[i], x[i], e, bound)
					}
				}
			})
		}
	}
}

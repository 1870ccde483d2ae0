package forward_test

import (
	"errors"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// ropeRef applies the rotary embedding to x [n, heads, d] the way the
// formula reads: x·cos(emb) + rotate_half(x)·sin(emb), with emb =
// cat(freqs, freqs) and rotate_half(v) = cat(−v[d/2:], v[:d/2]).
func ropeRef(x []float64, positions []int, heads, d int, theta float64) []float64 {
	out := make([]float64, len(x))
	for p, pos := range positions {
		emb := make([]float64, d)
		for i := range d / 2 {
			f := float64(pos) / math.Pow(theta, float64(2*i)/float64(d))
			emb[i], emb[i+d/2] = f, f
		}
		for h := range heads {
			v := x[(p*heads+h)*d : (p*heads+h+1)*d]
			rot := append(neg(v[d/2:]), v[:d/2]...)
			for i := range d {
				out[(p*heads+h)*d+i] = v[i]*math.Cos(emb[i]) + rot[i]*math.Sin(emb[i])
			}
		}
	}
	return out
}

func neg(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}

func positions(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

func mustRoPE[T forward.Float](tb testing.TB, pos []int, d int, theta float64) *forward.RoPE[T] {
	tb.Helper()
	r, err := forward.NewRoPE[T](pos, d, theta)
	if err != nil {
		tb.Fatalf("NewRoPE(%v, %d, %v) = %v", pos, d, theta, err)
	}
	return r
}

func TestRoPEAgainstFormula(t *testing.T) {
	r := newRand(20)
	for _, c := range []struct {
		n, heads, d int
		theta       float64
	}{
		{1, 1, 2, 10000}, {3, 2, 8, 10000}, {8, 4, 128, 1e6}, {5, 3, 64, 500}, {2, 1, 6, 1},
	} {
		pos := positions(c.n)
		x := randVec(r, c.n*c.heads*c.d, 1)
		got := append([]float64(nil), x...)
		if err := mustRoPE[float64](t, pos, c.d, c.theta).Apply(got); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "float64 RoPE vs formula", got, ropeRef(x, pos, c.heads, c.d, c.theta), 1e-14)

		got32 := to32(x)
		if err := mustRoPE[float32](t, pos, c.d, c.theta).Apply(got32); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "float32 RoPE vs formula", got32, ropeRef(to64(to32(x)), pos, c.heads, c.d, c.theta), 2e-6)
	}
}

func TestRoPEKnownAngles(t *testing.T) {
	// The first pair (elements 0 and d/2) turns by 1 radian per position,
	// the last pair (d/2−1 and d−1) by theta^(−(d−2)/d).
	const d, theta = 8, 10000.0
	for _, pos := range []int{0, 1, 2, 7} {
		x := make([]float64, 2*d) // two heads: e_0 and e_{d/2−1}
		x[0] = 1
		x[d+d/2-1] = 1
		if err := mustRoPE[float64](t, []int{pos}, d, theta).Apply(x); err != nil {
			t.Fatal(err)
		}
		a := float64(pos)
		if math.Abs(x[0]-math.Cos(a)) > 1e-15 || math.Abs(x[d/2]-math.Sin(a)) > 1e-15 {
			t.Errorf("pos %d: e_0 → (%v, %v) on elements 0, %d; want (cos %v, sin %v)", pos, x[0], x[d/2], d/2, a, a)
		}
		b := float64(pos) * math.Pow(theta, -float64(d-2)/d)
		if math.Abs(x[d+d/2-1]-math.Cos(b)) > 1e-15 || math.Abs(x[2*d-1]-math.Sin(b)) > 1e-15 {
			t.Errorf("pos %d: e_%d → (%v, %v), want (cos %v, sin %v)", pos, d/2-1, x[d+d/2-1], x[2*d-1], b, b)
		}
	}
}

func TestRoPEPreservesNorm(t *testing.T) {
	r := newRand(21)
	const n, heads, d = 50, 3, 64
	x := randVec(r, n*heads*d, 10)
	got := append([]float64(nil), x...)
	if err := mustRoPE[float64](t, positions(n), d, 1e6).Apply(got); err != nil {
		t.Fatal(err)
	}
	got32 := to32(x)
	if err := mustRoPE[float32](t, positions(n), d, 1e6).Apply(got32); err != nil {
		t.Fatal(err)
	}
	for h := 0; h < n*heads; h++ {
		before := math.Sqrt(sumSq(x[h*d : (h+1)*d]))
		after := math.Sqrt(sumSq(got[h*d : (h+1)*d]))
		after32 := math.Sqrt(sumSq(to64(got32[h*d : (h+1)*d])))
		if math.Abs(after-before) > 1e-14*before {
			t.Errorf("head %d: |RoPE(x)| = %v, want |x| = %v", h, after, before)
		}
		if math.Abs(after32-before) > 1e-6*before {
			t.Errorf("head %d: float32 |RoPE(x)| = %v, want |x| = %v", h, after32, before)
		}
	}
}

func sumSq(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return s
}

func TestRoPEIdentityAtZero(t *testing.T) {
	r := newRand(22)
	x := randVec32(r, 4*128, 5)
	got := append([]float32(nil), x...)
	if err := mustRoPE[float32](t, []int{0}, 128, 1e6).Apply(got); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if got[i] != x[i] {
			t.Fatalf("RoPE at position 0 changed element %d: %v → %v", i, x[i], got[i])
		}
	}
}

func TestRoPERelativePosition(t *testing.T) {
	// q(p)·k(p') depends only on p − p': shifting both positions by s
	// leaves every score unchanged.
	r := newRand(23)
	const d = 64
	for trial := range 50 {
		q := randVec(r, d, 1)
		k := randVec(r, d, 1)
		p, pk, s := r.IntN(100), r.IntN(100), r.IntN(100)
		score := func(pq, pk int) float64 {
			qq := append([]float64(nil), q...)
			kk := append([]float64(nil), k...)
			if err := mustRoPE[float64](t, []int{pq}, d, 10000).Apply(qq); err != nil {
				t.Fatal(err)
			}
			if err := mustRoPE[float64](t, []int{pk}, d, 10000).Apply(kk); err != nil {
				t.Fatal(err)
			}
			dot := 0.0
			for i := range qq {
				dot += qq[i] * kk[i]
			}
			return dot
		}
		a, b := score(p, pk), score(p+s, pk+s)
		if math.Abs(a-b) > 1e-12 {
			t.Errorf("trial %d: q(%d)·k(%d) = %v, q(%d)·k(%d) = %v, want equal", trial, p, pk, a, p+s, pk+s, b)
		}
		// And with equal positions it is the plain dot product.
		if c, want := score(p, p), dotPlain(q, k); math.Abs(c-want) > 1e-12 {
			t.Errorf("trial %d: q(%d)·k(%d) = %v, want q·k = %v", trial, p, p, c, want)
		}
	}
}

func dotPlain(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestRoPEErrors(t *testing.T) {
	tests := []struct {
		name  string
		pos   []int
		d     int
		theta float64
	}{
		{"odd head dim", []int{0}, 7, 1e4},
		{"zero head dim", []int{0}, 0, 1e4},
		{"huge head dim", []int{0}, 1 << 30, 1e4},
		{"zero theta", []int{0}, 8, 0},
		{"negative theta", []int{0}, 8, -1},
		{"nan theta", []int{0}, 8, math.NaN()},
		{"inf theta", []int{0}, 8, math.Inf(1)},
		{"negative position", []int{0, -1}, 8, 1e4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := forward.NewRoPE[float32](tt.pos, tt.d, tt.theta); !errors.Is(err, forward.ErrInvalid) {
				t.Errorf("NewRoPE(%v, %d, %v) = %v, want ErrInvalid", tt.pos, tt.d, tt.theta, err)
			}
		})
	}
	rope := mustRoPE[float32](t, positions(3), 4, 1e4)
	if rope.HeadDim() != 4 || rope.Positions() != 3 {
		t.Errorf("HeadDim, Positions = %d, %d, want 4, 3", rope.HeadDim(), rope.Positions())
	}
	for _, n := range []int{0, 4, 13, 18} {
		if err := rope.Apply(make([]float32, n)); !errors.Is(err, forward.ErrShape) {
			t.Errorf("Apply(len %d) on 3 positions × 4 = %v, want ErrShape", n, err)
		}
	}
	empty := mustRoPE[float32](t, nil, 4, 1e4)
	if err := empty.Apply(nil); !errors.Is(err, forward.ErrShape) {
		t.Errorf("Apply on no positions = %v, want ErrShape", err)
	}
}

// invFreqs measures the inverse frequencies of a RoPE: at position 1,
// the unit vector e_i of a head turns to (cos f_i, sin f_i) on elements i
// and i + d/2, so f_i = atan2 of the two.
func invFreqs[T forward.Float](tb testing.TB, d int, theta float64, s forward.RopeScaling) []float64 {
	tb.Helper()
	r, err := forward.NewScaledRoPE[T]([]int{1}, d, theta, s)
	if err != nil {
		tb.Fatalf("NewScaledRoPE(d %d, theta %v, %+v) = %v", d, theta, s, err)
	}
	x := make([]T, d*d/2) // d/2 heads, head i holding e_i
	for i := range d / 2 {
		x[i*d+i] = 1
	}
	if err := r.Apply(x); err != nil {
		tb.Fatal(err)
	}
	f := make([]float64, d/2)
	for i := range f {
		f[i] = math.Atan2(float64(x[i*d+i+d/2]), float64(x[i*d+i]))
	}
	return f
}

// Llama 3.1's scaling, worked by hand for theta 10000, head_dim 8, factor
// 8, low_freq_factor 1, high_freq_factor 4 and 1000 original positions:
// the unscaled frequencies are 1, 0.1, 0.01, 0.001, of wavelengths 2π·1,
// 2π·10, 2π·100, 2π·1000 = 6.28, 62.8, 628.3, 6283. The band limits are
// 1000/4 = 250 and 1000/1 = 1000: the first two frequencies are kept
// (wavelength < 250), the last is divided by 8 (> 1000) to 0.000125, and
// the third, in between, has s = (1000/628.31853 − 1)/(4 − 1) =
// (1.59154943 − 1)/3 = 0.19718314 and becomes 0.01·((1 − s)/8 + s) =
// 0.01·(0.10035211 + 0.19718314) = 0.0029753525.
func TestRoPELlama3Frequencies(t *testing.T) {
	s := forward.RopeScaling{Type: forward.RopeLlama3, Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 1000}
	want := []float64{1, 0.1, 0.0029753525, 0.000125}
	for name, got := range map[string][]float64{"f64": invFreqs[float64](t, 8, 10000, s), "f32": invFreqs[float32](t, 8, 10000, s)} {
		tol := 1e-8 // the hand value's digits
		if name == "f32" {
			tol = 1e-6
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > tol*want[i] {
				t.Errorf("%s: inv_freq[%d] = %.10g, want %.10g", name, i, got[i], want[i])
			}
		}
	}
}

// For Llama 3.1 8B's parameters (theta 500000, head_dim 128, factor 8,
// 1, 4, 8192 positions), transformers' scaled frequencies are the plain
// ones divided by the factors llama.cpp's converter writes as
// rope_freqs.weight (convert_hf_to_gguf.py LlamaModel: 1 for a wavelength
// below 8192/4, the factor above 8192/1, 1/((1 − s)/factor + s) between):
// the two formulas, from two sources, agree; and RopeFreqFactors with
// those factors gives the same frequencies.
func TestRoPELlama3MatchesFreqFactors(t *testing.T) {
	const d, theta, factor, lo, hi, orig = 128, 500000.0, 8.0, 1.0, 4.0, 8192.0
	factors := make([]float32, d/2)
	bands := map[string]int{}
	for i := range factors {
		freq := 1 / math.Pow(theta, float64(2*i)/d)
		w := 2 * math.Pi / freq
		switch {
		case w < orig/hi:
			factors[i] = 1
			bands["high"]++
		case w > orig/lo:
			factors[i] = factor
			bands["low"]++
		default:
			s := (orig/w - lo) / (hi - lo)
			factors[i] = float32(1 / ((1-s)/factor + s))
			bands["medium"]++
		}
	}
	if len(bands) != 3 {
		t.Fatalf("the bands %v do not cover all three cases", bands)
	}
	llama3 := invFreqs[float64](t, d, theta, forward.RopeScaling{Type: forward.RopeLlama3, Factor: factor, LowFreqFactor: lo, HighFreqFactor: hi, OriginalMaxPositions: orig})
	ff := invFreqs[float64](t, d, theta, forward.RopeScaling{Type: forward.RopeFreqFactors, Factors: factors})
	for i := range llama3 {
		plain := 1 / math.Pow(theta, float64(2*i)/d)
		// The factors are float32: agreement to float32's precision.
		if want := plain / float64(factors[i]); math.Abs(llama3[i]-want) > 1e-7*want || math.Abs(ff[i]-want) > 1e-12*want {
			t.Errorf("inv_freq[%d]: llama3 %.10g, rope_freqs %.10g, want %.10g", i, llama3[i], ff[i], want)
		}
	}
}

// Linear scaling divides every frequency by the factor: the angle of
// position p is that of position p/factor unscaled.
func TestRoPELinear(t *testing.T) {
	const d, theta, factor = 16, 10000.0, 4.0
	got := invFreqs[float64](t, d, theta, forward.RopeScaling{Type: forward.RopeLinear, Factor: factor})
	for i, f := range got {
		if want := math.Pow(theta, -float64(2*i)/d) / factor; math.Abs(f-want) > 1e-15 {
			t.Errorf("inv_freq[%d] = %v, want %v", i, f, want)
		}
	}
	// The zero scaling is NewRoPE, bit for bit.
	x := randVec(newRand(24), 5*2*d, 1)
	a, b := append([]float64(nil), x...), append([]float64(nil), x...)
	if err := mustRoPE[float64](t, positions(5), d, theta).Apply(a); err != nil {
		t.Fatal(err)
	}
	r, err := forward.NewScaledRoPE[float64](positions(5), d, theta, forward.RopeScaling{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(b); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(a, b) {
		t.Error("NewScaledRoPE with no scaling differs from NewRoPE")
	}
}

// LongRoPE, worked by hand for theta 10000 and head_dim 8: the plain
// frequencies 1, 0.1, 0.01, 0.001 divided by the short factors 1, 1.25,
// 1.5, 2 give 1, 0.08, 0.00667, 0.0005; the attention factor scales cos
// and sin, so every rotated pair's length by it; factors of 1 and a unit
// attention factor are NewRoPE bit for bit.
func TestRoPELongRoPE(t *testing.T) {
	s := forward.RopeScaling{Type: forward.RopeLongRoPE, Factors: []float32{1, 1.25, 1.5, 2}, AttnFactor: 1}
	got := invFreqs[float64](t, 8, 10000, s)
	for i, want := range []float64{1, 0.08, 0.01 / 1.5, 0.0005} {
		if math.Abs(got[i]-want) > 1e-15 {
			t.Errorf("inv_freq[%d] = %v, want %v", i, got[i], want)
		}
	}
	s.AttnFactor = math.Sqrt(4.0 / 3) // Phi-3's √(1 + ln 4 / ln 64)
	r, err := forward.NewScaledRoPE[float64](positions(3), 8, 10000, s)
	if err != nil {
		t.Fatal(err)
	}
	x := randVec(newRand(25), 3*2*8, 1)
	y := append([]float64(nil), x...)
	if err := r.Apply(y); err != nil {
		t.Fatal(err)
	}
	for p := 0; p < len(x); p += 8 {
		for i := range 4 {
			before := math.Hypot(x[p+i], x[p+i+4])
			if after := math.Hypot(y[p+i], y[p+i+4]); math.Abs(after-s.AttnFactor*before) > 1e-14 {
				t.Errorf("element %d: pair length %v after, want %v·%v", p+i, after, s.AttnFactor, before)
			}
		}
	}
	unit := forward.RopeScaling{Type: forward.RopeLongRoPE, Factors: []float32{1, 1, 1, 1}, AttnFactor: 1}
	for _, tt := range []struct {
		name string
		s    forward.RopeScaling
	}{{"unit", unit}, {"none", forward.RopeScaling{}}} {
		a, b := to32(x), to32(x)
		r32, err := forward.NewScaledRoPE[float32](positions(3), 8, 10000, tt.s)
		if err != nil {
			t.Fatal(err)
		}
		if err := r32.Apply(a); err != nil {
			t.Fatal(err)
		}
		if err := mustRoPE[float32](t, positions(3), 8, 10000).Apply(b); err != nil {
			t.Fatal(err)
		}
		if !bitsEqual(a, b) {
			t.Errorf("%s: NewScaledRoPE differs from NewRoPE", tt.name)
		}
	}
}

func TestRoPEScalingErrors(t *testing.T) {
	l3 := forward.RopeScaling{Type: forward.RopeLlama3, Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}
	tests := []struct {
		name string
		edit func(*forward.RopeScaling)
	}{
		{"linear without factor", func(s *forward.RopeScaling) { *s = forward.RopeScaling{Type: forward.RopeLinear} }},
		{"linear factor inf", func(s *forward.RopeScaling) { *s = forward.RopeScaling{Type: forward.RopeLinear, Factor: math.Inf(1)} }},
		{"llama3 factor 0", func(s *forward.RopeScaling) { s.Factor = 0 }},
		{"llama3 no original positions", func(s *forward.RopeScaling) { s.OriginalMaxPositions = 0 }},
		{"llama3 high factor not above low", func(s *forward.RopeScaling) { s.HighFreqFactor = 1 }},
		{"llama3 low factor NaN", func(s *forward.RopeScaling) { s.LowFreqFactor = math.NaN() }},
		{"freq factors too few", func(s *forward.RopeScaling) {
			*s = forward.RopeScaling{Type: forward.RopeFreqFactors, Factors: []float32{1, 1, 1}}
		}},
		{"freq factor zero", func(s *forward.RopeScaling) {
			*s = forward.RopeScaling{Type: forward.RopeFreqFactors, Factors: []float32{1, 1, 0, 1}}
		}},
		{"unsupported", func(s *forward.RopeScaling) { *s = forward.RopeScaling{Type: forward.RopeUnsupported, Name: "yarn"} }},
		{"longrope factors too many", func(s *forward.RopeScaling) {
			*s = forward.RopeScaling{Type: forward.RopeLongRoPE, Factors: []float32{1, 1, 1, 1, 1}, AttnFactor: 1}
		}},
		{"longrope factor negative", func(s *forward.RopeScaling) {
			*s = forward.RopeScaling{Type: forward.RopeLongRoPE, Factors: []float32{1, -1, 1, 1}, AttnFactor: 1}
		}},
		{"longrope no attention factor", func(s *forward.RopeScaling) {
			*s = forward.RopeScaling{Type: forward.RopeLongRoPE, Factors: []float32{1, 1, 1, 1}}
		}},
		{"longrope attention factor inf", func(s *forward.RopeScaling) {
			*s = forward.RopeScaling{Type: forward.RopeLongRoPE, Factors: []float32{1, 1, 1, 1}, AttnFactor: math.Inf(1)}
		}},
		{"unknown type", func(s *forward.RopeScaling) { *s = forward.RopeScaling{Type: 200} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := l3
			tt.edit(&s)
			if _, err := forward.NewScaledRoPE[float32]([]int{0, 1}, 8, 10000, s); !errors.Is(err, forward.ErrInvalid) {
				t.Errorf("NewScaledRoPE(%+v) = %v, want ErrInvalid", s, err)
			}
		})
	}
}

// permuteQK reorders the rows of a Q or K projection, [heads·d, …] with
// rows of width cols, as llama.cpp's converter does for a llama GGUF
// (convert_hf_to_gguf.py LlamaModel.permute): per head,
// reshape(2, d/2, cols), swap the first two axes, reshape back; that is,
// new row 2j + a of a head is old row a·d/2 + j.
func permuteQK(w []float64, heads, cols int) []float64 {
	d := len(w) / cols / heads
	out := make([]float64, len(w))
	for h := range heads {
		for a := range 2 {
			for j := range d / 2 {
				copy(out[(h*d+2*j+a)*cols:][:cols], w[(h*d+a*d/2+j)*cols:][:cols])
			}
		}
	}
	return out
}

// ropeInterleaved is llama.cpp's normal-mode rotary embedding
// (ggml_rope, mode 0) on x [n, heads, d]: elements 2i and 2i+1 of a head
// turn by position·theta^(−2i/d).
func ropeInterleaved(x []float64, positions []int, heads, d int, theta float64) []float64 {
	out := append([]float64(nil), x...)
	for p, pos := range positions {
		for h := range heads {
			v := out[(p*heads+h)*d:][:d]
			for i := range d / 2 {
				a := float64(pos) * math.Pow(theta, -float64(2*i)/float64(d))
				x0, x1 := v[2*i], v[2*i+1]
				v[2*i], v[2*i+1] = x0*math.Cos(a)-x1*math.Sin(a), x0*math.Sin(a)+x1*math.Cos(a)
			}
		}
	}
	return out
}

// Deinterleave undoes the converter's permutation exactly, and rotating
// the permuted q the way llama.cpp does, then deinterleaving, is
// transformers' rotate-half RoPE of the original q: the two formats of one
// model rotate the same pairs.
func TestDeinterleave(t *testing.T) {
	r := newRand(25)
	const n, heads, d, theta = 4, 3, 8, 10000.0
	q := randVec(r, n*heads*d, 1) // n tokens' q, each heads·d
	// The permutation of the rows of W permutes the outputs W·x alike:
	// permute each token's q as a one-column matrix.
	perm := make([]float64, 0, len(q))
	for t := range n {
		perm = append(perm, permuteQK(q[t*heads*d:(t+1)*heads*d], heads, 1)...)
	}
	back := append([]float64(nil), perm...)
	if err := forward.Deinterleave(back, d); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(back, q) {
		t.Errorf("Deinterleave(permute(q)) = %v, want q = %v", back, q)
	}
	gguf := ropeInterleaved(perm, positions(n), heads, d, theta)
	if err := forward.Deinterleave(gguf, d); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "llama.cpp's RoPE of the permuted q, deinterleaved, vs transformers' of q", gguf, ropeRef(q, positions(n), heads, d, theta), 1e-14)
	for _, bad := range []struct {
		n, d int
		want error
	}{{8, 0, forward.ErrInvalid}, {8, 3, forward.ErrInvalid}, {12, 8, forward.ErrShape}} {
		if err := forward.Deinterleave(make([]float32, bad.n), bad.d); !errors.Is(err, bad.want) {
			t.Errorf("Deinterleave(len %d, head dim %d) = %v, want %v", bad.n, bad.d, err, bad.want)
		}
	}
}

// YaRN's frequencies worked by hand (transformers'
// _compute_yarn_parameters) for d 8, theta 10000, factor 4, 64 original
// positions, beta_fast 32 and beta_slow 1: corr(32) = 8·ln(64/(64π)) /
// (2·ln 10⁴) = −0.4971 and corr(1) = 8·ln(64/(2π)) / (2·ln 10⁴) = 1.0080.
// Truncated, the ramp runs from 0 to 2: ramp = 0, ½, 1, 1, so with p =
// 1, 10, 100, 1000 the frequencies are 1/1, ½·(1/40) + ½·(1/10) = 0.0625,
// 1/400 and 1/4000. Untruncated it runs from 0 to 1.0080: frequency 1 is
// (1/40)·(1/1.0080) + (1/10)·(1 − 1/1.0080) = 0.025595246. The attention
// factors: 0.1·ln 32 + 1 = 1.3465736 (gpt-oss), 0.1·ln 40 + 1 =
// 1.3688879 (DeepSeek-V3's mscale).
func TestRoPEYaRN(t *testing.T) {
	s := forward.RopeScaling{Type: forward.RopeYaRN, Factor: 4, OriginalMaxPositions: 64, BetaFast: 32, BetaSlow: 1, Truncate: true, AttnFactor: 1}
	for _, tt := range []struct {
		truncate bool
		want     []float64
	}{{true, []float64{1, 0.0625, 0.0025, 0.00025}}, {false, []float64{1, 0.025595246, 0.0025, 0.00025}}} {
		s.Truncate = tt.truncate
		for name, got := range map[string][]float64{"f64": invFreqs[float64](t, 8, 10000, s), "f32": invFreqs[float32](t, 8, 10000, s)} {
			tol := 1e-8
			if name == "f32" {
				tol = 1e-6
			}
			for i, want := range tt.want {
				if math.Abs(got[i]-want) > tol*want {
					t.Errorf("truncate %v %s: inv_freq[%d] = %.10g, want %.10g", tt.truncate, name, i, got[i], want)
				}
			}
		}
	}
	for _, tt := range []struct{ scale, mscale, want float64 }{{32, 1, 1.3465736}, {40, 1, 1.3688879}, {1, 1, 1}, {0.5, 1, 1}, {40, 0.707, 1.2608038}} {
		if got := forward.YaRNMscale(tt.scale, tt.mscale); math.Abs(got-tt.want) > 1e-7 {
			t.Errorf("YaRNMscale(%v, %v) = %.9g, want %.8g", tt.scale, tt.mscale, got, tt.want)
		}
	}
	// The attention factor scales cos and sin: every rotated pair's length.
	s.AttnFactor = 1.3465736
	r, err := forward.NewScaledRoPE[float64](positions(3), 8, 10000, s)
	if err != nil {
		t.Fatal(err)
	}
	x := randVec(newRand(26), 3*8, 1)
	y := append([]float64(nil), x...)
	if err := r.Apply(y); err != nil {
		t.Fatal(err)
	}
	for p := 0; p < len(x); p += 8 {
		for i := range 4 {
			if before, after := math.Hypot(x[p+i], x[p+i+4]), math.Hypot(y[p+i], y[p+i+4]); math.Abs(after-s.AttnFactor*before) > 1e-14 {
				t.Errorf("element %d: pair length %v after, want %v·%v", p+i, after, s.AttnFactor, before)
			}
		}
	}
	for _, bad := range []forward.RopeScaling{{Type: forward.RopeYaRN, Factor: 4, OriginalMaxPositions: 64, BetaFast: 32, BetaSlow: 1},
		{Type: forward.RopeYaRN, Factor: 0, OriginalMaxPositions: 64, BetaFast: 32, BetaSlow: 1, AttnFactor: 1}} {
		if _, err := forward.NewScaledRoPE[float64](positions(1), 8, 10000, bad); !errors.Is(err, forward.ErrInvalid) {
			t.Errorf("NewScaledRoPE(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

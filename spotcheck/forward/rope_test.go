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

package forward_test

import (
	"errors"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

func TestSoftmaxSumsToOne(t *testing.T) {
	r := newRand(1)
	for _, n := range []int{1, 2, 7, 8, 9, 128, 1000} {
		for trial := range 20 {
			x := randVec(r, n, 20)
			got := make([]float64, n)
			if err := forward.Softmax(got, x); err != nil {
				t.Fatalf("Softmax(n=%d) = %v", n, err)
			}
			x32 := to32(x)
			got32 := make([]float32, n)
			if err := forward.Softmax(got32, x32); err != nil {
				t.Fatalf("Softmax(n=%d) = %v", n, err)
			}
			var s, s32 float64
			for i := range got {
				if got[i] <= 0 || got[i] > 1 || got32[i] < 0 || got32[i] > 1 {
					t.Fatalf("n=%d trial %d: probability %d = %v (float32 %v), want in (0, 1]", n, trial, i, got[i], got32[i])
				}
				s += got[i]
				s32 += float64(got32[i])
			}
			if math.Abs(s-1) > 1e-12 {
				t.Errorf("n=%d trial %d: float64 Σ softmax = %v, want 1", n, trial, s)
			}
			if math.Abs(s32-1) > 1e-6 {
				t.Errorf("n=%d trial %d: float32 Σ softmax = %v, want 1 ± 1e-6", n, trial, s32)
			}
		}
	}
}

func TestSoftmaxShiftInvariant(t *testing.T) {
	r := newRand(2)
	for trial := range 200 {
		n := 1 + r.IntN(300)
		x := randVec(r, n, 10)
		c := (2*r.Float64() - 1) * 1000
		xc := make([]float64, n)
		for i := range x {
			xc[i] = x[i] + c
		}
		a := make([]float64, n)
		b := make([]float64, n)
		if err := forward.Softmax(a, x); err != nil {
			t.Fatal(err)
		}
		if err := forward.Softmax(b, xc); err != nil {
			t.Fatal(err)
		}
		// Adding c rounds x[i]+c, which moves each logit by up to
		// ulp(1000) ≈ 1e-13; the probabilities move by as much, relatively.
		if d := relErr(b, a); d > 1e-11 {
			t.Errorf("trial %d (c=%v): softmax(x+c) differs from softmax(x) by %.3g relative", trial, c, d)
		}
		// Integer shifts of small integers are exact in float32, so there
		// the result must be identical.
		xi := make([]float32, n)
		xs := make([]float32, n)
		ci := float32(r.IntN(2000) - 1000)
		for i := range xi {
			xi[i] = float32(r.IntN(41) - 20)
			xs[i] = xi[i] + ci
		}
		a32 := make([]float32, n)
		b32 := make([]float32, n)
		if err := forward.Softmax(a32, xi); err != nil {
			t.Fatal(err)
		}
		if err := forward.Softmax(b32, xs); err != nil {
			t.Fatal(err)
		}
		if !bitsEqual(a32, b32) {
			t.Errorf("trial %d: float32 softmax(x+%v) != softmax(x)", trial, ci)
		}
	}
}

func TestSoftmaxProperties(t *testing.T) {
	tests := []struct {
		name string
		x    []float64
		want []float64
	}{
		{name: "empty", x: []float64{}, want: []float64{}},
		{name: "single", x: []float64{-3}, want: []float64{1}},
		{name: "equal", x: []float64{5, 5, 5, 5}, want: []float64{0.25, 0.25, 0.25, 0.25}},
		{name: "huge logits stay finite", x: []float64{1e300, 1e300}, want: []float64{0.5, 0.5}},
		{name: "ln2 apart", x: []float64{math.Ln2, 0}, want: []float64{2.0 / 3, 1.0 / 3}},
		{name: "masked", x: []float64{0, math.Inf(-1)}, want: []float64{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]float64, len(tt.x))
			if err := forward.Softmax(got, tt.x); err != nil {
				t.Fatalf("Softmax(%v) = %v", tt.x, err)
			}
			if maxAbsDiff(got, tt.want) > 1e-15 {
				t.Errorf("Softmax(%v) = %v, want %v", tt.x, got, tt.want)
			}
		})
	}
	t.Run("nan propagates", func(t *testing.T) {
		for _, x := range [][]float64{{math.NaN(), 1}, {1, math.NaN()}} {
			got := make([]float64, 2)
			if err := forward.Softmax(got, x); err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(got[0]) || !math.IsNaN(got[1]) {
				t.Errorf("Softmax(%v) = %v, want NaN, NaN", x, got)
			}
		}
	})
	t.Run("in place", func(t *testing.T) {
		x := []float32{1, 2, 3}
		want := make([]float32, 3)
		if err := forward.Softmax(want, x); err != nil {
			t.Fatal(err)
		}
		if err := forward.Softmax(x, x); err != nil {
			t.Fatal(err)
		}
		if !bitsEqual(x, want) {
			t.Errorf("Softmax(x, x) = %v, want %v", x, want)
		}
	})
}

// rmsNormRef is RMSNorm in float64 straight from the definition.
func rmsNormRef(x []float64, w []float32, eps float64) []float64 {
	d := len(w)
	out := make([]float64, len(x))
	for r := 0; r < len(x); r += d {
		ms := 0.0
		for _, v := range x[r : r+d] {
			ms += v * v
		}
		ms /= float64(d)
		for i := range d {
			out[r+i] = float64(w[i]) * x[r+i] / math.Sqrt(ms+eps)
		}
	}
	return out
}

func TestRMSNormScaleInvariant(t *testing.T) {
	r := newRand(3)
	for trial := range 100 {
		d := 1 + r.IntN(200)
		rows := 1 + r.IntN(4)
		x := randVec(r, rows*d, 3)
		w := randVec32(r, d, 2)
		// Scale by a power of two so that c·x is exact and the result
		// must be the same up to the rounding of the norm.
		c := math.Ldexp(1, r.IntN(40)-20)
		cx := make([]float64, len(x))
		for i := range x {
			cx[i] = c * x[i]
		}
		a := make([]float64, len(x))
		b := make([]float64, len(x))
		if err := forward.RMSNorm(a, x, w, 0); err != nil {
			t.Fatal(err)
		}
		if err := forward.RMSNorm(b, cx, w, 0); err != nil {
			t.Fatal(err)
		}
		if !bitsEqual(a, b) {
			t.Errorf("trial %d: RMSNorm(%v·x) != RMSNorm(x) (max diff %.3g)", trial, c, maxAbsDiff(a, b))
		}
		// Any positive c, not just powers of two.
		c = 0.01 + 100*r.Float64()
		for i := range x {
			cx[i] = c * x[i]
		}
		if err := forward.RMSNorm(b, cx, w, 0); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "RMSNorm(c·x) vs RMSNorm(x)", b, a, 1e-14)
	}
}

func TestRMSNormUnitRMS(t *testing.T) {
	r := newRand(4)
	for trial := range 100 {
		d := 1 + r.IntN(512)
		x := randVec(r, d, 1e3*r.Float64()+1e-3)
		got := make([]float64, d)
		if err := forward.RMSNorm(got, x, ones(d), 0); err != nil {
			t.Fatal(err)
		}
		ms := 0.0
		for _, v := range got {
			ms += v * v
		}
		if rms := math.Sqrt(ms / float64(d)); math.Abs(rms-1) > 1e-12 {
			t.Errorf("trial %d: RMS(RMSNorm(x)) = %v, want 1", trial, rms)
		}
		checkClose(t, "RMSNorm vs definition", got, rmsNormRef(x, ones(d), 0), 1e-14)

		got32 := make([]float32, d)
		if err := forward.RMSNorm(got32, to32(x), ones(d), 0); err != nil {
			t.Fatal(err)
		}
		ms = 0
		for _, v := range got32 {
			ms += float64(v) * float64(v)
		}
		if rms := math.Sqrt(ms / float64(d)); math.Abs(rms-1) > 1e-6 {
			t.Errorf("trial %d: float32 RMS(RMSNorm(x)) = %v, want 1 ± 1e-6", trial, rms)
		}
	}
}

func TestRMSNormEpsAndRows(t *testing.T) {
	// Two rows of 2: the RMS of (3, 4) is √12.5; eps is added to the mean
	// square; the weights scale elementwise; rows are independent.
	x := []float64{3, 4, 0, 0}
	w := []float32{1, 2}
	got := make([]float64, 4)
	if err := forward.RMSNorm(got, x, w, 0.5); err != nil {
		t.Fatal(err)
	}
	want := []float64{3 / math.Sqrt(13), 8 / math.Sqrt(13), 0, 0}
	if maxAbsDiff(got, want) > 1e-15 {
		t.Errorf("RMSNorm(%v, eps 0.5) = %v, want %v", x, got, want)
	}
	// HeadNorm is RMSNorm in place.
	h := append([]float64(nil), x...)
	if err := forward.HeadNorm(h, w, 0.5); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(h, got) {
		t.Errorf("HeadNorm = %v, want %v", h, got)
	}
	// eps = 0 on a zero vector is 0/0, as in transformers.
	if err := forward.RMSNorm(got, []float64{0, 0, 1, 1}, w, 0); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(got[0]) || got[2] != 1 {
		t.Errorf("RMSNorm(0, 0, 1, 1; eps 0) = %v, want NaN, NaN, 1, 2", got)
	}
}

// Gemma's RMSNorm scales by 1 + w: worked by hand on (3, 4) with eps
// 0.5, as in TestRMSNormEpsAndRows, and w = (1, −0.5), so 1 + w = (2,
// 0.5). In float32, 1 + w rounds as llama.cpp's converter rounds the
// weight it stores (data_torch + 1 on float32), so RMSNormPlusOne of w is
// RMSNorm of the stored 1 + w bit for bit: the two formats of a Gemma
// model give the same norm.
func TestRMSNormPlusOne(t *testing.T) {
	got := make([]float64, 2)
	if err := forward.RMSNormPlusOne(got, []float64{3, 4}, []float32{1, -0.5}, 0.5); err != nil {
		t.Fatal(err)
	}
	if want := []float64{6 / math.Sqrt(13), 2 / math.Sqrt(13)}; maxAbsDiff(got, want) > 1e-15 {
		t.Errorf("RMSNormPlusOne((3, 4), w (1, -0.5), eps 0.5) = %v, want %v", got, want)
	}
	r := newRand(8)
	x := randVec32(r, 3*64, 4)
	w := randVec32(r, 64, 1)
	stored := make([]float32, len(w))
	for i, v := range w {
		stored[i] = v + 1 // float32 addition, as the converter adds 1
	}
	a, b := make([]float32, len(x)), make([]float32, len(x))
	if err := forward.RMSNormPlusOne(a, x, w, 1e-6); err != nil {
		t.Fatal(err)
	}
	if err := forward.RMSNorm(b, x, stored, 1e-6); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(a, b) {
		t.Errorf("float32 RMSNormPlusOne(w) differs from RMSNorm(1 + w) by %.3g", relErr(a, b))
	}
	// A zero weight is a unit scale; in place is the same.
	if err := forward.RMSNormPlusOne(a, x, make([]float32, 64), 1e-6); err != nil {
		t.Fatal(err)
	}
	if err := forward.RMSNorm(b, x, ones(64), 1e-6); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(a, b) {
		t.Error("RMSNormPlusOne(0) differs from RMSNorm(1)")
	}
	if err := forward.RMSNormPlusOne(x, x, make([]float32, 64), 1e-6); err != nil || !bitsEqual(x, b) {
		t.Errorf("RMSNormPlusOne in place = %v, differs %v", err, !bitsEqual(x, b))
	}
}

func TestHeadNormPerHead(t *testing.T) {
	// [tokens 2, heads 3, head_dim 4]: every head gets unit RMS with
	// weight 1, independently of the others.
	r := newRand(5)
	x := randVec(r, 2*3*4, 5)
	for h := range 6 {
		for i := range 4 {
			x[h*4+i] *= float64(h + 1)
		}
	}
	if err := forward.HeadNorm(x, ones(4), 0); err != nil {
		t.Fatal(err)
	}
	for h := range 6 {
		ms := 0.0
		for _, v := range x[h*4 : h*4+4] {
			ms += v * v
		}
		if math.Abs(ms/4-1) > 1e-12 {
			t.Errorf("head %d: mean square %v after HeadNorm, want 1", h, ms/4)
		}
	}
}

func TestSiLU(t *testing.T) {
	tests := []struct {
		x, want float64
	}{
		{0, 0},
		{1, 1 / (1 + math.Exp(-1))},
		{-1, -1 / (1 + math.E)},
		{100, 100},
		{-1000, 0},
		{math.Inf(1), math.Inf(1)},
	}
	for _, tt := range tests {
		if got := forward.SiLU(tt.x); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("SiLU(%v) = %v, want %v", tt.x, got, tt.want)
		}
		if got := forward.SiLU(float32(tt.x)); math.Abs(float64(got)-tt.want) > 1e-6*max(1, math.Abs(tt.want)) && !math.IsInf(tt.want, 1) {
			t.Errorf("SiLU(float32(%v)) = %v, want %v", tt.x, got, tt.want)
		}
	}
	// silu(x) − silu(−x) = x, since sigmoid(x) + sigmoid(−x) = 1.
	r := newRand(6)
	for range 1000 {
		x := (2*r.Float64() - 1) * 30
		if d := forward.SiLU(x) - forward.SiLU(-x); math.Abs(d-x) > 1e-13*max(1, math.Abs(x)) {
			t.Errorf("SiLU(%v) − SiLU(%v) = %v, want %v", x, -x, d, x)
		}
	}
}

func TestSwiGLU(t *testing.T) {
	r := newRand(7)
	n := 100
	up := randVec(r, n, 10)
	gate := randVec(r, n, 10)
	got := make([]float64, n)
	// SwiGLU(0, u) = 0.
	if err := forward.SwiGLU(got, make([]float64, n), up); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("SwiGLU(0, u)[%d] = %v, want 0", i, v)
		}
	}
	// Linear in up; silu(gate)·up elementwise.
	if err := forward.SwiGLU(got, gate, up); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		want := gate[i] / (1 + math.Exp(-gate[i])) * up[i]
		if math.Abs(got[i]-want) > 1e-13*max(1, math.Abs(want)) {
			t.Errorf("SwiGLU(%v, %v) = %v, want %v", gate[i], up[i], got[i], want)
		}
	}
	// In place over gate.
	g2 := append([]float64(nil), gate...)
	if err := forward.SwiGLU(g2, g2, up); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(g2, got) {
		t.Errorf("SwiGLU(gate, gate, up) differs from SwiGLU(dst, gate, up)")
	}
}

// The tanh approximation of GELU, against values computed from its
// formula 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) in float64 (and
// within 2e-4 of the exact GELU, x·Φ(x): 0.8413447 at 1, −0.1586553 at
// −1); its limits; and GeGLU elementwise.
func TestGELUTanh(t *testing.T) {
	tests := []struct {
		x, want float64
	}{
		{0, 0},
		{1, 0.8411919906082768},
		{-1, -0.15880800939172324},
		{2, 1.954597694087775},
		{0.5, 0.34571400982514394},
		{30, 30},
		{-30, 0},
	}
	for _, tt := range tests {
		if got := forward.GELUTanh(tt.x); math.Abs(got-tt.want) > 1e-15*max(1, math.Abs(tt.want)) {
			t.Errorf("GELUTanh(%v) = %v, want %v", tt.x, got, tt.want)
		}
		if got := forward.GELUTanh(float32(tt.x)); math.Abs(float64(got)-tt.want) > 1e-6*max(1, math.Abs(tt.want)) {
			t.Errorf("GELUTanh(float32(%v)) = %v, want %v", tt.x, got, tt.want)
		}
		if exact := 0.5 * tt.x * (1 + math.Erf(tt.x/math.Sqrt2)); math.Abs(forward.GELUTanh(tt.x)-exact) > 2e-4 {
			t.Errorf("GELUTanh(%v) = %v, the exact GELU %v", tt.x, forward.GELUTanh(tt.x), exact)
		}
	}
	r := newRand(9)
	n := 100
	gate, up := randVec(r, n, 5), randVec(r, n, 5)
	got := make([]float64, n)
	if err := forward.GeGLU(got, gate, up); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		g := gate[i]
		want := 0.5 * g * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(g+0.044715*g*g*g))) * up[i]
		if math.Abs(got[i]-want) > 1e-13*max(1, math.Abs(want)) {
			t.Errorf("GeGLU(%v, %v) = %v, want %v", gate[i], up[i], got[i], want)
		}
	}
	g2 := append([]float64(nil), gate...)
	if err := forward.GeGLU(g2, g2, up); err != nil || !bitsEqual(g2, got) {
		t.Errorf("GeGLU(gate, gate, up) = %v, differs %v", err, !bitsEqual(g2, got))
	}
}

// Softcap is tanh(x/c)·c: odd, below c in magnitude, close to x where
// |x| ≪ c (x − x³/(3c²)), and c·tanh(1) at x = c.
func TestSoftcap(t *testing.T) {
	x := []float64{0, 0.01, -0.01, 5, -5, 1e6}
	if err := forward.Softcap(x, 5); err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 0.01 - 1e-6/75, -0.01 + 1e-6/75, 5 * math.Tanh(1), -5 * math.Tanh(1), 5}
	if maxAbsDiff(x, want) > 1e-12 {
		t.Errorf("Softcap(…, 5) = %v, want %v", x, want)
	}
	x32 := []float32{3, -3}
	if err := forward.Softcap(x32, 30); err != nil || math.Abs(float64(x32[0])-30*math.Tanh(0.1)) > 1e-6 || x32[1] != -x32[0] {
		t.Errorf("float32 Softcap(3, -3; 30) = %v, %v, want ±%v", x32, err, 30*math.Tanh(0.1))
	}
}

func TestKernelErrors(t *testing.T) {
	f := make([]float32, 6)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"softmax lengths", forward.Softmax(f[:2], f[:3]), forward.ErrShape},
		{"rmsnorm empty weight", forward.RMSNorm(f, f, nil, 0), forward.ErrShape},
		{"rmsnorm not a multiple", forward.RMSNorm(f[:5], f[:5], ones(2), 0), forward.ErrShape},
		{"rmsnorm dst", forward.RMSNorm(f[:4], f, ones(2), 0), forward.ErrShape},
		{"rmsnorm negative eps", forward.RMSNorm(f, f, ones(2), -1), forward.ErrInvalid},
		{"rmsnorm nan eps", forward.RMSNorm(f, f, ones(2), math.NaN()), forward.ErrInvalid},
		{"rmsnorm inf eps", forward.RMSNorm(f, f, ones(2), math.Inf(1)), forward.ErrInvalid},
		{"head norm", forward.HeadNorm(f[:5], ones(2), 1e-6), forward.ErrShape},
		{"swiglu up", forward.SwiGLU(f[:3], f[:3], f[:2]), forward.ErrShape},
		{"swiglu dst", forward.SwiGLU(f[:2], f[:3], f[:3]), forward.ErrShape},
		{"rmsnorm+1 not a multiple", forward.RMSNormPlusOne(f[:5], f[:5], ones(2), 0), forward.ErrShape},
		{"rmsnorm+1 negative eps", forward.RMSNormPlusOne(f, f, ones(2), -1), forward.ErrInvalid},
		{"geglu up", forward.GeGLU(f[:3], f[:3], f[:2]), forward.ErrShape},
		{"geglu dst", forward.GeGLU(f[:2], f[:3], f[:3]), forward.ErrShape},
		{"softcap zero", forward.Softcap(f, 0), forward.ErrInvalid},
		{"softcap negative", forward.Softcap(f, -30), forward.ErrInvalid},
		{"softcap inf", forward.Softcap(f, math.Inf(1)), forward.ErrInvalid},
		{"softcap nan", forward.Softcap(f, math.NaN()), forward.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("error = %v, want %v", tt.err, tt.want)
			}
		})
	}
}

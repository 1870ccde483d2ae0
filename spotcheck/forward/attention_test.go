package forward_test

import (
	"errors"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// attentionRef is causal GQA straight from the definition, in float64: a
// full [n, n] score matrix per head with −∞ above the diagonal, a row
// softmax, and the probability-weighted sum of the values.
func attentionRef(q, k, v []float64, heads, kvHeads, d int) []float64 {
	n := len(q) / (heads * d)
	out := make([]float64, len(q))
	for h := range heads {
		g := h * kvHeads / heads
		for i := range n {
			scores := make([]float64, n)
			m := math.Inf(-1)
			for j := range n {
				if j > i {
					scores[j] = math.Inf(-1)
					continue
				}
				s := 0.0
				for c := range d {
					s += q[(i*heads+h)*d+c] * k[(j*kvHeads+g)*d+c]
				}
				scores[j] = s / math.Sqrt(float64(d))
				m = max(m, scores[j])
			}
			z := 0.0
			for j := range scores {
				scores[j] = math.Exp(scores[j] - m)
				z += scores[j]
			}
			for j := range n {
				for c := range d {
					out[(i*heads+h)*d+c] += scores[j] / z * v[(j*kvHeads+g)*d+c]
				}
			}
		}
	}
	return out
}

func attend[T forward.Float](tb testing.TB, q, k, v []T, heads, kvHeads, d int) []T {
	tb.Helper()
	out := make([]T, len(q))
	if err := forward.Attention(out, q, k, v, heads, kvHeads, d); err != nil {
		tb.Fatalf("Attention(%d heads, %d kv heads, dim %d) = %v", heads, kvHeads, d, err)
	}
	return out
}

var attnShapes = []struct{ n, heads, kvHeads, d int }{
	{1, 1, 1, 1}, {1, 4, 2, 8}, {2, 2, 2, 4}, {5, 6, 2, 16}, {8, 8, 1, 32}, {13, 4, 4, 10}, {3, 64, 4, 128},
}

func TestAttentionAgainstDefinition(t *testing.T) {
	r := newRand(30)
	for _, s := range attnShapes {
		q := randVec(r, s.n*s.heads*s.d, 2)
		k := randVec(r, s.n*s.kvHeads*s.d, 2)
		v := randVec(r, s.n*s.kvHeads*s.d, 2)
		want := attentionRef(q, k, v, s.heads, s.kvHeads, s.d)
		checkClose(t, "float64 Attention vs definition", attend(t, q, k, v, s.heads, s.kvHeads, s.d), want, 1e-13)
		q32, k32, v32 := to32(q), to32(k), to32(v)
		want = attentionRef(to64(q32), to64(k32), to64(v32), s.heads, s.kvHeads, s.d)
		checkClose(t, "float32 Attention vs definition", attend(t, q32, k32, v32, s.heads, s.kvHeads, s.d), want, 1e-5)
	}
}

func TestAttentionOneToken(t *testing.T) {
	// One token sees only itself: each head returns its KV head's v.
	r := newRand(31)
	const heads, kvHeads, d = 6, 2, 8
	q := randVec32(r, heads*d, 3)
	k := randVec32(r, kvHeads*d, 3)
	v := randVec32(r, kvHeads*d, 3)
	out := attend(t, q, k, v, heads, kvHeads, d)
	for h := range heads {
		g := h / (heads / kvHeads)
		if !bitsEqual(out[h*d:(h+1)*d], v[g*d:(g+1)*d]) {
			t.Errorf("head %d = %v, want v of kv head %d = %v", h, out[h*d:(h+1)*d], g, v[g*d:(g+1)*d])
		}
	}
}

func TestAttentionIdenticalKeysAverage(t *testing.T) {
	// Identical keys give equal scores, so token i gets the mean of v[0..i].
	r := newRand(32)
	const n, heads, kvHeads, d = 9, 4, 2, 16
	q := randVec(r, n*heads*d, 3)
	key := randVec(r, d, 3)
	k := make([]float64, 0, n*kvHeads*d)
	for range n * kvHeads {
		k = append(k, key...)
	}
	v := randVec(r, n*kvHeads*d, 3)
	out := attend(t, q, k, v, heads, kvHeads, d)
	for i := range n {
		for h := range heads {
			g := h / (heads / kvHeads)
			for c := range d {
				mean := 0.0
				for j := 0; j <= i; j++ {
					mean += v[(j*kvHeads+g)*d+c]
				}
				mean /= float64(i + 1)
				if got := out[(i*heads+h)*d+c]; math.Abs(got-mean) > 1e-14 {
					t.Fatalf("token %d head %d [%d] = %v, want mean %v", i, h, c, got, mean)
				}
			}
		}
	}
}

func TestAttentionCausal(t *testing.T) {
	// Changing a later token's q, k or v leaves every earlier output
	// unchanged, bit for bit; and a prefix alone gives the same outputs.
	r := newRand(33)
	const n, heads, kvHeads, d = 7, 4, 2, 8
	q := randVec32(r, n*heads*d, 2)
	k := randVec32(r, n*kvHeads*d, 2)
	v := randVec32(r, n*kvHeads*d, 2)
	ref := attend(t, q, k, v, heads, kvHeads, d)
	for later := 1; later < n; later++ {
		q2 := append([]float32(nil), q...)
		k2 := append([]float32(nil), k...)
		v2 := append([]float32(nil), v...)
		for c := range heads * d {
			q2[later*heads*d+c] += 1
		}
		for c := range kvHeads * d {
			k2[later*kvHeads*d+c] *= -3
			v2[later*kvHeads*d+c] += 5
		}
		out := attend(t, q2, k2, v2, heads, kvHeads, d)
		if !bitsEqual(out[:later*heads*d], ref[:later*heads*d]) {
			t.Errorf("changing token %d changed an earlier output", later)
		}
		if bitsEqual(out[later*heads*d:(later+1)*heads*d], ref[later*heads*d:(later+1)*heads*d]) {
			t.Errorf("changing token %d did not change its own output", later)
		}
		prefix := attend(t, q[:later*heads*d], k[:later*kvHeads*d], v[:later*kvHeads*d], heads, kvHeads, d)
		if !bitsEqual(prefix, ref[:later*heads*d]) {
			t.Errorf("attention over the first %d tokens differs from the full run", later)
		}
	}
}

func TestAttentionConvex(t *testing.T) {
	// Every output is a convex combination of the visible values.
	r := newRand(34)
	const n, heads, kvHeads, d = 12, 8, 4, 8
	q := randVec(r, n*heads*d, 20)
	k := randVec(r, n*kvHeads*d, 20)
	v := randVec(r, n*kvHeads*d, 5)
	out := attend(t, q, k, v, heads, kvHeads, d)
	for i := range n {
		for h := range heads {
			g := h / (heads / kvHeads)
			for c := range d {
				lo, hi := math.Inf(1), math.Inf(-1)
				for j := 0; j <= i; j++ {
					lo = min(lo, v[(j*kvHeads+g)*d+c])
					hi = max(hi, v[(j*kvHeads+g)*d+c])
				}
				if got := out[(i*heads+h)*d+c]; got < lo-1e-12 || got > hi+1e-12 {
					t.Fatalf("token %d head %d [%d] = %v, outside [%v, %v]", i, h, c, got, lo, hi)
				}
			}
		}
	}
}

func TestAttentionGQAIsRepeatedKV(t *testing.T) {
	// GQA equals multi-head attention with each KV head repeated for its
	// group of query heads (transformers' repeat_kv), bit for bit.
	r := newRand(35)
	const n, heads, kvHeads, d = 6, 8, 2, 16
	q := randVec32(r, n*heads*d, 2)
	k := randVec32(r, n*kvHeads*d, 2)
	v := randVec32(r, n*kvHeads*d, 2)
	var kr, vr []float32
	for j := range n {
		for h := range heads {
			g := h / (heads / kvHeads)
			kr = append(kr, k[(j*kvHeads+g)*d:(j*kvHeads+g+1)*d]...)
			vr = append(vr, v[(j*kvHeads+g)*d:(j*kvHeads+g+1)*d]...)
		}
	}
	if !bitsEqual(attend(t, q, k, v, heads, kvHeads, d), attend(t, q, kr, vr, heads, heads, d)) {
		t.Errorf("GQA differs from attention over repeated KV heads")
	}
}

func TestAttentionInPlace(t *testing.T) {
	r := newRand(36)
	const n, heads, kvHeads, d = 5, 4, 2, 8
	q := randVec32(r, n*heads*d, 2)
	k := randVec32(r, n*kvHeads*d, 2)
	v := randVec32(r, n*kvHeads*d, 2)
	want := attend(t, q, k, v, heads, kvHeads, d)
	if err := forward.Attention(q, q, k, v, heads, kvHeads, d); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(q, want) {
		t.Errorf("Attention(q, q, …) differs from Attention(dst, q, …)")
	}
}

func TestAttentionLong(t *testing.T) {
	// More tokens than fit the stack buffer.
	r := newRand(37)
	const n, heads, kvHeads, d = 600, 1, 1, 2
	q := randVec(r, n*heads*d, 1)
	k := randVec(r, n*kvHeads*d, 1)
	v := randVec(r, n*kvHeads*d, 1)
	checkClose(t, "Attention(600 tokens)", attend(t, q, k, v, heads, kvHeads, d), attentionRef(q, k, v, heads, kvHeads, d), 1e-13)
}

func TestAttentionErrors(t *testing.T) {
	f := make([]float32, 64)
	tests := []struct {
		name               string
		dst, q, k, v       []float32
		heads, kvHeads, hd int
		want               error
	}{
		{"zero heads", f[:8], f[:8], f[:8], f[:8], 0, 1, 8, forward.ErrInvalid},
		{"zero kv heads", f[:8], f[:8], f[:8], f[:8], 1, 0, 8, forward.ErrInvalid},
		{"zero head dim", f[:8], f[:8], f[:8], f[:8], 1, 1, 0, forward.ErrInvalid},
		{"kv heads not dividing", f[:24], f[:24], f[:16], f[:16], 3, 2, 8, forward.ErrInvalid},
		{"more kv heads", f[:8], f[:8], f[:16], f[:16], 1, 2, 8, forward.ErrInvalid},
		{"q not whole tokens", f[:12], f[:12], f[:8], f[:8], 2, 1, 8, forward.ErrShape},
		{"k short", f[:32], f[:32], f[:8], f[:16], 2, 1, 8, forward.ErrShape},
		{"v short", f[:32], f[:32], f[:16], f[:8], 2, 1, 8, forward.ErrShape},
		{"dst short", f[:16], f[:32], f[:16], f[:16], 2, 1, 8, forward.ErrShape},
		{"huge shape", f[:8], f[:8], f[:8], f[:8], 1 << 62, 1, 1 << 62, forward.ErrShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := forward.Attention(tt.dst, tt.q, tt.k, tt.v, tt.heads, tt.kvHeads, tt.hd); !errors.Is(err, tt.want) {
				t.Errorf("Attention = %v, want %v", err, tt.want)
			}
		})
	}
	// No tokens is fine.
	if err := forward.Attention[float32](nil, nil, nil, nil, 4, 2, 8); err != nil {
		t.Errorf("Attention(0 tokens) = %v, want nil", err)
	}
}

// slidingRef is attentionRef with transformers' sliding-window mask on top
// of the causal one (masking_utils.py: kv_idx > q_idx − window), written
// as a full [n, n] score matrix per head.
func slidingRef(q, k, v []float64, heads, kvHeads, d, window int) []float64 {
	n := len(q) / (heads * d)
	out := make([]float64, len(q))
	for h := range heads {
		g := h * kvHeads / heads
		for i := range n {
			var z float64
			w := make([]float64, n)
			m := math.Inf(-1)
			for j := range n {
				if j > i || j <= i-window {
					w[j] = math.Inf(-1)
					continue
				}
				for c := range d {
					w[j] += q[(i*heads+h)*d+c] * k[(j*kvHeads+g)*d+c]
				}
				w[j] /= math.Sqrt(float64(d))
				m = max(m, w[j])
			}
			for j := range w {
				w[j] = math.Exp(w[j] - m)
				z += w[j]
			}
			for j := range n {
				for c := range d {
					out[(i*heads+h)*d+c] += w[j] / z * v[(j*kvHeads+g)*d+c]
				}
			}
		}
	}
	return out
}

// A sliding window masks what lies further back than window positions;
// window 0 or one that covers every token is plain Attention, bit for
// bit; window 1 sees only the token itself, so each head returns its own
// v.
func TestSlidingAttention(t *testing.T) {
	r := newRand(38)
	const n, heads, kvHeads, d = 9, 4, 2, 8
	q := randVec(r, n*heads*d, 2)
	k := randVec(r, n*kvHeads*d, 2)
	v := randVec(r, n*kvHeads*d, 2)
	slide := func(q, k, v []float32, window int) []float32 {
		t.Helper()
		out := make([]float32, len(q))
		if err := forward.SlidingAttention(out, q, k, v, heads, kvHeads, d, window); err != nil {
			t.Fatalf("SlidingAttention(window %d) = %v", window, err)
		}
		return out
	}
	q32, k32, v32 := to32(q), to32(k), to32(v)
	for _, window := range []int{1, 2, 3, 8} {
		out64 := make([]float64, len(q))
		if err := forward.SlidingAttention(out64, q, k, v, heads, kvHeads, d, window); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "float64 SlidingAttention vs definition", out64, slidingRef(q, k, v, heads, kvHeads, d, window), 1e-13)
		checkClose(t, "float32 SlidingAttention vs definition", slide(q32, k32, v32, window),
			slidingRef(to64(q32), to64(k32), to64(v32), heads, kvHeads, d, window), 1e-5)
	}
	full := attend(t, q32, k32, v32, heads, kvHeads, d)
	for _, window := range []int{0, n, n + 5} {
		if !bitsEqual(slide(q32, k32, v32, window), full) {
			t.Errorf("SlidingAttention(window %d) over %d tokens differs from Attention", window, n)
		}
	}
	one := slide(q32, k32, v32, 1)
	for i := range n {
		for h := range heads {
			g := h / (heads / kvHeads)
			if got, want := one[(i*heads+h)*d:][:d], v32[(i*kvHeads+g)*d:][:d]; !bitsEqual(got, want) {
				t.Errorf("window 1: token %d head %d = %v, want its own v %v", i, h, got, want)
			}
		}
	}
	if err := forward.SlidingAttention(make([]float32, len(q32)), q32, k32, v32, heads, kvHeads, d, -1); !errors.Is(err, forward.ErrInvalid) {
		t.Errorf("SlidingAttention(window -1) = %v, want ErrInvalid", err)
	}
}

// ScaledAttention with 1/√d is SlidingAttention bit for bit; with another
// scale s it is the definition with the scores q·k·s (q scaled by s·√d
// before plain attention, in float64); a scale that is not positive and
// finite is refused.
func TestScaledAttention(t *testing.T) {
	r := newRand(39)
	const n, heads, kvHeads, d = 6, 4, 2, 16
	q32, k32, v32 := randVec32(r, n*heads*d, 2), randVec32(r, n*kvHeads*d, 2), randVec32(r, n*kvHeads*d, 2)
	for _, window := range []int{0, 3} {
		a, b := make([]float32, len(q32)), make([]float32, len(q32))
		if err := forward.ScaledAttention(a, q32, k32, v32, heads, kvHeads, d, window, 0.25); err != nil {
			t.Fatal(err)
		}
		if err := forward.SlidingAttention(b, q32, k32, v32, heads, kvHeads, d, window); err != nil {
			t.Fatal(err)
		}
		if !bitsEqual(a, b) {
			t.Errorf("window %d: ScaledAttention(1/√16) differs from SlidingAttention", window)
		}
	}
	// Gemma 3's scale for query_pre_attn_scalar 64 and head_dim 16: 1/8,
	// which is plain attention on q·(1/8)·√16 = q/2.
	q, k, v := to64(q32), to64(k32), to64(v32)
	half := make([]float64, len(q))
	for i, x := range q {
		half[i] = x / 2
	}
	got := make([]float64, len(q))
	if err := forward.ScaledAttention(got, q, k, v, heads, kvHeads, d, 0, math.Pow(64, -0.5)); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "ScaledAttention(1/8)", got, attentionRef(half, k, v, heads, kvHeads, d), 1e-13)
	for _, scale := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := forward.ScaledAttention(got, q, k, v, heads, kvHeads, d, 0, scale); !errors.Is(err, forward.ErrInvalid) {
			t.Errorf("ScaledAttention(scale %v) = %v, want ErrInvalid", scale, err)
		}
	}
}

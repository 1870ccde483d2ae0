package forward_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// fuzzInput hands out small ints and float values from the fuzzer's bytes,
// zeros once they run out.
type fuzzInput struct{ b []byte }

func (f *fuzzInput) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

// dim returns a small signed size in −2..13, so some shapes are invalid.
func (f *fuzzInput) dim() int { return int(f.byte()%16) - 2 }

// vals returns n float32 values in [−16, 16) in steps of 1/8, or, when
// a byte is 0xff, a large value that stresses overflow.
func (f *fuzzInput) vals(n int) []float32 {
	if n < 0 {
		n = 0
	}
	v := make([]float32, n)
	for i := range v {
		c := f.byte()
		if c == 0xff {
			v[i] = 1e30
			continue
		}
		v[i] = float32(int8(c)) / 8
	}
	return v
}

// expectKernelErr fails unless err is nil or wraps ErrShape or ErrInvalid.
func expectKernelErr(tb testing.TB, what string, err error) bool {
	tb.Helper()
	if err != nil && !errors.Is(err, forward.ErrShape) && !errors.Is(err, forward.ErrInvalid) {
		tb.Fatalf("%s: error %v wraps neither ErrShape nor ErrInvalid", what, err)
	}
	return err == nil
}

func FuzzKernels(f *testing.F) {
	f.Add([]byte{3, 4, 2, 8, 5, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{1, 1, 1, 2, 1, 1, 0xff, 0xff, 0x80, 0x7f})
	f.Add([]byte{0, 0, 0, 0, 0, 0})
	f.Add([]byte{15, 3, 5, 3, 13, 15, 0xff})
	f.Add([]byte{9, 8, 1, 12, 2, 9, 255, 0, 128, 64, 32, 16, 8, 4, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{b: data}
		ctx := context.Background()
		n, heads, kvHeads, d, rows, k := in.dim(), in.dim(), in.dim(), in.dim(), in.dim(), in.dim()
		cols := d
		slack := int(in.byte()%3) - 1 // −1, 0, 1: lengths off by one sometimes

		// MatMul: jobs 1 and 3 give the same bits.
		w, err := forward.NewDense(rows, cols, in.vals(rows*cols))
		if expectKernelErr(t, "NewDense", err) {
			x := in.vals(n*cols + slack)
			y1 := make([]float32, max(0, n*rows))
			y3 := make([]float32, max(0, n*rows))
			err1 := forward.MatMul(ctx, y1, w, x, 1)
			err3 := forward.MatMul(ctx, y3, w, x, 3)
			if expectKernelErr(t, "MatMul", err1) != expectKernelErr(t, "MatMul", err3) {
				t.Fatalf("MatMul jobs=1: %v, jobs=3: %v", err1, err3)
			}
			if err1 == nil && !bitsEqual(y1, y3) {
				t.Fatalf("MatMul jobs=1 %v, jobs=3 %v", y1, y3)
			}
		}

		// Softmax of finite input: probabilities in [0, 1] summing to 1.
		logits := in.vals(max(0, rows))
		probs := make([]float32, len(logits))
		if err := forward.Softmax(probs, logits); err != nil {
			t.Fatal(err)
		}
		if len(probs) > 0 {
			s := 0.0
			for _, p := range probs {
				if !(p >= 0 && p <= 1) {
					t.Fatalf("Softmax(%v) = %v: outside [0, 1]", logits, probs)
				}
				s += float64(p)
			}
			if math.Abs(s-1) > 1e-5 {
				t.Fatalf("Σ Softmax(%v) = %v", logits, s)
			}
		}

		// TopK: distinct ids in descending probability.
		if ids, ws, err := forward.TopK(logits, k); expectKernelErr(t, "TopK", err) {
			if len(ids) != k || len(ws) != k {
				t.Fatalf("TopK(k=%d) gave %d ids, %d weights", k, len(ids), len(ws))
			}
			seen := map[int]bool{}
			for i, id := range ids {
				if id < 0 || id >= len(logits) || seen[id] {
					t.Fatalf("TopK ids %v: bad or repeated id %d", ids, id)
				}
				seen[id] = true
				if i > 0 && ws[i] > ws[i-1] {
					t.Fatalf("TopK weights %v not descending", ws)
				}
			}
		}

		// GroupTopK: k distinct ids in range; YaRN's RoPE fails only with
		// the two kinds of error.
		bias := in.vals(len(logits) + slack)
		groups, keep := heads, kvHeads
		if ids, err := forward.GroupTopK(logits, bias, k, groups, keep); expectKernelErr(t, "GroupTopK", err) {
			seen := map[int]bool{}
			for _, id := range ids {
				if id < 0 || id >= len(logits) || seen[id] {
					t.Fatalf("GroupTopK ids %v: bad or repeated id %d", ids, id)
				}
				seen[id] = true
			}
			if len(ids) != k {
				t.Fatalf("GroupTopK(k=%d) gave %v", k, ids)
			}
		}
		yarn := forward.RopeScaling{Type: forward.RopeYaRN, Factor: float64(k), OriginalMaxPositions: float64(rows), BetaFast: float64(heads),
			BetaSlow: float64(kvHeads), Truncate: slack == 0, AttnFactor: 1}
		if rope, err := forward.NewScaledRoPE[float32](positions(max(0, n)), d, 1e4, yarn); expectKernelErr(t, "NewScaledRoPE(yarn)", err) {
			expectKernelErr(t, "RoPE.Apply", rope.Apply(slices.Clone(in.vals(n*heads*d+slack))))
		}

		// RMSNorm, RoPE and Attention on [n, heads, d].
		q := in.vals(n*heads*d + slack)
		kk := in.vals(n * kvHeads * d)
		v := in.vals(n * kvHeads * d)
		normW := in.vals(d)
		expectKernelErr(t, "HeadNorm", forward.HeadNorm(slices.Clone(q), normW, 1e-6))
		if rope, err := forward.NewRoPE[float64](positions(max(0, n)), d, 1e4); expectKernelErr(t, "NewRoPE", err) {
			x := to64(q)
			if expectKernelErr(t, "RoPE.Apply", rope.Apply(x)) {
				for h := 0; h+d <= len(x); h += d {
					before, after := sumSq(to64(q[h:h+d])), sumSq(x[h:h+d])
					if math.Abs(after-before) > 1e-9*before {
						t.Fatalf("RoPE changed |head|² from %v to %v", before, after)
					}
				}
			}
		}
		out := make([]float32, len(q))
		if expectKernelErr(t, "Attention", forward.Attention(out, q, kk, v, heads, kvHeads, d)) {
			// Each output lies within the range of its KV head's values
			// (allowing rounding), unless the values overflow.
			tokens := len(q) / max(1, heads*d)
			for i := range tokens {
				for h := range heads {
					g := h / (heads / kvHeads)
					for c := range d {
						lo, hi := math.Inf(1), math.Inf(-1)
						for j := 0; j <= i; j++ {
							lo = min(lo, float64(v[(j*kvHeads+g)*d+c]))
							hi = max(hi, float64(v[(j*kvHeads+g)*d+c]))
						}
						got := float64(out[(i*heads+h)*d+c])
						if math.IsNaN(got) || hi > 1e20 || lo < -1e20 {
							continue
						}
						tol := 1e-5 * max(1, math.Abs(lo), math.Abs(hi))
						if got < lo-tol || got > hi+tol {
							t.Fatalf("attention token %d head %d [%d] = %v outside [%v, %v]", i, h, c, got, lo, hi)
						}
					}
				}
			}
		}
		expectKernelErr(t, "SwiGLU", forward.SwiGLU(out, q, q[:max(0, len(q)-max(0, slack))]))

		// Gemma's and Phi-3's kernels: only the two kinds of error.
		expectKernelErr(t, "RMSNormPlusOne", forward.RMSNormPlusOne(slices.Clone(q), q, normW, 1e-6))
		expectKernelErr(t, "GeGLU", forward.GeGLU(out, q, q[:max(0, len(q)-max(0, slack))]))
		expectKernelErr(t, "ScaledAttention", forward.ScaledAttention(out, q, kk, v, heads, kvHeads, d, max(0, k), float64(slack)/8))
		if w != nil {
			if src, err := forward.RowRange(w, k, n); expectKernelErr(t, "RowRange", err) {
				for i := range src.Rows() {
					if err := src.Row(i, make([]float32, cols)); err != nil {
						t.Fatalf("RowRange(%d, %d).Row(%d) of a %d×%d matrix: %v", k, n, i, rows, cols, err)
					}
				}
			}
		}
	})
}

package forward_test

import (
	"context"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// TestPrecisionPaths runs every kernel in float32 and in float64 on the
// same random inputs (the float64 ones widened from float32, so both see
// the same numbers) and checks that they agree to about 1e-5, normwise.
func TestPrecisionPaths(t *testing.T) {
	r := newRand(50)
	ctx := context.Background()
	const n, hidden, heads, kvHeads, d, experts, inter = 6, 256, 8, 2, 32, 64, 96

	x32 := randVec32(r, n*hidden, 1)
	x64 := to64(x32)

	t.Run("softmax", func(t *testing.T) {
		a := randVec32(r, 500, 8)
		got32 := make([]float32, len(a))
		got64 := make([]float64, len(a))
		_ = forward.Softmax(got32, a)
		_ = forward.Softmax(got64, to64(a))
		checkClose(t, "Softmax", got32, got64, 1e-6)
	})
	t.Run("rmsnorm", func(t *testing.T) {
		w := randVec32(r, hidden, 2)
		got32 := make([]float32, len(x32))
		got64 := make([]float64, len(x64))
		_ = forward.RMSNorm(got32, x32, w, 1e-6)
		_ = forward.RMSNorm(got64, x64, w, 1e-6)
		checkClose(t, "RMSNorm", got32, got64, 1e-6)
	})
	t.Run("matmul", func(t *testing.T) {
		w := mustDense(t, 3*hidden, hidden, randVec32(r, 3*hidden*hidden, 0.1))
		got32 := make([]float32, n*3*hidden)
		got64 := make([]float64, n*3*hidden)
		if err := forward.MatMul(ctx, got32, w, x32, 2); err != nil {
			t.Fatal(err)
		}
		if err := forward.MatMul(ctx, got64, w, x64, 2); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "MatMul", got32, got64, 1e-5)
	})
	t.Run("rope", func(t *testing.T) {
		a := randVec32(r, n*heads*d, 1)
		got32 := append([]float32(nil), a...)
		got64 := to64(a)
		_ = mustRoPE[float32](t, positions(n), d, 1e6).Apply(got32)
		_ = mustRoPE[float64](t, positions(n), d, 1e6).Apply(got64)
		checkClose(t, "RoPE", got32, got64, 1e-6)
	})
	t.Run("attention", func(t *testing.T) {
		q := randVec32(r, n*heads*d, 1)
		k := randVec32(r, n*kvHeads*d, 1)
		v := randVec32(r, n*kvHeads*d, 1)
		checkClose(t, "Attention", attend(t, q, k, v, heads, kvHeads, d), attend(t, to64(q), to64(k), to64(v), heads, kvHeads, d), 1e-6)
	})
	t.Run("swiglu", func(t *testing.T) {
		g := randVec32(r, 300, 6)
		u := randVec32(r, 300, 6)
		got32 := make([]float32, 300)
		got64 := make([]float64, 300)
		_ = forward.SwiGLU(got32, g, u)
		_ = forward.SwiGLU(got64, to64(g), to64(u))
		checkClose(t, "SwiGLU", got32, got64, 1e-6)
	})
	t.Run("topk", func(t *testing.T) {
		logits := randVec32(r, experts, 3)
		ids32, w32, _ := forward.TopK(logits, 8)
		ids64, w64, _ := forward.TopK(to64(logits), 8)
		forward.Renormalize(w32)
		forward.Renormalize(w64)
		for i := range ids32 {
			if ids32[i] != ids64[i] {
				t.Fatalf("TopK ids: float32 %v, float64 %v", ids32, ids64)
			}
		}
		checkClose(t, "TopK weights", w32, w64, 1e-6)
	})

	// The chain of one block's kernels, in both precisions.
	t.Run("chain", func(t *testing.T) {
		norm := randVec32(r, hidden, 1)
		qNorm := randVec32(r, d, 1)
		kNorm := randVec32(r, d, 1)
		wq := mustDense(t, heads*d, hidden, randVec32(r, heads*d*hidden, 0.1))
		wk := mustDense(t, kvHeads*d, hidden, randVec32(r, kvHeads*d*hidden, 0.1))
		wv := mustDense(t, kvHeads*d, hidden, randVec32(r, kvHeads*d*hidden, 0.1))
		wo := mustDense(t, hidden, heads*d, randVec32(r, hidden*heads*d, 0.1))
		gate := mustDense(t, inter, hidden, randVec32(r, inter*hidden, 0.1))
		up := mustDense(t, inter, hidden, randVec32(r, inter*hidden, 0.1))
		down := mustDense(t, hidden, inter, randVec32(r, hidden*inter, 0.1))
		got32 := chain(t, x32, norm, qNorm, kNorm, wq, wk, wv, wo, gate, up, down, n, heads, kvHeads, d, inter)
		got64 := chain(t, x64, norm, qNorm, kNorm, wq, wk, wv, wo, gate, up, down, n, heads, kvHeads, d, inter)
		checkClose(t, "chain", got32, got64, 1e-5)
	})
}

// chain runs the kernels of a Qwen3-MoE block with one expert, generic
// over the precision.
func chain[T forward.Float](tb testing.TB, x []T, norm, qNorm, kNorm []float32, wq, wk, wv, wo, gate, up, down forward.RowSource, n, heads, kvHeads, d, inter int) []T {
	tb.Helper()
	ctx := context.Background()
	hidden := len(norm)
	check := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	h := make([]T, len(x))
	check(forward.RMSNorm(h, x, norm, 1e-6))
	q := make([]T, n*heads*d)
	k := make([]T, n*kvHeads*d)
	v := make([]T, n*kvHeads*d)
	check(forward.MatMul(ctx, q, wq, h, 2))
	check(forward.MatMul(ctx, k, wk, h, 2))
	check(forward.MatMul(ctx, v, wv, h, 2))
	check(forward.HeadNorm(q, qNorm, 1e-6))
	check(forward.HeadNorm(k, kNorm, 1e-6))
	rope, err := forward.NewRoPE[T](positions(n), d, 1e6)
	check(err)
	check(rope.Apply(q))
	check(rope.Apply(k))
	check(forward.Attention(q, q, k, v, heads, kvHeads, d))
	o := make([]T, n*hidden)
	check(forward.MatMul(ctx, o, wo, q, 2))
	for i := range o {
		o[i] += x[i]
	}
	check(forward.RMSNorm(h, o, norm, 1e-6))
	g := make([]T, n*inter)
	u := make([]T, n*inter)
	check(forward.MatMul(ctx, g, gate, h, 2))
	check(forward.MatMul(ctx, u, up, h, 2))
	check(forward.SwiGLU(g, g, u))
	out := make([]T, n*hidden)
	check(forward.MatMul(ctx, out, down, g, 2))
	for i := range out {
		out[i] += o[i]
	}
	return out
}

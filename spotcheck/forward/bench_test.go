package forward_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// naiveMatMul32 is the baseline: the plain triple loop over the whole
// in-memory matrix, one running float32 sum per output.
func naiveMatMul32(y, w []float32, rows, cols int, x []float32) {
	n := len(x) / cols
	for t := range n {
		for i := range rows {
			var s float32
			for j := range cols {
				s += w[i*cols+j] * x[t*cols+j]
			}
			y[t*rows+i] = s
		}
	}
}

func BenchmarkMatMul(b *testing.B) {
	const rows, cols = 4096, 4096
	r := newRand(60)
	data := randVec32(r, rows*cols, 1)
	w := mustDense(b, rows, cols, data)
	ctx := context.Background()
	for _, n := range []int{1, 8} {
		x32 := randVec32(r, n*cols, 1)
		x64 := to64(x32)
		y32 := make([]float32, n*rows)
		y64 := make([]float64, n*rows)
		flops := 2.0 * rows * cols * float64(n)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("n=%d/baseline=naive", n), func(b *testing.B) {
			b.SetBytes(rows * cols * 4)
			b.ReportAllocs()
			for b.Loop() {
				naiveMatMul32(y32, data, rows, cols, x32)
			}
			report(b)
		})
		for _, jobs := range []int{1, 2} {
			b.Run(fmt.Sprintf("n=%d/f32/jobs=%d", n, jobs), func(b *testing.B) {
				b.SetBytes(rows * cols * 4)
				b.ReportAllocs()
				for b.Loop() {
					if err := forward.MatMul(ctx, y32, w, x32, jobs); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
			b.Run(fmt.Sprintf("n=%d/f64/jobs=%d", n, jobs), func(b *testing.B) {
				b.SetBytes(rows * cols * 4)
				b.ReportAllocs()
				for b.Loop() {
					if err := forward.MatMul(ctx, y64, w, x64, jobs); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
			b.Run(fmt.Sprintf("n=%d/pair/jobs=%d", n, jobs), func(b *testing.B) { // both precisions, as the spot-check runs
				b.SetBytes(rows * cols * 4)
				b.ReportAllocs()
				for b.Loop() {
					if err := forward.MatMulPair(ctx, y32, y64, w, x32, x64, jobs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// Qwen3-235B-A22B attention: 64 query heads, 4 KV heads, head_dim 128.
const benchTokens, benchHeads, benchKVHeads, benchHeadDim = 8, 64, 4, 128

func BenchmarkRoPE(b *testing.B) {
	r := newRand(61)
	x := randVec(r, benchTokens*benchHeads*benchHeadDim, 1)
	pos := positions(benchTokens)
	bytes := int64(len(x)) * 4
	b.Run("baseline=formula", func(b *testing.B) {
		b.SetBytes(bytes)
		b.ReportAllocs()
		for b.Loop() {
			ropeRef(x, pos, benchHeads, benchHeadDim, 1e6)
		}
	})
	b.Run("f32", func(b *testing.B) {
		rope := mustRoPE[float32](b, pos, benchHeadDim, 1e6)
		x32 := to32(x)
		b.SetBytes(bytes)
		b.ReportAllocs()
		for b.Loop() {
			if err := rope.Apply(x32); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("f64", func(b *testing.B) {
		rope := mustRoPE[float64](b, pos, benchHeadDim, 1e6)
		x64 := append([]float64(nil), x...)
		b.SetBytes(bytes)
		b.ReportAllocs()
		for b.Loop() {
			if err := rope.Apply(x64); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tables/f32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mustRoPE[float32](b, pos, benchHeadDim, 1e6)
		}
	})
}

// softmaxNaive is the baseline: two passes in float64 with one running sum.
func softmaxNaive(dst, x []float32) {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	s := 0.0
	for i, v := range x {
		e := math.Exp(float64(v) - m)
		dst[i] = float32(e)
		s += e
	}
	for i := range dst {
		dst[i] = float32(float64(dst[i]) / s)
	}
}

func BenchmarkSoftmax(b *testing.B) {
	r := newRand(62)
	// An attention row for 8 tokens, the 128 experts of the router, a
	// vocabulary of 151,936 logits.
	for _, n := range []int{8, 128, 151936} {
		x := randVec32(r, n, 10)
		dst := make([]float32, n)
		b.Run(fmt.Sprintf("n=%d/baseline=naive", n), func(b *testing.B) {
			b.SetBytes(int64(n) * 4)
			b.ReportAllocs()
			for b.Loop() {
				softmaxNaive(dst, x)
			}
		})
		b.Run(fmt.Sprintf("n=%d/f32", n), func(b *testing.B) {
			b.SetBytes(int64(n) * 4)
			b.ReportAllocs()
			for b.Loop() {
				if err := forward.Softmax(dst, x); err != nil {
					b.Fatal(err)
				}
			}
		})
		x64 := to64(x)
		dst64 := make([]float64, n)
		b.Run(fmt.Sprintf("n=%d/f64", n), func(b *testing.B) {
			b.SetBytes(int64(n) * 4)
			b.ReportAllocs()
			for b.Loop() {
				if err := forward.Softmax(dst64, x64); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAttention(b *testing.B) {
	r := newRand(63)
	q := randVec(r, benchTokens*benchHeads*benchHeadDim, 1)
	k := randVec(r, benchTokens*benchKVHeads*benchHeadDim, 1)
	v := randVec(r, benchTokens*benchKVHeads*benchHeadDim, 1)
	bytes := int64(len(q)+len(k)+len(v)) * 4
	b.Run("baseline=definition", func(b *testing.B) {
		b.SetBytes(bytes)
		b.ReportAllocs()
		for b.Loop() {
			attentionRef(q, k, v, benchHeads, benchKVHeads, benchHeadDim)
		}
	})
	q32, k32, v32 := to32(q), to32(k), to32(v)
	out32 := make([]float32, len(q))
	b.Run("f32", func(b *testing.B) {
		b.SetBytes(bytes)
		b.ReportAllocs()
		for b.Loop() {
			if err := forward.Attention(out32, q32, k32, v32, benchHeads, benchKVHeads, benchHeadDim); err != nil {
				b.Fatal(err)
			}
		}
	})
	out64 := make([]float64, len(q))
	b.Run("f64", func(b *testing.B) {
		b.SetBytes(bytes)
		b.ReportAllocs()
		for b.Loop() {
			if err := forward.Attention(out64, q, k, v, benchHeads, benchKVHeads, benchHeadDim); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRMSNorm(b *testing.B) {
	r := newRand(64)
	const hidden = 4096
	x := randVec32(r, benchTokens*hidden, 1)
	w := randVec32(r, hidden, 1)
	dst := make([]float32, len(x))
	b.Run("f32", func(b *testing.B) {
		b.SetBytes(int64(len(x)) * 4)
		b.ReportAllocs()
		for b.Loop() {
			if err := forward.RMSNorm(dst, x, w, 1e-6); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTopK(b *testing.B) {
	r := newRand(65)
	logits := randVec32(r, 128, 3)
	b.Run("experts=128/k=8", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := forward.TopK(logits, 8); err != nil {
				b.Fatal(err)
			}
		}
	})
}

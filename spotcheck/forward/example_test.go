package forward_test

import (
	"context"
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

func Example() {
	ctx := context.Background()

	// A 2×3 weight matrix held in memory; a real RowSource dequantizes each
	// row of a GGUF or safetensors tensor on demand.
	w, err := forward.NewDense(2, 3, []float32{
		1, 0, 1,
		0, 2, 0,
	})
	if err != nil {
		panic(err)
	}
	// Two tokens of 3 features: y is [2 tokens, 2 outputs].
	x := []float32{1, 2, 3, 4, 5, 6}
	y := make([]float32, 4)
	if err := forward.MatMul(ctx, y, w, x, 2); err != nil {
		panic(err)
	}
	fmt.Println("matmul:", y)

	// RMSNorm with weight 1 gives unit RMS.
	h := make([]float64, 2)
	if err := forward.RMSNorm(h, []float64{3, 4}, []float32{1, 1}, 0); err != nil {
		panic(err)
	}
	fmt.Printf("rmsnorm: %.4f\n", h)

	// RoPE at position 1 turns the first pair of a head by one radian.
	rope, err := forward.NewRoPE[float64]([]int{1}, 2, 10000)
	if err != nil {
		panic(err)
	}
	q := []float64{1, 0}
	if err := rope.Apply(q); err != nil {
		panic(err)
	}
	fmt.Printf("rope: %.4f (cos 1 = %.4f)\n", q, math.Cos(1))

	// The router: softmax over all experts, top-2, renormalized.
	ids, weights, err := forward.TopK([]float32{0.1, 2, -1, 2, 0.5}, 2)
	if err != nil {
		panic(err)
	}
	forward.Renormalize(weights)
	fmt.Printf("experts %v weights %.2f\n", ids, weights)
	// Output:
	// matmul: [4 4 10 10]
	// rmsnorm: [0.8485 1.1314]
	// rope: [0.5403 0.8415] (cos 1 = 0.5403)
	// experts [1 3] weights [0.50 0.50]
}

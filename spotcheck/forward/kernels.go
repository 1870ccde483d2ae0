package forward

import (
	"errors"
	"fmt"
	"math"
)

// Float is the element type of activations: float32 for the path that
// follows transformers in float32, float64 for the reference path.
type Float interface {
	~float32 | ~float64
}

// ErrShape means the lengths of a kernel's slices disagree with each other
// or with the shape given: for example a [MatMul] whose x is not a whole
// number of rows of length Cols, or a [RoPE] applied to a slice that is not
// [positions, heads, head_dim]. The error names the kernel and the lengths.
var ErrShape = errors.New("forward: shape mismatch")

// ErrInvalid means a kernel parameter is out of range: jobs < 1, an odd or
// non-positive head dimension, a head count that the KV head count does not
// divide, a RoPE theta that is not a positive finite number, a negative
// position or epsilon, a top-k k outside 1..len(logits), or a row index
// outside a [Dense] matrix.
var ErrInvalid = errors.New("forward: invalid parameter")

// RMSNorm normalizes each consecutive vector of len(weight) elements of x
// by its root mean square and scales it by weight, writing dst:
//
//	dst[i] = weight[i] · (x[i] · 1/√(mean(x²) + eps))
//
// as transformers' Qwen3MoeRMSNorm does. The mean, the reciprocal square
// root and the products are computed in T (float32 in the float32 path);
// eps is rounded to T. x may hold several vectors ([tokens, hidden], or
// [tokens, heads, head_dim] with a [head_dim] weight, see [HeadNorm]); its
// length must be a multiple of len(weight) and equal len(dst), otherwise
// the error wraps [ErrShape]. A negative or non-finite eps gives an error
// wrapping [ErrInvalid]. A zero vector with eps = 0 gives NaN, as in
// transformers.
//
// dst may be x (exactly) for an in-place norm. RMSNorm allocates nothing.
func RMSNorm[T Float](dst, x []T, weight []float32, eps float64) error {
	if err := checkNorm(dst, x, weight, eps); err != nil {
		return err
	}
	d := len(weight)
	e := T(eps)
	weight = weight[:d:d]
	for r := 0; r < len(x); r += d {
		row := x[r : r+d : r+d]
		out := dst[r : r+d : r+d]
		ms := sumSquares(row) / T(d)
		inv := T(1 / math.Sqrt(float64(ms+e)))
		for i, w := range weight {
			out[i] = T(w) * T(row[i]*inv)
		}
	}
	return nil
}

// RMSNormPlusOne is [RMSNorm] scaling by 1 + weight instead of weight, as
// Gemma's RMSNorm does (transformers' Gemma3RMSNorm: output * (1.0 +
// weight.float()), on a weight initialized to zero):
//
//	dst[i] = (1 + weight[i]) · (x[i] · 1/√(mean(x²) + eps))
//
// with 1 + weight[i] computed in T, as transformers computes it in
// float32, and exactly in the float64 path. Its arguments, errors,
// aliasing and allocations are RMSNorm's.
func RMSNormPlusOne[T Float](dst, x []T, weight []float32, eps float64) error {
	if err := checkNorm(dst, x, weight, eps); err != nil {
		return err
	}
	d := len(weight)
	e := T(eps)
	weight = weight[:d:d]
	for r := 0; r < len(x); r += d {
		row := x[r : r+d : r+d]
		out := dst[r : r+d : r+d]
		ms := sumSquares(row) / T(d)
		inv := T(1 / math.Sqrt(float64(ms+e)))
		for i, w := range weight {
			out[i] = T(1+T(w)) * T(row[i]*inv)
		}
	}
	return nil
}

// checkNorm checks the arguments of RMSNorm and RMSNormPlusOne.
func checkNorm[T Float](dst, x []T, weight []float32, eps float64) error {
	d := len(weight)
	if d == 0 || len(x)%d != 0 || len(dst) != len(x) {
		return fmt.Errorf("rmsnorm: len(x) = %d, len(dst) = %d, len(weight) = %d: want len(x) = len(dst) a multiple of len(weight) > 0: %w",
			len(x), len(dst), d, ErrShape)
	}
	if !(eps >= 0) || math.IsInf(eps, 1) {
		return fmt.Errorf("rmsnorm: eps = %v: %w", eps, ErrInvalid)
	}
	return nil
}

// HeadNorm is Qwen3's per-head q/k norm: it applies [RMSNorm] in place with
// a [head_dim] weight to every head of x, which is [tokens, heads,
// head_dim] (or any length that is a multiple of len(weight)). It is the
// same as RMSNorm(x, x, weight, eps) and has the same errors.
func HeadNorm[T Float](x []T, weight []float32, eps float64) error {
	if err := RMSNorm(x, x, weight, eps); err != nil {
		return fmt.Errorf("head norm: %w", err)
	}
	return nil
}

// Softmax writes the softmax of x to dst: exp(x[i] − max(x)) / Σ exp(x[j] −
// max(x)). Subtracting the maximum keeps every exponential in (0, 1], so a
// finite x gives finite probabilities that sum to 1 (within rounding) and
// the result is invariant to adding a constant to x. exp is evaluated in
// float64 and rounded to T; the sum and the divisions are in T. A NaN, or
// an infinity, in x gives NaN, as in PyTorch.
//
// len(dst) must equal len(x) (otherwise the error wraps [ErrShape]); dst
// may be x (exactly). An empty x is a no-op. Softmax allocates nothing.
func Softmax[T Float](dst, x []T) error {
	if len(dst) != len(x) {
		return fmt.Errorf("softmax: len(dst) = %d, len(x) = %d: %w", len(dst), len(x), ErrShape)
	}
	softmax(dst, x)
	return nil
}

// softmax is Softmax without the length check: len(dst) == len(x).
func softmax[T Float](dst, x []T) {
	if len(x) == 0 {
		return
	}
	dst = dst[:len(x)]
	m := x[0]
	for _, v := range x[1:] {
		if v > m || v != v {
			m = v
		}
	}
	for i, v := range x {
		dst[i] = T(math.Exp(float64(v - m)))
	}
	s := sum(dst)
	for i := range dst {
		dst[i] /= s
	}
}

// SiLU returns x·sigmoid(x), computed as x / (1 + exp(−x)) with exp
// evaluated in float64 and rounded to T. SiLU(0) = 0; a large negative x
// gives −0 rather than NaN.
func SiLU[T Float](x T) T {
	return x / (1 + T(math.Exp(float64(-x))))
}

// SwiGLU writes silu(gate[i]) · up[i] to dst[i], the gated activation of a
// Qwen3-MoE expert. The three lengths must be equal (otherwise the error
// wraps [ErrShape]); dst may be gate or up (exactly). SwiGLU allocates
// nothing.
func SwiGLU[T Float](dst, gate, up []T) error {
	if len(gate) != len(up) || len(dst) != len(gate) {
		return fmt.Errorf("swiglu: len(dst) = %d, len(gate) = %d, len(up) = %d: %w", len(dst), len(gate), len(up), ErrShape)
	}
	up = up[:len(gate)]
	dst = dst[:len(gate)]
	for i, g := range gate {
		dst[i] = SiLU(g) * up[i]
	}
	return nil
}

// SwiGLUOAI writes gpt-oss's clamped gated activation to dst: with
// g = min(gate[i], limit) and u = up[i] clamped to [−limit, limit],
//
//	dst[i] = (u + 1) · g · sigmoid(g · alpha)
//
// in T, alpha and limit rounded to T (transformers'
// models/gpt_oss/modeling_gpt_oss.py GptOssExperts: gate.clamp(max=limit),
// up.clamp(−limit, limit), glu = gate · sigmoid(gate · alpha), (up + 1) ·
// glu; llama.cpp's ggml_swiglu_oai, alpha 1.702 and limit swiglu_limit 7).
// The sigmoid is 1 / (1 + exp(−x)) with exp evaluated in float64 and
// rounded to T. Lengths, errors and aliasing are [SwiGLU]'s; a limit that
// is not positive gives an error wrapping [ErrInvalid].
func SwiGLUOAI[T Float](dst, gate, up []T, alpha, limit float64) error {
	if len(gate) != len(up) || len(dst) != len(gate) {
		return fmt.Errorf("swiglu-oai: len(dst) = %d, len(gate) = %d, len(up) = %d: %w", len(dst), len(gate), len(up), ErrShape)
	}
	if !(limit > 0) {
		return fmt.Errorf("swiglu-oai: limit %v: want positive: %w", limit, ErrInvalid)
	}
	a, lim := T(alpha), T(limit)
	up = up[:len(gate)]
	dst = dst[:len(gate)]
	for i, g := range gate {
		g = min(g, lim)
		u := max(min(up[i], lim), -lim)
		glu := g / (1 + T(math.Exp(float64(-T(g*a)))))
		dst[i] = (u + 1) * glu
	}
	return nil
}

// GELUTanh is the GELU with the tanh approximation, PyTorch's
// gelu(x, approximate="tanh") (transformers' "gelu_pytorch_tanh", the
// activation of Gemma's MLP):
//
//	0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
//
// computed in T in the order of PyTorch's CPU kernel (GeluKernelImpl: x³
// as x·x·x, the constants rounded to T), with tanh evaluated in float64
// and rounded to T.
func GELUTanh[T Float](x T) T {
	const kappa = 0.044715
	beta := T(math.Sqrt(2 / math.Pi))
	cube := T(T(x*x) * x)
	inner := T(beta * (x + T(T(kappa)*cube)))
	return T(T(0.5)*x) * (1 + T(math.Tanh(float64(inner))))
}

// GeGLU writes gelu_tanh(gate[i]) · up[i] to dst[i], the gated activation
// of Gemma's MLP (Gemma3MLP: act_fn(gate_proj(x)) * up_proj(x), act_fn
// [GELUTanh]). Its lengths, errors and aliasing are [SwiGLU]'s.
func GeGLU[T Float](dst, gate, up []T) error {
	if len(gate) != len(up) || len(dst) != len(gate) {
		return fmt.Errorf("geglu: len(dst) = %d, len(gate) = %d, len(up) = %d: %w", len(dst), len(gate), len(up), ErrShape)
	}
	up = up[:len(gate)]
	dst = dst[:len(gate)]
	for i, g := range gate {
		dst[i] = GELUTanh(g) * up[i]
	}
	return nil
}

// Softcap caps x in place at ±limit smoothly: x[i] = tanh(x[i] / limit) ·
// limit, in that order, with tanh evaluated in float64 and rounded to T
// (transformers' final_logit_softcapping of Gemma: logits / cap, tanh,
// · cap). limit must be positive and finite, otherwise the error wraps
// [ErrInvalid]. Softcap allocates nothing.
func Softcap[T Float](x []T, limit float64) error {
	if !(limit > 0) || math.IsInf(limit, 1) {
		return fmt.Errorf("softcap: limit %v: want positive and finite: %w", limit, ErrInvalid)
	}
	c := T(limit)
	for i, v := range x {
		x[i] = T(math.Tanh(float64(v/c))) * c
	}
	return nil
}

// Products are wrapped in an explicit conversion, T(a*b), which the Go
// spec defines to round, so no architecture may fuse them with the
// following addition: the results are the same on amd64 and arm64.
//
// The reductions below use four partial sums, added in a fixed tree at the
// end, so the order of the additions depends only on the length. This is
// both faster (the partial sums are independent; four beat eight on amd64,
// where eight spill registers) and more accurate than one running sum.

// sum returns Σ x[i].
func sum[T Float](x []T) T {
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v := x[j : j+4 : j+4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
	}
	for ; j < len(x); j++ {
		s0 += x[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSquares returns Σ x[i]².
func sumSquares[T Float](x []T) T {
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v := x[j : j+4 : j+4]
		s0 += T(v[0] * v[0])
		s1 += T(v[1] * v[1])
		s2 += T(v[2] * v[2])
		s3 += T(v[3] * v[3])
	}
	for ; j < len(x); j++ {
		s0 += T(x[j] * x[j])
	}
	return (s0 + s1) + (s2 + s3)
}

// dot returns Σ a[i]·b[i] over len(a) elements; len(b) ≥ len(a).
func dot[T Float](a, b []T) T {
	b = b[:len(a)]
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(a); j += 4 {
		u := a[j : j+4 : j+4]
		v := b[j : j+4 : j+4]
		s0 += T(u[0] * v[0])
		s1 += T(u[1] * v[1])
		s2 += T(u[2] * v[2])
		s3 += T(u[3] * v[3])
	}
	for ; j < len(a); j++ {
		s0 += T(a[j] * b[j])
	}
	return (s0 + s1) + (s2 + s3)
}

// dotW returns Σ w[i]·x[i] over len(x) elements, widening the float32
// weights to T; len(w) ≥ len(x). Its summation order is that of dot.
func dotW[T Float](w []float32, x []T) T {
	w = w[:len(x)]
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		u := w[j : j+4 : j+4]
		v := x[j : j+4 : j+4]
		s0 += T(T(u[0]) * v[0])
		s1 += T(T(u[1]) * v[1])
		s2 += T(T(u[2]) * v[2])
		s3 += T(T(u[3]) * v[3])
	}
	for ; j < len(x); j++ {
		s0 += T(T(w[j]) * x[j])
	}
	return (s0 + s1) + (s2 + s3)
}

// dotPair returns dotW(w, x32) and dotW(w, x64), bit for bit. Where the
// CPU has a vector kernel for it (hasDotPairVec, dot_amd64.go) the
// whole groups of four columns go through that kernel in one pass over
// w: its four lanes are dotW's four partial sums, each accumulated in
// the same order with the same roundings (a float32 product rounded,
// then added; the float64 product of the exactly widened weight), and
// the float32 and float64 chains overlap. The tail of fewer than four
// columns and the final combination are dotW's. len(x32) = len(x64) ≤
// len(w).
func dotPair(w []float32, x32 []float32, x64 []float64) (float32, float64) {
	n := len(x32)
	if !hasDotPairVec || n < 4 {
		return dotW(w, x32), dotW(w, x64)
	}
	w, x64 = w[:n], x64[:n]
	var a [4]float32
	var b [4]float64
	j := n &^ 3
	dotPairVec(&w[0], &x32[0], &x64[0], j, &a, &b)
	for ; j < n; j++ {
		a[0] += float32(w[j] * x32[j])
		b[0] += float64(float64(w[j]) * x64[j])
	}
	return (a[0] + a[1]) + (a[2] + a[3]), (b[0] + b[1]) + (b[2] + b[3])
}

// dotPair2 is dotPair for two inputs, a and b, over the same weights:
// each result bit for bit dotPair's. The vector kernel loads each weight
// once for both and overlaps their four chains of additions, which a
// single dot product cannot (its order is fixed).
func dotPair2(w []float32, x32a, x32b []float32, x64a, x64b []float64) (a32, b32 float32, a64, b64 float64) {
	n := len(x32a)
	if !hasDotPairVec || n < 4 {
		a32, a64 = dotPair(w, x32a, x64a)
		b32, b64 = dotPair(w, x32b, x64b)
		return a32, b32, a64, b64
	}
	w, x32b, x64a, x64b = w[:n], x32b[:n], x64a[:n], x64b[:n]
	var s32 [8]float32
	var s64 [8]float64
	j := n &^ 3
	dotPair2Vec(&w[0], &x32a[0], &x32b[0], &x64a[0], &x64b[0], j, &s32, &s64)
	for ; j < n; j++ {
		s32[0] += float32(w[j] * x32a[j])
		s64[0] += float64(float64(w[j]) * x64a[j])
		s32[4] += float32(w[j] * x32b[j])
		s64[4] += float64(float64(w[j]) * x64b[j])
	}
	return (s32[0] + s32[1]) + (s32[2] + s32[3]), (s32[4] + s32[5]) + (s32[6] + s32[7]),
		(s64[0] + s64[1]) + (s64[2] + s64[3]), (s64[4] + s64[5]) + (s64[6] + s64[7])
}

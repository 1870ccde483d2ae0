package forward

import (
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// maxHeadDim bounds the head dimension NewRoPE accepts, so that a hostile
// config cannot make it allocate a huge table (real models use ≤ 512).
const maxHeadDim = 1 << 16

// RoPE is the rotary position embedding in the NeoX (rotate-half) layout
// that transformers' Qwen3-MoE uses, with its cos/sin tables precomputed
// for a list of positions, a head dimension d and a base theta:
//
//	inv_freq[i] = 1 / theta^(2i/d)          for i < d/2
//	angle[p, i] = position[p] · inv_freq[i]
//	x' = x·cos + rotate_half(x)·sin,  rotate_half(x) = cat(−x[d/2:], x[:d/2])
//
// with cos and sin of cat(angle, angle); that is, element i < d/2 of a head
// is rotated with element i + d/2 by angle[p, i]. Every step of the table
// is rounded to T, as transformers computes it in float32 (which is why the
// float32 and float64 paths drift apart slowly as positions grow).
//
// A RoPE is immutable after [NewRoPE] and safe for concurrent use.
type RoPE[T Float] struct {
	positions int
	headDim   int
	cos, sin  []T // [positions, headDim/2]
}

// NewRoPE precomputes the tables for the given positions (token p of the
// input is at positions[p]; the spot-check uses 0..n−1), head dimension and
// theta (rope_theta of the config). headDim must be even, positive and at
// most 65536, theta positive and finite, and every position non-negative;
// otherwise the error wraps [ErrInvalid]. The tables take
// len(positions)·headDim elements of T.
func NewRoPE[T Float](positions []int, headDim int, theta float64) (*RoPE[T], error) {
	if headDim <= 0 || headDim%2 != 0 || headDim > maxHeadDim {
		return nil, fmt.Errorf("rope: head dim %d: want even, positive and at most %d: %w", headDim, maxHeadDim, ErrInvalid)
	}
	if !(theta > 0) || math.IsInf(theta, 1) {
		return nil, fmt.Errorf("rope: theta %v: want positive and finite: %w", theta, ErrInvalid)
	}
	half := headDim / 2
	size, ok := checked.Mul(int64(len(positions)), int64(half))
	if !ok || size > math.MaxInt32 {
		return nil, fmt.Errorf("rope: %d positions × head dim %d: too large: %w", len(positions), headDim, ErrInvalid)
	}
	invFreq := make([]T, half)
	for i := range invFreq {
		exp := T(2*i) / T(headDim)
		invFreq[i] = 1 / T(math.Pow(theta, float64(exp)))
	}
	r := &RoPE[T]{
		positions: len(positions),
		headDim:   headDim,
		cos:       make([]T, size),
		sin:       make([]T, size),
	}
	for p, pos := range positions {
		if pos < 0 {
			return nil, fmt.Errorf("rope: position %d of token %d: want non-negative: %w", pos, p, ErrInvalid)
		}
		c := r.cos[p*half : (p+1)*half]
		s := r.sin[p*half : (p+1)*half]
		for i, f := range invFreq {
			a := T(pos) * f
			c[i] = T(math.Cos(float64(a)))
			s[i] = T(math.Sin(float64(a)))
		}
	}
	return r, nil
}

// HeadDim returns the head dimension the tables were built for.
func (r *RoPE[T]) HeadDim() int { return r.headDim }

// Positions returns the number of positions (tokens) the tables cover.
func (r *RoPE[T]) Positions() int { return r.positions }

// Apply rotates x in place. x is [positions, heads, headDim] row-major
// (the q or k projection of every token, viewed per head) for any number
// of heads; its length must be a positive multiple of positions·headDim,
// otherwise the error wraps [ErrShape]. Apply allocates nothing.
func (r *RoPE[T]) Apply(x []T) error {
	tok, ok := checked.Mul(int64(r.positions), int64(r.headDim))
	if !ok || tok == 0 || len(x) == 0 || int64(len(x))%tok != 0 {
		return fmt.Errorf("rope: len(x) = %d, want a multiple of %d positions × head dim %d: %w", len(x), r.positions, r.headDim, ErrShape)
	}
	heads := len(x) / int(tok)
	half := r.headDim / 2
	for p := range r.positions {
		c := r.cos[p*half : (p+1)*half : (p+1)*half]
		s := r.sin[p*half : (p+1)*half : (p+1)*half]
		for h := range heads {
			v := x[(p*heads+h)*r.headDim:][:r.headDim:r.headDim]
			lo := v[:half:half]
			hi := v[half:]
			for i := range half {
				a, b := lo[i], hi[i]
				lo[i] = T(a*c[i]) - T(b*s[i])
				hi[i] = T(b*c[i]) + T(a*s[i])
			}
		}
	}
	return nil
}

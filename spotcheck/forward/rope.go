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
// that transformers' Llama, Mistral, Mixtral, Qwen2, Qwen3, Gemma 3 and
// Phi-3 use, with its
// cos/sin tables precomputed for a list of positions, a head dimension d
// and a base theta:
//
//	inv_freq[i] = 1 / theta^(2i/d)          for i < d/2, then scaled (see [RopeScaling])
//	angle[p, i] = position[p] · inv_freq[i]
//	x' = x·cos + rotate_half(x)·sin,  rotate_half(x) = cat(−x[d/2:], x[:d/2])
//
// with cos and sin of cat(angle, angle) (both times LongRoPE's attention
// factor, see [RopeLongRoPE]); that is, element i < d/2 of a head is
// rotated with element i + d/2 by angle[p, i]. Every step of the table
// is rounded to T, as transformers computes it in float32 (which is why the
// float32 and float64 paths drift apart slowly as positions grow).
//
// A RoPE is immutable after [NewRoPE] and safe for concurrent use.
type RoPE[T Float] struct {
	positions int
	headDim   int
	cos, sin  []T // [positions, headDim/2]
}

// RopeType says how [RopeScaling] changes the inverse frequencies.
type RopeType uint8

// The RoPE scalings.
const (
	// RopeDefault leaves the frequencies as they are: rope_type
	// "default", or no rope_scaling.
	RopeDefault RopeType = iota
	// RopeLinear divides every frequency by Factor, which is dividing
	// the positions by it: transformers'
	// _compute_linear_scaling_rope_parameters (modeling_rope_utils.py,
	// inv_freq /= factor), llama.cpp's rope.scaling.type "linear"
	// (freq_scale = 1/factor).
	RopeLinear
	// RopeLlama3 is Llama 3.1's scaling, transformers'
	// _compute_llama3_parameters (modeling_rope_utils.py). With the
	// wavelength w = 2π/inv_freq, L = OriginalMaxPositions, lo =
	// LowFreqFactor and hi = HighFreqFactor: a frequency with w < L/hi is
	// kept, one with w > L/lo divided by Factor, and one in between
	// becomes (1 − s)·inv_freq/Factor + s·inv_freq with s = (L/w − lo) /
	// (hi − lo).
	RopeLlama3
	// RopeFreqFactors divides frequency i by Factors[i]: llama.cpp's
	// rope_freqs.weight, the head_dim/2 factors its converter computes
	// from Llama 3.1's parameters (convert_hf_to_gguf.py LlamaModel:
	// 1 for the kept frequencies, factor for the divided ones,
	// 1/((1 − s)/factor + s) in between), which ggml's rope divides each
	// angle by (ggml_rope_ext's freq_factors). [Block] reads them from the
	// layer's "rope_freqs" vector.
	RopeFreqFactors
	// RopeUnsupported is a scaling the kernels do not implement (yarn,
	// dynamic, …), named by RopeScaling.Name: [NewScaledRoPE] refuses it,
	// so that no block runs with frequencies other than the model's.
	RopeUnsupported
	// RopeLongRoPE is Phi-3's LongRoPE ("longrope", formerly "su") for a
	// sequence within original_max_position_embeddings: transformers'
	// _compute_longrope_parameters with the short factors,
	// inv_freq[i] = 1 / (Factors[i] · theta^(2i/d)), and cos and sin
	// multiplied by AttnFactor (its attention_factor). [Block] reads the
	// factors from the layer's "rope_factors_short" vector when Factors
	// is nil: llama.cpp's rope_factors_short.weight, which its converter
	// copies from config.json's short_factor (and which llama.cpp uses,
	// as transformers does, while the context stays within the original
	// length).
	RopeLongRoPE
	// RopeYaRN is YaRN (arXiv 2309.00071) as transformers computes it,
	// _compute_yarn_parameters (modeling_rope_utils.py): with d the
	// rotary dimension, L = OriginalMaxPositions and
	// corr(r) = d·ln(L/(2π·r)) / (2·ln theta), the ramp runs from
	// low = corr(BetaFast) to high = corr(BetaSlow) (floored and ceiled
	// when Truncate, then clamped to 0 and d − 1; high gains 0.001 when
	// the two meet), ramp[i] = clamp((i − low)/(high − low), 0, 1) for
	// i < d/2, and with e = 1 − ramp[i]
	//
	//	inv_freq[i] = (1/(Factor·p_i))·(1 − e) + (1/p_i)·e,  p_i = theta^(2i/d)
	//
	// so the fast dimensions keep their frequency and the slow ones are
	// divided by Factor; cos and sin are multiplied by AttnFactor (the
	// attention_factor the caller derives: [YaRNMscale]). llama.cpp's YaRN
	// (ggml_rope_yarn_corr_dims, rope_yarn_ramp) is the same with the
	// range always floored and ceiled.
	RopeYaRN
)

// YaRNMscale is transformers' get_mscale (yarn_get_mscale of
// modeling_deepseek_v3.py): 0.1·mscale·ln(scale) + 1 for a scale above 1,
// else 1. A YaRN config's attention factor is YaRNMscale(factor, 1), or
// with mscale and mscale_all_dim both set YaRNMscale(factor, mscale) /
// YaRNMscale(factor, mscale_all_dim); DeepSeek's softmax scale is
// multiplied by YaRNMscale(factor, mscale_all_dim)².
func YaRNMscale(scale, mscale float64) float64 {
	if scale <= 1 {
		return 1
	}
	return 0.1*mscale*math.Log(scale) + 1
}

// RopeScaling is a rope_scaling (config.json) or its GGUF counterpart:
// how the inverse frequencies of [RoPE] are changed. The zero value
// changes nothing.
type RopeScaling struct {
	Type RopeType
	// Name is the rope_type the config gives, for messages.
	Name string
	// Factor is the scaling factor of RopeLinear and RopeLlama3.
	Factor float64
	// LowFreqFactor, HighFreqFactor and OriginalMaxPositions
	// (original_max_position_embeddings) are RopeLlama3's.
	LowFreqFactor, HighFreqFactor, OriginalMaxPositions float64
	// Factors are the head_dim/2 divisors of RopeFreqFactors, which
	// [Block] fills from the layer, and of RopeLongRoPE.
	Factors []float32
	// AttnFactor multiplies cos and sin for RopeLongRoPE and RopeYaRN
	// (their attention_factor; llama.cpp's rope.scaling.attn_factor).
	AttnFactor float64
	// BetaFast, BetaSlow and Truncate are RopeYaRN's (beta_fast,
	// beta_slow, truncate); it uses Factor and OriginalMaxPositions too.
	BetaFast, BetaSlow float64
	Truncate           bool
}

// check validates the scaling's parameters for a head dimension.
func (s *RopeScaling) check(headDim int) error {
	good := func(v float64) bool { return v > 0 && !math.IsInf(v, 1) }
	switch s.Type {
	case RopeDefault:
		return nil
	case RopeLinear:
		if good(s.Factor) {
			return nil
		}
	case RopeLlama3:
		if good(s.Factor) && good(s.LowFreqFactor) && good(s.HighFreqFactor) && good(s.OriginalMaxPositions) &&
			s.HighFreqFactor > s.LowFreqFactor {
			return nil
		}
	case RopeFreqFactors, RopeLongRoPE:
		if s.Type == RopeLongRoPE && !good(s.AttnFactor) {
			return fmt.Errorf("rope: attention factor %v: want positive and finite: %w", s.AttnFactor, ErrInvalid)
		}
		if len(s.Factors) != headDim/2 {
			return fmt.Errorf("rope: %d frequency factors for head dim %d, want %d: %w", len(s.Factors), headDim, headDim/2, ErrInvalid)
		}
		for i, f := range s.Factors {
			if !good(float64(f)) {
				return fmt.Errorf("rope: frequency factor %d is %v, want positive and finite: %w", i, f, ErrInvalid)
			}
		}
		return nil
	case RopeYaRN:
		if good(s.Factor) && good(s.OriginalMaxPositions) && good(s.BetaFast) && good(s.BetaSlow) && good(s.AttnFactor) {
			return nil
		}
	case RopeUnsupported:
		return fmt.Errorf("rope: scaling %q is not supported: %w", s.Name, ErrInvalid)
	default:
		return fmt.Errorf("rope: unknown scaling type %d: %w", s.Type, ErrInvalid)
	}
	return fmt.Errorf("rope: scaling %+v: want positive finite factors, betas and attention factor (high_freq_factor above low_freq_factor): %w", *s, ErrInvalid)
}

// NewRoPE precomputes the tables for the given positions (token p of the
// input is at positions[p]; the spot-check uses 0..n−1), head dimension and
// theta (rope_theta of the config), without scaling. headDim must be even,
// positive and at most 65536, theta positive and finite, and every
// position non-negative; otherwise the error wraps [ErrInvalid]. The
// tables take len(positions)·headDim elements of T.
func NewRoPE[T Float](positions []int, headDim int, theta float64) (*RoPE[T], error) {
	return NewScaledRoPE[T](positions, headDim, theta, RopeScaling{})
}

// NewScaledRoPE is [NewRoPE] with the inverse frequencies scaled as s
// says, each step rounded to T as transformers computes it in float32.
// Parameters s cannot work with (a factor that is not positive and finite,
// a high_freq_factor not above the low one, frequency or LongRoPE factors
// of another count than headDim/2, a LongRoPE attention factor that is
// not positive and finite, RopeUnsupported) give an error wrapping
// [ErrInvalid]. NewScaledRoPE keeps no reference to s.Factors.
func NewScaledRoPE[T Float](positions []int, headDim int, theta float64, s RopeScaling) (*RoPE[T], error) {
	if headDim <= 0 || headDim%2 != 0 || headDim > maxHeadDim {
		return nil, fmt.Errorf("rope: head dim %d: want even, positive and at most %d: %w", headDim, maxHeadDim, ErrInvalid)
	}
	if !(theta > 0) || math.IsInf(theta, 1) {
		return nil, fmt.Errorf("rope: theta %v: want positive and finite: %w", theta, ErrInvalid)
	}
	if err := s.check(headDim); err != nil {
		return nil, err
	}
	half := headDim / 2
	size, ok := checked.Mul(int64(len(positions)), int64(half))
	if !ok || size > math.MaxInt32 {
		return nil, fmt.Errorf("rope: %d positions × head dim %d: too large: %w", len(positions), headDim, ErrInvalid)
	}
	invFreq := make([]T, half)
	for i := range invFreq {
		exp := T(2*i) / T(headDim)
		if s.Type == RopeLongRoPE { // 1.0 / (ext_factors * base**inv_freq_shape)
			invFreq[i] = 1 / T(T(s.Factors[i])*T(math.Pow(theta, float64(exp))))
			continue
		}
		invFreq[i] = 1 / T(math.Pow(theta, float64(exp)))
	}
	scaleFreqs(invFreq, &s)
	if s.Type == RopeYaRN {
		yarnFreqs(invFreq, headDim, theta, &s)
	}
	longRoPE, attn := s.Type == RopeLongRoPE || s.Type == RopeYaRN, T(s.AttnFactor)
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
		if longRoPE { // emb.cos() * attention_scaling, emb.sin() * attention_scaling
			for i := range c {
				c[i] = T(c[i] * attn)
				s[i] = T(s[i] * attn)
			}
		}
	}
	return r, nil
}

// scaleFreqs applies a checked scaling to the inverse frequencies, in T,
// in the order of operations of transformers' modeling_rope_utils.py
// (each product rounded, so that nothing is fused).
func scaleFreqs[T Float](invFreq []T, s *RopeScaling) {
	switch s.Type {
	case RopeLinear:
		for i := range invFreq {
			invFreq[i] /= T(s.Factor)
		}
	case RopeLlama3:
		factor, lo, orig := T(s.Factor), T(s.LowFreqFactor), T(s.OriginalMaxPositions)
		span := T(s.HighFreqFactor - s.LowFreqFactor)
		// The band limits are Python floats compared with a float32
		// tensor: rounded to T.
		lowWavelen := T(s.OriginalMaxPositions / s.LowFreqFactor)
		highWavelen := T(s.OriginalMaxPositions / s.HighFreqFactor)
		for i, f := range invFreq {
			wavelen := T(2*math.Pi) / f
			switch {
			case wavelen < highWavelen: // high frequencies: kept
			case wavelen > lowWavelen: // low frequencies: divided
				invFreq[i] = f / factor
			default: // in between: interpolated
				smooth := (orig/wavelen - lo) / span
				invFreq[i] = T(T(1-smooth)*f)/factor + T(smooth*f)
			}
		}
	case RopeFreqFactors:
		for i := range invFreq {
			invFreq[i] /= T(s.Factors[i])
		}
	}
}

// yarnFreqs sets the inverse frequencies of RopeYaRN (see its doc), in T
// in transformers' order of operations: pos_freqs = theta ** (arange(0,
// d, 2) / d) in T, the two candidate frequencies from it, the ramp
// (arange − low)/(high − low) clamped, and the blend.
func yarnFreqs[T Float](invFreq []T, dim int, theta float64, s *RopeScaling) {
	corr := func(rot float64) float64 {
		return float64(dim) * math.Log(s.OriginalMaxPositions/(rot*2*math.Pi)) / (2 * math.Log(theta))
	}
	low, high := corr(s.BetaFast), corr(s.BetaSlow)
	if s.Truncate {
		low, high = math.Floor(low), math.Ceil(high)
	}
	low, high = math.Max(low, 0), math.Min(high, float64(dim-1))
	if low == high {
		high += 0.001
	}
	factor := T(s.Factor)
	span := T(high - low)
	for i := range invFreq {
		pos := T(math.Pow(theta, float64(T(2*i)/T(dim))))
		extrap, interp := 1/pos, 1/T(factor*pos)
		ramp := (T(i) - T(low)) / span
		ramp = min(max(ramp, 0), 1)
		e := 1 - ramp
		invFreq[i] = T(interp*(1-e)) + T(extrap*e)
	}
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

// RopeLayout says in which order a head's elements of q and k are stored,
// that is which of them a rotation pairs.
type RopeLayout uint8

// The layouts.
const (
	// RopeHalf pairs element i of a head with element i + head_dim/2:
	// transformers' rotate_half, and llama.cpp's NEOX mode (its qwen2 and
	// qwen3 architectures), whose GGUF files keep transformers' rows.
	RopeHalf RopeLayout = iota
	// RopeInterleaved pairs element 2i with 2i + 1: llama.cpp's normal
	// mode, for which its converter reorders the rows of Q and K of a
	// llama-architecture GGUF file (convert_hf_to_gguf.py
	// LlamaModel.permute: per head, reshape(2, head_dim/2), swap the two
	// axes), so that row 2i is transformers' row i and row 2i + 1 its row
	// i + head_dim/2. [Deinterleave] undoes it.
	RopeInterleaved
)

// Deinterleave reorders each head of x, [.., heads, headDim] row-major,
// from the interleaved layout to the rotate-half one in place: element i
// of a head becomes the old element 2i, element i + headDim/2 the old
// element 2i + 1 (see [RopeInterleaved]). It moves values without
// arithmetic, so rotating the result with [RoPE] gives exactly the
// values, in transformers' order, that rotating the interleaved pairs
// gives. headDim must be even and positive (else the error wraps
// [ErrInvalid]), len(x) a multiple of it (else [ErrShape]). Deinterleave
// allocates one buffer of headDim elements.
func Deinterleave[T Float](x []T, headDim int) error {
	if headDim <= 0 || headDim%2 != 0 {
		return fmt.Errorf("deinterleave: head dim %d: want even and positive: %w", headDim, ErrInvalid)
	}
	if len(x)%headDim != 0 {
		return fmt.Errorf("deinterleave: len(x) = %d, want a multiple of head dim %d: %w", len(x), headDim, ErrShape)
	}
	half := headDim / 2
	buf := make([]T, headDim)
	for h := 0; h < len(x); h += headDim {
		v := x[h : h+headDim : h+headDim]
		copy(buf, v)
		for i := range half {
			v[i], v[i+half] = buf[2*i], buf[2*i+1]
		}
	}
	return nil
}

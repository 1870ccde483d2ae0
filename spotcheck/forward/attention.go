package forward

import (
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// stackScores is the token count up to which Attention keeps its scores on
// the stack instead of allocating them.
const stackScores = 512

// Attention computes causal grouped-query attention, the core of a
// decoder's attention block between RoPE and o_proj:
//
//	out[i, h] = Σ_{j ≤ i} softmax_j(q[i, h]·k[j, g] / √headDim) · v[j, g]
//
// where g = h / (heads/kvHeads) is the KV head that query head h shares
// with heads/kvHeads − 1 others. q and dst are [n, heads, headDim], k and v
// [n, kvHeads, headDim], all row-major; dst read as [n, heads·headDim] is
// the input of o_proj. Token i sees tokens 0..i (the causal mask); there
// is no cache, so n is len(q)/(heads·headDim).
//
// As in transformers (eager), the scores are the dot products in T times
// the scale 1/√headDim rounded to T, then [Softmax] over j, then the
// probabilities times v, summed over j in order.
//
// heads, kvHeads and headDim must be positive and kvHeads must divide
// heads, otherwise the error wraps [ErrInvalid]; lengths that disagree give
// one wrapping [ErrShape]. dst may be q (exactly) but must not overlap k or
// v. The caller owns every slice; Attention allocates nothing for up to 512
// tokens (beyond that, one buffer of n scores per call).
func Attention[T Float](dst, q, k, v []T, heads, kvHeads, headDim int) error {
	return SlidingAttention(dst, q, k, v, heads, kvHeads, headDim, 0)
}

// SlidingAttention is [Attention] with a sliding window: token i sees the
// tokens j with i − window < j ≤ i, the last window positions including
// its own, as transformers masks a sliding layer (masking_utils.py
// sliding_window_overlay: kv_idx > q_idx − sliding_window; Mistral's
// sliding_window, Qwen2's sliding layers). window 0 sees every earlier
// token and is Attention exactly; a negative window gives an error
// wrapping [ErrInvalid]. The rest is Attention's: its arithmetic, errors
// and allocations.
func SlidingAttention[T Float](dst, q, k, v []T, heads, kvHeads, headDim, window int) error {
	return attention(dst, q, k, v, nil, heads, kvHeads, headDim, window, 1/math.Sqrt(float64(headDim)))
}

// ScaledAttention is [SlidingAttention] with the scores scaled by scale
// instead of 1/√headDim (rounded to T as that is): Gemma 3's
// query_pre_attn_scalar^−0.5 (Gemma3Attention's scaling). A scale that is
// not positive and finite gives an error wrapping [ErrInvalid]; the rest
// is SlidingAttention's.
func ScaledAttention[T Float](dst, q, k, v []T, heads, kvHeads, headDim, window int, scale float64) error {
	if !(scale > 0) || math.IsInf(scale, 1) {
		return fmt.Errorf("attention: scale %v: want positive and finite: %w", scale, ErrInvalid)
	}
	return attention(dst, q, k, v, nil, heads, kvHeads, headDim, window, scale)
}

// SinkAttention is [ScaledAttention] with a learned sink per head: sinks
// holds one logit per query head that joins each row of that head's
// scores in the softmax's denominator and attends to nothing, as
// gpt-oss's attention does (transformers' models/gpt_oss/
// modeling_gpt_oss.py eager_attention_forward: the sink is concatenated
// to the scores, the maximum subtracted, the softmax taken and the sink's
// column dropped; llama.cpp's ggml_soft_max_add_sinks). The sink is
// rounded to T. len(sinks) other than heads gives an error wrapping
// [ErrShape]; the rest is ScaledAttention's, with a scratch row one longer
// (allocated beyond 511 tokens).
func SinkAttention[T Float](dst, q, k, v []T, sinks []float32, heads, kvHeads, headDim, window int, scale float64) error {
	if len(sinks) != heads || sinks == nil {
		return fmt.Errorf("attention: %d sinks for %d heads: %w", len(sinks), heads, ErrShape)
	}
	if !(scale > 0) || math.IsInf(scale, 1) {
		return fmt.Errorf("attention: scale %v: want positive and finite: %w", scale, ErrInvalid)
	}
	return attention(dst, q, k, v, sinks, heads, kvHeads, headDim, window, scale)
}

// attention is SlidingAttention, ScaledAttention and SinkAttention with
// the scale given (sinks nil for none).
func attention[T Float](dst, q, k, v []T, sinks []float32, heads, kvHeads, headDim, window int, scale float64) error {
	if window < 0 {
		return fmt.Errorf("attention: window %d: want 0 (none) or positive: %w", window, ErrInvalid)
	}
	if heads <= 0 || kvHeads <= 0 || headDim <= 0 || heads%kvHeads != 0 {
		return fmt.Errorf("attention: %d heads, %d kv heads, head dim %d: want positive, kv heads dividing heads: %w",
			heads, kvHeads, headDim, ErrInvalid)
	}
	qStride, ok1 := checked.Mul(int64(heads), int64(headDim))
	kvStride, ok2 := checked.Mul(int64(kvHeads), int64(headDim))
	if !ok1 || !ok2 || int64(len(q))%qStride != 0 {
		return fmt.Errorf("attention: len(q) = %d, want a multiple of %d heads × head dim %d: %w", len(q), heads, headDim, ErrShape)
	}
	n := int64(len(q)) / qStride
	if kvLen, ok := checked.Mul(n, kvStride); !ok || int64(len(k)) != kvLen || int64(len(v)) != kvLen {
		return fmt.Errorf("attention: len(k) = %d, len(v) = %d, want %d tokens × %d kv heads × head dim %d: %w",
			len(k), len(v), n, kvHeads, headDim, ErrShape)
	}
	if len(dst) != len(q) {
		return fmt.Errorf("attention: len(dst) = %d, want len(q) = %d: %w", len(dst), len(q), ErrShape)
	}
	var buf [stackScores]T
	scores := buf[:]
	if n+1 > stackScores {
		scores = make([]T, n+1)
	}
	attend(dst, q, k, v, sinks, int(n), heads, kvHeads, headDim, window, T(scale), scores)
	return nil
}

// attend is attention after the checks; len(scores) > n.
func attend[T Float](dst, q, k, v []T, sinks []float32, n, heads, kvHeads, headDim, window int, scale T, scores []T) {
	group := heads / kvHeads
	for i := range n {
		first := 0 // the first token i sees
		if window > 0 {
			first = max(0, i-window+1)
		}
		for h := range heads {
			g := h / group
			qi := q[(i*heads+h)*headDim:][:headDim:headDim]
			m := i + 1 - first
			s := scores[:m:m]
			for j := range s {
				s[j] = dot(qi, k[((first+j)*kvHeads+g)*headDim:][:headDim]) * scale
			}
			if sinks != nil {
				all := scores[: m+1 : m+1]
				all[m] = T(sinks[h])
				softmax(all, all)
			} else {
				softmax(s, s)
			}
			// qi is dead from here on, so dst may be q.
			out := dst[(i*heads+h)*headDim:][:headDim:headDim]
			clear(out)
			for j, p := range s {
				vj := v[((first+j)*kvHeads+g)*headDim:][:headDim:headDim]
				for d := range out {
					out[d] += T(p * vj[d])
				}
			}
		}
	}
}

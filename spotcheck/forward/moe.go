package forward

import (
	"fmt"
	"math"
)

// TopK is the Qwen3-MoE router: it takes a softmax over all len(logits)
// experts (in T, as transformers does in float32) and returns the k experts
// of highest probability, highest first, with their probabilities. Ties go
// to the lower expert id, so the choice is deterministic; a NaN probability
// ranks below every number. Pass the weights to [Renormalize] when the
// config sets norm_topk_prob.
//
// k must be in 1..len(logits), otherwise the error wraps [ErrInvalid].
// TopK allocates the two results and one buffer of len(logits) elements;
// it keeps no reference to logits.
func TopK[T Float](logits []T, k int) (ids []int, weights []T, err error) {
	if k < 1 || k > len(logits) {
		return nil, nil, fmt.Errorf("top-k: k = %d of %d experts: %w", k, len(logits), ErrInvalid)
	}
	probs := make([]T, len(logits))
	softmax(probs, logits)
	ids, weights = topK(probs, k)
	return ids, weights, nil
}

// topK returns the k largest of scores, highest first, and their ids: an
// equal score already placed has a lower id and stays ahead; a NaN ranks
// below every number.
func topK[T Float](scores []T, k int) (ids []int, top []T) {
	ids = make([]int, 0, k)
	top = make([]T, 0, k)
	for e, p := range scores {
		at := len(ids)
		for at > 0 && ranksAbove(p, top[at-1]) {
			at--
		}
		if at == k {
			continue
		}
		if len(ids) < k {
			ids = append(ids, 0)
			top = append(top, 0)
		}
		copy(ids[at+1:], ids[at:])
		copy(top[at+1:], top[at:])
		ids[at], top[at] = e, p
	}
	return ids, top
}

// ranksAbove reports whether probability a ranks strictly above b: it is
// larger, or b is NaN and a is not.
func ranksAbove[T Float](a, b T) bool {
	return a > b || (b != b && a == a)
}

// Renormalize divides the weights in place by their sum, so that they sum
// to 1: the norm_topk_prob step of the Qwen3-MoE router. The sum is taken
// in T. Weights whose sum is zero or not finite give Inf or NaN;
// an empty slice is a no-op. Renormalize allocates nothing.
func Renormalize[T Float](weights []T) {
	s := sum(weights)
	for i := range weights {
		weights[i] /= s
	}
}

// TopKSoftmax is gpt-oss's router (transformers'
// models/gpt_oss/modeling_gpt_oss.py GptOssTopKRouter: torch.topk of the
// logits, then a softmax over the k values; llama.cpp's
// LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX_WEIGHT): the k experts of highest
// logit, highest first (ties to the lower id, a NaN below every number),
// with the softmax of their k logits in T. Errors and allocations are
// [TopK]'s.
func TopKSoftmax[T Float](logits []T, k int) (ids []int, weights []T, err error) {
	if k < 1 || k > len(logits) {
		return nil, nil, fmt.Errorf("top-k: k = %d of %d experts: %w", k, len(logits), ErrInvalid)
	}
	ids, weights = topK(logits, k)
	softmax(weights, weights)
	return ids, weights, nil
}

// GroupTopK is DeepSeek-V3's choice of experts (transformers'
// DeepseekV3TopkRouter.get_topk_indices): with s = scores + bias (the
// e_score_correction_bias, rounded to T and added in T), the experts are
// cut into groups consecutive groups of equal size, each group scored by
// the sum of its two highest s (its one s for groups of one expert), the
// topkGroups highest groups kept, the s of every other expert replaced by
// 0 (as transformers' masked_fill does), and the k experts of highest s
// returned, highest first (ties to the lower id, a NaN below every
// number). groups 0 or 1 keeps every expert. The bias only chooses: the
// caller weights the chosen experts by their scores.
//
// bias must have len(scores) entries, k be in 1..len(scores), groups
// divide len(scores) and topkGroups be in 1..groups; otherwise the error
// wraps [ErrInvalid]. GroupTopK allocates its result and two buffers.
func GroupTopK[T Float](scores []T, bias []float32, k, groups, topkGroups int) ([]int, error) {
	e := len(scores)
	if groups < 1 {
		groups, topkGroups = 1, 1
	}
	if len(bias) != e || k < 1 || k > e || e%groups != 0 || topkGroups < 1 || topkGroups > groups {
		return nil, fmt.Errorf("group top-k: %d experts, %d biases, k %d, %d of %d groups: %w", e, len(bias), k, topkGroups, groups, ErrInvalid)
	}
	s := make([]T, e)
	for i, x := range scores {
		s[i] = x + T(bias[i])
	}
	if groups > 1 {
		size := e / groups
		gs := make([]T, groups)
		for g := range gs {
			_, top := topK(s[g*size:(g+1)*size], min(2, size))
			gs[g] = sum(top)
		}
		keep, _ := topK(gs, topkGroups)
		kept := make([]bool, groups)
		for _, g := range keep {
			kept[g] = true
		}
		for i := range s {
			if !kept[i/size] {
				s[i] = 0
			}
		}
	}
	ids, _ := topK(s, k)
	return ids, nil
}

// Sigmoid returns 1/(1 + exp(−x)), exp evaluated in float64 and rounded
// to T: DeepSeek-V3's router score.
func Sigmoid[T Float](x T) T {
	return 1 / (1 + T(math.Exp(float64(-x))))
}

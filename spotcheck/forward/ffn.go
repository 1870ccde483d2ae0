package forward

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"
)

// The feed-forward half of a block: the dense MLP, the experts and their
// routing.

// mlp computes down(act(gate·x) ⊙ up·x) for the rows of x, with the
// dense MLP (expert -1) or one expert's projections.
func mlp(ctx context.Context, c Config, l Layer, expert int, x Pair, jobs int) (Pair, error) {
	n := x.len() / c.Hidden
	gate, up, err := gateUp(c, l, expert)
	if err != nil {
		return Pair{}, err
	}
	f := gate.Rows()
	g, u := makePair(n*f), makePair(n*f)
	if err := projectWith(ctx, gate, "gate", expert, g, x, jobs); err != nil {
		return Pair{}, err
	}
	if up != nil {
		err = projectWith(ctx, up, "up", expert, u, x, jobs)
	} else {
		err = project(ctx, l, "up", expert, u, x, jobs)
	}
	if err != nil {
		return Pair{}, err
	}
	var downBias []float32
	if c.ExpertBias && expert >= 0 {
		var gb, ub []float32
		if gb, ub, downBias, err = expertBiases(c, l, expert); err == nil {
			err = both(addVec(fmt.Sprintf("expert %d gate bias", expert), gb, g, f),
				addVec(fmt.Sprintf("expert %d up bias", expert), ub, u, f))
		}
		if err != nil {
			return Pair{}, err
		}
	}
	switch c.Act {
	case ActSwiGLUOAI:
		err = both(SwiGLUOAI(g.F32, g.F32, u.F32, c.Alpha, c.Limit), SwiGLUOAI(g.F64, g.F64, u.F64, c.Alpha, c.Limit))
	case ActSiLU:
		err = both(SwiGLU(g.F32, g.F32, u.F32), SwiGLU(g.F64, g.F64, u.F64))
	case ActGELUTanh:
		err = both(GeGLU(g.F32, g.F32, u.F32), GeGLU(g.F64, g.F64, u.F64))
	default:
		err = fmt.Errorf("mlp: activation %d: %w", c.Act, ErrInvalid)
	}
	if err != nil {
		return Pair{}, err
	}
	y := makePair(n * c.Hidden)
	if err := project(ctx, l, "down", expert, y, g, jobs); err != nil {
		return Pair{}, err
	}
	if downBias != nil {
		if err := addVec(fmt.Sprintf("expert %d down bias", expert), downBias, y, c.Hidden); err != nil {
			return Pair{}, err
		}
	}
	return y, nil
}

// expertBiases returns an expert's gate, up and down biases
// ([Config.ExpertBias]): with InterleavedGateUp the even and the odd
// entries of its "gate_up_bias", else its "gate_bias" and "up_bias".
func expertBiases(c Config, l Layer, expert int) (gate, up, down []float32, err error) {
	ev, ok := l.(ExpertVectors)
	if !ok {
		return nil, nil, nil, fmt.Errorf("expert %d: the layer gives no expert biases: %w", expert, ErrInvalid)
	}
	if c.InterleavedGateUp {
		gu, err := ev.ExpertVector("gate_up_bias", expert)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(gu)%2 != 0 {
			return nil, nil, nil, fmt.Errorf("expert %d gate_up bias: odd length %d: %w", expert, len(gu), ErrShape)
		}
		gate, up = make([]float32, len(gu)/2), make([]float32, len(gu)/2)
		for i := range gate {
			gate[i], up[i] = gu[2*i], gu[2*i+1]
		}
	} else {
		if gate, err = ev.ExpertVector("gate_bias", expert); err != nil {
			return nil, nil, nil, err
		}
		if up, err = ev.ExpertVector("up_bias", expert); err != nil {
			return nil, nil, nil, err
		}
	}
	down, err = ev.ExpertVector("down_bias", expert)
	return gate, up, down, err
}

// gateUp returns the gate projection of the dense MLP (expert -1) or of
// an expert, and with FusedGateUp for the dense MLP also its up
// projection: the two halves of the rows of "gate_up" (Phi3MLP:
// up_states.chunk(2, dim=-1), gate first). up is nil when the layer's
// "up" is to be read.
func gateUp(c Config, l Layer, expert int) (gate, up RowSource, err error) {
	if c.InterleavedGateUp && expert >= 0 {
		gu, err := l.Matrix("gate_up", expert)
		if err != nil {
			return nil, nil, err
		}
		if gu.Rows()%2 != 0 {
			return nil, nil, fmt.Errorf("expert %d gate_up: %d rows do not interleave gate and up: %w", expert, gu.Rows(), ErrShape)
		}
		if gate, err = RowStride(gu, 0, 2); err == nil {
			up, err = RowStride(gu, 1, 2)
		}
		return gate, up, err
	}
	if !c.FusedGateUp || expert >= 0 {
		gate, err = l.Matrix("gate", expert)
		return gate, nil, err
	}
	gu, err := l.Matrix("gate_up", -1)
	if err != nil {
		return nil, nil, err
	}
	if gu.Rows()%2 != 0 {
		return nil, nil, fmt.Errorf("gate_up: %d rows do not split into gate and up halves: %w", gu.Rows(), ErrShape)
	}
	f := gu.Rows() / 2
	if gate, err = RowRange(gu, 0, f); err == nil {
		up, err = RowRange(gu, f, f)
	}
	return gate, up, err
}

// moe routes each token to its top-k experts and sums their outputs.
func moe(ctx context.Context, c Config, l Layer, h Pair, n int) (Pair, Routing, error) {
	d, e := c.Hidden, c.Experts
	logits := makePair(n * e)
	if err := project(ctx, l, "router", -1, logits, h, c.Jobs); err != nil {
		return Pair{}, Routing{}, err
	}
	if c.RouterBias {
		if err := addBias(l, "router_bias", logits, e); err != nil {
			return Pair{}, Routing{}, err
		}
	}
	var bias []float32
	if c.SigmoidRouting {
		var err error
		if bias, err = l.Vector("router_bias"); err != nil {
			return Pair{}, Routing{}, err
		}
	}
	r := Routing{IDs: make([][]int, n), Weights: make([][]float64, n), Logits: make([][]float32, n)}
	w64 := make([][]float64, n)
	probs := make([]float64, e)
	for t := 0; t < n; t++ {
		var ids []int
		var w []float32
		var err error
		if c.SigmoidRouting {
			ids, w, w64[t], err = sigmoidRoute(c, bias, logits.F32[t*e:(t+1)*e], logits.F64[t*e:(t+1)*e])
		} else {
			ids, w, w64[t], err = softmaxRoute(c, probs, logits.F32[t*e:(t+1)*e], logits.F64[t*e:(t+1)*e])
		}
		if err != nil {
			return Pair{}, Routing{}, err
		}
		r.IDs[t] = ids
		r.Logits[t] = logits.F32[t*e : (t+1)*e : (t+1)*e]
		r.Weights[t] = make([]float64, len(w))
		for j := range w {
			r.Weights[t][j] = float64(w[j])
		}
	}

	// Each distinct expert, once, over the tokens routed to it.
	tokensOf := map[int][]int{}
	for t, ids := range r.IDs {
		for _, id := range ids {
			tokensOf[id] = append(tokensOf[id], t)
		}
	}
	experts := make([]int, 0, len(tokensOf))
	for id := range tokensOf {
		experts = append(experts, id)
	}
	slices.Sort(experts)
	outs := make([]Pair, len(experts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.Jobs)
	for i, id := range experts {
		toks := tokensOf[id]
		in := makePair(len(toks) * d)
		for j, t := range toks {
			copy(in.F32[j*d:(j+1)*d], h.F32[t*d:(t+1)*d])
			copy(in.F64[j*d:(j+1)*d], h.F64[t*d:(t+1)*d])
		}
		g.Go(func() error {
			y, err := mlp(gctx, c, l, id, in, 1)
			outs[i] = y
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Pair{}, Routing{}, err
	}
	// Weighted sums in each token's routing order.
	out := makePair(n * d)
	for t, ids := range r.IDs {
		for j, id := range ids {
			i, _ := slices.BinarySearch(experts, id)
			row := slices.Index(tokensOf[id], t)
			a32, a64 := float32(r.Weights[t][j]), w64[t][j]
			s32, s64 := outs[i].F32[row*d:(row+1)*d], outs[i].F64[row*d:(row+1)*d]
			for k := 0; k < d; k++ {
				out.F32[t*d+k] += a32 * s32[k]
				out.F64[t*d+k] += a64 * s64[k]
			}
		}
	}
	if c.SharedExperts {
		y, err := mlp(ctx, c, sharedLayer{l}, -1, h, c.Jobs)
		if err != nil {
			return Pair{}, Routing{}, fmt.Errorf("shared experts: %w", err)
		}
		for i := range out.F32 {
			out.F32[i] += y.F32[i]
			out.F64[i] += y.F64[i]
		}
	}
	return out, r, nil
}

// softmaxRoute is the router of every family but DeepSeek: top-k of the
// softmax over all experts (or with SoftmaxTopK the softmax of the top-k
// logits), renormalized when NormTopK; the float64 weights from the
// float64 logits of the same experts. probs is a scratch of len(l32).
func softmaxRoute(c Config, probs []float64, l32 []float32, l64 []float64) ([]int, []float32, []float64, error) {
	var ids []int
	var w []float32
	var err error
	if c.SoftmaxTopK {
		ids, w, err = TopKSoftmax(l32, c.TopK)
	} else {
		ids, w, err = TopK(l32, c.TopK)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	w64 := make([]float64, len(ids))
	if c.SoftmaxTopK {
		for j, id := range ids {
			w64[j] = l64[id]
		}
		err = Softmax(w64, w64)
	} else if err = Softmax(probs, l64); err == nil {
		for j, id := range ids {
			w64[j] = probs[id]
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if c.NormTopK {
		Renormalize(w)
		Renormalize(w64)
	}
	return ids, w, w64, nil
}

// sigmoidRoute is DeepSeek-V3's router (DeepseekV3TopkRouter.forward):
// the experts [GroupTopK] picks from the float32 sigmoid scores and the
// bias, weighted by their unbiased scores (divided by their sum plus
// 1e-20 when NormTopK) times RoutedScale, highest weight first; the
// float64 weights from the float64 scores of the same experts.
func sigmoidRoute(c Config, bias []float32, l32 []float32, l64 []float64) ([]int, []float32, []float64, error) {
	s32 := make([]float32, len(l32))
	for i, x := range l32 {
		s32[i] = Sigmoid(x)
	}
	ids, err := GroupTopK(s32, bias, c.TopK, c.Groups, c.TopKGroups)
	if err != nil {
		return nil, nil, nil, err
	}
	sort.SliceStable(ids, func(a, b int) bool { return ranksAbove(s32[ids[a]], s32[ids[b]]) })
	w, w64 := make([]float32, len(ids)), make([]float64, len(ids))
	for j, id := range ids {
		w[j], w64[j] = s32[id], Sigmoid(l64[id])
	}
	if c.NormTopK {
		d32, d64 := sum(w)+1e-20, sum(w64)+1e-20
		for j := range w {
			w[j] /= d32
			w64[j] /= d64
		}
	}
	scale := c.RoutedScale
	if scale == 0 {
		scale = 1
	}
	for j := range w {
		w[j] *= float32(scale)
		w64[j] *= scale
	}
	return ids, w, w64, nil
}

// sharedLayer serves DeepSeek's shared experts as a dense MLP: its
// "gate", "up" and "down" are the layer's "shared_gate", "shared_up" and
// "shared_down".
type sharedLayer struct{ Layer }

func (s sharedLayer) Matrix(name string, expert int) (RowSource, error) {
	return s.Layer.Matrix("shared_"+name, expert)
}

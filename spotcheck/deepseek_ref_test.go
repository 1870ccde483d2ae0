package spotcheck_test

import (
	"math"
	"sort"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
)

// dsRef is DeepseekV3DecoderLayer in float64, with switches that break one
// feature each for the controls.
type dsRef struct {
	m *dsModel
	// biasWeights weights the experts by their biased scores; noGroups
	// chooses among all experts; noRoutedScale drops
	// routed_scaling_factor; noMscale scales the scores by qk_head_dim^−0.5
	// alone; halfLayout rotates the stored rotary pairs as halves
	// (rope_interleave false).
	biasWeights, noGroups, noRoutedScale, noMscale, halfLayout bool
	// plainRoPE rotates with the unscaled frequencies θ^(−2i/d).
	plainRoPE bool
}

func (r *dsRef) matvec(w []float32, x []float64) []float64 { return refMatVec(w, x) }

// rms is DeepseekV3RMSNorm: x / √(mean(x²) + eps) · w.
func (r *dsRef) rms(x []float64, w []float32) []float64 { return refRMS(x, w, r.m.c.RMSNormEps) }

// rope rotates the rotary part x of one head at pos: with rope_interleave,
// apply_rotary_pos_emb_interleave's view(d/2, 2).transpose first (element
// i of the first half is x[2i], of the second x[2i + 1]), then
// rotate-half with the YaRN frequencies (factor 40, beta 32/1, 4096
// positions, truncated) and cos, sin times the attention factor
// get_mscale(40, 1)/get_mscale(40, 1) = 1.
func (r *dsRef) rope(x []float64, pos int) []float64 {
	d := len(x)
	y := make([]float64, d)
	for i := range d / 2 {
		if r.halfLayout {
			y[i], y[i+d/2] = x[i], x[i+d/2]
		} else {
			y[i], y[i+d/2] = x[2*i], x[2*i+1]
		}
	}
	inv := yarnInvFreq(d, r.m.c.RopeTheta, 40, 4096, 32, 1, true)
	if r.plainRoPE {
		inv = yarnInvFreq(d, r.m.c.RopeTheta, 1, 4096, 32, 1, true) // factor 1: both candidates equal
	}
	attn := yarnMscale(40, 1) / yarnMscale(40, 1)
	out := make([]float64, d)
	for i := range d / 2 {
		c, s := attn*math.Cos(float64(pos)*inv[i]), attn*math.Sin(float64(pos)*inv[i])
		out[i] = y[i]*c - y[i+d/2]*s
		out[i+d/2] = y[i+d/2]*c + y[i]*s
	}
	return out
}

// mlp is DeepseekV3MLP: down(silu(gate·x) ⊙ up·x).
func (r *dsRef) mlp(gate, up, down []float32, x []float64) []float64 {
	g, u := r.matvec(gate, x), r.matvec(up, x)
	for i := range g {
		g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
	}
	return r.matvec(down, g)
}

// block runs layer l on xs and returns its output and each token's
// experts (sorted by id).
func (r *dsRef) block(l int, xs [][]float64) ([][]float64, [][]int) {
	c, m := r.m.c, r.m
	v := func(comp arch.Component) []float32 { return m.v(l, comp) }
	h, nope, rd, vd, rank := int(c.NumAttentionHeads), int(c.QKNopeHeadDim), int(c.QKRopeHeadDim), int(c.VHeadDim), int(c.KVLoraRank)
	qk := nope + rd
	n := len(xs)
	qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for t, x := range xs {
		hn := r.rms(x, v(arch.CompAttnNorm))
		var q []float64
		if c.QLoraRank != nil {
			q = r.matvec(v(deepseek.CompAttnQB), r.rms(r.matvec(v(deepseek.CompAttnQA), hn), v(deepseek.CompAttnQANorm)))
		} else {
			q = r.matvec(v(arch.CompAttnQ), hn)
		}
		kva := r.matvec(v(deepseek.CompAttnKVA), hn)
		kv := r.matvec(v(deepseek.CompAttnKVB), r.rms(kva[:rank], v(deepseek.CompAttnKVANorm)))
		kpe := r.rope(kva[rank:], t)
		qs[t], ks[t], vs[t] = make([]float64, h*qk), make([]float64, h*qk), make([]float64, h*vd)
		for i := range h {
			copy(qs[t][i*qk:], q[i*qk:i*qk+nope])
			copy(qs[t][i*qk+nope:], r.rope(q[i*qk+nope:(i+1)*qk], t))
			copy(ks[t][i*qk:], kv[i*(nope+vd):i*(nope+vd)+nope])
			copy(ks[t][i*qk+nope:], kpe)
			copy(vs[t][i*vd:], kv[i*(nope+vd)+nope:(i+1)*(nope+vd)])
		}
	}
	scale := 1 / math.Sqrt(float64(qk))
	if !r.noMscale {
		ms := yarnMscale(40, 1)
		scale *= ms * ms
	}
	out, routes := make([][]float64, n), make([][]int, n)
	for t := range n {
		att := make([]float64, h*vd)
		for i := range h {
			var logits []float64
			for j := 0; j <= t; j++ {
				var s float64
				for k := range qk {
					s += qs[t][i*qk+k] * ks[j][i*qk+k]
				}
				logits = append(logits, s*scale)
			}
			p := softmax64(logits)
			for j := 0; j <= t; j++ {
				for k := range vd {
					att[i*vd+k] += p[j] * vs[j][i*vd+k]
				}
			}
		}
		x1 := r.matvec(v(arch.CompAttnO), att)
		for i := range x1 {
			x1[i] += xs[t][i]
		}
		h2 := r.rms(x1, v(arch.CompFFNNorm))
		var y []float64
		if !c.Sparse(int64(l)) {
			y = r.mlp(v(arch.CompMLPGate), v(arch.CompMLPUp), v(arch.CompMLPDown), h2)
		} else {
			y, routes[t] = r.moe(l, h2)
		}
		for i := range x1 {
			x1[i] += y[i]
		}
		out[t] = x1
	}
	return out, routes
}

// moe is DeepseekV3MoE: DeepseekV3TopkRouter's choice (sigmoid scores,
// the bias added for the choice, each group scored by its two highest
// biased scores, the topk_group best groups kept and the others' scores
// set to 0, top-k), weights the unbiased scores normalized (+1e-20) times
// routed_scaling_factor, each chosen expert's MLP weighted, plus the
// shared experts.
func (r *dsRef) moe(l int, x []float64) ([]float64, []int) {
	c, m := r.m.c, r.m
	e, g := int(c.NRoutedExperts), int(c.NGroup)
	logits := r.matvec(m.v(l, arch.CompRouter), x)
	bias := m.v(l, deepseek.CompRouterBias)
	scores, choice := make([]float64, e), make([]float64, e)
	for i, z := range logits {
		scores[i] = 1 / (1 + math.Exp(-z))
		choice[i] = scores[i] + float64(bias[i])
	}
	if !r.noGroups && g > 1 {
		size := e / g
		gs := make([]float64, g)
		for k := range g {
			grp := append([]float64(nil), choice[k*size:(k+1)*size]...)
			sort.Sort(sort.Reverse(sort.Float64Slice(grp)))
			gs[k] = grp[0] + grp[1]
		}
		order := make([]int, g)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return gs[order[a]] > gs[order[b]] })
		keep := map[int]bool{}
		for _, k := range order[:c.TopkGroup] {
			keep[k] = true
		}
		for i := range choice {
			if !keep[i/size] {
				choice[i] = 0
			}
		}
	}
	ids := make([]int, e)
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return choice[ids[a]] > choice[ids[b]] })
	ids = ids[:c.NumExpertsPerTok]
	w := make([]float64, len(ids))
	var sum float64
	for j, id := range ids {
		w[j] = scores[id]
		if r.biasWeights {
			w[j] = scores[id] + float64(bias[id])
		}
		sum += w[j]
	}
	rsf := c.RoutedScalingFactor
	if r.noRoutedScale {
		rsf = 1
	}
	y := make([]float64, len(x))
	for j, id := range ids {
		wj := w[j]
		if c.NormTopkProb {
			wj /= sum + 1e-20
		}
		wj *= rsf
		ey := r.mlp(m.vals[role{l, arch.CompExpertGate, id}], m.vals[role{l, arch.CompExpertUp, id}], m.vals[role{l, arch.CompExpertDown, id}], x)
		for i := range y {
			y[i] += wj * ey[i]
		}
	}
	sh := r.mlp(m.v(l, deepseek.CompSharedGate), m.v(l, deepseek.CompSharedUp), m.v(l, deepseek.CompSharedDown), x)
	for i := range y {
		y[i] += sh[i]
	}
	sort.Ints(ids)
	return y, ids
}

func (r *dsRef) embed(tokens []int) [][]float64 {
	d := int(r.m.c.HiddenSize)
	xs := make([][]float64, len(tokens))
	for t, id := range tokens {
		xs[t] = make([]float64, d)
		for i := range d {
			xs[t][i] = float64(r.m.v(-1, arch.CompEmbedding)[id*d+i])
		}
	}
	return xs
}

// full runs every layer, the final norm and lm_head.
func (r *dsRef) full(tokens []int) []float32 {
	xs := r.embed(tokens)
	for l := range int(r.m.c.NumHiddenLayers) {
		xs, _ = r.block(l, xs)
	}
	var out []float32
	for _, x := range xs {
		for _, y := range r.matvec(r.m.v(-1, arch.CompLMHead), r.rms(x, r.m.v(-1, arch.CompFinalNorm))) {
			out = append(out, float32(y))
		}
	}
	return out
}

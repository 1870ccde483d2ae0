package spotcheck_test

import (
	"math"
	"slices"
	"sort"
)

type ossRef struct {
	m *ossModel
	// invFreq and attn are the RoPE's frequencies and the factor on cos
	// and sin (nil and 0: plain RoPE).
	invFreq                                                       []float64
	attn                                                          float64
	noSinks, noClamp, alphaOne, noPlusOne, softmaxFirst, noWindow bool
}

func (r *ossRef) matvec(w []float32, bias []float32, x []float64) []float64 {
	n := len(w) / len(x)
	y := make([]float64, n)
	for i := range y {
		for j, xj := range x {
			y[i] += float64(w[i*len(x)+j]) * xj
		}
		if bias != nil {
			y[i] += float64(bias[i])
		}
	}
	return y
}

// rms is GptOssRMSNorm: x / √(mean(x²) + eps) · w.
func (r *ossRef) rms(x []float64, w []float32) []float64 { return refRMS(x, w, r.m.c.RMSNormEps) }

// rope rotates one head at pos: GptOssRotaryEmbedding's inv_freq =
// 1/θ^(2i/d) and _apply_rotary_emb on the two halves.
func (r *ossRef) rope(x []float64, pos int) {
	hd := len(x)
	for i := range hd / 2 {
		a := float64(pos) / math.Pow(r.m.c.RopeTheta, float64(2*i)/float64(hd))
		c, s := math.Cos(a), math.Sin(a)
		if r.invFreq != nil {
			a = float64(pos) * r.invFreq[i]
			c, s = r.attn*math.Cos(a), r.attn*math.Sin(a)
		}
		x1, x2 := x[i], x[i+hd/2]
		x[i], x[i+hd/2] = x1*c-x2*s, x2*c+x1*s
	}
}

// block runs layer l on xs and returns its output and each token's
// experts, highest logit first.
func (r *ossRef) block(l int, xs [][]float64) ([][]float64, [][]int) {
	c, v := r.m.c, func(role string) []float32 { return r.m.vals[ossKey{l, role, -1}] }
	h, kvh, hd := int(c.NumAttentionHeads), int(c.NumKeyValueHeads), int(c.HeadDim)
	window := int(c.Window(int64(l)))
	if r.noWindow {
		window = 0
	}
	n := len(xs)
	qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for t, x := range xs {
		hn := r.rms(x, v("attn_norm"))
		qs[t], ks[t], vs[t] = r.matvec(v("q"), v("q_b"), hn), r.matvec(v("k"), v("k_b"), hn), r.matvec(v("v"), v("v_b"), hn)
		for i := range h {
			r.rope(qs[t][i*hd:(i+1)*hd], t)
		}
		for i := range kvh {
			r.rope(ks[t][i*hd:(i+1)*hd], t)
		}
	}
	out, routes := make([][]float64, n), make([][]int, n)
	for t := range n {
		att := make([]float64, h*hd)
		for i := range h {
			g := i / (h / kvh)
			first := 0
			if window > 0 {
				first = max(0, t-window+1)
			}
			var logits []float64
			for j := first; j <= t; j++ {
				var s float64
				for k := range hd {
					s += qs[t][i*hd+k] * ks[j][g*hd+k]
				}
				logits = append(logits, s/math.Sqrt(float64(hd)))
			}
			if !r.noSinks {
				logits = append(logits, float64(v("sinks")[i]))
			}
			p := softmax64(logits)
			for j := first; j <= t; j++ {
				for k := range hd {
					att[i*hd+k] += p[j-first] * vs[j][g*hd+k]
				}
			}
		}
		x1 := r.matvec(v("o"), v("o_b"), att)
		for i := range x1 {
			x1[i] += xs[t][i]
		}
		h2 := r.rms(x1, v("ffn_norm"))
		logits := r.matvec(v("router"), v("router_b"), h2)
		ids := make([]int, len(logits))
		for i := range ids {
			ids[i] = i
		}
		sort.SliceStable(ids, func(a, b int) bool { return logits[ids[a]] > logits[ids[b]] })
		ids = ids[:c.NumExpertsPerTok]
		var w []float64
		if r.softmaxFirst {
			all := softmax64(logits)
			for _, id := range ids {
				w = append(w, all[id])
			}
		} else {
			var top []float64
			for _, id := range ids {
				top = append(top, logits[id])
			}
			w = softmax64(top)
		}
		routes[t] = ids
		alpha, limit := 1.702, c.SwigluLimit
		if r.alphaOne {
			alpha = 1
		}
		for j, id := range ids {
			e := func(role string) []float32 { return r.m.vals[ossKey{l, role, id}] }
			gate, up := r.matvec(e("gate"), e("gate_b"), h2), r.matvec(e("up"), e("up_b"), h2)
			a := make([]float64, len(gate))
			for i := range gate {
				g, u := gate[i], up[i]
				if !r.noClamp {
					g, u = math.Min(g, limit), math.Max(math.Min(u, limit), -limit)
				}
				glu := g / (1 + math.Exp(-g*alpha))
				if r.noPlusOne {
					a[i] = u * glu
				} else {
					a[i] = (u + 1) * glu
				}
			}
			y := r.matvec(e("down"), e("down_b"), a)
			for i := range y {
				x1[i] += w[j] * y[i]
			}
		}
		out[t] = x1
	}
	return out, routes
}

func softmax64(x []float64) []float64 {
	m := slices.Max(x)
	var s float64
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Exp(v - m)
		s += y[i]
	}
	for i := range y {
		y[i] /= s
	}
	return y
}

func (r *ossRef) embed(tokens []int) [][]float64 {
	d := int(r.m.c.HiddenSize)
	xs := make([][]float64, len(tokens))
	for t, id := range tokens {
		xs[t] = make([]float64, d)
		for i := range d {
			xs[t][i] = float64(r.m.vals[ossKey{-1, "embed", -1}][id*d+i])
		}
	}
	return xs
}

// full runs every layer, the final norm and the LM head.
func (r *ossRef) full(tokens []int) []float32 {
	xs := r.embed(tokens)
	for l := range int(r.m.c.NumHiddenLayers) {
		xs, _ = r.block(l, xs)
	}
	var out []float32
	for _, x := range xs {
		for _, y := range r.matvec(r.m.vals[ossKey{-1, "lm_head", -1}], nil, r.rms(x, r.m.vals[ossKey{-1, "final_norm", -1}])) {
			out = append(out, float32(y))
		}
	}
	return out
}

// ossCase is one model in both formats: the Hugging Face experts MXFP4
// or dequantized, the GGUF file F32 or of ggml's MXFP4 type.

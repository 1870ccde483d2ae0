package spotcheck_test

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"testing"

	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/arch/qwen2"
)

type ref struct {
	d, nh, nkv, hd, layers, ffn int
	eps                         float64
	prefix                      string      // of the language model's tensors: "model.", or a multimodal Gemma 3's "language_model.model."
	invFreq                     []float64   // the RoPE frequencies after rope_scaling
	invFreqs                    [][]float64 // per layer, when set (Gemma 3's local and global layers)
	window                      int         // sliding window of every layer, 0 for none
	windows                     []int       // per layer, when set (Qwen2's sliding layers, Gemma 3's local ones)
	bias                        bool        // q/k/v biases (Qwen2)
	experts, topk               int         // Mixtral's routing
	tied                        bool
	mixtralNames                bool
	// Gemma 3's: every RMSNorm scaling by 1 + w, q/k norms per head, the
	// post norms, the GELU-tanh gate, the attention scale
	// (query_pre_attn_scalar^−0.5, 0 for 1/√head_dim), the embedding
	// scale (√hidden_size, 0 for none) and the final soft cap (0 for
	// none).
	plusOne, qkNorm, postNorms, gelu bool
	attnScale, embedScale, softcap   float64
	// Phi-3's: q, k, v and gate, up as rows of the fused qkv_proj and
	// gate_up_proj; LongRoPE's attention factor on cos and sin (0 for
	// none). swapFused is a control: the fused rows read in the wrong
	// order (v before k, up before gate).
	fused, swapFused bool
	ropeAttn         float64
	// How llama.cpp runs the GGUF file (ggufRef): with the sliding windows
	// (its gemma3 architecture has them, its llama, qwen2 and phi3 do not),
	// and with its own attention scale when not 0 (gemma3's
	// 1/√head_dim).
	ggufWindows   bool
	ggufAttnScale float64
}

// plainInvFreq is theta^(−2i/d) for i < d/2 (modeling_rope_utils.py
// _compute_default_rope_parameters).
func plainInvFreq(hd int, theta float64) []float64 {
	f := make([]float64, hd/2)
	for i := range f {
		f[i] = math.Pow(theta, -float64(2*i)/float64(hd))
	}
	return f
}

// llama3InvFreq is modeling_rope_utils.py _compute_llama3_parameters: the
// frequencies of wavelength below L/high kept, above L/low divided by the
// factor, in between interpolated with s = (L/wavelength − low)/(high −
// low).
func llama3InvFreq(hd int, theta float64, r *llama.RopeScaling) []float64 {
	f := plainInvFreq(hd, theta)
	L := r.OriginalMaxPositionEmbeddings
	for i, x := range f {
		w := 2 * math.Pi / x
		switch {
		case w < L/r.HighFreqFactor:
		case w > L/r.LowFreqFactor:
			f[i] = x / r.Factor
		default:
			s := (L/w - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
			f[i] = (1-s)*x/r.Factor + s*x
		}
	}
	return f
}

// refOfLlama states the block of a Llama, Mistral or Mixtral config.
func refOfLlama(c *llama.Config) *ref {
	r := &ref{d: int(c.HiddenSize), nh: int(c.NumAttentionHeads), nkv: int(c.NumKeyValueHeads), hd: int(c.HeadDim),
		layers: int(c.NumHiddenLayers), ffn: int(c.IntermediateSize), eps: c.RMSNormEps, tied: c.TieWordEmbeddings,
		experts: int(c.NumLocalExperts), topk: int(c.NumExpertsPerTok), mixtralNames: c.ModelType == llama.TypeMixtral}
	switch c.RopeType() {
	case "llama3":
		r.invFreq = llama3InvFreq(r.hd, c.RopeTheta, c.RopeScaling)
	case "linear": // _compute_linear_scaling_rope_parameters: inv_freq / factor
		r.invFreq = plainInvFreq(r.hd, c.RopeTheta)
		for i := range r.invFreq {
			r.invFreq[i] /= c.RopeScaling.Factor
		}
	case "yarn": // _compute_yarn_parameters with its defaults: betas 32 and 1, truncate
		r.invFreq = yarnInvFreq(r.hd, c.RopeTheta, c.RopeScaling.Factor, c.RopeScaling.OriginalMaxPositionEmbeddings, 32, 1, true)
		r.ropeAttn = yarnMscale(c.RopeScaling.Factor, 1)
	case "":
		r.invFreq = plainInvFreq(r.hd, c.RopeTheta)
	default:
		panic("the reference computes no rope_scaling " + c.RopeType())
	}
	if c.SlidingWindow != nil {
		r.window = int(*c.SlidingWindow)
	}
	return r
}

// refOfGemma3 states the block of a Gemma 3 text config, the language
// model under prefix: Gemma3RMSNorm's 1 + w everywhere, q/k norms, the
// post norms, gelu_pytorch_tanh, scaling = query_pre_attn_scalar^−0.5,
// the embedding times √hidden_size, the local layers rotating
// with rope_local_base_freq unscaled and attending within sliding_window,
// the global ones with rope_theta and the linear rope_scaling
// (_compute_linear_scaling_rope_parameters: inv_freq / factor), the
// final soft cap. llama.cpp scales the attention by 1/√head_dim (none of
// these configs has the 27B's 62 layers).
func refOfGemma3(tb testing.TB, c *gemma3.Config, prefix string) *ref {
	r := &ref{d: int(c.HiddenSize), nh: int(c.NumAttentionHeads), nkv: int(c.NumKeyValueHeads), hd: int(c.HeadDim),
		layers: int(c.NumHiddenLayers), ffn: int(c.IntermediateSize), eps: c.RMSNormEps, tied: c.TieWordEmbeddings, prefix: prefix,
		plusOne: true, qkNorm: true, postNorms: true, gelu: true, attnScale: 1 / math.Sqrt(c.QueryPreAttnScalar),
		embedScale: math.Sqrt(float64(c.HiddenSize)), ggufWindows: true, ggufAttnScale: 1 / math.Sqrt(float64(c.HeadDim))}
	if c.FinalLogitSoftcapping != nil {
		r.softcap = *c.FinalLogitSoftcapping
	}
	global := plainInvFreq(r.hd, c.RopeTheta)
	if len(c.RopeScaling) > 0 && string(c.RopeScaling) != "null" {
		var rs struct {
			RopeType string  `json:"rope_type"`
			Factor   float64 `json:"factor"`
		}
		if err := json.Unmarshal(c.RopeScaling, &rs); err != nil || rs.RopeType != "linear" {
			tb.Fatalf("rope_scaling %s: want linear", c.RopeScaling)
		}
		for i := range global {
			global[i] /= rs.Factor
		}
	}
	for l := range c.NumHiddenLayers {
		// Gemma3TextConfig's layer_types: "sliding_attention" unless
		// (l + 1) % sliding_window_pattern == 0.
		if (l+1)%c.SlidingWindowPattern != 0 {
			r.windows = append(r.windows, int(c.SlidingWindow))
			r.invFreqs = append(r.invFreqs, plainInvFreq(r.hd, c.RopeLocalBaseFreq))
		} else {
			r.windows = append(r.windows, 0)
			r.invFreqs = append(r.invFreqs, global)
		}
	}
	return r
}

// refOfPhi3 states the block of a Phi-3 config: q, k, v and gate, up the
// rows of the fused projections, every layer within sliding_window, and
// for LongRoPE (_compute_longrope_parameters, a sequence within
// original_max_position_embeddings) inv_freq = 1/(short_factor ·
// θ^(2i/d)) with cos and sin times √(1 + ln s / ln L), s = max / L, L =
// original_max_position_embeddings. llama.cpp runs no window for phi3.
func refOfPhi3(c *phi3.Config) *ref {
	r := &ref{d: int(c.HiddenSize), nh: int(c.NumAttentionHeads), nkv: int(c.NumKeyValueHeads), hd: int(c.HeadDim),
		layers: int(c.NumHiddenLayers), ffn: int(c.IntermediateSize), eps: c.RMSNormEps, tied: c.TieWordEmbeddings,
		invFreq: plainInvFreq(int(c.HeadDim), c.RopeTheta), window: int(c.SlidingWindow), fused: true}
	if rs := c.RopeScaling; rs != nil {
		for i := range r.invFreq {
			r.invFreq[i] /= rs.ShortFactor[i]
		}
		L := float64(c.OriginalMaxPositionEmbeddings)
		r.ropeAttn = math.Sqrt(1 + math.Log(float64(c.MaxPositionEmbeddings)/L)/math.Log(L))
	}
	return r
}

// refOfQwen2 states the block of a Qwen2 config.
func refOfQwen2(tb testing.TB, c *qwen2.Config) *ref {
	r := &ref{d: int(c.HiddenSize), nh: int(c.NumAttentionHeads), nkv: int(c.NumKeyValueHeads), hd: int(c.HeadDim),
		layers: int(c.NumHiddenLayers), ffn: int(c.IntermediateSize), eps: c.RMSNormEps, tied: c.TieWordEmbeddings,
		invFreq: plainInvFreq(int(c.HeadDim), c.RopeTheta), bias: true}
	if len(c.RopeScaling) > 0 {
		// The model cards' YaRN: _compute_yarn_parameters with its
		// defaults (betas 32 and 1, truncate), cos and sin times
		// 0.1·ln(factor) + 1.
		var ys struct {
			Type   string  `json:"type"`
			Factor float64 `json:"factor"`
			Orig   float64 `json:"original_max_position_embeddings"`
		}
		if err := json.Unmarshal(c.RopeScaling, &ys); err != nil || ys.Type != "yarn" {
			tb.Fatalf("rope_scaling %s: want yarn", c.RopeScaling)
		}
		r.invFreq = yarnInvFreq(r.hd, c.RopeTheta, ys.Factor, ys.Orig, 32, 1, true)
		r.ropeAttn = yarnMscale(ys.Factor, 1)
	}
	for l := range c.NumHiddenLayers {
		r.windows = append(r.windows, int(c.Window(l)))
	}
	return r
}

func (r *ref) matvec(m []float32, x []float64) []float64 { return refMatVec(m, x) }

// rms is RMSNorm with the weight w, or Gemma's with 1 + w.
func (r *ref) rms(x []float64, w []float32) []float64 {
	if !r.plusOne {
		return refRMS(x, w, r.eps)
	}
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+r.eps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = (float64(w[i]) + 1) * x[i] * s
	}
	return out
}

// refMatVec is W·x in float64, W [len(W)/len(x), len(x)] row-major: the
// references' linear layer.
func refMatVec(w []float32, x []float64) []float64 {
	y := make([]float64, len(w)/len(x))
	for i := range y {
		for j, xj := range x {
			y[i] += float64(w[i*len(x)+j]) * xj
		}
	}
	return y
}

// refRMS is RMSNorm in float64: x / √(mean(x²) + eps) · w.
func refRMS(x []float64, w []float32, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * s * float64(w[i])
	}
	return y
}

// rope rotates one head at position pos with the frequencies invFreq:
// x·cos + rotate_half(x)·sin, cos and sin times LongRoPE's attention
// factor.
func (r *ref) rope(x []float64, pos int, invFreq []float64) {
	half := r.hd / 2
	m := 1.0
	if r.ropeAttn != 0 {
		m = r.ropeAttn
	}
	for i := range half {
		a := float64(pos) * invFreq[i]
		c, s := m*math.Cos(a), m*math.Sin(a)
		x0, x1 := x[i], x[i+half]
		x[i], x[i+half] = x0*c-x1*s, x1*c+x0*s
	}
}

// act is the MLP's gate activation: silu, or Gemma's gelu_pytorch_tanh,
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func (r *ref) act(x float64) float64 {
	if r.gelu {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	return x / (1 + math.Exp(-x))
}

// rowsOf returns rows first … first+n−1 of the row-major matrix m of
// width cols.
func rowsOf(m []float32, first, n, cols int) []float32 { return m[first*cols : (first+n)*cols] }

// block runs layer on the rows xs, returning its output and, for a MoE
// layer, each token's experts (highest weight first).
func (r *ref) block(w map[string][]float32, layer int, xs [][]float64) ([][]float64, [][]int) {
	p := r.prefix + "layers." + strconv.Itoa(layer) + "."
	window := r.window
	if r.windows != nil {
		window = r.windows[layer]
	}
	invFreq := r.invFreq
	if r.invFreqs != nil {
		invFreq = r.invFreqs[layer]
	}
	scale := 1 / math.Sqrt(float64(r.hd))
	if r.attnScale != 0 {
		scale = r.attnScale
	}
	n := len(xs)
	qm, km, vm := w[p+"self_attn.q_proj.weight"], w[p+"self_attn.k_proj.weight"], w[p+"self_attn.v_proj.weight"]
	if r.fused { // Phi3Attention: qkv[..., :q], then k, then v
		qkv, q, kv := w[p+"self_attn.qkv_proj.weight"], r.nh*r.hd, r.nkv*r.hd
		qm, km, vm = rowsOf(qkv, 0, q, r.d), rowsOf(qkv, q, kv, r.d), rowsOf(qkv, q+kv, kv, r.d)
		if r.swapFused {
			km, vm = vm, km
		}
	}
	qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for t, x := range xs {
		h := r.rms(x, w[p+"input_layernorm.weight"])
		qs[t], ks[t], vs[t] = r.matvec(qm, h), r.matvec(km, h), r.matvec(vm, h)
		if r.bias {
			for _, b := range []struct {
				y    []float64
				name string
			}{{qs[t], "q"}, {ks[t], "k"}, {vs[t], "v"}} {
				for i, v := range w[p+"self_attn."+b.name+"_proj.bias"] {
					b.y[i] += float64(v)
				}
			}
		}
		for _, y := range []struct {
			v     []float64
			heads int
			norm  string
		}{{qs[t], r.nh, "q_norm"}, {ks[t], r.nkv, "k_norm"}} {
			for hh := range y.heads {
				head := y.v[hh*r.hd : (hh+1)*r.hd]
				if r.qkNorm {
					copy(head, r.rms(head, w[p+"self_attn."+y.norm+".weight"]))
				}
				r.rope(head, t, invFreq)
			}
		}
	}
	out := make([][]float64, n)
	var routes [][]int
	for t := range n {
		att := make([]float64, r.nh*r.hd)
		for hh := range r.nh {
			g := hh / (r.nh / r.nkv)
			var seen []int // the positions token t attends to
			for s := 0; s <= t; s++ {
				if window == 0 || s > t-window {
					seen = append(seen, s)
				}
			}
			scores := make([]float64, len(seen))
			mx := math.Inf(-1)
			for j, s := range seen {
				for i := range r.hd {
					scores[j] += qs[t][hh*r.hd+i] * ks[s][g*r.hd+i]
				}
				scores[j] *= scale
				mx = math.Max(mx, scores[j])
			}
			var z float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - mx)
				z += scores[j]
			}
			for j, s := range seen {
				for i := range r.hd {
					att[hh*r.hd+i] += scores[j] / z * vs[s][g*r.hd+i]
				}
			}
		}
		x1 := r.matvec(w[p+"self_attn.o_proj.weight"], att)
		ffnNorm := p + "post_attention_layernorm.weight"
		if r.postNorms { // Gemma3DecoderLayer: post_attention_layernorm on the attention's output
			x1, ffnNorm = r.rms(x1, w[p+"post_attention_layernorm.weight"]), p+"pre_feedforward_layernorm.weight"
		}
		for i := range x1 {
			x1[i] += xs[t][i]
		}
		h2 := r.rms(x1, w[ffnNorm])
		mlp := func(gate, up []float32, down string, scale float64) {
			g, u := r.matvec(gate, h2), r.matvec(up, h2)
			for i := range g {
				g[i] = r.act(g[i]) * u[i]
			}
			y := r.matvec(w[down], g)
			if r.postNorms { // post_feedforward_layernorm on the MLP's output
				y = r.rms(y, w[p+"post_feedforward_layernorm.weight"])
			}
			for i, v := range y {
				x1[i] += scale * v
			}
		}
		if r.experts == 0 {
			gate, up := w[p+"mlp.gate_proj.weight"], w[p+"mlp.up_proj.weight"]
			if r.fused { // Phi3MLP: gate_up_proj's output chunked in two, gate first
				gu := w[p+"mlp.gate_up_proj.weight"]
				gate, up = rowsOf(gu, 0, r.ffn, r.d), rowsOf(gu, r.ffn, r.ffn, r.d)
				if r.swapFused {
					gate, up = up, gate
				}
			}
			mlp(gate, up, p+"mlp.down_proj.weight", 1)
			out[t] = x1
			continue
		}
		// MixtralSparseMoeBlock: softmax over all experts, top-k, the k
		// weights divided by their sum; expert e is w2(silu(w1·x) ⊙ w3·x).
		logits := r.matvec(w[p+"block_sparse_moe.gate.weight"], h2)
		probs := make([]float64, len(logits))
		ids := make([]int, len(logits))
		var z float64
		for i, l := range logits {
			probs[i], ids[i] = math.Exp(l), i
			z += probs[i]
		}
		sort.SliceStable(ids, func(a, b int) bool { return probs[ids[a]] > probs[ids[b]] })
		ids = ids[:r.topk]
		var sum float64
		for _, id := range ids {
			sum += probs[id] / z
		}
		for _, id := range ids {
			ep := p + "block_sparse_moe.experts." + strconv.Itoa(id) + "."
			mlp(w[ep+"w1.weight"], w[ep+"w3.weight"], ep+"w2.weight", probs[id]/z/sum)
		}
		routes = append(routes, ids)
		out[t] = x1
	}
	return out, routes
}

// embed returns the embedding rows of the tokens, times Gemma's scale.
func (r *ref) embed(w map[string][]float32, tokens []int) [][]float64 {
	xs := make([][]float64, len(tokens))
	m := 1.0
	if r.embedScale != 0 {
		m = r.embedScale
	}
	for t, id := range tokens {
		for _, v := range w[r.prefix+"embed_tokens.weight"][id*r.d : (id+1)*r.d] {
			xs[t] = append(xs[t], m*float64(v))
		}
	}
	return xs
}

// layer is one block's output on the tokens' embedding rows.
func (r *ref) layer(w map[string][]float32, layer int, tokens []int) ([]float32, [][]int) {
	y, routes := r.block(w, layer, r.embed(w, tokens))
	return flat(y), routes
}

// full is the logits of the whole model: every block, model.norm and
// lm_head (the embedding when tied), capped at softcap (Gemma3ForCausalLM:
// tanh(logits / cap) · cap).
func (r *ref) full(w map[string][]float32, tokens []int) []float32 {
	xs := r.embed(w, tokens)
	for l := range r.layers {
		xs, _ = r.block(w, l, xs)
	}
	head := w["lm_head.weight"]
	if r.tied {
		head = w[r.prefix+"embed_tokens.weight"]
	}
	out := make([][]float64, len(xs))
	for t, x := range xs {
		out[t] = r.matvec(head, r.rms(x, w[r.prefix+"norm.weight"]))
		for i, v := range out[t] {
			if r.softcap != 0 {
				out[t][i] = math.Tanh(v/r.softcap) * r.softcap
			}
		}
	}
	return flat(out)
}

func flat(xs [][]float64) []float32 {
	var out []float32
	for _, x := range xs {
		for _, v := range x {
			out = append(out, float32(v))
		}
	}
	return out
}

// familyCase is one family's model under test.

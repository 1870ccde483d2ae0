package spotcheck_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// The spot-check of the Llama, Mistral, Mixtral, Qwen2, Gemma 3 and Phi-3
// families, against a block written here from transformers' definitions
// (modeling_llama.py, modeling_mistral.py, modeling_mixtral.py,
// modeling_qwen2.py, modeling_gemma3.py, modeling_phi3.py,
// modeling_rope_utils.py), in float64 with naive loops and none of the
// forward package; and a GGUF file of the same weights written here as
// llama.cpp's converter writes it (convert_hf_to_gguf.py: Q and K rows
// permuted for a llama-architecture file, Mixtral's experts stacked,
// Llama 3.1's RoPE scaling stored as rope_freqs.weight, Gemma's norm
// weights stored as 1 + w, Phi-3's LongRoPE factors as
// rope_factors_long/short.weight).

// role is a tensor's place in the model, the same in both formats.
type role struct {
	layer  int
	comp   arch.Component
	expert int
}

// roleValues returns n float32 values for the tensor of role r with the
// given number of columns (1 for a vector), the same on every run: a
// matrix of gain about 1 (N(0, 1/cols)), the embedding N(0, 1), norm
// weights near 1, biases N(0, 0.25).
func roleValues(r role, n, cols int) []float32 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", r.layer, r.comp, r.expert)
	rng := rand.New(rand.NewPCG(h.Sum64(), 7))
	v := make([]float32, n)
	for i := range v {
		z := rng.NormFloat64()
		switch r.comp {
		case arch.CompAttnNorm, arch.CompFFNNorm, arch.CompFinalNorm:
			v[i] = float32(1 + 0.1*z)
		case arch.CompAttnQBias, arch.CompAttnKBias, arch.CompAttnVBias:
			v[i] = float32(0.5 * z)
		case arch.CompEmbedding:
			v[i] = float32(z)
		default:
			v[i] = float32(z / math.Sqrt(float64(cols)))
		}
	}
	return v
}

// edit changes the values of a role (before either format is written).
type edit func(r role, v []float32)

// tinyModel is one model in both formats with the values of its
// Hugging Face tensors by name.
type tinyModel struct {
	hf, gguf *checkpoint.Checkpoint
	w        map[string][]float32
}

// layTiny writes spec as F32 safetensors and as an F32 GGUF file in
// memory, the same values in both: the GGUF tensors hold the Hugging Face
// ones as llama.cpp's converter writes them (a matrix [out, in] is ne {in,
// out}, the same bytes; a layer's experts stacked in expert order; for a
// llama-architecture file the rows of Q and K permuted per head, and
// rope_freqs.weight the factors of Llama 3.1's RoPE scaling; for gemma3
// every norm weight plus 1, added in float32 (Gemma3Model.modify_tensors,
// on the tensor already converted to float32); for phi3 the LongRoPE
// factors of config.json as F32 tensors).
func layTiny(tb testing.TB, spec arch.Spec, e edit) *tinyModel {
	tb.Helper()
	dims := spec.Dims()
	vals := map[role][]float32{}
	m := &tinyModel{w: map[string][]float32{}}
	for _, x := range spec.Expected(checkpoint.FormatSafetensors) {
		n, cols := 1, 1
		for _, s := range x.Shape {
			n *= int(s)
		}
		if len(x.Shape) == 2 {
			cols = int(x.Shape[1])
		}
		r := role{x.Layer, x.Component, x.Expert}
		v := roleValues(r, n, cols)
		if e != nil {
			e(r, v)
		}
		vals[r], m.w[x.Name] = v, v
	}
	hfLayout, err := synth.HF("tiny", spec, synth.HFOptions{Shards: 2, DType: safetensors.F32})
	if err != nil {
		tb.Fatal(err)
	}
	m.hf = loadLayout(tb, hfLayout, func(p synth.Placed) []float32 { return m.w[p.Name] })

	ggufArch := spec.(arch.GGUFWriter).GGUFArch()
	llamaArch := ggufArch == "llama"
	byName := map[string]arch.Expected{}
	for _, x := range spec.Expected(checkpoint.FormatGGUF) {
		byName[x.Name] = x
	}
	ggLayout, err := synth.GGUF("tiny", spec, synth.GGUFOptions{Type: "F32"})
	if err != nil {
		tb.Fatal(err)
	}
	m.gguf = loadLayout(tb, ggLayout, func(p synth.Placed) []float32 {
		x := byName[p.Name]
		switch {
		case x.Component == arch.CompRopeFreqs:
			return ropeFreqs(tb, spec)
		case x.Component.Expert() && x.Expert < 0: // stacked: expert 0's rows, then expert 1's, …
			var v []float32
			for ex := range int(dims.Experts) {
				v = append(v, vals[role{x.Layer, x.Component, ex}]...)
			}
			return v
		case llamaArch && x.Component == arch.CompAttnQ:
			return permuteRows(vals[role{x.Layer, x.Component, -1}], int(dims.Heads), int(x.Shape[0]))
		case llamaArch && x.Component == arch.CompAttnK:
			return permuteRows(vals[role{x.Layer, x.Component, -1}], int(dims.KVHeads), int(x.Shape[0]))
		case ggufArch == "gemma3" && gemmaNorms[x.Component]:
			v := slices.Clone(vals[role{x.Layer, x.Component, -1}])
			for i := range v {
				v[i]++
			}
			return v
		case x.Component == arch.CompRopeFactorsLong || x.Component == arch.CompRopeFactorsShort:
			r := spec.Config().(*phi3.Config).RopeScaling
			f := r.LongFactor
			if x.Component == arch.CompRopeFactorsShort {
				f = r.ShortFactor
			}
			return to32(f)
		}
		v, ok := vals[role{x.Layer, x.Component, -1}]
		if !ok {
			tb.Fatalf("no values for GGUF tensor %s", p.Name)
		}
		return v
	})
	return m
}

// gemmaNorms are the components of Gemma's norm weights, whose names end
// in "norm.weight": the four of a layer, q_norm and k_norm, model.norm.
var gemmaNorms = map[arch.Component]bool{arch.CompAttnNorm: true, arch.CompFFNNorm: true, arch.CompAttnPostNorm: true,
	arch.CompFFNPostNorm: true, arch.CompAttnQNorm: true, arch.CompAttnKNorm: true, arch.CompFinalNorm: true}

// to32 rounds values to float32, as torch.tensor(values,
// dtype=torch.float32) does.
func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// permuteRows is llama.cpp's LlamaModel.permute (convert_hf_to_gguf.py)
// on a Q or K weight [heads·d, cols], row-major: per head the rows,
// reshaped (2, d/2), have their two axes swapped, so that row 2j + a of a
// head is row a·d/2 + j of the original.
func permuteRows(w []float32, heads, cols int) []float32 {
	d := len(w) / cols / heads
	out := make([]float32, len(w))
	for h := range heads {
		for a := range 2 {
			for j := range d / 2 {
				copy(out[(h*d+2*j+a)*cols:][:cols], w[(h*d+a*d/2+j)*cols:][:cols])
			}
		}
	}
	return out
}

// ropeFreqs is rope_freqs.weight as llama.cpp's converter computes it
// from a Llama config's llama3 rope_scaling (convert_hf_to_gguf.py
// LlamaModel.generate_extra_tensors), in float64 and stored as float32.
func ropeFreqs(tb testing.TB, spec arch.Spec) []float32 {
	c := spec.Config().(*llama.Config)
	r := c.RopeScaling
	if r == nil || !c.Llama3Rope() {
		tb.Fatalf("rope_freqs for a config without llama3 scaling")
	}
	var out []float32
	lowWavelen, highWavelen := r.OriginalMaxPositionEmbeddings/r.LowFreqFactor, r.OriginalMaxPositionEmbeddings/r.HighFreqFactor
	for i := int64(0); i < c.HeadDim; i += 2 {
		freq := 1 / math.Pow(c.RopeTheta, float64(i)/float64(c.HeadDim))
		switch wavelen := 2 * math.Pi / freq; {
		case wavelen < highWavelen:
			out = append(out, 1)
		case wavelen > lowWavelen:
			out = append(out, float32(r.Factor))
		default:
			smooth := (r.OriginalMaxPositionEmbeddings/wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
			out = append(out, float32(1/((1-smooth)/r.Factor+smooth)))
		}
	}
	return out
}

// loadLayout fills every tensor of l with the float32 values data gives
// and loads the files from memory.
func loadLayout(tb testing.TB, l *synth.Layout, data func(synth.Placed) []float32) *checkpoint.Checkpoint {
	tb.Helper()
	files := map[string][]byte{}
	for _, f := range l.Files {
		files[f.Name] = make([]byte, f.Size)
		copy(files[f.Name], f.Head)
	}
	for _, p := range l.Tensors {
		v := data(p)
		if int64(len(v))*4 != p.Bytes {
			tb.Fatalf("tensor %s: %d values for %d bytes", p.Name, len(v), p.Bytes)
		}
		b := files[p.File][p.Offset : p.Offset+p.Bytes]
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
	}
	src := hub.NewMem(l.Name)
	for name, b := range files {
		src.Add(name, bytes.NewReader(b), int64(len(b)))
	}
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

// ref is the definition of a block of these families, in float64, as
// transformers states it; every field says what one family adds.
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
	default:
		r.invFreq = plainInvFreq(r.hd, c.RopeTheta)
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
func refOfQwen2(c *qwen2.Config) *ref {
	r := &ref{d: int(c.HiddenSize), nh: int(c.NumAttentionHeads), nkv: int(c.NumKeyValueHeads), hd: int(c.HeadDim),
		layers: int(c.NumHiddenLayers), ffn: int(c.IntermediateSize), eps: c.RMSNormEps, tied: c.TieWordEmbeddings,
		invFreq: plainInvFreq(int(c.HeadDim), c.RopeTheta), bias: true}
	for l := range c.NumHiddenLayers {
		r.windows = append(r.windows, int(c.Window(l)))
	}
	return r
}

func (r *ref) matvec(m []float32, x []float64) []float64 {
	out := make([]float64, len(m)/len(x))
	for i := range out {
		for j, v := range x {
			out[i] += float64(m[i*len(x)+j]) * v
		}
	}
	return out
}

// rms is RMSNorm with the weight w, or Gemma's with 1 + w.
func (r *ref) rms(x []float64, w []float32) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+r.eps)
	out := make([]float64, len(x))
	for i := range x {
		g := float64(w[i])
		if r.plusOne {
			g++
		}
		out[i] = g * x[i] * s
	}
	return out
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
type familyCase struct {
	name string
	spec arch.Spec
	ref  *ref
	// layers are the layers run one by one; 0 and 1 when nil.
	layers []int
	// ablate removes, by name, each feature the case tests from the
	// definition (the RoPE scaling, the window, the biases, Gemma's
	// 1 + w, …): the spot-check must then disagree with it, on one of
	// the layers or the logits, so that the test would see the feature
	// missing.
	ablate map[string]func(*ref)
	// exact says the GGUF file gives the same block output bit for bit
	// (it holds the same float32 values); false where llama.cpp stores
	// the RoPE scaling its own way (rope_freqs) or runs another window or
	// attention scale.
	exact bool
}

func familyCases(t testing.TB) []familyCase {
	ptr := func(n int64) *int64 { return &n }
	// Llama 3.1's RoPE scaling, with a base and an original context that
	// put one frequency of head_dim 8 in each band (kept, interpolated,
	// divided), as forward's TestRoPELlama3Frequencies works out.
	l3 := llama.TinyDense()
	l3.RopeTheta = 10000
	l3.RopeScaling = &llama.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 1000}
	// Tied embeddings (Llama 3.2 1B and 3B) with a linear scaling.
	tied := llama.TinyDense()
	tied.TieWordEmbeddings = true
	tied.RopeScaling = &llama.RopeScaling{Type: "linear", Factor: 4}
	mistral := llama.TinyMistral()
	mistral.SlidingWindow = ptr(3)
	slide := qwen2.Tiny()
	slide.UseSlidingWindow, slide.SlidingWindow, slide.MaxWindowLayers = true, ptr(2), 1 // layer 1 slides
	plain := func(theta float64) map[string]func(*ref) {
		return map[string]func(*ref){"RoPE scaling": func(r *ref) { r.invFreq = plainInvFreq(r.hd, theta) }}
	}
	noWindow := map[string]func(*ref){"sliding window": func(r *ref) { r.window, r.windows = 0, nil }}

	// Gemma 3 with its local layers' window biting (3 of the 6 tokens),
	// the 4B's linear scaling of the global layers (layer 5 of 7) and a
	// final soft cap (Gemma 2's value; Gemma 3 sets none), text-only and
	// as the language model of a multimodal checkpoint.
	gemma := func(c *gemma3.Config) *gemma3.Config {
		softcap := 5.0
		c.SlidingWindow, c.RopeScaling, c.FinalLogitSoftcapping = 3, json.RawMessage(`{"factor": 8.0, "rope_type": "linear"}`), &softcap
		return c
	}
	// query_pre_attn_scalar apart from head_dim, as no published model
	// has it but the 27B (whose llama.cpp scale is its own rule): the
	// Hugging Face checkpoint scales by 1/√64, the GGUF file, as llama.cpp
	// runs it, by 1/√head_dim.
	scalar := gemma3.Tiny()
	scalar.QueryPreAttnScalar = 64
	// Tiny's layer 5 is its global layer (rope_theta 1e6), layer 4 a
	// local one.
	gemmaAblate := map[string]func(*ref){
		"1 + w":                 func(r *ref) { r.plusOne = false },
		"post norms":            func(r *ref) { r.postNorms = false },
		"√hidden_size":          func(r *ref) { r.embedScale = 0 },
		"GeGLU":                 func(r *ref) { r.gelu = false },
		"sliding window":        func(r *ref) { r.windows = nil },
		"final_logit_softcap":   func(r *ref) { r.softcap = 0 },
		"global linear scaling": func(r *ref) { r.invFreqs[5] = plainInvFreq(r.hd, 1e6) },
		"local RoPE base":       func(r *ref) { r.invFreqs[4] = r.invFreqs[5] },
	}
	// Phi-3 with LongRoPE's short factors unequal (Tiny's are all 1), its
	// window past the tokens; Phi-3-mini-4k's shape of no scaling with
	// the window biting.
	longrope := phi3.Tiny()
	longrope.RopeScaling.ShortFactor = []float64{1, 1.25, 1.5, 2}
	window := phi3.Tiny()
	window.RopeScaling, window.MaxPositionEmbeddings, window.SlidingWindow = nil, 64, 3
	cases := []familyCase{
		{name: "llama, llama3 RoPE", spec: llama.MustNew(l3), ablate: plain(l3.RopeTheta)},
		{name: "llama, tied, linear RoPE", spec: llama.MustNew(tied), ablate: plain(tied.RopeTheta), exact: true},
		{name: "mistral, sliding window 3", spec: llama.MustNew(mistral), ablate: noWindow},
		{name: "mixtral", spec: llama.MustNew(llama.TinyMoE()), exact: true},
		{name: "qwen2, biases", spec: qwen2.MustNew(qwen2.Tiny()), ablate: map[string]func(*ref){"biases": func(r *ref) { r.bias = false }}, exact: true},
		{name: "qwen2, layer 1 sliding", spec: qwen2.MustNew(slide), ablate: noWindow},
		{name: "gemma3, local and global layers", spec: gemma3.MustNew(gemma(gemma3.Tiny())), layers: []int{4, 5}, ablate: gemmaAblate, exact: true},
		{name: "gemma3, multimodal language model", spec: gemma3.MustNew(gemma(gemma3.TinyMultimodal())), layers: []int{4, 5}, exact: true},
		{name: "gemma3, query_pre_attn_scalar 64", spec: gemma3.MustNew(scalar), layers: []int{5},
			ablate: map[string]func(*ref){"query_pre_attn_scalar": func(r *ref) { r.attnScale = 0 }}},
		{name: "phi3, LongRoPE", spec: phi3.MustNew(longrope), exact: true, ablate: map[string]func(*ref){
			"short factors":    func(r *ref) { r.invFreq = plainInvFreq(r.hd, 10000) },
			"attention factor": func(r *ref) { r.ropeAttn = 0 },
			"fused order":      func(r *ref) { r.swapFused = true },
		}},
		{name: "phi3, sliding window 3", spec: phi3.MustNew(window), ablate: noWindow},
	}
	for i := range cases {
		switch c := cases[i].spec.Config().(type) {
		case *llama.Config:
			cases[i].ref = refOfLlama(c)
		case *qwen2.Config:
			cases[i].ref = refOfQwen2(c)
		case *gemma3.Config:
			cases[i].ref = refOfGemma3(t, c, "model.")
		case *gemma3.MultimodalConfig:
			cases[i].ref = refOfGemma3(t, c.TextConfig, "language_model.model.")
		case *phi3.Config:
			cases[i].ref = refOfPhi3(c)
		}
		if cases[i].ref.prefix == "" {
			cases[i].ref.prefix = "model."
		}
		if cases[i].layers == nil {
			cases[i].layers = []int{0, 1}
		}
	}
	return cases
}

// ggufRef is the definition as llama.cpp computes the GGUF file: no
// sliding window unless its architecture has one (gemma3; neither llama,
// qwen2 nor phi3), and its own attention scale where it has one.
func (r *ref) ggufRef() *ref {
	g := *r
	if !r.ggufWindows {
		g.window, g.windows = 0, nil
	}
	if r.ggufAttnScale != 0 {
		g.attnScale = r.ggufAttnScale
	}
	return &g
}

// Each family's spot-check, of one layer and of the whole model, agrees
// with the definition within 1e-5 relative in float32 on F32 weights, in
// both formats, with the experts the definition routes to; the GGUF file
// gives the same output as the safetensors one (bit for bit where both
// hold the same values and llama.cpp runs the same window and scale); and
// the definition without each of the case's features disagrees, on a
// layer or the logits, so the feature is tested.
func TestFamiliesMatchDefinition(t *testing.T) {
	tokens := []int{3, 17, 42, 0, 63, 9}
	for _, fc := range familyCases(t) {
		t.Run(fc.name, func(t *testing.T) {
			m := layTiny(t, fc.spec, nil)
			// The largest difference from the spot-check of the
			// definition without each feature, over the layers and the
			// logits.
			ablated := map[string]float64{}
			for _, layer := range fc.layers {
				want, routes := fc.ref.layer(m.w, layer, tokens)
				hf := spot(t, m.hf, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
				t.Logf("layer %d: safetensors %.3g from the definition (float32 vs float64 %.3g)", layer, relDiff(hf.Output, want), hf.MaxRelErr)
				if d := relDiff(hf.Output, want); d > 1e-5 || !hf.Passes() || hf.MaxRelErr > 1e-5 {
					t.Errorf("layer %d: differs from the definition by %g; passes %v, float32 vs float64 %g, dead %v", layer, d, hf.Passes(), hf.MaxRelErr, hf.Dead)
				}
				if routes != nil && !slices.EqualFunc(hf.Experts, routes, slices.Equal) {
					t.Errorf("layer %d: experts %v, the definition routes to %v", layer, hf.Experts, routes)
				}
				gg := spot(t, m.gguf, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
				wantGG, _ := fc.ref.ggufRef().layer(m.w, layer, tokens)
				t.Logf("layer %d: GGUF %.3g from the definition, %.3g from safetensors", layer, relDiff(gg.Output, wantGG), relDiff(gg.Output, hf.Output))
				if d := relDiff(gg.Output, wantGG); d > 1e-5 || !gg.Passes() {
					t.Errorf("layer %d: GGUF differs from the definition by %g; passes %v", layer, d, gg.Passes())
				}
				if !slices.EqualFunc(gg.Experts, hf.Experts, slices.Equal) {
					t.Errorf("layer %d: GGUF experts %v, safetensors %v", layer, gg.Experts, hf.Experts)
				}
				if fc.exact && !slices.Equal(gg.Output, hf.Output) {
					t.Errorf("layer %d: GGUF output differs from safetensors by %g, want bit for bit", layer, relDiff(gg.Output, hf.Output))
				}
				for name, ablate := range fc.ablate {
					without := fc.ref.clone()
					ablate(without)
					other, _ := without.layer(m.w, layer, tokens)
					ablated[name] = math.Max(ablated[name], relDiff(hf.Output, other))
				}
			}
			for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": m.hf, "gguf": m.gguf} {
				want := fc.ref.full(m.w, tokens)
				if f == "gguf" {
					want = fc.ref.ggufRef().full(m.w, tokens)
				}
				r := spot(t, ck, spotcheck.Options{Full: true, Tokens: tokens, Jobs: 2})
				t.Logf("%s full: logits %.3g from the definition (float32 vs float64 %.3g)", f, relDiff(r.Output, want), r.MaxRelErr)
				if d := relDiff(r.Output, want); d > 1e-5 || !r.Passes() || !slices.Equal(r.ShapeOut, []int{len(tokens), 64}) {
					t.Errorf("%s full: logits %v differ from the definition by %g; passes %v, dead %v", f, r.ShapeOut, d, r.Passes(), r.Dead)
				}
				for name, ablate := range fc.ablate {
					if f == "safetensors" {
						without := fc.ref.clone()
						ablate(without)
						ablated[name] = math.Max(ablated[name], relDiff(r.Output, without.full(m.w, tokens)))
					}
				}
			}
			for name, d := range ablated {
				t.Logf("without %s: differs by %.3g", name, d)
				if d < 1e-3 {
					t.Errorf("the definition without %s differs by only %g", name, d)
				}
			}
		})
	}
}

// clone returns a copy of r whose per-layer frequencies a control may
// change.
func (r *ref) clone() *ref {
	c := *r
	c.invFreqs = slices.Clone(r.invFreqs)
	return &c
}

// With no more tokens than the window, the window does not bite: the
// GGUF file (whose llama.cpp architecture may have none) gives the
// safetensors output bit for bit, where llama.cpp scales the attention
// as transformers does.
func TestFamiliesWindowWithinTokens(t *testing.T) {
	for _, fc := range familyCases(t) {
		if fc.ref.window == 0 && slices.Max(append(fc.ref.windows, 0)) == 0 || fc.ref.ggufRef().attnScale != fc.ref.attnScale {
			continue
		}
		t.Run(fc.name, func(t *testing.T) {
			m := layTiny(t, fc.spec, nil)
			tokens := []int{3, 17} // within both windows (3 and 2)
			for _, layer := range []int{0, 1} {
				hf := spot(t, m.hf, spotcheck.Options{Layer: layer, Tokens: tokens})
				gg := spot(t, m.gguf, spotcheck.Options{Layer: layer, Tokens: tokens})
				if !slices.Equal(gg.Output, hf.Output) {
					t.Errorf("layer %d: GGUF differs from safetensors by %g", layer, relDiff(gg.Output, hf.Output))
				}
			}
		})
	}
}

// Mixtral's spot-check reads the layer's attention, norms and router,
// the embedding rows of the tokens and, of the experts, only those the
// router chose: per expert tensor in safetensors, the chosen experts'
// slices of each stacked GGUF tensor. The expectation is worked out from
// the inventory.
func TestMixtralReadsOnlyChosenExperts(t *testing.T) {
	m := layTiny(t, llama.MustNew(llama.TinyMoE()), nil)
	tokens := []int{5}
	for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": m.hf, "gguf": m.gguf} {
		r := spot(t, ck, spotcheck.Options{Layer: 1, Tokens: tokens})
		distinct := map[int]bool{}
		for _, ids := range r.Experts {
			for _, id := range ids {
				distinct[id] = true
			}
		}
		if len(distinct) != 2 {
			t.Fatalf("%s: experts %v, want 2 of the 4", f, r.Experts)
		}
		var want int64
		for _, tn := range ck.Inventory().Tensors {
			switch {
			case tn.Name == "model.embed_tokens.weight" || tn.Name == "token_embd.weight":
				want += tn.Bytes / 64 * int64(len(tokens)) // one row of the 64 per token
			case tn.Layer != 1:
			case len(tn.Logical) == 3: // stacked experts
				want += tn.Bytes / 4 * int64(len(distinct))
			default:
				if e := expertOf(tn.Name); e < 0 || distinct[e] {
					want += tn.Bytes
				}
			}
		}
		if r.BytesRead != want {
			t.Errorf("%s: read %d bytes, want exactly %d (experts %v)", f, r.BytesRead, want, r.Experts)
		}
	}
}

// The dead-block checks see these families' defects as Qwen3's: zero
// layer weights pass the input through, a zero Mixtral router ties every
// expert, a zero embedding row gives a dead token, in both formats. The
// expectations follow from the definition (RMSNorm(0) = 0, softmax of
// equal logits is uniform), as in TestSpotCheckDeadBlock.
func TestFamiliesDeadBlock(t *testing.T) {
	tokens := []int{1, 2, 5}
	zero := func(match func(role) bool) edit {
		return func(r role, v []float32) {
			if match(r) {
				clear(v)
			}
		}
	}
	type D = spotcheck.Dead
	tests := []struct {
		name string
		spec arch.Spec
		edit edit
		opts spotcheck.Options
		want []D
	}{
		{"llama layer 1 zero", llama.MustNew(llama.TinyDense()), zero(func(r role) bool { return r.layer == 1 }),
			spotcheck.Options{Layer: 1, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 1}}},
		{"mixtral router 0 zero", llama.MustNew(llama.TinyMoE()), zero(func(r role) bool { return r.layer == 0 && r.comp == arch.CompRouter }),
			spotcheck.Options{Layer: 0, Tokens: tokens}, []D{{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: tokens}}},
		// The embedding all zero: RMSNorm(0) = 0, so q, k and v are
		// Qwen2's biases and every token's attention returns v's bias;
		// from there on every token computes the same row. The rows are
		// not dead (the biases live) and not "the same although the
		// inputs differ" (they do not): only the embedding is named.
		{"qwen2 embedding zero, full", qwen2.MustNew(qwen2.Tiny()), zero(func(r role) bool { return r.comp == arch.CompEmbedding }),
			spotcheck.Options{Full: true, Tokens: tokens}, []D{{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: tokens}}},
		// Gemma's zero norm weights scale by 1 + 0 = 1 (the GGUF file
		// stores that 1), but the zero projections leave the attention and
		// the MLP nothing to add, and their post norms of zero are zero.
		{"gemma3 layer 5 zero", gemma3.MustNew(gemma3.Tiny()), zero(func(r role) bool { return r.layer == 5 }),
			spotcheck.Options{Layer: 5, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 5}}},
		{"gemma3 multimodal layer 0 zero", gemma3.MustNew(gemma3.TinyMultimodal()), zero(func(r role) bool { return r.layer == 0 }),
			spotcheck.Options{Layer: 0, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 0}}},
		{"phi3 layer 0 zero", phi3.MustNew(phi3.Tiny()), zero(func(r role) bool { return r.layer == 0 }),
			spotcheck.Options{Layer: 0, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 0}}},
		// The embedding all zero: √hidden_size·0 = 0, and without
		// biases every layer maps 0 to 0 (not named a pass-through: its
		// input is zero); the logits, tied to the zero embedding, are
		// zero.
		{"gemma3 embedding zero, full", gemma3.MustNew(gemma3.Tiny()), zero(func(r role) bool { return r.comp == arch.CompEmbedding }),
			spotcheck.Options{Full: true, Tokens: tokens}, []D{{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: tokens},
				{Kind: spotcheck.DeadZero, Layer: -1, Tokens: tokens}}},
	}
	for _, tt := range tests {
		m := layTiny(t, tt.spec, tt.edit)
		for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": m.hf, "gguf": m.gguf} {
			t.Run(tt.name+"/"+f, func(t *testing.T) {
				got := spot(t, ck, tt.opts)
				if diff := cmp.Diff(tt.want, got.Dead); diff != "" || got.Passes() {
					t.Errorf("Run(%+v).Dead mismatch (-want +got):\n%s; passes %v", tt.opts, diff, got.Passes())
				}
			})
		}
	}
}

// A RoPE scaling, or another feature, the kernels do not implement
// declines the spot-check as not applicable (audit --spotcheck then notes
// it) rather than run another block than the model's; for Gemma 3 also
// when the layer run is a local one, which the global layers' scaling
// does not touch.
func TestSpotCheckUnsupportedRopeScaling(t *testing.T) {
	yarn := llama.TinyDense()
	yarn.RopeScaling = &llama.RopeScaling{RopeType: "yarn", Factor: 4, OriginalMaxPositionEmbeddings: 64}
	dynamic := gemma3.Tiny()
	dynamic.RopeScaling = json.RawMessage(`{"rope_type": "dynamic", "factor": 2.0}`)
	bidirectional := gemma3.Tiny()
	bidirectional.UseBidirectionalAttention = true
	partial := phi3.Tiny()
	partial.PartialRotaryFactor = 0.75
	phiYarn := phi3.Tiny()
	phiYarn.RopeScaling.Type = "yarn"
	for _, tt := range []struct {
		name, want string
		spec       arch.Spec
	}{
		{"llama yarn", `"yarn"`, llama.MustNew(yarn)},
		{"gemma3 dynamic", `"dynamic"`, gemma3.MustNew(dynamic)},
		{"gemma3 bidirectional", "use_bidirectional_attention", gemma3.MustNew(bidirectional)},
		{"phi3 partial rotary", "partial_rotary_factor 0.75", phi3.MustNew(partial)},
		{"phi3 yarn", `"yarn"`, phi3.MustNew(phiYarn)},
	} {
		m := layTiny(t, tt.spec, nil)
		_, err := spotcheck.Run(context.Background(), m.hf, spotcheck.Options{Layer: 0, Tokens: []int{1}})
		if !errors.Is(err, arch.ErrNotApplicable) || !errors.Is(err, spotcheck.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Run = %v, want arch.ErrNotApplicable naming %s", tt.name, err, tt.want)
		}
	}
}

package spotcheck_test

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
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
// and loads the files from memory (see loadBytes).
func loadLayout(tb testing.TB, l *synth.Layout, data func(synth.Placed) []float32) *checkpoint.Checkpoint {
	tb.Helper()
	return loadBytes(tb, l, func(p synth.Placed) []byte { return f32Bytes(data(p)) })
}

// ref is the definition of a block of these families, in float64, as
// transformers states it; every field says what one family adds.

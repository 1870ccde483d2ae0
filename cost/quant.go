package cost

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
)

// Quantization gives the ggml type of every tensor of a GGUF file, as
// llama.cpp's quantizer would choose it.
type Quantization struct {
	Name string
	// typeOf returns the type of one expected tensor of a model with
	// layers decoder layers.
	typeOf func(e arch.Expected, layers int) gguf.Type
}

// TypeOf returns the ggml type the quantization gives tensor e (an entry
// of a spec's GGUF layout, shapes in ne order) of a model with layers
// decoder layers. Where the rows
// (ne[0]) are not a whole number of the type's blocks it falls back as
// llama.cpp's quantizer does (llama_tensor_get_type: Q4_K to Q5_0, Q5_K to
// Q5_1, Q6_K to Q8_0, the 2- and 3-bit and IQ types to IQ4_NL), and to F16
// when even the fallback does not fit.
func (q Quantization) TypeOf(layers int, e arch.Expected) gguf.Type {
	t := q.typeOf(e, layers)
	if len(e.Shape) == 0 {
		return t
	}
	for range 2 {
		if bs := t.BlockSize(); bs > 0 && e.Shape[0]%bs == 0 {
			return t
		}
		switch t {
		case gguf.TypeQ4_K:
			t = gguf.TypeQ5_0
		case gguf.TypeQ5_K:
			t = gguf.TypeQ5_1
		case gguf.TypeQ6_K:
			t = gguf.TypeQ8_0
		case gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeIQ2_XXS, gguf.TypeIQ2_XS, gguf.TypeIQ2_S, gguf.TypeIQ3_XXS, gguf.TypeIQ3_S,
			gguf.TypeIQ1_S, gguf.TypeIQ1_M, gguf.TypeIQ4_XS, gguf.TypeTQ1_0, gguf.TypeTQ2_0:
			t = gguf.TypeIQ4_NL
		default:
			return gguf.TypeF16
		}
	}
	return gguf.TypeF16
}

// KeepsFloat reports whether llama.cpp keeps a tensor in F32 whatever the
// target type: 1-D tensors (norms) and the MoE router (ffn_gate_inp).
func KeepsFloat(e arch.Expected) bool {
	return len(e.Shape) == 1 || e.Component == arch.CompRouter
}

// Q4KM is llama.cpp's stock Q4_K_M mixture (src/llama-quant.cpp,
// llama_tensor_get_type for LLAMA_FTYPE_MOSTLY_Q4_K_M): Q4_K throughout,
// Q6_K for output.weight, and Q6_K for attn_v and ffn_down(_exps) on the
// "more bits" layers i < n/8, i ≥ 7n/8 and every third layer between.
var Q4KM = Quantization{Name: "Q4_K_M", typeOf: func(e arch.Expected, n int) gguf.Type {
	i := e.Layer
	moreBits := i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
	switch {
	case KeepsFloat(e):
		return gguf.TypeF32
	case e.Component == arch.CompLMHead:
		return gguf.TypeQ6_K
	case (e.Component == arch.CompAttnV || e.Component == arch.CompExpertDown || e.Component == arch.CompMLPDown) && moreBits:
		return gguf.TypeQ6_K
	}
	return gguf.TypeQ4_K
}}

// Uniform returns the quantization that stores every matrix as t, norms and
// the router staying F32 as llama.cpp keeps them.
func Uniform(t gguf.Type) Quantization {
	return Quantization{Name: t.String(), typeOf: func(e arch.Expected, _ int) gguf.Type {
		if KeepsFloat(e) {
			return gguf.TypeF32
		}
		return t
	}}
}

// ParseQuantization returns the quantization named q: "Q4_K_M" or the name
// of a known ggml type.
func ParseQuantization(q string) (Quantization, error) {
	if q == "Q4_K_M" {
		return Q4KM, nil
	}
	t, ok := gguf.ParseType(q)
	if !ok || !t.Known() {
		return Quantization{}, fmt.Errorf("unknown quantization %q", q)
	}
	return Uniform(t), nil
}

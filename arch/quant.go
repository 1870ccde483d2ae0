package arch

import (
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// QuantConfig is a Hugging Face quantization_config, the keys of the
// schemes whose stored tensors the tables predict: block FP8
// (transformers' FineGrainedFP8Config, quant_method "fp8": DeepSeek-V3,
// Qwen3's -FP8 releases), GPTQ ("gptq", as optimum and gptqmodel save it)
// and AWQ ("awq", AutoAWQ's GEMM format). Other keys are kept out.
type QuantConfig struct {
	QuantMethod      string  `json:"quant_method"`
	Fmt              string  `json:"fmt,omitempty"`
	ActivationScheme string  `json:"activation_scheme,omitempty"`
	WeightBlockSize  []int64 `json:"weight_block_size,omitempty"`
	Bits             int64   `json:"bits,omitempty"`
	GroupSize        int64   `json:"group_size,omitempty"`
	DescAct          *bool   `json:"desc_act,omitempty"`
	Sym              *bool   `json:"sym,omitempty"`
	Version          string  `json:"version,omitempty"`
	ZeroPoint        *bool   `json:"zero_point,omitempty"`
	// CheckpointFormat is GPTQ's zero-point convention: "gptq" (v1, the
	// default: each zero stored minus one) or "gptq_v2" (stored as is),
	// as gptqmodel writes it.
	CheckpointFormat string `json:"checkpoint_format,omitempty"`
	// ModulesToNotConvert lists modules kept unquantized. The tables
	// know which linears the published checkpoints keep (the routers,
	// lm_head); a list that names others is not followed.
	ModulesToNotConvert []string `json:"modules_to_not_convert,omitempty"`
}

// QuantScheme is how a table stores its quantizable linear weights.
type QuantScheme uint8

// The schemes.
const (
	QuantNone     QuantScheme = iota
	QuantFP8Block             // "….weight" FP8 [out, in] and "….weight_scale_inv" [⌈out/b_r⌉, ⌈in/b_c⌉]
	QuantGPTQ                 // "….qweight" int32 [in·bits/32, out], qzeros, scales, g_idx
	QuantAWQ                  // "….qweight" int32 [in, out·bits/32], qzeros, scales
)

// Quantized is implemented by specs whose Hugging Face weights may be
// stored quantized: reading their values back (compare, the spot-check)
// needs the scheme.
type Quantized interface {
	// Quant returns how the spec's Hugging Face checkpoint stores its
	// quantized linear weights; the zero Quant when it does not.
	Quant() Quant
}

// Quant is a resolved quantization: the scheme and its sizes.
type Quant struct {
	Scheme QuantScheme
	Block  [2]int64 // FP8: the [rows, cols] block of one scale
	Bits   int64    // GPTQ, AWQ: bits per value, packed 32/Bits to an int32
	Group  int64    // GPTQ, AWQ: input rows sharing a scale and zero point
	// ZerosAsStored is GPTQ's v2 checkpoint format: zero points not
	// stored minus one.
	ZerosAsStored bool
}

// IntScheme returns how q packs a GPTQ or AWQ weight, for
// [checkpoint.NewIntRows]; the zero IntScheme for another scheme.
func (q Quant) IntScheme() checkpoint.IntScheme {
	switch q.Scheme {
	case QuantGPTQ, QuantAWQ:
		return checkpoint.IntScheme{AWQ: q.Scheme == QuantAWQ, Bits: int(q.Bits), Group: q.Group, ZerosAsStored: q.ZerosAsStored}
	}
	return checkpoint.IntScheme{}
}

// Resolve returns the scheme q describes: none for a nil q. It fails,
// wrapping [ErrUnsupportedArch] (the audit then checks the files' format
// only, and says why), for a method the tables do not predict, and
// wrapping [ErrConfig] for sizes no checkpoint has, naming the key.
func (q *QuantConfig) Resolve() (Quant, error) {
	if q == nil {
		return Quant{}, nil
	}
	bad := func(format string, args ...any) (Quant, error) {
		return Quant{}, fmt.Errorf("%w: quantization_config: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch m := strings.ToLower(q.QuantMethod); m {
	case "fp8":
		b := q.WeightBlockSize
		if len(b) != 2 || b[0] < 1 || b[1] < 1 || b[0] > MaxDim || b[1] > MaxDim {
			return bad("weight_block_size %v is not two positive block sizes", b)
		}
		return Quant{Scheme: QuantFP8Block, Block: [2]int64{b[0], b[1]}}, nil
	case "gptq", "awq":
		if q.Bits != 2 && q.Bits != 4 && q.Bits != 8 {
			return bad("bits %d is not 2, 4 or 8", q.Bits)
		}
		if m == "awq" && q.Bits != 4 {
			return bad("bits %d: AWQ stores 4", q.Bits)
		}
		g := q.GroupSize
		if g == 0 || g < -1 || g > MaxDim {
			return bad("group_size %d is neither -1 nor positive", g)
		}
		s := QuantGPTQ
		if m == "awq" {
			s = QuantAWQ
		}
		var v2 bool
		switch f := strings.ToLower(q.CheckpointFormat); {
		case m == "awq", f == "", f == "gptq":
		case f == "gptq_v2":
			v2 = true
		default:
			return Quant{}, fmt.Errorf("%w: quantization_config checkpoint_format %q: only gptq and gptq_v2 are read", ErrUnsupportedArch, q.CheckpointFormat)
		}
		return Quant{Scheme: s, Bits: q.Bits, Group: g, ZerosAsStored: v2}, nil
	default:
		return Quant{}, fmt.Errorf("%w: quantization_config quant_method %q: the tensors it stores are not predicted (fp8, gptq and awq are)", ErrUnsupportedArch, q.QuantMethod)
	}
}

// quantize returns slots with each Quantized slot "….weight" of logical
// shape [out, in] stored as q stores it, its companions after it.
func (q Quant) quantize(slots []Slot) []Slot {
	if q.Scheme == QuantNone {
		return slots
	}
	out := make([]Slot, 0, len(slots))
	for _, sl := range slots {
		base, ok := strings.CutSuffix(sl.Name, ".weight")
		if !sl.Quantized || len(sl.Shape) != 2 || !ok {
			out = append(out, sl)
			continue
		}
		rows, cols := sl.Shape[0], sl.Shape[1] // out, in
		companion := func(suffix string, shape ...int64) Slot {
			return Slot{Name: base + suffix, Comp: sl.Comp, Part: PartCompanion, Expert: sl.Expert, Shape: shape}
		}
		switch q.Scheme {
		case QuantFP8Block:
			out = append(out, sl, companion(".weight_scale_inv", ceilDiv(rows, q.Block[0]), ceilDiv(cols, q.Block[1])))
		case QuantGPTQ, QuantAWQ:
			per := 32 / q.Bits // values an int32 packs
			groups := int64(1)
			if q.Group > 0 {
				groups = ceilDiv(cols, q.Group)
			}
			packed := Slot{Name: base + ".qweight", Comp: sl.Comp, Part: sl.Part, Expert: sl.Expert, Values: uint8(per), Packing: PackGPTQ}
			if q.Scheme == QuantGPTQ {
				packed.Shape = []int64{ceilDiv(cols, per), rows}
				out = append(out, packed, companion(".qzeros", groups, ceilDiv(rows, per)), companion(".scales", groups, rows), companion(".g_idx", cols))
			} else {
				packed.Shape, packed.Packing = []int64{cols, ceilDiv(rows, per)}, PackAWQ
				out = append(out, packed, companion(".qzeros", groups, ceilDiv(rows, per)), companion(".scales", groups, rows))
			}
		}
	}
	return out
}

// Elements returns the stored elements q gives a quantized weight of
// logical shape [out, in] and its companions: the weight's values (its
// parameters, out·in) and the companions' elements. The tables' closed
// forms use it; the tables themselves list the tensors.
func (q Quant) Elements(rows, cols int64) (companions int64) {
	switch q.Scheme {
	case QuantFP8Block:
		return ceilDiv(rows, q.Block[0]) * ceilDiv(cols, q.Block[1])
	case QuantGPTQ, QuantAWQ:
		per := 32 / q.Bits
		groups := int64(1)
		if q.Group > 0 {
			groups = ceilDiv(cols, q.Group)
		}
		n := groups*ceilDiv(rows, per) + groups*rows
		if q.Scheme == QuantGPTQ {
			n += cols
		}
		return n
	}
	return 0
}

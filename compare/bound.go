package compare

import (
	"math"
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/gguf"
)

// The error a storage type is expected to add to a value, worked out from
// the type's definition and the values themselves.
//
// Rounding to a grid of step s adds an error uniform in [-s/2, s/2]: its
// variance is s²/12. For a float type the step is the spacing of the
// representable values around x (F16: 2^(⌊log2|x|⌋−10), BF16: 2^(⌊log2|x|⌋−7),
// F8 E4M3: 2^(⌊log2|x|⌋−3)). For a ggml block type it is the block's
// scale: each block of values shares one scale chosen from the block's
// range, so the step is the range divided by the levels the quants span
// (ggml-quants.c's quantize_row_*_ref; the block sizes and bit widths
// are ggml's block_* definitions):
//
//	Q8_0   32 values  symmetric, 8 bits   absmax/127
//	Q4_0   32         symmetric, 4 bits   absmax/8
//	Q4_1   32         min + scale, 4 bits (max−min)/15
//	Q5_0   32         symmetric, 5 bits   absmax/16
//	Q5_1   32         min + scale, 5 bits (max−min)/31
//	Q2_K   16         min + scale, 2 bits (max−min)/3
//	Q3_K   16         symmetric, 3 bits   absmax/4
//	Q4_K   32         min + scale, 4 bits (max−min)/15
//	Q5_K   32         min + scale, 5 bits (max−min)/31
//	Q6_K   16         symmetric, 6 bits   absmax/32
//	Q8_K   256        symmetric, 8 bits   absmax/127
//	IQ4_NL, IQ4_XS 32 a 16-level table    absmax/8
//	MXFP4  32         E2M1 × 2^e          absmax/3 (the widest gap of E2M1, 2 of its 6)
//
// The K-quants also quantize their block scales (6 or 8 bits), which the
// bound's slack absorbs; llama.cpp's quantizers choose scales that do
// better than the range, never worse. The types with lattice or ternary
// codes (IQ1–IQ3, TQ) get absmax/4, a coarse bound.

// blockStep says how one ggml type's step follows from a block of values.
type blockStep struct {
	size   int     // values a scale serves
	levels float64 // the divisor of the range
	minMax bool    // the range is max−min (else absmax)
}

var blockSteps = map[gguf.Type]blockStep{
	gguf.TypeQ8_0: {32, 127, false}, gguf.TypeQ4_0: {32, 8, false}, gguf.TypeQ4_1: {32, 15, true},
	gguf.TypeQ5_0: {32, 16, false}, gguf.TypeQ5_1: {32, 31, true},
	gguf.TypeQ2_K: {16, 3, true}, gguf.TypeQ3_K: {16, 4, false}, gguf.TypeQ4_K: {32, 15, true},
	gguf.TypeQ5_K: {32, 31, true}, gguf.TypeQ6_K: {16, 32, false}, gguf.TypeQ8_K: {256, 127, false},
	gguf.TypeIQ4_NL: {32, 8, false}, gguf.TypeIQ4_XS: {32, 8, false}, gguf.TypeMXFP4: {32, 3, false},
}

// mantissaBits gives the float types' mantissa widths by their names in
// either format.
var mantissaBits = map[string]int{"F16": 10, "BF16": 7, "F8_E4M3": 3, "F8_E5M2": 2}

// sqErr returns the summed expected squared error (Σ s²/12) that storing
// row in the type called dtype adds; 0 for F32 and F64 (exact here). A
// ggml type is named as gguf.ParseType reads it.
func sqErr(dtype string, row []float32) float64 {
	return modelOf(dtype).sqErr(row)
}

// errModel is how sqErr reads a storage type: a float type's mantissa
// bits, or a block type's step; neither for a type stored exactly. A
// tensor's is worked out once, not for every row.
type errModel struct {
	bits  int       // a float type's mantissa bits, 0 for none
	block blockStep // a block type's step, size 0 for none, -1 for one block a row
}

func modelOf(dtype string) errModel {
	if bits, ok := mantissaBits[dtype]; ok {
		return errModel{bits: bits}
	}
	if g, ok := strings.CutPrefix(dtype, int4Prefix); ok { // GPTQ/AWQ: min + scale, 4 bits, per group of inputs
		n, _ := strconv.Atoi(g)
		if n <= 0 {
			n = -1
		}
		return errModel{block: blockStep{size: n, levels: 15, minMax: true}}
	}
	t, ok := gguf.ParseType(dtype)
	if !ok || t == gguf.TypeF32 || t == gguf.TypeF64 {
		return errModel{} // exact, or a type that holds no rounded values
	}
	b, ok := blockSteps[t]
	if !ok {
		b = blockStep{size: 32, levels: 4} // lattice and ternary codes: coarse
	}
	return errModel{block: b}
}

// blockSize is the values one block of row serves: its size, or the whole
// row for one block a row (at least 1).
func (m errModel) blockSize(row []float32) int {
	if m.block.size < 0 {
		return max(len(row), 1)
	}
	return m.block.size
}

// sqErr is sqErr of a row stored in the model's type.
func (m errModel) sqErr(row []float32) float64 {
	switch {
	case m.bits > 0:
		return floatSqErr(row, m.bits)
	case m.block.size == 0:
		return 0
	}
	b := m.block
	size := m.blockSize(row)
	var sum float64
	for i := 0; i < len(row); i += size {
		block := row[i:min(i+size, len(row))]
		lo, hi := block[0], block[0]
		for _, x := range block[1:] {
			if x < lo {
				lo = x
			}
			if x > hi {
				hi = x
			}
		}
		sum += blockTerm(b, len(block), lo, hi)
	}
	return sum
}

// blockTerm is a block's share of sqErr: n values of range lo..hi.
func blockTerm(b blockStep, n int, lo, hi float32) float64 {
	r := float64(hi) - float64(lo)
	if !b.minMax {
		r = max(math.Abs(float64(lo)), math.Abs(float64(hi)))
	}
	s := r / b.levels
	return float64(n) * s * s / 12
}

// floatSqErr is Σ s²/12 for a float type of bits mantissa bits: s is
// 2^(e−bits) for a value of binade 2^e, so s² is 2^(2e−2·bits), built
// from the exponent bits of the float32 directly. Zeros, subnormals of
// float32 and non-finite values add nothing.
func floatSqErr(row []float32, bits int) float64 {
	var sum float64
	for _, x := range row {
		e := int(math.Float32bits(x)>>23&0xff) - 127
		if e == -127 || e == 128 {
			continue
		}
		sum += math.Float64frombits(uint64(2*e-2*bits+1023) << 52)
	}
	return sum / 12
}

// int4Prefix names the storage of a GPTQ or AWQ weight for sqErr:
// "int4g128" for groups of 128 inputs, "int4g-1" for one group a row.
const int4Prefix = "int4g"

// slack multiplies the expected RMS error into the bound a pair must stay
// within; floor is the relative error two exact copies may show (float
// summation order).
const (
	slack = 3
	floor = 1e-6
)

package gguf

import (
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// ErrUnsupported means [Dequantize] or [DequantizeRef] has no decoder for
// the type: a type ggml defines but this package does not dequantize (see
// [Type.CanDequantize]), a removed type, or an id ggml never defined.
var ErrUnsupported = errors.New("unsupported type")

// A kernel decodes whole blocks: len(src) is a multiple of the type's block
// byte size and len(dst) is the matching element count, as checked by
// dequantLen. Kernels never allocate and never fail.
type kernel func(dst []float32, src []byte)

// kernels holds, per type, the reference kernel (written for clarity, in
// the shape of ggml's dequantize_row_*) and the kernel Dequantize uses, which
// must give bit-identical results. For the plain conversions other than F16
// and BF16 both are the same function. On amd64 with AVX2, init replaces
// the fast kernels of BF16, F16, Q8_0, Q4_K and Q5_K with assembly
// (dequant_amd64.go).
var kernels = [...]struct{ ref, fast kernel }{
	TypeF32:    {dequantF32, dequantF32},
	TypeF16:    {dequantF16Ref, dequantF16},
	TypeBF16:   {dequantBF16Ref, dequantBF16},
	TypeF64:    {dequantF64, dequantF64},
	TypeI8:     {dequantI8, dequantI8},
	TypeI16:    {dequantI16, dequantI16},
	TypeI32:    {dequantI32, dequantI32},
	TypeQ4_0:   {dequantQ4_0Ref, dequantQ4_0},
	TypeQ4_1:   {dequantQ4_1Ref, dequantQ4_1},
	TypeQ5_0:   {dequantQ5_0Ref, dequantQ5_0},
	TypeQ5_1:   {dequantQ5_1Ref, dequantQ5_1},
	TypeQ8_0:   {dequantQ8_0Ref, dequantQ8_0},
	TypeQ2_K:   {dequantQ2_KRef, dequantQ2_K},
	TypeQ3_K:   {dequantQ3_KRef, dequantQ3_K},
	TypeQ4_K:   {dequantQ4_KRef, dequantQ4_K},
	TypeQ5_K:   {dequantQ5_KRef, dequantQ5_K},
	TypeQ6_K:   {dequantQ6_KRef, dequantQ6_K},
	TypeIQ4_NL: {dequantIQ4_NLRef, dequantIQ4_NL},
	TypeIQ4_XS: {dequantIQ4_XSRef, dequantIQ4_XS},
	TypeMXFP4:  {dequantMXFP4Ref, dequantMXFP4},
}

// CanDequantize reports whether [Dequantize] decodes the type: F32, F16,
// BF16, F64, I8, I16, I32, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K, IQ4_NL, IQ4_XS and MXFP4.
func (t Type) CanDequantize() bool {
	return uint64(t) < uint64(len(kernels)) && kernels[t].ref != nil
}

// Dequantize decodes src, which holds whole blocks of type t (one row or
// several), into dst as float32, in stored element order. len(src) must be a
// whole number of blocks and len(dst) must equal
// (len(src)/t.TypeSize())·t.BlockSize(); otherwise the error wraps
// [ErrInvalid] and names the type and the lengths. A type for which
// [Type.CanDequantize] is false gives an error wrapping [ErrUnsupported].
//
// The results are bit-identical to [DequantizeRef] and to ggml's reference
// dequantize_row_* (and ggml_fp16_to_fp32_row, ggml_bf16_to_fp32_row) at
// the pinned ggml commit (see the comment on each type in the source),
// evaluated in IEEE float32 arithmetic with each operation rounded, in
// ggml's order of operations. (Every product of a scale and a quant is
// exact in float32 except Q6_K's, which involves no addition, so a build of
// ggml that fuses multiply-adds gives the same bits.) F16 values and scales
// convert exactly, except that a signalling NaN comes out quiet, as in
// ggml; NaN and Inf scales propagate through the arithmetic as they do in
// ggml. F64, I8, I16 and I32, which ggml does not dequantize, are plain Go
// conversions to float32, rounding to nearest even.
//
// The caller owns dst; Dequantize allocates nothing, keeps no reference to
// dst or src, and is safe for concurrent use.
func Dequantize(t Type, dst []float32, src []byte) error {
	if err := dequantLen(t, dst, src); err != nil {
		return err
	}
	kernels[t].fast(dst, src)
	return nil
}

// DequantizeRef is the reference implementation of [Dequantize]: the same
// contract and results, decoded block by block by code that follows ggml's
// dequantize_row_* functions step by step, written for clarity rather than
// speed. Tests fuzz Dequantize against it.
func DequantizeRef(t Type, dst []float32, src []byte) error {
	if err := dequantLen(t, dst, src); err != nil {
		return err
	}
	kernels[t].ref(dst, src)
	return nil
}

// dequantLen checks that t can be decoded and that src and dst hold the same
// whole number of blocks.
func dequantLen(t Type, dst []float32, src []byte) error {
	if !t.CanDequantize() {
		return fmt.Errorf("%w: dequantize %v", ErrUnsupported, t)
	}
	bs, ts := t.BlockSize(), t.TypeSize()
	blocks := int64(len(src)) / ts
	if blocks*ts != int64(len(src)) {
		return fmt.Errorf("%w: dequantize %v: %d source bytes are not a whole number of %d-byte blocks",
			ErrInvalid, t, len(src), ts)
	}
	n, ok := checked.Mul(blocks, bs)
	if !ok {
		return fmt.Errorf("%w: dequantize %v: %d source bytes hold too many elements", ErrOverflow, t, len(src))
	}
	if int64(len(dst)) != n {
		return fmt.Errorf("%w: dequantize %v: destination of %d elements, want %d for %d source bytes",
			ErrInvalid, t, len(dst), n, len(src))
	}
	return nil
}

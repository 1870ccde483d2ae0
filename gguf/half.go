package gguf

import "math"

// halfToFloat32 converts an IEEE 754 binary16 value to float32 exactly, as
// ggml's ggml_compute_fp16_to_fp32 does (src/ggml-impl.h at
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-impl.h#L384-L405):
// zeros keep their sign, subnormals become normal float32 values, infinities
// stay infinite, and a NaN keeps its sign and payload (shifted into the top
// of the float32 mantissa) with the quiet bit set, because ggml's conversion
// passes it through a float multiply, which quiets signalling NaNs.
func halfToFloat32(h uint16) float32 {
	if f, ok := halfNormalToFloat32(h); ok {
		return f
	}
	return halfSpecialToFloat32(h)
}

// halfNormalToFloat32 converts a normal half (exponent field 1-30) and
// reports false for any other. halfToFloat32 is too big for Go to inline,
// but this and halfSpecialToFloat32 are not, so the kernels that convert a
// scale every 32 elements spell out
//
//	d, ok := halfNormalToFloat32(h)
//	if !ok {
//		d = halfSpecialToFloat32(h)
//	}
//
// to avoid a call per block.
func halfNormalToFloat32(h uint16) (float32, bool) {
	// Rebias the exponent from 15 to 127 and widen the mantissa from 10 to
	// 23 bits.
	x := uint32(h)
	return math.Float32frombits((x&0x8000)<<16 | ((x&0x7fff)+(127-15)<<10)<<13), (x&0x7c00)-0x0400 < 0x7800
}

// halfSpecialToFloat32 converts the halves with an all-zero or all-one
// exponent: zeros, subnormals, infinities and NaNs.
func halfSpecialToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	mant := uint32(h & 0x3ff)
	if h&0x7c00 == 0 {
		// Zero or subnormal: mant·2⁻²⁴, exact in float32.
		return math.Float32frombits(sign | math.Float32bits(float32(mant)*0x1p-24))
	}
	if mant == 0 {
		return math.Float32frombits(sign | 0x7f800000)
	}
	return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
}

// bf16ToFloat32 converts a bfloat16 value to float32: its bits are the upper
// half of the float32's, so the conversion is exact for every value,
// including the bit pattern of a NaN (ggml_compute_bf16_to_fp32).
func bf16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}

// e8m0HalfToFloat32 returns half the value of the E8M0 scale e (2^(e-127)),
// that is 2^(e-128), as ggml's ggml_e8m0_to_fp32_half does for MXFP4, whose
// table of E2M1 values is doubled to be integral
// (https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-impl.h#L477-L495).
// e = 0 and 1 give the subnormals 2⁻¹²⁸ and 2⁻¹²⁷. Like ggml, e = 0xFF,
// which the OCP MX spec reserves for NaN, is not special: it gives 2¹²⁷.
func e8m0HalfToFloat32(e uint8) float32 {
	if e < 2 {
		return math.Float32frombits(0x00200000 << e)
	}
	return math.Float32frombits(uint32(e-1) << 23)
}

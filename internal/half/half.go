// Package half converts IEEE 754 binary16 values to float32, exactly and
// as ggml does, for both format readers.
package half

import "math"

// ToFloat32 converts an IEEE 754 binary16 value to float32 exactly, as
// ggml's ggml_compute_fp16_to_fp32 does (src/ggml-impl.h at
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-impl.h#L384-L405):
// zeros keep their sign, subnormals become normal float32 values, infinities
// stay infinite, and a NaN keeps its sign and payload (shifted into the top
// of the float32 mantissa) with the quiet bit set, because ggml's conversion
// passes it through a float multiply, which quiets signalling NaNs.
func ToFloat32(h uint16) float32 {
	if f, ok := NormalToFloat32(h); ok {
		return f
	}
	return SpecialToFloat32(h)
}

// NormalToFloat32 converts a normal half (exponent field 1-30) and
// reports false for any other. ToFloat32 is too big for Go to inline,
// but this and SpecialToFloat32 are not, so the kernels that convert a
// scale every 32 elements spell out
//
//	d, ok := NormalToFloat32(h)
//	if !ok {
//		d = SpecialToFloat32(h)
//	}
//
// to avoid a call per block.
func NormalToFloat32(h uint16) (float32, bool) {
	// Rebias the exponent from 15 to 127 and widen the mantissa from 10 to
	// 23 bits.
	x := uint32(h)
	return math.Float32frombits((x&0x8000)<<16 | ((x&0x7fff)+(127-15)<<10)<<13), (x&0x7c00)-0x0400 < 0x7800
}

// SpecialToFloat32 converts the halves with an all-zero or all-one
// exponent: zeros, subnormals, infinities and NaNs.
func SpecialToFloat32(h uint16) float32 {
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

// Row converts the len(dst) little-endian binary16 values at the start of
// src to float32 in dst, as ToFloat32 does, with the inlined fast path: the
// loop both readers decode F16 data with.
func Row(dst []float32, src []byte) {
	src = src[:len(dst)*2]
	for i := range dst {
		h := uint16(src[2*i]) | uint16(src[2*i+1])<<8
		f, ok := NormalToFloat32(h)
		if !ok {
			f = SpecialToFloat32(h)
		}
		dst[i] = f
	}
}

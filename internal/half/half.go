// Package half converts IEEE 754 binary16 and bfloat16 values to float32,
// exactly and as ggml does, for both format readers: value by value, and
// whole rows ([Row], [BF16Row]) with AVX2 and F16C assembly on amd64 CPUs
// that have them (build with -tags purego for the portable loops alone).
package half

import (
	"encoding/binary"
	"math"
)

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
// src to float32 in dst, as ToFloat32 does: the loop both readers decode
// F16 data with. With AVX2 and F16C, eight values an instruction (F16C's
// conversion is exact for every half and quiets a signalling NaN, as
// ToFloat32 does); else, and for the last len(dst) mod 8, [rowWords].
func Row(dst []float32, src []byte) {
	src = src[:len(dst)*2]
	n := 0
	if useAVX2 {
		if n = len(dst) &^ 7; n > 0 {
			f16AVX2(&dst[0], &src[0], n)
		}
	}
	rowWords(dst[n:], src[2*n:])
}

// rowWords converts as Row does, four values a 64-bit word: when all four
// are normal (one test on the word's four exponent fields), without a
// branch each; a word with a zero, subnormal, infinity or NaN goes through
// ToFloat32 value by value.
func rowWords(dst []float32, src []byte) {
	n := len(dst) &^ 3
	for i := 0; i < n; i += 4 {
		w := binary.LittleEndian.Uint64(src[2*i:])
		o := (*[4]float32)(dst[i:])
		// Each 16-bit lane's exponent field e is 0, 0x0400, …, 0x7c00;
		// neither sum carries out of its lane. e + 0x7c00 has the lane's
		// top bit set when e ≠ 0, e + 0x0400 when e = 0x7c00.
		e := w & 0x7c007c007c007c00
		if (e+0x7c007c007c007c00)&^(e+0x0400040004000400)&0x8000800080008000 == 0x8000800080008000 {
			o[0] = normal(uint32(w) & 0xffff)
			o[1] = normal(uint32(w) >> 16)
			o[2] = normal(uint32(w>>32) & 0xffff)
			o[3] = normal(uint32(w >> 48))
			continue
		}
		for k := range 4 {
			o[k] = ToFloat32(uint16(w >> (16 * k)))
		}
	}
	for i := n; i < len(dst); i++ {
		dst[i] = ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// BF16ToFloat32 converts a bfloat16 value to float32: its bits are the top
// half of the float32's, so every value (NaNs with their payload
// included) converts exactly.
func BF16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// BF16Row converts the len(dst) little-endian bfloat16 values at the
// start of src to float32 in dst, as BF16ToFloat32 does. With AVX2,
// eight values an instruction; else, and for the last len(dst) mod 8,
// [bf16Words].
func BF16Row(dst []float32, src []byte) {
	src = src[:len(dst)*2]
	n := 0
	if useAVX2 {
		if n = len(dst) &^ 7; n > 0 {
			bf16AVX2(&dst[0], &src[0], n)
		}
	}
	bf16Words(dst[n:], src[2*n:])
}

// bf16Words converts as BF16Row does, eight values from two 64-bit words:
// a shift or a mask of the word gives each value's bits.
func bf16Words(dst []float32, src []byte) {
	n := len(dst) &^ 7
	for i := 0; i < n; i += 8 {
		s := (*[16]byte)(src[2*i:])
		o := (*[8]float32)(dst[i:])
		w := binary.LittleEndian.Uint64(s[:8])
		v := binary.LittleEndian.Uint64(s[8:])
		o[0] = math.Float32frombits(uint32(w) << 16)
		o[1] = math.Float32frombits(uint32(w) & 0xffff0000)
		o[2] = math.Float32frombits(uint32(w>>32) << 16)
		o[3] = math.Float32frombits(uint32(w>>32) & 0xffff0000)
		o[4] = math.Float32frombits(uint32(v) << 16)
		o[5] = math.Float32frombits(uint32(v) & 0xffff0000)
		o[6] = math.Float32frombits(uint32(v>>32) << 16)
		o[7] = math.Float32frombits(uint32(v>>32) & 0xffff0000)
	}
	for i := n; i < len(dst); i++ {
		dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// normal converts the normal half x (its 16 bits in the low half of x):
// the sign moved to bit 31, the exponent rebiased from 15 to 127 and the
// mantissa widened from 10 to 23 bits.
func normal(x uint32) float32 {
	return math.Float32frombits((x&0x8000)<<16 | ((x&0x7fff)+(127-15)<<10)<<13)
}

package gguf

import (
	"math"

	"github.com/weightaudit/weightaudit/internal/half"
)

// halfToFloat32 converts an IEEE 754 binary16 value to float32 exactly, as
// ggml's ggml_compute_fp16_to_fp32 does; see [half.ToFloat32].
func halfToFloat32(h uint16) float32 { return half.ToFloat32(h) }

// halfNormalToFloat32 converts a normal half and reports false for any
// other; the kernels call it, then halfSpecialToFloat32 only when it fails,
// so the common case inlines. See [half.NormalToFloat32].
func halfNormalToFloat32(h uint16) (float32, bool) { return half.NormalToFloat32(h) }

// halfSpecialToFloat32 converts zeros, subnormals, infinities and NaNs.
func halfSpecialToFloat32(h uint16) float32 { return half.SpecialToFloat32(h) }

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

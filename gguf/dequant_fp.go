package gguf

import (
	"encoding/binary"
	"math"

	"github.com/weightaudit/weightaudit/internal/half"
)

// Plain conversions. F32, F16 and BF16 mirror ggml's to_float for those types
// (the F32 copy, ggml_fp16_to_fp32_row, ggml_bf16_to_fp32_row in
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml.c#L468-L486);
// ggml has no to_float for F64, I8, I16 and I32, so those are Go's
// conversions to float32, rounding to nearest even.

// dequantF32 copies little-endian float32 values bit for bit (NaN payloads
// included).
func dequantF32(dst []float32, src []byte) {
	src = src[:len(dst)*4]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[i*4:]))
	}
}

// dequantF16Ref converts little-endian IEEE half values one at a time.
func dequantF16Ref(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = halfToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// dequantF16 converts a row at a time (internal/half: AVX2 and F16C where
// the CPU has them, else four values a 64-bit word).
func dequantF16(dst []float32, src []byte) { half.Row(dst, src) }

// dequantBF16Ref converts little-endian bfloat16 values one at a time.
func dequantBF16Ref(dst []float32, src []byte) {
	src = src[:len(dst)*2]
	for i := range dst {
		dst[i] = bf16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// dequantBF16 converts a row at a time (internal/half: AVX2 where the CPU
// has it, else eight values from two 64-bit words).
func dequantBF16(dst []float32, src []byte) { half.BF16Row(dst, src) }

// dequantF64 rounds little-endian float64 values to float32.
func dequantF64(dst []float32, src []byte) {
	src = src[:len(dst)*8]
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[i*8:])))
	}
}

// dequantI8 converts int8 values (exact).
func dequantI8(dst []float32, src []byte) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = float32(int8(src[i]))
	}
}

// dequantI16 converts little-endian int16 values (exact).
func dequantI16(dst []float32, src []byte) {
	src = src[:len(dst)*2]
	for i := range dst {
		dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

// dequantI32 converts little-endian int32 values, rounding those beyond
// ±2²⁴ to the nearest float32.
func dequantI32(dst []float32, src []byte) {
	src = src[:len(dst)*4]
	for i := range dst {
		dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

// MXFP4 (OCP Microscaling FP4), checked against ggml at
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-common.h#L214-L219
// (block_mxfp4: one E8M0 scale byte e, then 16 bytes of E2M1 nibbles; low
// nibbles are elements 0-15, high nibbles 16-31), ggml-common.h#L1124-L1129
// (kvalues_mxfp4, the E2M1 values doubled) and dequantize_row_mxfp4 in
// src/ggml-quants.c#L569-L587: y = kvalues_mxfp4[nibble] · 2^(e-128), the
// doubled table times half the scale (e8m0HalfToFloat32).

const blockMXFP4 = 17

// kvaluesMXFP4 holds the 16 E2M1 values doubled: 0, 0.5, 1, 1.5, 2, 3, 4, 6
// and their negatives, times two.
var kvaluesMXFP4 = [16]int8{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

func dequantMXFP4Ref(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockMXFP4; i++ {
		x := src[i*blockMXFP4 : (i+1)*blockMXFP4]
		y := dst[i*32 : (i+1)*32]
		d := e8m0HalfToFloat32(x[0])
		qs := x[1:]
		for j := range 16 {
			x0 := kvaluesMXFP4[qs[j]&0x0f]
			x1 := kvaluesMXFP4[qs[j]>>4]
			y[j] = float32(x0) * d
			y[j+16] = float32(x1) * d
		}
	}
}

// mxfp4Values is kvaluesMXFP4 as float32.
var mxfp4Values = func() (t [16]float32) {
	for k, v := range kvaluesMXFP4 {
		t[k] = float32(v)
	}
	return t
}()

// dequantMXFP4 looks the values up as float32 and unrolls by four.
func dequantMXFP4(dst []float32, src []byte) {
	for i := range len(src) / blockMXFP4 {
		x := (*[blockMXFP4]byte)(src[i*blockMXFP4:])
		y := (*[32]float32)(dst[i*32:])
		d := e8m0HalfToFloat32(x[0])
		for j := 0; j < 16; j += 4 {
			q := (*[4]byte)(x[1+j:])
			y[j] = mxfp4Values[q[0]&0x0f] * d
			y[j+1] = mxfp4Values[q[1]&0x0f] * d
			y[j+2] = mxfp4Values[q[2]&0x0f] * d
			y[j+3] = mxfp4Values[q[3]&0x0f] * d
			y[j+16] = mxfp4Values[q[0]>>4] * d
			y[j+17] = mxfp4Values[q[1]>>4] * d
			y[j+18] = mxfp4Values[q[2]>>4] * d
			y[j+19] = mxfp4Values[q[3]>>4] * d
		}
	}
}

package main

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The encoders below turn the float32 weights into the stored forms of the
// fixtures. They are generator code, written from the format definitions,
// and independent of the readers under test.

// f32Bytes returns x as little-endian IEEE 754 binary32.
func f32Bytes(x []float32) []byte {
	out := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

// f16Bytes returns x as little-endian IEEE 754 binary16, each value rounded
// to nearest, ties to even.
func f16Bytes(x []float32) []byte {
	out := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(out[2*i:], toF16(v))
	}
	return out
}

// bf16Bytes returns x as little-endian bfloat16 (the top half of binary32),
// each value rounded to nearest, ties to even.
func bf16Bytes(x []float32) []byte {
	out := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(out[2*i:], toBF16(v))
	}
	return out
}

// toF16 converts f to binary16, rounding to nearest with ties to even;
// values too large become infinities and NaNs stay (quiet) NaNs.
func toF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff && mant != 0:
		return sign | 0x7e00
	case exp == 0xff:
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // the binary16 biased exponent
	if e >= 31 {
		return sign | 0x7c00
	}
	if e <= 0 {
		// A binary16 subnormal (or zero): the value is m·2^(exp-150) with the
		// implicit bit in m, and a subnormal counts units of 2^-24, so the
		// result is m shifted right by 126-exp, rounded.
		if exp == 0 {
			return sign // binary32 subnormals are far below 2^-25
		}
		m := mant | 0x800000
		s := uint32(126 - exp)
		if s >= 32 {
			return sign
		}
		return sign | uint16(roundShift(m, s))
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is right, up to infinity
	}
	return sign | uint16(h)
}

// roundShift returns m >> s rounded to nearest, ties to even (1 ≤ s < 32).
func roundShift(m, s uint32) uint32 {
	q := m >> s
	rem := m & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return q
}

// toBF16 converts f to bfloat16, rounding to nearest with ties to even; NaNs
// stay (quiet) NaNs.
func toBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// q8Block is QK8_0, the number of values in one ggml Q8_0 block.
const q8Block = 32

// q8_0Bytes quantizes x to ggml's Q8_0 as llama.cpp's reference quantizer
// (quantize_row_q8_0_ref in ggml-quants.c) does: per block of 32 values,
// d = absmax/127 in float32, stored as binary16, then each value multiplied
// by 1/d in float32 and rounded half away from zero to an int8. A block of
// zeros gets d = 0 and all-zero quants. len(x) must be a multiple of 32.
func q8_0Bytes(x []float32) ([]byte, error) {
	if len(x)%q8Block != 0 {
		return nil, fmt.Errorf("q8_0: %d values are not whole blocks of %d", len(x), q8Block)
	}
	out := make([]byte, 0, len(x)/q8Block*(2+q8Block))
	for blk := x; len(blk) > 0; blk = blk[q8Block:] {
		var amax float32
		for _, v := range blk[:q8Block] {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		out = binary.LittleEndian.AppendUint16(out, toF16(d))
		for _, v := range blk[:q8Block] {
			x0 := float32(v * id) // the conversion keeps the product in float32
			out = append(out, byte(int8(math.Round(float64(x0)))))
		}
	}
	return out, nil
}

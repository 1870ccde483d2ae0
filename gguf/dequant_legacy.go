package gguf

import "encoding/binary"

// The legacy block types: 32 elements per block, one f16 scale d (and for
// the _1 types an f16 offset m), elements 0-15 in the low nibbles of qs and
// 16-31 in the high nibbles. Layouts checked against ggml at
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-common.h#L194-L256
// and the reference decoders dequantize_row_q4_0 … dequantize_row_q8_0 at
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-quants.c#L459-L567
// All multi-byte fields are little-endian.

// Block byte sizes.
const (
	blockQ4_0 = 18 // d, qs[16]
	blockQ4_1 = 20 // d, m, qs[16]
	blockQ5_0 = 22 // d, qh[4], qs[16]
	blockQ5_1 = 24 // d, m, qh[4], qs[16]
	blockQ8_0 = 34 // d, qs[32] int8
)

// f16At reads the little-endian half at b[i:] as float32.
func f16At(b []byte, i int) float32 {
	return halfToFloat32(binary.LittleEndian.Uint16(b[i:]))
}

// Q4_0 (ggml-quants.c#L459-L477): y = (q - 8)·d for a 4-bit q.

func dequantQ4_0Ref(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ4_0; i++ {
		x := src[i*blockQ4_0 : (i+1)*blockQ4_0]
		y := dst[i*32 : (i+1)*32]
		d := f16At(x, 0)
		qs := x[2:]
		for j := range 16 {
			x0 := int(qs[j]&0x0f) - 8
			x1 := int(qs[j]>>4) - 8
			y[j] = float32(x0) * d
			y[j+16] = float32(x1) * d
		}
	}
}

// dequantQ4_0 looks q-8 up as float32 (smallInts[q+8]) and unrolls by four.
func dequantQ4_0(dst []float32, src []byte) {
	ints := (*[16]float32)(smallInts[8:])
	for i := range len(src) / blockQ4_0 {
		x := (*[blockQ4_0]byte)(src[i*blockQ4_0:])
		y := (*[32]float32)(dst[i*32:])
		d, ok := halfNormalToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		if !ok {
			d = halfSpecialToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		}
		for j := 0; j < 16; j += 4 {
			q := (*[4]byte)(x[2+j:])
			y[j] = ints[q[0]&0x0f] * d
			y[j+1] = ints[q[1]&0x0f] * d
			y[j+2] = ints[q[2]&0x0f] * d
			y[j+3] = ints[q[3]&0x0f] * d
			y[j+16] = ints[q[0]>>4] * d
			y[j+17] = ints[q[1]>>4] * d
			y[j+18] = ints[q[2]>>4] * d
			y[j+19] = ints[q[3]>>4] * d
		}
	}
}

// Q4_1 (ggml-quants.c#L479-L498): y = q·d + m for a 4-bit q.

func dequantQ4_1Ref(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ4_1; i++ {
		x := src[i*blockQ4_1 : (i+1)*blockQ4_1]
		y := dst[i*32 : (i+1)*32]
		d := f16At(x, 0)
		m := f16At(x, 2)
		qs := x[4:]
		for j := range 16 {
			x0 := int(qs[j] & 0x0f)
			x1 := int(qs[j] >> 4)
			// The float32 conversion rounds the product, so that Go cannot
			// fuse the multiply and add (ggml rounds each operation).
			y[j] = float32(float32(x0)*d) + m
			y[j+16] = float32(float32(x1)*d) + m
		}
	}
}

// dequantQ4_1 looks q up as float32 (smallInts[q+16]) and unrolls by four.
func dequantQ4_1(dst []float32, src []byte) {
	ints := (*[16]float32)(smallInts[16:])
	for i := range len(src) / blockQ4_1 {
		x := (*[blockQ4_1]byte)(src[i*blockQ4_1:])
		y := (*[32]float32)(dst[i*32:])
		d, ok := halfNormalToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		if !ok {
			d = halfSpecialToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		}
		m, ok := halfNormalToFloat32(uint16(x[2]) | uint16(x[3])<<8)
		if !ok {
			m = halfSpecialToFloat32(uint16(x[2]) | uint16(x[3])<<8)
		}
		for j := 0; j < 16; j += 4 {
			q := (*[4]byte)(x[4+j:])
			y[j] = float32(ints[q[0]&0x0f]*d) + m
			y[j+1] = float32(ints[q[1]&0x0f]*d) + m
			y[j+2] = float32(ints[q[2]&0x0f]*d) + m
			y[j+3] = float32(ints[q[3]&0x0f]*d) + m
			y[j+16] = float32(ints[q[0]>>4]*d) + m
			y[j+17] = float32(ints[q[1]>>4]*d) + m
			y[j+18] = float32(ints[q[2]>>4]*d) + m
			y[j+19] = float32(ints[q[3]>>4]*d) + m
		}
	}
}

// Q5_0 (ggml-quants.c#L500-L524): y = (q - 16)·d for a 5-bit q whose fifth
// bit for element j is bit j of the little-endian uint32 qh.

func dequantQ5_0Ref(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ5_0; i++ {
		x := src[i*blockQ5_0 : (i+1)*blockQ5_0]
		y := dst[i*32 : (i+1)*32]
		d := f16At(x, 0)
		qh := binary.LittleEndian.Uint32(x[2:])
		qs := x[6:]
		for j := range 16 {
			xh0 := byte((qh>>j)<<4) & 0x10
			xh1 := byte(qh>>(j+12)) & 0x10
			x0 := int(qs[j]&0x0f|xh0) - 16
			x1 := int(qs[j]>>4|xh1) - 16
			y[j] = float32(x0) * d
			y[j+16] = float32(x1) * d
		}
	}
}

// dequantQ5_0 converts the 5-bit quants through smallInts instead of
// building a 32-entry table for 32 elements.
func dequantQ5_0(dst []float32, src []byte) {
	for i := range len(src) / blockQ5_0 {
		x := (*[blockQ5_0]byte)(src[i*blockQ5_0:])
		y := (*[32]float32)(dst[i*32:])
		d, ok := halfNormalToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		if !ok {
			d = halfSpecialToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		}
		qh := binary.LittleEndian.Uint32(x[2:6])
		for j := range 16 {
			b := uint32(x[6+j])
			y[j] = smallInts[(b&0x0f|(qh>>j&1)<<4)&31] * d
			y[j+16] = smallInts[(b>>4|(qh>>(j+16)&1)<<4)&31] * d
		}
	}
}

// smallInts[v] is float32(v-16), for quants with a bias of 16; the slice
// smallInts[16:] maps v to float32(v).
var smallInts = func() (t [48]float32) {
	for v := range t {
		t[v] = float32(v - 16)
	}
	return t
}()

// Q5_1 (ggml-quants.c#L526-L551): y = q·d + m for a 5-bit q, high bits as in
// Q5_0.

func dequantQ5_1Ref(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ5_1; i++ {
		x := src[i*blockQ5_1 : (i+1)*blockQ5_1]
		y := dst[i*32 : (i+1)*32]
		d := f16At(x, 0)
		m := f16At(x, 2)
		qh := binary.LittleEndian.Uint32(x[4:])
		qs := x[8:]
		for j := range 16 {
			xh0 := byte((qh>>j)<<4) & 0x10
			xh1 := byte(qh>>(j+12)) & 0x10
			x0 := int(qs[j]&0x0f | xh0)
			x1 := int(qs[j]>>4 | xh1)
			y[j] = float32(float32(x0)*d) + m
			y[j+16] = float32(float32(x1)*d) + m
		}
	}
}

func dequantQ5_1(dst []float32, src []byte) {
	ints := (*[32]float32)(smallInts[16:])
	for i := range len(src) / blockQ5_1 {
		x := (*[blockQ5_1]byte)(src[i*blockQ5_1:])
		y := (*[32]float32)(dst[i*32:])
		d, ok := halfNormalToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		if !ok {
			d = halfSpecialToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		}
		m, ok := halfNormalToFloat32(uint16(x[2]) | uint16(x[3])<<8)
		if !ok {
			m = halfSpecialToFloat32(uint16(x[2]) | uint16(x[3])<<8)
		}
		qh := binary.LittleEndian.Uint32(x[4:8])
		for j := range 16 {
			b := uint32(x[8+j])
			y[j] = float32(ints[(b&0x0f|(qh>>j&1)<<4)&31]*d) + m
			y[j+16] = float32(ints[(b>>4|(qh>>(j+16)&1)<<4)&31]*d) + m
		}
	}
}

// Q8_0 (ggml-quants.c#L553-L567): y = q·d for a signed byte q.

func dequantQ8_0Ref(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ8_0; i++ {
		x := src[i*blockQ8_0 : (i+1)*blockQ8_0]
		y := dst[i*32 : (i+1)*32]
		d := f16At(x, 0)
		for j := range 32 {
			y[j] = float32(int8(x[2+j])) * d
		}
	}
}

// i8Values maps a byte to the float32 of its value as an int8: a table
// load in place of an integer-to-float conversion.
var i8Values = func() (t [256]float32) {
	for b := range t {
		t[b] = float32(int8(b))
	}
	return t
}()

// dequantQ8_0 converts the quants through i8Values and unrolls by eight.
func dequantQ8_0(dst []float32, src []byte) {
	for i := range len(src) / blockQ8_0 {
		x := (*[blockQ8_0]byte)(src[i*blockQ8_0:])
		y := (*[32]float32)(dst[i*32:])
		d, ok := halfNormalToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		if !ok {
			d = halfSpecialToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		}
		for j := 0; j < 32; j += 8 {
			q := (*[8]byte)(x[2+j:])
			o := (*[8]float32)(y[j:])
			o[0] = i8Values[q[0]] * d
			o[1] = i8Values[q[1]] * d
			o[2] = i8Values[q[2]] * d
			o[3] = i8Values[q[3]] * d
			o[4] = i8Values[q[4]] * d
			o[5] = i8Values[q[5]] * d
			o[6] = i8Values[q[6]] * d
			o[7] = i8Values[q[7]] * d
		}
	}
}

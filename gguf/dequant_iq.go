package gguf

import "encoding/binary"

// The non-linear 4-bit types: each nibble indexes kvalues_iq4nl, a table of
// 16 signed values, instead of being used as a number. Checked against ggml
// at
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-common.h#L447-L460
// (block_iq4_nl, block_iq4_xs), ggml-common.h#L1120-L1122 (kvalues_iq4nl)
// and src/ggml-quants.c#L2725-L2764 (dequantize_row_iq4_nl,
// dequantize_row_iq4_xs). All multi-byte fields are little-endian.

// Block byte sizes and IQ4_XS field offsets.
const (
	blockIQ4_NL   = 18  // d, qs[16]
	blockIQ4_XS   = 136 // d, scales_h (uint16), scales_l[4], qs[128]
	iq4XSScalesH  = 2
	iq4XSScalesL  = 4
	iq4XSQs       = 8
	iq4XSSubBlock = 32
)

// kvaluesIQ4NL is ggml's kvalues_iq4nl.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// IQ4_NL: blocks of 32 elements, y = d·kvalues_iq4nl[nibble], elements
// 0-15 in the low nibbles and 16-31 in the high nibbles.

func dequantIQ4_NLRef(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockIQ4_NL; i++ {
		x := src[i*blockIQ4_NL : (i+1)*blockIQ4_NL]
		y := dst[i*32 : (i+1)*32]
		d := f16At(x, 0)
		qs := x[2:]
		for j := range 16 {
			y[j] = d * float32(kvaluesIQ4NL[qs[j]&0x0f])
			y[j+16] = d * float32(kvaluesIQ4NL[qs[j]>>4])
		}
	}
}

// iq4nlValues is kvaluesIQ4NL as float32.
var iq4nlValues = func() (t [16]float32) {
	for k, v := range kvaluesIQ4NL {
		t[k] = float32(v)
	}
	return t
}()

// dequantIQ4_NL looks the values up as float32 and unrolls by four.
func dequantIQ4_NL(dst []float32, src []byte) {
	for i := range len(src) / blockIQ4_NL {
		x := (*[blockIQ4_NL]byte)(src[i*blockIQ4_NL:])
		y := (*[32]float32)(dst[i*32:])
		d, ok := halfNormalToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		if !ok {
			d = halfSpecialToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		}
		for j := 0; j < 16; j += 4 {
			q := (*[4]byte)(x[2+j:])
			y[j] = d * iq4nlValues[q[0]&0x0f]
			y[j+1] = d * iq4nlValues[q[1]&0x0f]
			y[j+2] = d * iq4nlValues[q[2]&0x0f]
			y[j+3] = d * iq4nlValues[q[3]&0x0f]
			y[j+16] = d * iq4nlValues[q[0]>>4]
			y[j+17] = d * iq4nlValues[q[1]>>4]
			y[j+18] = d * iq4nlValues[q[2]>>4]
			y[j+19] = d * iq4nlValues[q[3]>>4]
		}
	}
}

// IQ4_XS: super-blocks of 256 elements in 8 sub-blocks of 32, each with a
// 6-bit scale ls (stored biased by 32): its low four bits are nibble ib%2 of
// scales_l[ib/2], its top two bits are bits 2ib, 2ib+1 of scales_h. y =
// (d·(ls-32))·kvalues_iq4nl[nibble], elements 0-15 of the sub-block in the
// low nibbles of its 16 bytes of qs and 16-31 in the high nibbles.

func dequantIQ4_XSRef(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockIQ4_XS; i++ {
		x := src[i*blockIQ4_XS : (i+1)*blockIQ4_XS]
		y := dst[i*superBlock : (i+1)*superBlock]
		d := f16At(x, 0)
		scalesH := binary.LittleEndian.Uint16(x[iq4XSScalesH:])
		scalesL := x[iq4XSScalesL : iq4XSScalesL+4]
		qs := x[iq4XSQs:]
		for ib := range superBlock / iq4XSSubBlock {
			ls := int((scalesL[ib/2]>>(4*(ib%2)))&0x0f) | int((scalesH>>(2*ib))&3)<<4
			dl := d * float32(ls-32)
			for j := range 16 {
				y[j] = dl * float32(kvaluesIQ4NL[qs[j]&0x0f])
				y[j+16] = dl * float32(kvaluesIQ4NL[qs[j]>>4])
			}
			y = y[32:]
			qs = qs[16:]
		}
	}
}

// dequantIQ4_XS looks the values up as float32 and unrolls by four.
func dequantIQ4_XS(dst []float32, src []byte) {
	for i := range len(src) / blockIQ4_XS {
		x := (*[blockIQ4_XS]byte)(src[i*blockIQ4_XS:])
		y := (*[superBlock]float32)(dst[i*superBlock:])
		d := halfToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		scalesH := uint(x[iq4XSScalesH]) | uint(x[iq4XSScalesH+1])<<8
		for ib := range 8 {
			ls := int(x[iq4XSScalesL+ib/2]>>(4*(ib%2)))&0x0f | int(scalesH>>(2*ib)&3)<<4
			dl := d * float32(ls-32)
			q := (*[16]byte)(x[iq4XSQs+16*ib:])
			o := (*[32]float32)(y[32*ib:])
			for j := 0; j < 16; j += 4 {
				b := (*[4]byte)(q[j:])
				o[j] = dl * iq4nlValues[b[0]&0x0f]
				o[j+1] = dl * iq4nlValues[b[1]&0x0f]
				o[j+2] = dl * iq4nlValues[b[2]&0x0f]
				o[j+3] = dl * iq4nlValues[b[3]&0x0f]
				o[j+16] = dl * iq4nlValues[b[0]>>4]
				o[j+17] = dl * iq4nlValues[b[1]>>4]
				o[j+18] = dl * iq4nlValues[b[2]>>4]
				o[j+19] = dl * iq4nlValues[b[3]>>4]
			}
		}
	}
}

package gguf

import "encoding/binary"

// The K-quants: super-blocks of 256 elements with an f16 super-block scale d
// (and for Q2_K, Q4_K, Q5_K an f16 scale dmin for the sub-block minimums)
// and quantized per-sub-block scales. Layouts checked against the block
// structs at
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-common.h#L298-L368
// and the reference decoders in src/ggml-quants.c at the same commit
// (get_scale_min_k4 at #L880-L887, dequantize_row_q2_K at #L961-L991,
// q3_K at #L1305-L1353, q4_K at #L1529-L1551, q5_K at #L1731-L1756, q6_K at
// #L1939-L1968). All multi-byte fields are little-endian.
//
// As in ggml, every product is rounded to float32 before it is added or
// subtracted: the explicit float32 conversions of products keep Go from
// fusing them into multiply-adds (which it does on arm64 and with
// GOAMD64=v3). The products of scales and quants are exact anyway (at most
// 22 significant bits) except Q6_K's, which are not added to anything, so
// only the final subtraction, or Q6_K's second multiply, rounds.

// Block byte sizes and field offsets.
const (
	blockQ2_K = 84 // scales[16] (low nibble: scale, high: min), qs[64], d, dmin
	q2KQs     = 16
	q2KD      = 80
	q2KDmin   = 82

	blockQ3_K  = 110 // hmask[32], qs[64], scales[12] (16 6-bit scales), d
	q3KQs      = 32
	q3KScales  = 96
	q3KD       = 108
	blockQ4_K  = 144 // d, dmin, scales[12] (8 6-bit scales, 8 6-bit mins), qs[128]
	q4KScales  = 4
	q4KQs      = 16
	blockQ5_K  = 176 // d, dmin, scales[12], qh[32], qs[128]
	q5KScales  = 4
	q5KQh      = 16
	q5KQs      = 48
	blockQ6_K  = 210 // ql[128], qh[64], scales[16] int8, d
	q6KQh      = 128
	q6KScales  = 192
	q6KD       = 208
	superBlock = 256
)

// Q2_K: 16 sub-blocks of 16 elements; sub-block s has the scale byte
// scales[s] (low nibble sc, high nibble m) and y = (d·sc)·q - dmin·m for a
// 2-bit q. Each 128-element half takes its quants from 32 bytes of qs, two
// bits at a time: bits 0-1 of qs[0..15] are sub-block 0, bits 0-1 of
// qs[16..31] sub-block 1, bits 2-3 of qs[0..15] sub-block 2, and so on.

func dequantQ2_KRef(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ2_K; i++ {
		x := src[i*blockQ2_K : (i+1)*blockQ2_K]
		y := dst[i*superBlock : (i+1)*superBlock]
		d := f16At(x, q2KD)
		dmin := f16At(x, q2KDmin)
		scales := x[:16]
		q := x[q2KQs:]
		is, k := 0, 0
		for n := 0; n < superBlock; n += 128 {
			shift := 0
			for range 4 {
				for half := range 2 {
					sc := scales[is]
					is++
					dl := d * float32(sc&0x0f)
					ml := float32(dmin * float32(sc>>4))
					for l := range 16 {
						y[k] = float32(dl*float32((q[l+16*half]>>shift)&3)) - ml
						k++
					}
				}
				shift += 2
			}
			q = q[32:]
		}
	}
}

func dequantQ2_K(dst []float32, src []byte) {
	for i := range len(src) / blockQ2_K {
		x := (*[blockQ2_K]byte)(src[i*blockQ2_K:])
		y := (*[superBlock]float32)(dst[i*superBlock:])
		d := halfToFloat32(uint16(x[q2KD]) | uint16(x[q2KD+1])<<8)
		dmin := halfToFloat32(uint16(x[q2KDmin]) | uint16(x[q2KDmin+1])<<8)
		for s := range 16 {
			sc := x[s]
			dl := d * float32(sc&0x0f)
			ml := float32(dmin * float32(sc>>4))
			var tab [4]float32
			for v := range tab {
				tab[v] = float32(dl*float32(v)) - ml
			}
			// Sub-block s: half s/8, bytes 16·(s%2) on, bit pair (s%8)/2.
			q := (*[16]byte)(x[q2KQs+32*(s/8)+16*(s%2):])
			shift := uint(2 * ((s % 8) / 2))
			o := (*[16]float32)(y[16*s:])
			for l := range 16 {
				o[l] = tab[(q[l]>>shift)&3]
			}
		}
	}
}

// Q3_K: 16 sub-blocks of 16 elements with signed 6-bit scales (stored
// biased by 32) and y = (d·(sc-32))·q for a 3-bit signed q in -4..3: the low
// two bits come from qs as in Q2_K, and 4 is subtracted when the element's
// bit in hmask is clear. Element l of a 128-element half uses hmask[l%32];
// the bit is (half·4 + the bit pair index).

func dequantQ3_KRef(dst []float32, src []byte) {
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	for i := 0; i < len(src)/blockQ3_K; i++ {
		x := src[i*blockQ3_K : (i+1)*blockQ3_K]
		y := dst[i*superBlock : (i+1)*superBlock]
		dAll := f16At(x, q3KD)

		// Unpack the 16 6-bit scales as ggml does, on three little-endian
		// words: the low nibbles of scales[0..7] are scales 0-7, their high
		// nibbles scales 8-15, and scales[8..11] hold the top two bits.
		var aux [4]uint32
		for w := range 3 {
			aux[w] = binary.LittleEndian.Uint32(x[q3KScales+4*w:])
		}
		tmp := aux[2]
		aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
		aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
		aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4)
		aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4)
		var scales [16]int8
		for s := range scales {
			scales[s] = int8(aux[s/4] >> (8 * (s % 4)))
		}

		q := x[q3KQs:]
		hm := x[:32]
		m := byte(1)
		is, k := 0, 0
		for n := 0; n < superBlock; n += 128 {
			shift := 0
			for range 4 {
				for half := range 2 {
					dl := dAll * float32(int(scales[is])-32)
					is++
					for l := range 16 {
						v := int(int8((q[l+16*half] >> shift) & 3))
						if hm[l+16*half]&m == 0 {
							v -= 4
						}
						y[k] = dl * float32(v)
						k++
					}
				}
				shift += 2
				m <<= 1
			}
			q = q[32:]
		}
	}
}

func dequantQ3_K(dst []float32, src []byte) {
	for i := range len(src) / blockQ3_K {
		x := (*[blockQ3_K]byte)(src[i*blockQ3_K:])
		y := (*[superBlock]float32)(dst[i*superBlock:])
		d := halfToFloat32(uint16(x[q3KD]) | uint16(x[q3KD+1])<<8)
		sb := (*[12]byte)(x[q3KScales:])
		for s := range 16 {
			// Scale s: low nibble from sb[s%8] (high nibble for s ≥ 8), top
			// two bits from sb[8+s%4] at bit 2·(s/4).
			lo := sb[s%8] >> (4 * (s / 8)) & 0x0f
			hi := sb[8+s%4] >> (2 * (s / 4)) & 3
			dl := d * float32(int(lo|hi<<4)-32)
			// Index: the two low bits, plus 4 when the hmask bit is set.
			var tab [8]float32
			for v := range tab {
				tab[v] = dl * float32(v-4)
			}
			q := (*[16]byte)(x[q3KQs+32*(s/8)+16*(s%2):])
			hm := (*[16]byte)(x[16*(s%2):])
			shift := uint(2 * ((s % 8) / 2))
			hbit := uint(4*(s/8) + (s%8)/2)
			o := (*[16]float32)(y[16*s:])
			for l := range 16 {
				o[l] = tab[((q[l]>>shift)&3|((hm[l]>>hbit)&1)<<2)&7]
			}
		}
	}
}

// getScaleMinK4 returns the 6-bit scale and min of sub-block j (0-7) of a
// Q4_K or Q5_K block from its 12 scale bytes: for j < 4 the low six bits of
// q[j] and q[j+4]; for j ≥ 4 the nibbles of q[j+4] topped with the high two
// bits of q[j-4] and q[j].
func getScaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0x0f | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// Q4_K: 8 sub-blocks of 32 elements, y = (d·sc)·q - dmin·m for a 4-bit q.
// Each 64 elements take 32 bytes of qs: the low nibbles are the first
// sub-block, the high nibbles the second.

func dequantQ4_KRef(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ4_K; i++ {
		x := src[i*blockQ4_K : (i+1)*blockQ4_K]
		y := dst[i*superBlock : (i+1)*superBlock]
		d := f16At(x, 0)
		dmin := f16At(x, 2)
		scales := x[q4KScales : q4KScales+12]
		q := x[q4KQs:]
		is, k := 0, 0
		for j := 0; j < superBlock; j += 64 {
			sc, m := getScaleMinK4(is, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = getScaleMinK4(is+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			for l := range 32 {
				y[k] = float32(d1*float32(q[l]&0x0f)) - m1
				k++
			}
			for l := range 32 {
				y[k] = float32(d2*float32(q[l]>>4)) - m2
				k++
			}
			q = q[32:]
			is += 2
		}
	}
}

// dequantQ4_K converts the nibbles through smallInts and unrolls by four.
func dequantQ4_K(dst []float32, src []byte) {
	ints := (*[16]float32)(smallInts[16:])
	for i := range len(src) / blockQ4_K {
		x := (*[blockQ4_K]byte)(src[i*blockQ4_K:])
		y := (*[superBlock]float32)(dst[i*superBlock:])
		d := halfToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		dmin := halfToFloat32(uint16(x[2]) | uint16(x[3])<<8)
		scales := x[q4KScales : q4KScales+12]
		for c := range 4 {
			sc, m := getScaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = getScaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			q := (*[32]byte)(x[q4KQs+32*c:])
			o := (*[64]float32)(y[64*c:])
			for l := 0; l < 32; l += 4 {
				b := (*[4]byte)(q[l:])
				o[l] = float32(d1*ints[b[0]&0x0f]) - m1
				o[l+1] = float32(d1*ints[b[1]&0x0f]) - m1
				o[l+2] = float32(d1*ints[b[2]&0x0f]) - m1
				o[l+3] = float32(d1*ints[b[3]&0x0f]) - m1
				o[l+32] = float32(d2*ints[b[0]>>4]) - m2
				o[l+33] = float32(d2*ints[b[1]>>4]) - m2
				o[l+34] = float32(d2*ints[b[2]>>4]) - m2
				o[l+35] = float32(d2*ints[b[3]>>4]) - m2
			}
		}
	}
}

// Q5_K: as Q4_K with a fifth bit: for the c-th 64 elements, element l of
// the first 32 adds 16 when bit 2c of qh[l] is set, element l of the second
// 32 when bit 2c+1 is.

func dequantQ5_KRef(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ5_K; i++ {
		x := src[i*blockQ5_K : (i+1)*blockQ5_K]
		y := dst[i*superBlock : (i+1)*superBlock]
		d := f16At(x, 0)
		dmin := f16At(x, 2)
		scales := x[q5KScales : q5KScales+12]
		ql := x[q5KQs:]
		qh := x[q5KQh : q5KQh+32]
		is, k := 0, 0
		u1, u2 := byte(1), byte(2)
		for j := 0; j < superBlock; j += 64 {
			sc, m := getScaleMinK4(is, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = getScaleMinK4(is+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			for l := range 32 {
				v := int(ql[l] & 0x0f)
				if qh[l]&u1 != 0 {
					v += 16
				}
				y[k] = float32(d1*float32(v)) - m1
				k++
			}
			for l := range 32 {
				v := int(ql[l] >> 4)
				if qh[l]&u2 != 0 {
					v += 16
				}
				y[k] = float32(d2*float32(v)) - m2
				k++
			}
			ql = ql[32:]
			is += 2
			u1 <<= 2
			u2 <<= 2
		}
	}
}

// dequantQ5_K builds eight 5-bit indexes at a time in a 64-bit word (the
// nibbles of eight qs bytes with the bits of eight qh bytes on top) and
// converts them through smallInts.
func dequantQ5_K(dst []float32, src []byte) {
	ints := (*[32]float32)(smallInts[16:])
	for i := range len(src) / blockQ5_K {
		x := (*[blockQ5_K]byte)(src[i*blockQ5_K:])
		y := (*[superBlock]float32)(dst[i*superBlock:])
		d := halfToFloat32(uint16(x[0]) | uint16(x[1])<<8)
		dmin := halfToFloat32(uint16(x[2]) | uint16(x[3])<<8)
		scales := x[q5KScales : q5KScales+12]
		qh := (*[32]byte)(x[q5KQh:])
		for c := range 4 {
			sc, m := getScaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), float32(dmin*float32(m))
			sc, m = getScaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), float32(dmin*float32(m))
			q := (*[32]byte)(x[q5KQs+32*c:])
			o := (*[64]float32)(y[64*c:])
			s := uint(2 * c)
			for l := 0; l < 32; l += 8 {
				w := binary.LittleEndian.Uint64(q[l:])
				h := binary.LittleEndian.Uint64(qh[l:]) >> s
				lo := w&0x0f0f0f0f0f0f0f0f | (h&0x0101010101010101)<<4
				hi := w>>4&0x0f0f0f0f0f0f0f0f | (h&0x0202020202020202)<<3
				a := (*[8]float32)(o[l:])
				b := (*[8]float32)(o[l+32:])
				a[0] = float32(d1*ints[lo&31]) - m1
				a[1] = float32(d1*ints[lo>>8&31]) - m1
				a[2] = float32(d1*ints[lo>>16&31]) - m1
				a[3] = float32(d1*ints[lo>>24&31]) - m1
				a[4] = float32(d1*ints[lo>>32&31]) - m1
				a[5] = float32(d1*ints[lo>>40&31]) - m1
				a[6] = float32(d1*ints[lo>>48&31]) - m1
				a[7] = float32(d1*ints[lo>>56&31]) - m1
				b[0] = float32(d2*ints[hi&31]) - m2
				b[1] = float32(d2*ints[hi>>8&31]) - m2
				b[2] = float32(d2*ints[hi>>16&31]) - m2
				b[3] = float32(d2*ints[hi>>24&31]) - m2
				b[4] = float32(d2*ints[hi>>32&31]) - m2
				b[5] = float32(d2*ints[hi>>40&31]) - m2
				b[6] = float32(d2*ints[hi>>48&31]) - m2
				b[7] = float32(d2*ints[hi>>56&31]) - m2
			}
		}
	}
}

// Q6_K: 16 sub-blocks of 16 elements with signed 8-bit scales, y =
// (d·sc)·(q-32) for a 6-bit q. Each 128-element half takes 64 bytes of ql
// (low nibbles), 32 of qh (two bits each) and 8 scales: element l (0-31)
// of its four 32-element quarters reads the low nibble of ql[l], the low
// nibble of ql[l+32], the high nibble of ql[l] and the high nibble of
// ql[l+32], with bits 0-1, 2-3, 4-5, 6-7 of qh[l] on top.

func dequantQ6_KRef(dst []float32, src []byte) {
	for i := 0; i < len(src)/blockQ6_K; i++ {
		x := src[i*blockQ6_K : (i+1)*blockQ6_K]
		y := dst[i*superBlock : (i+1)*superBlock]
		d := f16At(x, q6KD)
		ql := x[:128]
		qh := x[q6KQh : q6KQh+64]
		sc := x[q6KScales : q6KScales+16]
		for n := 0; n < superBlock; n += 128 {
			for l := range 32 {
				is := l / 16
				q1 := int8(ql[l]&0x0f|((qh[l]>>0)&3)<<4) - 32
				q2 := int8(ql[l+32]&0x0f|((qh[l]>>2)&3)<<4) - 32
				q3 := int8(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				q4 := int8(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
				y[l] = d * float32(int8(sc[is+0])) * float32(q1)
				y[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
			y = y[128:]
			ql = ql[64:]
			qh = qh[32:]
			sc = sc[8:]
		}
	}
}

// q6Values maps a 6-bit quant to float32(q-32).
var q6Values = func() (t [64]float32) {
	for q := range t {
		t[q] = float32(q - 32)
	}
	return t
}()

// dequantQ6_K builds the 6-bit quants of eight elements of each quarter
// at a time in 64-bit words (nibbles of ql, bit pairs of qh) and converts
// them through q6Values.
func dequantQ6_K(dst []float32, src []byte) {
	for i := range len(src) / blockQ6_K {
		x := (*[blockQ6_K]byte)(src[i*blockQ6_K:])
		y := (*[superBlock]float32)(dst[i*superBlock:])
		d := halfToFloat32(uint16(x[q6KD]) | uint16(x[q6KD+1])<<8)
		for n := range 2 {
			ql := (*[64]byte)(x[64*n:])
			qh := (*[32]byte)(x[q6KQh+32*n:])
			sc := (*[8]byte)(x[q6KScales+8*n:])
			o := (*[128]float32)(y[128*n:])
			for g := range 2 {
				s0 := d * float32(int8(sc[g+0]))
				s1 := d * float32(int8(sc[g+2]))
				s2 := d * float32(int8(sc[g+4]))
				s3 := d * float32(int8(sc[g+6]))
				for l := 16 * g; l < 16*g+16; l += 8 {
					a := binary.LittleEndian.Uint64(ql[l:])
					b := binary.LittleEndian.Uint64(ql[l+32:])
					h := binary.LittleEndian.Uint64(qh[l:])
					const m4, m2 = 0x0f0f0f0f0f0f0f0f, 0x0303030303030303
					v0 := a&m4 | (h&m2)<<4
					v1 := b&m4 | (h>>2&m2)<<4
					v2 := a>>4&m4 | (h>>4&m2)<<4
					v3 := b>>4&m4 | (h>>6&m2)<<4
					for k := range 8 {
						sh := uint(8 * k)
						o[l+k] = s0 * q6Values[v0>>sh&63]
						o[l+k+32] = s1 * q6Values[v1>>sh&63]
						o[l+k+64] = s2 * q6Values[v2>>sh&63]
						o[l+k+96] = s3 * q6Values[v3>>sh&63]
					}
				}
			}
		}
	}
}

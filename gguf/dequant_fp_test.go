package gguf_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// le32s and le64s encode values as consecutive little-endian words.
func le32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func le64s(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

func le16s(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func fpCases() []knownCase {
	return []knownCase{
		{
			name: "values, signed zero, sNaN kept",
			typ:  gguf.TypeF32,
			// 1.5 = 0x3fc00000, -0, a signalling NaN, the smallest subnormal.
			src:  le32s(0x3fc00000, 0x80000000, 0x7f800001, 0x00000001),
			want: []float32{1.5, negZero, bits(0x7f800001), bits(0x00000001)},
		},
		{
			name: "normals, subnormals, Inf, NaN",
			typ:  gguf.TypeF16,
			src: le16s(
				0x3c00, // 1
				0xc000, // -2
				0x3555, // (1+341/1024)·2⁻² = 1365/4096 = 0.333251953125
				0x7bff, // (1+1023/1024)·2¹⁵ = 65504, the largest half
				0x0400, // 2⁻¹⁴, the smallest normal half
				0x0001, // 2⁻²⁴, the smallest subnormal
				0x03ff, // 1023·2⁻²⁴, the largest subnormal
				0x8001, // -2⁻²⁴
				0x8000, // -0
				0x7c00, // +Inf
				0xfc00, // -Inf
				0x7e00, // quiet NaN → 0x7fc00000
				0x7c01, // signalling NaN, payload 1 → payload<<13, quieted: 0x7fc02000
				0xfe01, // negative quiet NaN, payload 0x201 → 0xffc00000|0x201<<13 = 0xffc02000
			),
			want: []float32{1, -2, 0.333251953125, 65504, 0x1p-14, 0x1p-24, 1023 * 0x1p-24, -0x1p-24, negZero,
				float32(math.Inf(1)), float32(math.Inf(-1)), bits(0x7fc00000), bits(0x7fc02000), bits(0xffc02000)},
		},
		{
			name: "upper half of float32",
			typ:  gguf.TypeBF16,
			// 0x3f80 → 0x3f800000 = 1; 0xc040 → -3; 0x7f80 → +Inf;
			// 0x7f81 → the signalling NaN 0x7f810000, kept; 0x0001 →
			// the subnormal 0x00010000 = 2⁻¹³³; 0x8000 → -0.
			src:  le16s(0x3f80, 0xc040, 0x7f80, 0x7f81, 0x0001, 0x8000),
			want: []float32{1, -3, float32(math.Inf(1)), bits(0x7f810000), 0x1p-133, negZero},
		},
		{
			name: "rounded to float32",
			typ:  gguf.TypeF64,
			src: le64s(
				math.Float64bits(1.5),
				math.Float64bits(0.1),        // nearest float32 is 0x3dcccccd
				math.Float64bits(1e300),      // beyond float32: +Inf
				math.Float64bits(0x1p-1074),  // below float32's subnormals: 0
				math.Float64bits(1+0x1p-24),  // halfway between 1 and 1+2⁻²³: even → 1
				math.Float64bits(-1-0x1p-23), // exact
			),
			want: []float32{1.5, bits(0x3dcccccd), float32(math.Inf(1)), 0, 1, -1 - 0x1p-23},
		},
		{
			name: "signed bytes",
			typ:  gguf.TypeI8,
			src:  []byte{0x80, 0x7f, 0xff, 0x00},
			want: []float32{-128, 127, -1, 0},
		},
		{
			name: "signed halfwords",
			typ:  gguf.TypeI16,
			src:  le16s(0x8000, 0x7fff, 0xffff),
			want: []float32{-32768, 32767, -1},
		},
		{
			name: "signed words, rounded",
			typ:  gguf.TypeI32,
			// 2³¹-1 rounds to 2³¹; 2²⁴+1 is a tie between 2²⁴ and 2²⁴+2: even
			// → 2²⁴; -2³¹ is exact.
			src:  le32s(0x7fffffff, 0x01000001, 0x80000000, 0xfffffffd),
			want: []float32{2147483648, 16777216, -2147483648, -3},
		},
		{
			name: "scale 1, every nibble",
			typ:  gguf.TypeMXFP4,
			// e = 127: the scale is 2⁰ = 1, ggml's "half" scale 2⁻¹ = 0.5
			// times the doubled table, i.e. the E2M1 values themselves:
			// nibble 0-7 → 0, .5, 1, 1.5, 2, 3, 4, 6; 8-15 → 0 (kvalue 0,
			// so +0), -.5, -1, -1.5, -2, -3, -4, -6. qs[j] = j | (15-j)<<4.
			src: join([]byte{127}, []byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
				0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}),
			want: fseq(
				[]float32{0, .5, 1, 1.5, 2, 3, 4, 6, 0, -.5, -1, -1.5, -2, -3, -4, -6},
				[]float32{-6, -4, -3, -2, -1.5, -1, -.5, 0, 6, 4, 3, 2, 1.5, 1, .5, 0},
			),
		},
		{
			name: "subnormal and huge scales",
			typ:  gguf.TypeMXFP4,
			src: join(
				// e = 0: 2^(0-128) = 2⁻¹²⁸ (subnormal 0x00200000). qs[0] =
				// 0x71: y0 = 1·2⁻¹²⁸, y16 = 12·2⁻¹²⁸; the rest 0.
				[]byte{0, 0x71}, fill(15, 0),
				// e = 1: 2⁻¹²⁷. qs[0] = 0xf9: y0 = -1·2⁻¹²⁷, y16 = -12·2⁻¹²⁷.
				[]byte{1, 0xf9}, fill(15, 0),
				// e = 255 (NaN in the OCP spec, but not to ggml): 2¹²⁷.
				// qs[0] = 0x71: y0 = 2¹²⁷, y16 = 12·2¹²⁷ → +Inf; qs[1] = 0xf8:
				// y1 = 0·2¹²⁷ = 0, y17 = -12·2¹²⁷ → -Inf.
				[]byte{255, 0x71, 0xf8}, fill(14, 0),
			),
			want: fseq(
				at(seg(0, 32), 0, 0x1p-128, 16, 12*0x1p-128),
				at(seg(0, 32), 0, -0x1p-127, 16, -12*0x1p-127),
				at(seg(0, 32), 0, 0x1p127, 16, math.Inf(1), 17, math.Inf(-1)),
			),
		},
	}
}

// TestDequantizeF16Exhaustive checks every half against its value computed
// in float64 from the IEEE 754 binary16 fields.
func TestDequantizeF16Exhaustive(t *testing.T) {
	src := make([]byte, 2<<16)
	for h := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*h:], uint16(h))
	}
	for _, d := range decoders {
		got := make([]float32, 1<<16)
		if err := d.f(gguf.TypeF16, got, src); err != nil {
			t.Fatalf("%s(F16) = %v", d.name, err)
		}
		for h := range 1 << 16 {
			sign, exp, mant := h>>15, (h>>10)&31, h&1023
			var want uint32
			switch {
			case exp == 31 && mant != 0:
				// NaN: sign and payload kept, quiet bit set.
				want = uint32(sign)<<31 | 0x7fc00000 | uint32(mant)<<13
			case exp == 31:
				want = math.Float32bits(float32(math.Copysign(math.Inf(1), float64(-2*sign+1))))
			case exp == 0:
				want = math.Float32bits(float32(math.Copysign(math.Ldexp(float64(mant), -24), float64(-2*sign+1))))
			default:
				want = math.Float32bits(float32(math.Copysign(math.Ldexp(1+float64(mant)/1024, exp-15), float64(-2*sign+1))))
			}
			if g := math.Float32bits(got[h]); g != want {
				t.Fatalf("%s(F16, %#04x) = %v (%#08x), want %#08x", d.name, h, got[h], g, want)
			}
		}
	}
}

// TestDequantizeMXFP4Scales checks every E8M0 scale byte e: with the nibble
// 1 (E2M1 0.5, doubled 1 in ggml's table) the element is 0.5·2^(e-127) =
// 2^(e-128), subnormal for e < 2, and e = 255 is 2¹²⁷, not NaN.
func TestDequantizeMXFP4Scales(t *testing.T) {
	src := make([]byte, 256*17)
	for e := range 256 {
		src[17*e] = byte(e)
		src[17*e+1] = 0x01
	}
	for _, d := range decoders {
		got := make([]float32, 256*32)
		if err := d.f(gguf.TypeMXFP4, got, src); err != nil {
			t.Fatalf("%s(MXFP4) = %v", d.name, err)
		}
		for e := range 256 {
			if want := float32(math.Ldexp(1, e-128)); got[32*e] != want {
				t.Errorf("%s(MXFP4), e = %d: element 0 = %v, want %v", d.name, e, got[32*e], want)
			}
		}
	}
}

// Dequantize's F16 row reads four halves a word and converts a word of
// normal values without a branch each: every half, in every lane of a
// word of normal values and in a word of its own, converts exactly as
// DequantizeRef converts it.
func TestF16EveryHalfInEveryLane(t *testing.T) {
	const words = 5 // h in lane 0, 1, 2, 3, then in all four
	src := make([]byte, 0, 1<<16*words*8+2)
	for h := range 1 << 16 {
		for k := range words {
			for lane := range 4 {
				v := uint16(0x3c00 + lane) // normal neighbours
				if k == lane || k == 4 {
					v = uint16(h)
				}
				src = binary.LittleEndian.AppendUint16(src, v)
			}
		}
	}
	src = binary.LittleEndian.AppendUint16(src, 0x7e01) // a tail value past the last word
	fast, ref := make([]float32, len(src)/2), make([]float32, len(src)/2)
	if err := gguf.Dequantize(gguf.TypeF16, fast, src); err != nil {
		t.Fatal(err)
	}
	if err := gguf.DequantizeRef(gguf.TypeF16, ref, src); err != nil {
		t.Fatal(err)
	}
	for i := range fast {
		if math.Float32bits(fast[i]) != math.Float32bits(ref[i]) {
			t.Fatalf("half %#04x (element %d): Dequantize %#08x, DequantizeRef %#08x",
				binary.LittleEndian.Uint16(src[2*i:]), i, math.Float32bits(fast[i]), math.Float32bits(ref[i]))
		}
	}
}

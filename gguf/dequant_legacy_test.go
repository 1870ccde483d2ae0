package gguf_test

import (
	"math"

	"github.com/weightaudit/weightaudit/gguf"
)

func legacyCases() []knownCase {
	inf := math.Inf(1)
	return []knownCase{
		// Q8_0: f16 d, then 32 signed bytes; y = q·d.
		{
			name: "d=0.5",
			typ:  gguf.TypeQ8_0,
			src: join(le16(f16Half),
				[]byte{0x80, 0x81, 0xff, 0x00, 0x01, 0x02, 0x7f, 0x40}, // -128, -127, -1, 0, 1, 2, 127, 64
				fill(24, 0)),
			want: fseq([]float32{-64, -63.5, -0.5, 0, 0.5, 1, 63.5, 32}, seg(0, 24)),
		},
		{
			name: "negative scale d=-2, signed zero",
			typ:  gguf.TypeQ8_0,
			// q = 1 → -2; -1 → 2; 0 → 0·-2 = -0; -128 → 256.
			src:  join(le16(f16MinusTwo), []byte{0x01, 0xff, 0x00, 0x80}, fill(28, 0x00)),
			want: fseq([]float32{-2, 2, negZero, 256}, seg(negZero, 28)),
		},
		{
			name: "subnormal d=2^-24",
			typ:  gguf.TypeQ8_0,
			src:  join(le16(f16Tiny), []byte{0x7f, 0x80}, fill(30, 0x01)),
			want: fseq([]float32{127 * 0x1p-24, -0x1p-17}, seg(0x1p-24, 30)),
		},
		{
			name: "infinite d",
			typ:  gguf.TypeQ8_0,
			// 1·Inf = Inf, -1·Inf = -Inf, 0·Inf = NaN.
			src:  join(le16(f16Inf), []byte{0x01, 0xff}, fill(30, 0x00)),
			want: fseq([]float32{float32(inf), float32(-inf)}, seg(anyNaN, 30)),
		},
		{
			name: "NaN d propagates",
			typ:  gguf.TypeQ8_0,
			// The signalling NaN scale becomes the quiet 0x7fc02000, and
			// q·NaN is that NaN for every q (0 and negative ones included).
			src: join(le16(f16SNaN), []byte{0x00, 0x01, 0xff, 0x80}, fill(28, 0x05),
				// Second block: negative quiet NaN 0xfe00 → 0xffc00000.
				le16(0xfe00), fill(32, 0x03)),
			want: fseq(seg(bits(0x7fc02000), 32), seg(bits(0xffc00000), 32)),
		},

		// Q4_0: f16 d, 16 bytes; element j is the low nibble of qs[j],
		// element j+16 the high nibble; y = (q-8)·d.
		{
			name: "two blocks, every nibble extreme",
			typ:  gguf.TypeQ4_0,
			src: join(
				// d = 2. qs[0] = 0x80: y0 = (0-8)·2 = -16, y16 = (8-8)·2 = 0.
				// qs[1] = 0x0f: y1 = 14, y17 = -16. qs[2] = 0xf0: y2 = -16,
				// y18 = 14. qs[3] = 0x79: y3 = (9-8)·2 = 2, y19 = (7-8)·2 = -2.
				// qs[4..15] = 0x88: 0.
				le16(f16Two), []byte{0x80, 0x0f, 0xf0, 0x79}, fill(12, 0x88),
				// d = -1, qs all 0: (0-8)·-1 = 8.
				le16(f16MinusOne), fill(16, 0x00),
			),
			want: fseq(
				[]float32{-16, 14, -16, 2}, seg(0, 12), []float32{0, -16, 14, -2}, seg(0, 12),
				seg(8, 32),
			),
		},
		{
			name: "zero scale keeps signs",
			typ:  gguf.TypeQ4_0,
			// d = +0, qs = 0x0f: low 15 → 7·0 = +0, high 0 → -8·0 = -0.
			src:  join(le16(0x0000), fill(16, 0x0f)),
			want: fseq(seg(0, 16), seg(negZero, 16)),
		},

		// Q4_1: f16 d, f16 m, 16 bytes; y = q·d + m.
		{
			name: "d=0.5 m=-1",
			typ:  gguf.TypeQ4_1,
			// qs[0] = 0xf0: y0 = 0·.5-1 = -1, y16 = 15·.5-1 = 6.5. qs[1] =
			// 0x21: y1 = .5-1 = -.5, y17 = 2·.5-1 = 0. The rest 0: -1.
			src:  join(le16(f16Half), le16(f16MinusOne), []byte{0xf0, 0x21}, fill(14, 0)),
			want: fseq([]float32{-1, -0.5}, seg(-1, 14), []float32{6.5, 0}, seg(-1, 14)),
		},
		{
			name: "infinite offset",
			typ:  gguf.TypeQ4_1,
			// d = 1, m = Inf: q + Inf = Inf. Second block d = Inf, m = -Inf:
			// 0·Inf = NaN and Inf-Inf = NaN.
			src: join(le16(f16One), le16(f16Inf), fill(16, 0x5a),
				le16(f16Inf), le16(f16NegInf), fill(16, 0x10)),
			want: fseq(seg(float32(inf), 32), seg(anyNaN, 32)),
		},

		// Q5_0: f16 d, 4 bytes qh (little-endian uint32), 16 bytes qs; the
		// fifth bit of element j is bit j of qh; y = (q-16)·d.
		{
			name: "high bits",
			typ:  gguf.TypeQ5_0,
			// d = 1, qh = 0x80010001: bits 0, 16, 31 → elements 0, 16, 31.
			// qs[0] = 0x00: y0 = (0|16)-16 = 0, y16 = 0. qs[1] = 0xff, no
			// high bits: y1 = y17 = 15-16 = -1. qs[15] = 0xf0: y15 = 0-16 =
			// -16, y31 = (15|16)-16 = 15. Others 0 → -16.
			src: join(le16(f16One), []byte{0x01, 0x00, 0x01, 0x80},
				[]byte{0x00, 0xff}, fill(13, 0x00), []byte{0xf0}),
			want: fseq([]float32{0, -1}, seg(-16, 14), []float32{0, -1}, seg(-16, 13), []float32{15}),
		},

		// Q5_1: f16 d, f16 m, 4 bytes qh, 16 bytes qs; y = q·d + m.
		{
			name: "all high bits",
			typ:  gguf.TypeQ5_1,
			// d = .25, m = 10, qh = 0xffffffff. qs[0] = 0x0f: y0 =
			// (15|16)·.25+10 = 17.75, y16 = (0|16)·.25+10 = 14. qs[1..15] =
			// 0xf0: y1..15 = 14, y17..31 = 17.75.
			src:  join(le16(f16Quarter), le16(f16Ten), fill(4, 0xff), []byte{0x0f}, fill(15, 0xf0)),
			want: fseq([]float32{17.75}, seg(14, 15), []float32{14}, seg(17.75, 15)),
		},
	}
}

package gguf_test

import "github.com/weightaudit/weightaudit/gguf"

// kvaluesIQ4NLHalf is kvalues_iq4nl (-127, -104, -83, -65, -49, -35, -22,
// -10, 1, 13, 25, 38, 53, 69, 89, 113) times 0.5.
var kvaluesIQ4NLHalf = []float32{-63.5, -52, -41.5, -32.5, -24.5, -17.5, -11, -5, 0.5, 6.5, 12.5, 19, 26.5, 34.5, 44.5, 56.5}

func iqCases() []knownCase {
	rev := make([]float32, 16)
	for i, v := range kvaluesIQ4NLHalf {
		rev[15-i] = v
	}
	return []knownCase{
		{
			name: "every table entry",
			typ:  gguf.TypeIQ4_NL,
			// d = 0.5; qs[j] = j | (15-j)<<4: y[j] = .5·kvalues[j],
			// y[j+16] = .5·kvalues[15-j].
			src: join(le16(f16Half), []byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
				0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}),
			want: fseq(kvaluesIQ4NLHalf, rev),
		},
		{
			name: "negative scale",
			typ:  gguf.TypeIQ4_NL,
			// d = -1; qs all 0x70: low 0 → 127, high 7 → 10.
			src:  join(le16(f16MinusOne), fill(16, 0x70)),
			want: fseq(seg(127, 16), seg(10, 16)),
		},
		{
			name: "sub-block scales",
			typ:  gguf.TypeIQ4_XS,
			// d = 0.5; scales_h (LE uint16) then scales_l[4], qs[128].
			// Sub-block scales ls = 32, 33, 0, 63, 31, 40, 34, 32: low
			// nibbles 0, 1, 0, 15, 15, 8, 2, 0 → scales_l = 0x10, 0xf0,
			// 0x8f, 0x02; high bit pairs 2, 2, 0, 3, 1, 2, 2, 2 →
			// scales_h = 2 | 2<<2 | 0<<4 | 3<<6 | 1<<8 | 2<<10 | 2<<12 |
			// 2<<14 = 0xa9ca. dl = .5·(ls-32) = 0, .5, -16, 15.5, -.5, 4,
			// 1, 0. qs all 0x88: kvalues[8] = 1, so y = dl, except: sub-block
			// 2 byte 0 (offset 8+32) = 0xf0: y64 = -16·-127 = 2032, y80 =
			// -16·113 = -1808; sub-block 3 byte 15 (offset 8+48+15) = 0x7f:
			// y111 = 15.5·113 = 1751.5, y127 = 15.5·-10 = -155.
			src: patch(join(le16(f16Half), le16(0xa9ca), []byte{0x10, 0xf0, 0x8f, 0x02}, fill(128, 0x88)),
				40, 0xf0, 71, 0x7f),
			want: at(fseq(seg(0, 32), seg(0.5, 32), seg(-16, 32), seg(15.5, 32),
				seg(-0.5, 32), seg(4, 32), seg(1, 32), seg(0, 32)),
				64, 2032, 80, -1808, 111, 1751.5, 127, -155),
		},
	}
}

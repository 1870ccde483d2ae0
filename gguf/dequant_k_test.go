package gguf_test

import "github.com/weightaudit/weightaudit/gguf"

func kCases() []knownCase {
	return []knownCase{
		{
			name: "scales, mins, 2-bit planes",
			typ:  gguf.TypeQ2_K,
			// Layout: scales[16] at 0 (low nibble sc, high nibble m), qs[64]
			// at 16, d at 80, dmin at 82; y = (d·sc)·q - dmin·m. d = 1,
			// dmin = .5. Sub-block s (elements 16s..16s+15) reads bit pair
			// (s%8)/2 of qs[32·(s/8) + 16·(s%2) + l].
			//   scales[0] = 0x21: dl 1, ml 1. scales[1] = 0x0f: dl 15, ml 0.
			//   scales[15] = 0xf2: dl 2, ml 7.5. Others 0x01: dl 1, ml 0.
			//   qs[0] = 0xe4 (pairs 00 01 10 11 from bit 0): element 0 of
			//   sub-blocks 0, 2, 4, 6 gets q = 0, 1, 2, 3.
			//   qs[16] = 0x03: element 16 (sub-block 1, l 0) gets q = 3.
			//   qs[63] = 0xc0: bits 6-7 of the last byte of half 1, odd:
			//   sub-block 15, l 15 (element 255) gets q = 3.
			// So: 0..15 → 0·1-1 = -1; 16 → 15·3 = 45, 17..31 → 0; 32 → 1;
			// 64 → 2; 96 → 3; other elements of sub-blocks 1-14 → 0;
			// 240..254 → 2·0-7.5 = -7.5; 255 → 2·3-7.5 = -1.5.
			src: join(
				patch(fill(16, 0x01), 0, 0x21, 1, 0x0f, 15, 0xf2),
				patch(fill(64, 0x00), 0, 0xe4, 16, 0x03, 63, 0xc0),
				le16(f16One), le16(f16Half),
			),
			want: at(fseq(seg(-1, 16), seg(0, 224), seg(-7.5, 16)),
				16, 45, 32, 1, 64, 2, 96, 3, 255, -1.5),
		},
		{
			name: "negative scales, max quants",
			typ:  gguf.TypeQ2_K,
			// scales all 0xff (sc 15, m 15), qs all 0xff (q 3), d = dmin =
			// -1: (-1·15)·3 - (-1·15) = -45 + 15 = -30.
			src:  join(fill(16, 0xff), fill(64, 0xff), le16(f16MinusOne), le16(f16MinusOne)),
			want: seg(-30, 256),
		},
		{
			name: "6-bit scales, high-bit mask",
			typ:  gguf.TypeQ3_K,
			// Layout: hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at
			// 108; y = (d·(s-32))·q with q = (2 bits) - (4 if the hmask bit
			// is clear). d = .5. Scales s = 33 (→ dl .5) except s0 = 0
			// (dl -16), s5 = 63 (dl 15.5), s10 = 32 (dl 0), s15 = 48 (dl 8).
			// Scale bytes: [k] (k < 8) = low nibble of s_k | low nibble of
			// s_{k+8} << 4; [8+k] (k < 4) = top bits of s_k, s_{k+4},
			// s_{k+8}, s_{k+12} at bits 0, 2, 4, 6:
			//   0x10 0x11 0x01 0x11 0x11 0x1f 0x11 0x01
			//   0xa8 (0,2,2,2) 0xae (2,3,2,2) 0xaa (2,2,2,2) 0xea (2,2,2,3)
			// qs all 0x55 (pairs 01) and hmask all 0xff: q = 1, y = dl.
			// Exceptions (sub-block s reads bit pair (s%8)/2 of
			// qs[32·(s/8) + 16·(s%2) + l] and bit 4·(s/8) + (s%8)/2 of
			// hmask[16·(s%2) + l]):
			//   hmask[0] = 0xfe: element 0: q = 1-4 = -3 → -16·-3 = 48.
			//   s5, l 3 (element 83): qs[19] = 0x75 (pair 2 = 11) and
			//   hmask[19] = 0xfb (bit 2 clear): q = 3-4 = -1 → -15.5.
			//   s15, l 15 (element 255): qs[63] = 0x15 (pair 3 = 00) and
			//   hmask[31] = 0x7f: q = -4 → 8·-4 = -32.
			src: join(
				patch(fill(32, 0xff), 0, 0xfe, 19, 0xfb, 31, 0x7f),
				patch(fill(64, 0x55), 19, 0x75, 63, 0x15),
				[]byte{0x10, 0x11, 0x01, 0x11, 0x11, 0x1f, 0x11, 0x01, 0xa8, 0xae, 0xaa, 0xea},
				le16(f16Half),
			),
			want: at(fseq(seg(-16, 16), seg(0.5, 64), seg(15.5, 16), seg(0.5, 64), seg(0, 16), seg(0.5, 64), seg(8, 16)),
				0, 48, 83, -15.5, 255, -32),
		},
		{
			name: "6-bit scales and mins",
			typ:  gguf.TypeQ4_K,
			// Layout: d at 0, dmin at 2, scales[12] at 4, qs[128] at 16; y =
			// (d·sc)·q - dmin·m. d = .5, dmin = .25. sc = 1, 2, 0, 63, 4,
			// 5, 63, 33 and m = 0, 4, 8, 1, 2, 63, 0, 32, packed: bytes 0-3
			// hold sc0-3 in bits 0-5 and the top bits of sc4-7 in bits 6-7;
			// bytes 4-7 the same for the mins; bytes 8-11 the low nibbles of
			// sc4-7 (low) and m4-7 (high):
			//   0x01 0x02 0xc0 (0|3<<6) 0xbf (63|2<<6)
			//   0x00 0xc4 (4|3<<6) 0x08 0x81 (1|2<<6)
			//   0x24 0xf5 0x0f 0x01
			// d1 = .5·sc = .5, 1, 0, 31.5, 2, 2.5, 31.5, 16.5; m1 = .25·m =
			// 0, 1, 2, .25, .5, 15.75, 0, 8. Chunk c (qs[32c..32c+31]): low
			// nibbles are sub-block 2c, high nibbles 2c+1. qs all 0x21 (low
			// 1, high 2), so even sub-blocks give d1-m1 and odd 2·d1-m1:
			//   .5, 1, -2, 62.75, 1.5, -10.75, 31.5, 25
			// Exceptions: qs[0] = 0xf0: y0 = 0, y32 = 15-1 = 14. qs[63] =
			// 0x0f: y95 = 0·15-2 = -2, y127 = 31.5·0-.25 = -.25. qs[101] =
			// 0xff: y197 = 31.5·15 = 472.5, y229 = 16.5·15-8 = 239.5.
			src: join(
				le16(f16Half), le16(f16Quarter),
				[]byte{0x01, 0x02, 0xc0, 0xbf, 0x00, 0xc4, 0x08, 0x81, 0x24, 0xf5, 0x0f, 0x01},
				patch(fill(128, 0x21), 0, 0xf0, 63, 0x0f, 101, 0xff),
			),
			want: at(fseq(seg(0.5, 32), seg(1, 32), seg(-2, 32), seg(62.75, 32),
				seg(1.5, 32), seg(-10.75, 32), seg(31.5, 32), seg(25, 32)),
				0, 0, 32, 14, 95, -2, 127, -0.25, 197, 472.5, 229, 239.5),
		},
		{
			name: "NaN dmin propagates",
			typ:  gguf.TypeQ4_K,
			// d = -1, dmin = NaN, scales all 0: (−1·0)·q − NaN·0 = NaN.
			src:  join(le16(f16MinusOne), le16(f16QNaN), fill(12, 0), fill(128, 0x5a)),
			want: seg(anyNaN, 256),
		},
		{
			name: "fifth bit",
			typ:  gguf.TypeQ5_K,
			// Layout: d at 0, dmin at 2, scales[12] at 4, qh[32] at 16,
			// qs[128] at 48. d = dmin = 1; sc = j+1, m = j (all < 16, no top
			// bits): 01 02 03 04 | 00 01 02 03 | 0x45 0x56 0x67 0x78. qs and
			// qh all 0: sub-block j gives 0-j (+0 for j = 0). For chunk c,
			// element l of the low half adds 16 if bit 2c of qh[l] is set,
			// of the high half if bit 2c+1 is.
			//   qh[0] = 0x81: y0 = 1·16-0 = 16; bit 7 (chunk 3, high):
			//   y224 = 8·16-7 = 121.
			//   qs[74] = 0xf0 (chunk 2, l 10) and qh[10] = 0x20 (bit 5):
			//   y138 = 5·0-4 = -4 (unchanged), y170 = 6·31-5 = 181.
			//   qh[31] = 0x04 (bit 2, chunk 1 low, l 31): y95 = 3·16-2 = 46.
			src: join(
				le16(f16One), le16(f16One),
				[]byte{0x01, 0x02, 0x03, 0x04, 0x00, 0x01, 0x02, 0x03, 0x45, 0x56, 0x67, 0x78},
				patch(fill(32, 0x00), 0, 0x81, 10, 0x20, 31, 0x04),
				patch(fill(128, 0x00), 74, 0xf0),
			),
			want: at(fseq(seg(0, 32), seg(-1, 32), seg(-2, 32), seg(-3, 32),
				seg(-4, 32), seg(-5, 32), seg(-6, 32), seg(-7, 32)),
				0, 16, 224, 121, 170, 181, 95, 46),
		},
		{
			name: "signed 8-bit scales",
			typ:  gguf.TypeQ6_K,
			// Layout: ql[128] at 0, qh[64] at 128, scales[16] (int8) at
			// 192, d at 208; y = (d·sc)·(q-32). Element e of half n
			// (elements 128n..) has quarter k = e/32 and l = e%32; its low
			// nibble is ql[64n+l] (k 0), ql[64n+l+32] (k 1), their high
			// nibbles (k 2, 3); its top two bits are bits 2k, 2k+1 of
			// qh[32n+l]; its scale sc[8n + l/16 + 2k], so sub-block s is
			// elements 16s..16s+15.
			// d = .5; sc = 1 except sc0 = -1, sc5 = 127, sc10 = -128, sc15 =
			// 0. ql all 0x11, qh all 0xaa: q = 1|2<<4 = 33, q-32 = 1, so y =
			// .5·sc: -.5, .5 ×4, 63.5, .5 ×4, -64, .5 ×4, 0.
			//   ql[0] = 0x1f, qh[0] = 0xab: element 0 q = 15|3<<4 = 63 →
			//   -.5·31 = -15.5.
			//   ql[19] = 0x01, qh[19] = 0x8a: element 83 (k 2, l 19) q = 0 →
			//   63.5·-32 = -2032.
			//   ql[103] = 0x1f, qh[39] = 0xae: element 167 (n 1, k 1, l 7) q
			//   = 63 → -64·31 = -1984.
			//   ql[111] = 0xf1, qh[47] = 0xea: element 239 (n 1, k 3, l 15)
			//   q = 63 → .5·31 = 15.5.
			src: join(
				patch(fill(128, 0x11), 0, 0x1f, 19, 0x01, 103, 0x1f, 111, 0xf1),
				patch(fill(64, 0xaa), 0, 0xab, 19, 0x8a, 39, 0xae, 47, 0xea),
				patch(fill(16, 0x01), 0, 0xff, 5, 0x7f, 10, 0x80, 15, 0x00),
				le16(f16Half),
			),
			want: at(fseq(seg(-0.5, 16), seg(0.5, 64), seg(63.5, 16), seg(0.5, 64),
				seg(-64, 16), seg(0.5, 64), seg(0, 16)),
				0, -15.5, 83, -2032, 167, -1984, 239, 15.5),
		},
	}
}

//go:build amd64 && !purego

#include "textflag.h"

// AVX2 kernels of dequant_amd64.go: eight float32 results a YMM register.
// The K-quant and Q8_0 kernels compute each block's float32 scales in
// registers, exactly as the references do (F16C's conversion of the f16
// scales, exact products), and then, per element, the references'
// arithmetic in the same order: an exact integer-to-float
// conversion, a multiply and, for Q4_K and Q5_K, a subtraction, each
// rounded (no fused multiply-add).

DATA ·mask0f<>+0(SB)/4, $0x0f
GLOBL ·mask0f<>(SB), RODATA|NOPTR, $4
DATA ·one<>+0(SB)/4, $1
GLOBL ·one<>(SB), RODATA|NOPTR, $4
DATA ·sixteen<>+0(SB)/4, $16
GLOBL ·sixteen<>(SB), RODATA|NOPTR, $4

// func q8_0AVX2(dst *float32, src *byte, blocks int)
// Block b (34 bytes: its f16 scale d, then 32 int8 quants) gives
// y = float32(q)·d, d converted by F16C as the F16 kernel converts.
TEXT ·q8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  blocks+16(FP), CX
	TESTQ CX, CX
	JZ    q8done
q8loop:
	VPBROADCASTW (SI), X0
	VCVTPH2PS    X0, Y0
	VPMOVSXBD    2(SI), Y1
	VPMOVSXBD    10(SI), Y2
	VPMOVSXBD    18(SI), Y3
	VPMOVSXBD    26(SI), Y4
	VCVTDQ2PS    Y1, Y1
	VCVTDQ2PS    Y2, Y2
	VCVTDQ2PS    Y3, Y3
	VCVTDQ2PS    Y4, Y4
	VMULPS       Y0, Y1, Y1
	VMULPS       Y0, Y2, Y2
	VMULPS       Y0, Y3, Y3
	VMULPS       Y0, Y4, Y4
	VMOVUPS      Y1, (DI)
	VMOVUPS      Y2, 32(DI)
	VMOVUPS      Y3, 64(DI)
	VMOVUPS      Y4, 96(DI)
	ADDQ         $34, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          q8loop
q8done:
	VZEROUPPER
	RET

// KSCALES computes a Q4_K or Q5_K block's scales at 0(SI) in registers, as
// the references do: Y12 = d·sc[j] and Y13 = dmin·m[j] for j = 0..7, the
// 6-bit sc and m unpacked from the 12 bytes at 4(SI) (getScaleMinK4) four
// at a time in general registers; Y14 = 0, the lane KPICK broadcasts next.
// Each product is exact (11 by 6 significant bits), as in the references.
#define KSCALES \
	VPBROADCASTW (SI), X2 \
	VCVTPH2PS    X2, Y2 \
	VPBROADCASTW 2(SI), X3 \
	VCVTPH2PS    X3, Y3 \
	MOVL         4(SI), AX \
	MOVL         8(SI), BX \
	MOVL         12(SI), DX \
	MOVL         AX, R8 \
	ANDL         $0x3f3f3f3f, R8 \
	MOVL         DX, R9 \
	ANDL         $0x0f0f0f0f, R9 \
	SHRL         $2, AX \
	ANDL         $0x30303030, AX \
	ORL          AX, R9 \
	SHLQ         $32, R9 \
	ORQ          R9, R8 \
	MOVL         BX, R9 \
	ANDL         $0x3f3f3f3f, R9 \
	SHRL         $4, DX \
	ANDL         $0x0f0f0f0f, DX \
	SHRL         $2, BX \
	ANDL         $0x30303030, BX \
	ORL          BX, DX \
	SHLQ         $32, DX \
	ORQ          DX, R9 \
	VMOVQ        R8, X12 \
	VPMOVZXBD    X12, Y12 \
	VCVTDQ2PS    Y12, Y12 \
	VMULPS       Y12, Y2, Y12 \
	VMOVQ        R9, X13 \
	VPMOVZXBD    X13, Y13 \
	VCVTDQ2PS    Y13, Y13 \
	VMULPS       Y13, Y3, Y13 \
	VPXOR        Y14, Y14, Y14

// KPICK broadcasts the next two sub-blocks' scales and mins from Y12 and
// Y13 (lanes Y14 and Y14+1; Y11 is 1 in every lane): Y6 = d1, Y7 = m1,
// Y8 = d2, Y9 = m2.
#define KPICK \
	VPERMPS Y12, Y14, Y6 \
	VPERMPS Y13, Y14, Y7 \
	VPADDD  Y11, Y14, Y14 \
	VPERMPS Y12, Y14, Y8 \
	VPERMPS Y13, Y14, Y9 \
	VPADDD  Y11, Y14, Y14

// Q4_K: 8 bytes of qs, widened in q, give 8 elements at lo(DI), their
// low nibbles (op a = VPAND Y10, Y10 the nibble mask) or high ones
// (VPSRLD $4), scaled by d and shifted by m.
#define Q4EIGHT(q, lo, d, m, op, a) \
	op        a, q, Y1 \
	VCVTDQ2PS Y1, Y1 \
	VMULPS    d, Y1, Y1 \
	VSUBPS    m, Y1, Y1 \
	VMOVUPS   Y1, lo(DI)

// One 64-element chunk of a Q4_K block: its four scales picked from
// Y12 and Y13, its 32 bytes of qs at qs(SI) widened once into Y0, Y2, Y3
// and Y5 for both sub-blocks. Each chunk is written in order, the low
// sub-block's 32 values then the high one's.
#define Q4CHUNK(qs, out) \
	KPICK \
	VPMOVZXBD qs(SI), Y0 \
	VPMOVZXBD qs+8(SI), Y2 \
	VPMOVZXBD qs+16(SI), Y3 \
	VPMOVZXBD qs+24(SI), Y5 \
	Q4EIGHT(Y0, out, Y6, Y7, VPAND, Y10) \
	Q4EIGHT(Y2, out+32, Y6, Y7, VPAND, Y10) \
	Q4EIGHT(Y3, out+64, Y6, Y7, VPAND, Y10) \
	Q4EIGHT(Y5, out+96, Y6, Y7, VPAND, Y10) \
	Q4EIGHT(Y0, out+128, Y8, Y9, VPSRLD, $4) \
	Q4EIGHT(Y2, out+160, Y8, Y9, VPSRLD, $4) \
	Q4EIGHT(Y3, out+192, Y8, Y9, VPSRLD, $4) \
	Q4EIGHT(Y5, out+224, Y8, Y9, VPSRLD, $4)

// func q4_KAVX2(dst *float32, src *byte, blocks int)
// Blocks of 144 bytes: d, dmin, scales[12], qs[128] at 16.
TEXT ·q4_KAVX2(SB), NOSPLIT, $0-24
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  blocks+16(FP), CX
	TESTQ CX, CX
	JZ    q4done
	VPBROADCASTD ·mask0f<>(SB), Y10
	VPBROADCASTD ·one<>(SB), Y11
q4loop:
	KSCALES
	Q4CHUNK(16, 0)
	Q4CHUNK(48, 256)
	Q4CHUNK(80, 512)
	Q4CHUNK(112, 768)
	ADDQ $144, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  q4loop
q4done:
	VZEROUPPER
	RET

// Q5_K: as Q4EIGHT with a fifth bit: bit s of the block's qh bytes
// (widened once a block in h: Y0, Y2, Y3, Y5), moved to bit 4 by sop $sn
// (VPSLLD $(4-s) or VPSRLD $(s-4)) and put on top of the nibble of the 8
// bytes of qs at off(SI). Y15 is 16.
#define Q5EIGHT(off, h, sop, sn, lo, d, m, op, a) \
	VPMOVZXBD off(SI), Y1 \
	op        a, Y1, Y1 \
	sop       $sn, h, Y4 \
	VPAND     Y15, Y4, Y4 \
	VPOR      Y4, Y1, Y1 \
	VCVTDQ2PS Y1, Y1 \
	VMULPS    d, Y1, Y1 \
	VSUBPS    m, Y1, Y1 \
	VMOVUPS   Y1, lo(DI)

// One 64-element chunk of a Q5_K block: the low sub-block takes bit s0
// of qh (moved by op0 $n0), the high one bit s1 (op1 $n1).
#define Q5CHUNK(qs, op0, n0, op1, n1, out) \
	KPICK \
	Q5EIGHT(qs, Y0, op0, n0, out, Y6, Y7, VPAND, Y10) \
	Q5EIGHT(qs+8, Y2, op0, n0, out+32, Y6, Y7, VPAND, Y10) \
	Q5EIGHT(qs+16, Y3, op0, n0, out+64, Y6, Y7, VPAND, Y10) \
	Q5EIGHT(qs+24, Y5, op0, n0, out+96, Y6, Y7, VPAND, Y10) \
	Q5EIGHT(qs, Y0, op1, n1, out+128, Y8, Y9, VPSRLD, $4) \
	Q5EIGHT(qs+8, Y2, op1, n1, out+160, Y8, Y9, VPSRLD, $4) \
	Q5EIGHT(qs+16, Y3, op1, n1, out+192, Y8, Y9, VPSRLD, $4) \
	Q5EIGHT(qs+24, Y5, op1, n1, out+224, Y8, Y9, VPSRLD, $4)

// func q5_KAVX2(dst *float32, src *byte, blocks int)
// Blocks of 176 bytes: d, dmin, scales[12], qh[32] at 16, qs[128] at 48.
TEXT ·q5_KAVX2(SB), NOSPLIT, $0-24
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  blocks+16(FP), CX
	TESTQ CX, CX
	JZ    q5done
	VPBROADCASTD ·mask0f<>(SB), Y10
	VPBROADCASTD ·one<>(SB), Y11
	VPBROADCASTD ·sixteen<>(SB), Y15
q5loop:
	KSCALES
	VPMOVZXBD 16(SI), Y0
	VPMOVZXBD 24(SI), Y2
	VPMOVZXBD 32(SI), Y3
	VPMOVZXBD 40(SI), Y5
	Q5CHUNK(48, VPSLLD, 4, VPSLLD, 3, 0)
	Q5CHUNK(80, VPSLLD, 2, VPSLLD, 1, 256)
	Q5CHUNK(112, VPSLLD, 0, VPSRLD, 1, 512)
	Q5CHUNK(144, VPSRLD, 2, VPSRLD, 3, 768)
	ADDQ $176, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  q5loop
q5done:
	VZEROUPPER
	RET


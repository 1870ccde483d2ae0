//go:build amd64 && !purego

#include "textflag.h"

// func dotPairAVX(w, x32 *float32, x64 *float64, n int, s32 *[4]float32, s64 *[4]float64)
//
// X0 holds the four float32 partial sums, Y1 the four float64 ones; each
// step takes four columns: X2 = w, X3 = w·x32 (rounded to float32) added
// to X0, Y4 = w widened exactly, times x64 (rounded) added to Y1.
TEXT ·dotPairAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ x32+8(FP), DI
	MOVQ x64+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS X0, X0, X0
	VXORPD Y1, Y1, Y1

loop:
	VMOVUPS   (SI), X2
	VMULPS    (DI), X2, X3
	VADDPS    X3, X0, X0
	VCVTPS2PD X2, Y4
	VMULPD    (DX), Y4, Y4
	VADDPD    Y4, Y1, Y1
	ADDQ      $16, SI
	ADDQ      $16, DI
	ADDQ      $32, DX
	SUBQ      $4, CX
	JNZ       loop

	MOVQ    s32+32(FP), AX
	VMOVUPS X0, (AX)
	MOVQ    s64+40(FP), AX
	VMOVUPD Y1, (AX)
	VZEROUPPER
	RET

// func dotPair2AVX(w, x32a, x32b *float32, x64a, x64b *float64, n int, s32 *[8]float32, s64 *[8]float64)
//
// dotPairAVX for two tokens' inputs a and b over the same weights, which
// are loaded and widened once: X0 and Y1 are a's partial sums, X5 and Y6
// b's; the two tokens' chains of additions overlap.
TEXT ·dotPair2AVX(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ x32a+8(FP), DI
	MOVQ x32b+16(FP), R8
	MOVQ x64a+24(FP), DX
	MOVQ x64b+32(FP), R9
	MOVQ n+40(FP), CX
	VXORPS X0, X0, X0
	VXORPD Y1, Y1, Y1
	VXORPS X5, X5, X5
	VXORPD Y6, Y6, Y6

loop2:
	VMOVUPS   (SI), X2
	VCVTPS2PD X2, Y4
	VMULPS    (DI), X2, X3
	VADDPS    X3, X0, X0
	VMULPS    (R8), X2, X7
	VADDPS    X7, X5, X5
	VMULPD    (DX), Y4, Y8
	VADDPD    Y8, Y1, Y1
	VMULPD    (R9), Y4, Y9
	VADDPD    Y9, Y6, Y6
	ADDQ      $16, SI
	ADDQ      $16, DI
	ADDQ      $16, R8
	ADDQ      $32, DX
	ADDQ      $32, R9
	SUBQ      $4, CX
	JNZ       loop2

	MOVQ    s32+48(FP), AX
	VMOVUPS X0, (AX)
	VMOVUPS X5, 16(AX)
	MOVQ    s64+56(FP), AX
	VMOVUPD Y1, (AX)
	VMOVUPD Y6, 32(AX)
	VZEROUPPER
	RET

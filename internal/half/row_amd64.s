//go:build amd64 && !purego

#include "textflag.h"

// AVX2 and F16C conversions of row_amd64.go: eight float32 results a YMM
// register.

// func bf16AVX2(dst *float32, src *byte, n int)
// n is a multiple of 8: each value widened to 32 bits, shifted up 16.
TEXT ·bf16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ CX, DX
	SHRQ $5, CX // 32 values a step: four independent loads, shifts and stores
	JZ   bf16tail
bf16loop4:
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPMOVZXWD 32(SI), Y2
	VPMOVZXWD 48(SI), Y3
	VPSLLD    $16, Y0, Y0
	VPSLLD    $16, Y1, Y1
	VPSLLD    $16, Y2, Y2
	VPSLLD    $16, Y3, Y3
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	VMOVUPS   Y2, 64(DI)
	VMOVUPS   Y3, 96(DI)
	ADDQ      $64, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       bf16loop4
bf16tail:
	ANDQ $31, DX
	SHRQ $3, DX // then 8 at a time
	JZ   bf16done
bf16loop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      DX
	JNZ       bf16loop
bf16done:
	VZEROUPPER
	RET

// func f16AVX2(dst *float32, src *byte, n int)
// n is a multiple of 8: F16C's conversion, exact for every half (a
// signalling NaN comes out quiet, as in the reference).
TEXT ·f16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   f16done
f16loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       f16loop
f16done:
	VZEROUPPER
	RET

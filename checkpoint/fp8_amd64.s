//go:build amd64 && !purego

#include "textflag.h"

DATA ·e4m3Consts<>+0(SB)/4, $0x7f        // the code without its sign
DATA ·e4m3Consts<>+4(SB)/4, $0x78        // the exponent field
DATA ·e4m3Consts<>+8(SB)/4, $0x3c000000  // 120<<23: the exponent bias 7 → 127
DATA ·e4m3Consts<>+12(SB)/4, $0x80000000 // the float32 sign
DATA ·e4m3Consts<>+16(SB)/4, $0x7fc00000 // the NaN fp8E4M3 holds for 0x7f and 0xff
DATA ·e4m3Consts<>+20(SB)/4, $0x3b000000 // 2^-9: the subnormals' unit
GLOBL ·e4m3Consts<>(SB), RODATA|NOPTR, $24

// func e4m3ScaledAVX2(dst *float32, codes *byte, n int, s float32)
//
// Eight codes a step: m = c&0x7f; a normal code's bits are
// sign | (m<<20 + 120<<23) (the exponent rebiased, the 3 mantissa bits
// on top of float32's 23), a subnormal's (exponent field 0) m·2^-9
// (exact) with the sign, 0x7f's NaN the table's; then one rounded
// multiply by s, as the table path does.
TEXT ·e4m3ScaledAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         codes+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Y7
	VPBROADCASTD ·e4m3Consts<>+0(SB), Y10
	VPBROADCASTD ·e4m3Consts<>+4(SB), Y11
	VPBROADCASTD ·e4m3Consts<>+8(SB), Y12
	VPBROADCASTD ·e4m3Consts<>+12(SB), Y13
	VPBROADCASTD ·e4m3Consts<>+16(SB), Y8
	VPBROADCASTD ·e4m3Consts<>+20(SB), Y14
	VPXOR        Y9, Y9, Y9

loop:
	VPMOVZXBD (SI), Y0
	VPAND     Y10, Y0, Y2
	VPSLLD    $24, Y0, Y1
	VPAND     Y13, Y1, Y1
	VPSLLD    $20, Y2, Y3
	VPADDD    Y12, Y3, Y3
	VCVTDQ2PS Y2, Y4
	VMULPS    Y14, Y4, Y4
	VPAND     Y11, Y0, Y5
	VPCMPEQD  Y9, Y5, Y5
	VBLENDVPS Y5, Y4, Y3, Y3
	VPOR      Y1, Y3, Y3
	VPCMPEQD  Y10, Y2, Y6
	VBLENDVPS Y6, Y8, Y3, Y3
	VMULPS    Y7, Y3, Y3
	VMOVUPS   Y3, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       loop

	VZEROUPPER
	RET

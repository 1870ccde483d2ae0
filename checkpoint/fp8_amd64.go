//go:build amd64 && !purego

package checkpoint

import "github.com/weightaudit/weightaudit/internal/cpuid"

// On amd64 with AVX2, DecodeFP8Block's E4M3 blocks run eight values an
// instruction in assembly (fp8_amd64.s), which builds each code's
// float32 bits from its fields instead of looking them up in half.E4M3 and
// multiplies by the block scale once, rounded, as the table path does:
// the values are the table path's bit for bit
// (TestDecodeFP8BlockVectorBitExact; a NaN code gives half.E4M3's NaN).
// Build with -tags purego to keep the table path.

//go:noescape
func e4m3ScaledAVX2(dst *float32, codes *byte, n int, s float32)

// hasAVX2 reports whether the CPU has AVX2 and the OS saves the YMM
// registers (internal/cpuid checks the OS support).
func hasAVX2() bool { return cpuid.AVX2 }

// hasE4M3Vec reports whether e4m3ScaledVec runs here.
var hasE4M3Vec = hasAVX2()

// e4m3ScaledVec sets dst[i] = half.E4M3[codes[i]]·s for the n (a positive
// multiple of 8) values; only call it when hasE4M3Vec.
func e4m3ScaledVec(dst *float32, codes *byte, n int, s float32) {
	e4m3ScaledAVX2(dst, codes, n, s)
}

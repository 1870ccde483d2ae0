//go:build amd64 && !purego

package checkpoint

// On amd64 with AVX2, DecodeFP8Block's E4M3 blocks run eight values an
// instruction in assembly (fp8_amd64.s), which builds each code's
// float32 bits from its fields instead of looking them up in fp8E4M3 and
// multiplies by the block scale once, rounded, as the table path does:
// the values are the table path's bit for bit
// (TestDecodeFP8BlockVectorBitExact; a NaN code gives fp8E4M3's NaN).
// Build with -tags purego to keep the table path.

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

//go:noescape
func e4m3ScaledAVX2(dst *float32, codes *byte, n int, s float32)

// hasAVX2 reports whether the CPU has AVX2 and the OS saves the YMM
// registers (CPUID leaf 1 ECX: OSXSAVE bit 27, AVX bit 28; XCR0 bits 1
// and 2; leaf 7 EBX bit 5: AVX2).
func hasAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx, _ := cpuid(1, 0)
	if ecx&(1<<27) == 0 || ecx&(1<<28) == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<5) != 0
}

// hasE4M3Vec reports whether e4m3ScaledVec runs here.
var hasE4M3Vec = hasAVX2()

// e4m3ScaledVec sets dst[i] = fp8E4M3[codes[i]]·s for the n (a positive
// multiple of 8) values; only call it when hasE4M3Vec.
func e4m3ScaledVec(dst *float32, codes *byte, n int, s float32) {
	e4m3ScaledAVX2(dst, codes, n, s)
}

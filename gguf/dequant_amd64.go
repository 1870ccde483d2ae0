//go:build amd64 && !purego

package gguf

import "github.com/weightaudit/weightaudit/internal/cpuid"

// On amd64 with AVX2 and F16C (every x86-64 CPU since 2013-2015), the
// kernels of Q8_0, Q4_K and Q5_K run in AVX2 assembly (dequant_amd64.s),
// eight elements an instruction (BF16's and F16's are internal/half's
// rows, with assembly of their own), replacing the
// portable ones in the kernel table at init. They compute what the
// references compute, operation for operation: FuzzDequantize checks them
// against the references bit for bit. Build with -tags purego to keep the
// portable kernels.

// The assembly; see dequant_amd64.s.
//
//go:noescape
func q8_0AVX2(dst *float32, src *byte, blocks int)

//go:noescape
func q4_KAVX2(dst *float32, src *byte, blocks int)

//go:noescape
func q5_KAVX2(dst *float32, src *byte, blocks int)

// hasAVX2 reports whether the CPU has AVX2 and F16C and the OS saves the
// YMM registers (internal/cpuid checks the OS support).
func hasAVX2() bool { return cpuid.AVX2 && cpuid.F16C }

func init() {
	if !hasAVX2() {
		return
	}
	kernels[TypeQ8_0].fast = dequantQ8_0AVX2
	kernels[TypeQ4_K].fast = dequantQ4_KAVX2
	kernels[TypeQ5_K].fast = dequantQ5_KAVX2
}

// The quantized kernels convert each block's scales themselves, so one
// call decodes every block: no per-block work is left to Go, and no
// scales pass through memory between the two.

func dequantQ8_0AVX2(dst []float32, src []byte) {
	blocks := len(src) / blockQ8_0
	if blocks > 0 {
		_ = dst[blocks*32-1] // the assembly writes this far
		q8_0AVX2(&dst[0], &src[0], blocks)
	}
}

func dequantQ4_KAVX2(dst []float32, src []byte) {
	blocks := len(src) / blockQ4_K
	if blocks > 0 {
		_ = dst[blocks*superBlock-1]
		q4_KAVX2(&dst[0], &src[0], blocks)
	}
}

func dequantQ5_KAVX2(dst []float32, src []byte) {
	blocks := len(src) / blockQ5_K
	if blocks > 0 {
		_ = dst[blocks*superBlock-1]
		q5_KAVX2(&dst[0], &src[0], blocks)
	}
}

//go:build amd64 && !purego

package half

import "github.com/weightaudit/weightaudit/internal/cpuid"

// useAVX2 is set when the CPU has AVX2 and F16C and the OS saves the YMM
// registers: Row and BF16Row then convert eight values an instruction.
var useAVX2 = cpuid.AVX2 && cpuid.F16C

// The assembly (row_amd64.s); n is a positive multiple of 8.
//
//go:noescape
func bf16AVX2(dst *float32, src *byte, n int)

//go:noescape
func f16AVX2(dst *float32, src *byte, n int)

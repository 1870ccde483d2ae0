//go:build !amd64 || purego

package half

// useAVX2 is false: Row and BF16Row use their portable loops alone.
const useAVX2 = false

func bf16AVX2(dst *float32, src *byte, n int) { panic("half: no AVX2 kernel") }

func f16AVX2(dst *float32, src *byte, n int) { panic("half: no AVX2 kernel") }

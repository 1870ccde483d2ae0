//go:build !amd64 || purego

package checkpoint

// hasE4M3Vec is false: DecodeFP8Block looks every code up (see fp8_amd64.go).
const hasE4M3Vec = false

func e4m3ScaledVec(dst *float32, codes *byte, n int, s float32) {
	panic("checkpoint: e4m3ScaledVec without a vector kernel") // unreachable: hasE4M3Vec is false
}

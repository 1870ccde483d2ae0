//go:build !amd64 || purego

package forward

// hasDotPairVec is false: dotPair runs dotW twice (see dot_amd64.go).
const hasDotPairVec = false

func dotPairVec(w, x32 *float32, x64 *float64, n int, s32 *[4]float32, s64 *[4]float64) {
	panic("forward: dotPairVec without a vector kernel") // unreachable: hasDotPairVec is false
}

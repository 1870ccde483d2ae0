//go:build !amd64 || purego

package forward

// hasDotPairVec is false: dotPair runs dotW twice (see dot_amd64.go).
const hasDotPairVec = false

func dotPairVec(w, x32 *float32, x64 *float64, n int, s32 *[4]float32, s64 *[4]float64) {
	panic("forward: dotPairVec without a vector kernel") // unreachable: hasDotPairVec is false
}

func dotPair2Vec(w, x32a, x32b *float32, x64a, x64b *float64, n int, s32 *[8]float32, s64 *[8]float64) {
	panic("forward: dotPair2Vec without a vector kernel") // unreachable: hasDotPairVec is false
}

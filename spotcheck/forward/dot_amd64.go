//go:build amd64 && !purego

package forward

import "github.com/weightaudit/weightaudit/internal/cpuid"

// On amd64 with AVX (every x86-64 CPU since 2011), dotPair's groups of
// four columns run in assembly (dot_amd64.s): one 4-lane float32 and one
// 4-lane float64 accumulator, whose lanes are dotW's four partial sums,
// with the same operations in the same order (a rounded multiply, then a
// rounded add; never a fused multiply-add), so the results are those of
// the portable code bit for bit (TestMatMulPairBitIdentical). Build with
// -tags purego to keep the portable kernel.

//go:noescape
func dotPairAVX(w, x32 *float32, x64 *float64, n int, s32 *[4]float32, s64 *[4]float64)

//go:noescape
func dotPair2AVX(w, x32a, x32b *float32, x64a, x64b *float64, n int, s32 *[8]float32, s64 *[8]float64)

// hasAVX reports whether the CPU has AVX and the OS saves the YMM
// registers (internal/cpuid checks the OS support).
func hasAVX() bool { return cpuid.AVX }

// hasDotPairVec reports whether dotPairVec runs here.
var hasDotPairVec = hasAVX()

// dotPairVec sets lane k of s32 and of s64 to the sums over j = k, k+4,
// … < n of w[j]·x32[j] and of float64(w[j])·x64[j], each product rounded
// to its type before it is added: dotW's partial sums s0 … s3. n is a
// positive multiple of 4; only call it when hasDotPairVec.
func dotPairVec(w, x32 *float32, x64 *float64, n int, s32 *[4]float32, s64 *[4]float64) {
	dotPairAVX(w, x32, x64, n, s32, s64)
}

// dotPair2Vec is dotPairVec for two inputs a and b at once: lanes 0 … 3
// of s32 and s64 are a's partial sums, lanes 4 … 7 b's.
func dotPair2Vec(w, x32a, x32b *float32, x64a, x64b *float64, n int, s32 *[8]float32, s64 *[8]float64) {
	dotPair2AVX(w, x32a, x32b, x64a, x64b, n, s32, s64)
}

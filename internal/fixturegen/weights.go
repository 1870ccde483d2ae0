package main

import (
	"hash/fnv"
	"math/rand/v2"
)

// Standard deviations of the synthetic weights: matrices are centred on 0,
// norm weights on 1, as in a trained model.
const (
	matrixStd = 0.02
	normStd   = 0.01
)

// weights returns the float32 values of the Hugging Face tensor name with
// n elements: rank-1 tensors (norms) are 1 + small noise, everything else
// noise around 0. The values depend only on the name: a PCG generator
// (math/rand/v2) is seeded with the FNV-1a hash of the name.
//
// The noise is an Irwin–Hall sum of twelve uniform 24-bit integers, which is
// close to a standard normal and is computed in integer arithmetic followed
// by one rounding per value, so the bytes are identical on every platform
// (no transcendental functions, no fused multiply-add).
func weights(name string, n int64, rank int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(h.Sum64(), 0x77656967687461)) // "weighta"
	out := make([]float32, n)
	for i := range out {
		var s int64
		for range 12 {
			s += int64(r.Uint64() >> 40)
		}
		z := float64(s-12<<23) / (1 << 24) // mean 0, variance 1, exact
		if rank == 1 {
			out[i] = float32(1 + float64(normStd*z))
		} else {
			out[i] = float32(matrixStd * z)
		}
	}
	return out
}

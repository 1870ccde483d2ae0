package checkpoint_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// Rows long enough for the vector kernel (groups of eight) decode every
// code times its block's scale bit for bit as the reference does, for
// block widths that cut the groups of eight and scales that make
// subnormal, overflowing and negative products: the same check as
// TestDecodeFP8BlockCodesBitExact's on the path the release-size rows
// take.
func TestDecodeFP8BlockVectorBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	codes := make([]byte, 1031)
	for i := range codes {
		codes[i] = byte(i) // every code, at every offset mod 8 over the row
		if i >= 256 {
			codes[i] = byte(rng.IntN(256))
		}
	}
	for _, e5m2 := range []bool{false, true} {
		dt := safetensors.F8_E4M3
		if e5m2 {
			dt = safetensors.F8_E5M2
		}
		for _, bc := range []int{8, 13, 128, 1031} {
			t.Run(fmt.Sprintf("%s/block=%d", dt, bc), func(t *testing.T) {
				scales := make([]float32, (len(codes)+bc-1)/bc)
				special := []float32{1, -0.75, 1e-38, 3e37, float32(math.Copysign(0, -1)), 2e-45}
				for i := range scales {
					scales[i] = special[i%len(special)]
					if i >= len(special) {
						scales[i] = float32(rng.NormFloat64()) * 0.01
					}
				}
				dst := make([]float32, len(codes))
				if err := checkpoint.DecodeFP8Block(dst, codes, dt, scales, bc); err != nil {
					t.Fatal(err)
				}
				for i, got := range dst {
					want := fp8Ref(codes[i], e5m2) * scales[i/bc]
					if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
						t.Errorf("value %d (code %#02x, scale %g) = %g (%#08x), want %g (%#08x)", i, codes[i], scales[i/bc], got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
			})
		}
	}
}

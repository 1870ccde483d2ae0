package checkpoint_test

import (
	"math/rand/v2"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// BenchmarkDecodeRow decodes one 4096-value row in each encoding the
// spot-check reads pre-quantized weights in, against plain
// safetensors.Decode of F8_E4M3 codes (the baseline: no scales) in the
// same run. Bytes are the encoded row's.
func BenchmarkDecodeRow(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	codes := make([]byte, n)
	for i := range codes {
		codes[i] = byte(rng.IntN(256)) &^ 0x40
	}
	dst := make([]float32, n)
	b.Run("F8_E4M3/safetensors.Decode", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			if err := safetensors.Decode(safetensors.F8_E4M3, dst, codes); err != nil {
				b.Fatal(err)
			}
		}
	})
	scales := make([]float32, n/128)
	for i := range scales {
		scales[i] = 0.01
	}
	b.Run("F8_E4M3/DecodeFP8Block", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			if err := checkpoint.DecodeFP8Block(dst, codes, safetensors.F8_E4M3, scales, 128); err != nil {
				b.Fatal(err)
			}
		}
	})
	blocks, exps := make([]byte, n/2), make([]byte, n/32)
	for i := range blocks {
		blocks[i] = byte(rng.IntN(256))
	}
	for i := range exps {
		exps[i] = 120
	}
	b.Run("MXFP4/DecodeMXFP4", func(b *testing.B) {
		b.SetBytes(n/2 + n/32)
		for b.Loop() {
			if err := checkpoint.DecodeMXFP4(dst, blocks, exps); err != nil {
				b.Fatal(err)
			}
		}
	})
	// GPTQ int4, 8 outputs of 4096 inputs in groups of 128: a whole
	// weight decoded, per row.
	const out = 8
	q, z, sc := make([]byte, 4*n/8*out), make([]byte, 4*(n/128)*out/8), make([]byte, 2*(n/128)*out)
	for i := range q {
		q[i] = byte(rng.IntN(256))
	}
	for i := 0; i < len(sc); i += 2 {
		sc[i+1] = 0x20
	}
	all := make([]float32, out*n)
	b.Run("GPTQ-int4/DecodeIntPacked", func(b *testing.B) {
		b.SetBytes(int64(len(q)+len(z)+len(sc)) / out)
		for b.Loop() {
			if err := checkpoint.DecodeIntPacked(all, q, z, sc, nil, checkpoint.IntScheme{Bits: 4, Group: 128}, out, n, n/128); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/out, "ns/row")
	})
}

package gguf_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// scaleOffsets are the byte offsets of the f16 scales in a block of each
// quantized type; benchSource sets them to realistic values so that the
// benchmark measures ordinary arithmetic, not NaN or Inf.
var scaleOffsets = map[gguf.Type][]int{
	gguf.TypeQ4_0: {0}, gguf.TypeQ4_1: {0, 2}, gguf.TypeQ5_0: {0}, gguf.TypeQ5_1: {0, 2}, gguf.TypeQ8_0: {0},
	gguf.TypeQ2_K: {80, 82}, gguf.TypeQ3_K: {108}, gguf.TypeQ4_K: {0, 2}, gguf.TypeQ5_K: {0, 2}, gguf.TypeQ6_K: {208},
	gguf.TypeIQ4_NL: {0}, gguf.TypeIQ4_XS: {0},
}

// benchSource returns a row of n elements of typ: random quants with
// scales around 0.002-0.03, or random normal values for the plain types.
func benchSource(typ gguf.Type, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(typ), 1))
	ts, bs := int(typ.TypeSize()), int(typ.BlockSize())
	src := randomBlocks(r, typ, n/bs)
	for b := 0; b < len(src); b += ts {
		for _, off := range scaleOffsets[typ] {
			binary.LittleEndian.PutUint16(src[b+off:], uint16(0x1800+r.IntN(0x0c00))) // exp 6-8: 2⁻⁹..2⁻⁶
		}
	}
	switch typ {
	case gguf.TypeF16:
		for i := 0; i < len(src); i += 2 {
			binary.LittleEndian.PutUint16(src[i:], uint16(r.IntN(0x10000))&0x83ff|uint16(8+r.IntN(8))<<10)
		}
	case gguf.TypeF32:
		for i := 0; i < len(src); i += 4 {
			binary.LittleEndian.PutUint32(src[i:], math.Float32bits(float32(r.NormFloat64())))
		}
	case gguf.TypeF64:
		for i := 0; i < len(src); i += 8 {
			binary.LittleEndian.PutUint64(src[i:], math.Float64bits(r.NormFloat64()))
		}
	case gguf.TypeMXFP4:
		for b := 0; b < len(src); b += ts {
			src[b] = byte(118 + r.IntN(8))
		}
	}
	return src
}

func BenchmarkDequantize(b *testing.B) {
	for _, typ := range supported {
		sizes := []int{4096}
		if typ.BlockSize() == 256 {
			sizes = append(sizes, 1536)
		}
		for _, n := range sizes {
			src := benchSource(typ, n)
			dst := make([]float32, n)
			for _, d := range decoders {
				impl := "fast"
				if d.name == "DequantizeRef" {
					impl = "ref"
				}
				b.Run(typ.String()+"/n="+strconv.Itoa(n)+"/"+impl, func(b *testing.B) {
					b.SetBytes(int64(len(src)))
					b.ReportAllocs()
					for b.Loop() {
						if err := d.f(typ, dst, src); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
				})
			}
		}
	}
}

// BenchmarkDequantizeCall measures the fixed cost of a call: one block
// (eight values of BF16), the checks of the lengths and the dispatch
// rather than the decoding.
func BenchmarkDequantizeCall(b *testing.B) {
	for _, typ := range []gguf.Type{gguf.TypeBF16, gguf.TypeQ8_0, gguf.TypeQ4_K} {
		n := max(8, int(typ.BlockSize()))
		src := benchSource(typ, n)
		dst := make([]float32, n)
		b.Run(typ.String(), func(b *testing.B) {
			for b.Loop() {
				if err := gguf.Dequantize(typ, dst, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDequantize64MiB decodes 64 MiB of source bytes of each type of
// the stock recipes, 4,096 elements a call as a row is, single-threaded,
// the source streaming from memory: into 64 MiB's worth of float32
// (dst=whole, written to memory too) or into one row's buffer reused
// (dst=row, as compare decodes rows it consumes at once). The throughput
// is of source bytes; ggml's C (dequantize_row_*, ggml_fp16_to_fp32_row,
// ggml_bf16_to_fp32_row at -O3) run the same two ways is the baseline.
//
// What a baseline must do to measure the same thing: one untimed pass
// first (dst's pages are faulted in before the clock starts, here and
// there), then the mean of the timed passes (-benchtime Nx reports the
// mean of N), not the best; the same row size and call pattern. Nothing
// here allocates while timed (0 B/op), so no collection runs under it.
// With dst=whole both sides write 4 bytes an element to memory through
// the caches: at 4,096 elements a call a kernel cannot tell this from
// dst=row, so neither uses non-temporal stores.
func BenchmarkDequantize64MiB(b *testing.B) {
	const size, row = 64 << 20, 4096
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeBF16, gguf.TypeF16} {
		b.Run(typ.String(), func(b *testing.B) {
			ts, bs := int(typ.TypeSize()), int(typ.BlockSize())
			n := size / ts * bs / row * row
			src := benchSource(typ, n)
			whole := make([]float32, n)
			// The previous type's buffers are collected and go back to
			// the system now, before the clock starts, as C's free does
			// between types: left to the background scavenger, their
			// release ran under the clock of the next types
			// (GODEBUG=scavtrace=1: 111-261 MiB released a cycle there).
			debug.FreeOSMemory()
			per := row / bs * ts
			for _, d := range decoders {
				impl := "fast"
				if d.name == "DequantizeRef" {
					impl = "ref"
				}
				for _, mode := range []string{"whole", "row"} {
					all := func(b *testing.B) {
						for off, o := 0, 0; off < len(src); off, o = off+per, o+row {
							dst := whole[o : o+row]
							if mode == "row" {
								dst = whole[:row]
							}
							if err := d.f(typ, dst, src[off:off+per]); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.Run(impl+"/dst="+mode, func(b *testing.B) {
						b.SetBytes(int64(len(src)))
						b.ReportAllocs()
						all(b) // dst's pages touched before the clock starts
						for b.Loop() {
							all(b)
						}
					})
				}
			}
		})
	}
}

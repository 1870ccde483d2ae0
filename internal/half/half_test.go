package half

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// f16Def converts a binary16 value from its definition (sign, 5-bit
// exponent biased by 15, 10-bit mantissa), in float64, then to float32
// (exact: every half is a float32); NaNs as ggml gives them: the sign and
// payload kept, shifted to the top of the mantissa, the quiet bit set.
func f16Def(h uint16) float32 {
	sign, e, m := h>>15, int(h>>10&0x1f), float64(h&0x3ff)
	var v float64
	switch {
	case e == 0x1f && m != 0:
		return math.Float32frombits(uint32(sign)<<31 | 0x7fc00000 | uint32(h&0x3ff)<<13)
	case e == 0x1f:
		v = math.Inf(1)
	case e == 0:
		v = math.Ldexp(m, -24)
	default:
		v = math.Ldexp(1+m/1024, e-15)
	}
	if sign == 1 {
		v = -v
	}
	return float32(v)
}

// Every one of the 65,536 bit patterns, through ToFloat32, Row and
// BF16Row at every alignment of the row's start and with lengths off the
// kernels' steps of 8 and 4, converts to what the definitions give, bit
// for bit, and nothing past dst is written.
func TestEveryPattern(t *testing.T) {
	src := make([]byte, 2*65536)
	for i := range 65536 {
		binary.LittleEndian.PutUint16(src[2*i:], uint16(i))
		if got, want := ToFloat32(uint16(i)), f16Def(uint16(i)); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("ToFloat32(%#04x) = %#08x, want %#08x", i, math.Float32bits(got), math.Float32bits(want))
		}
	}
	const canary = 0x7fbadbad
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct {
		name string
		row  func([]float32, []byte)
		def  func(uint16) float32
	}{
		{"Row", Row, f16Def},
		{"BF16Row", BF16Row, func(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }},
	} {
		for _, start := range []int{0, 1, 3, 7, 8, 13} {
			for _, n := range []int{65536 - start, 0, 1, 7, 8, 9, 31, 33, 1000 + r.IntN(64)} {
				n = min(n, 65536-start)
				dst := make([]float32, n+3)
				for i := range dst {
					dst[i] = math.Float32frombits(canary)
				}
				tt.row(dst[:n], src[2*start:])
				for i := range n {
					if got, want := math.Float32bits(dst[i]), math.Float32bits(tt.def(uint16(start+i))); got != want {
						t.Fatalf("%s from %d, %d values: value %d (%#04x) = %#08x, want %#08x", tt.name, start, n, i, start+i, got, want)
					}
				}
				for i, v := range dst[n:] {
					if math.Float32bits(v) != canary {
						t.Fatalf("%s from %d, %d values: wrote past dst[%d]", tt.name, start, n, n+i)
					}
				}
			}
		}
	}
}

// The portable loops alone give what the rows give (where the assembly
// runs, this compares it with them).
func TestWordsMatchRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]byte, 2*4099)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	a, b := make([]float32, 4099), make([]float32, 4099)
	for _, tt := range []struct {
		name       string
		row, words func([]float32, []byte)
	}{{"F16", Row, rowWords}, {"BF16", BF16Row, bf16Words}} {
		tt.row(a, src)
		tt.words(b, src)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s value %d: row %#08x, portable %#08x", tt.name, i, math.Float32bits(a[i]), math.Float32bits(b[i]))
			}
		}
	}
}

package safetensors_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/weightaudit/weightaudit/safetensors"
)

// Expected values worked out by hand from the formats' bit layouts.
func TestDecode(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	tests := []struct {
		name string
		d    safetensors.DType
		src  []byte
		want []float32
	}{
		{"F32", safetensors.F32, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, []float32{1, -2}},
		{"F64", safetensors.F64, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f}, []float32{1.5}},
		// half: 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24, 0x7bff = 65504, 0x7c00 = inf, 0x7e00 = NaN
		{"F16", safetensors.F16, []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xff, 0x7b, 0x00, 0x7c, 0x00, 0x7e},
			[]float32{1, -2, 0x1p-24, 65504, inf, nan}},
		// bfloat16: 0x3f80 = 1, 0xc040 = -3, 0x7f80 = inf
		{"BF16", safetensors.BF16, []byte{0x80, 0x3f, 0x40, 0xc0, 0x80, 0x7f}, []float32{1, -3, inf}},
		// e4m3fn: 0x38 = 0.0111.000 = 1; 0x40 = 2; 0x7e = 2^8·1.75 = 448; 0x01 = 2^-6·1/8;
		// 0x78 = 0.1111.000 = 256 (no infinities); 0xb8 = -1; 0x7f = NaN
		{"F8_E4M3", safetensors.F8_E4M3, []byte{0x38, 0x40, 0x7e, 0x01, 0x78, 0xb8, 0x7f}, []float32{1, 2, 448, 0x1p-9, 256, -1, nan}},
		// e5m2: 0x3c = 0.01111.00 = 1; 0x7b = 2^15·1.75 = 57344; 0x01 = 2^-14·1/4; 0x7c = inf; 0xfc = -inf; 0x7d = NaN
		{"F8_E5M2", safetensors.F8_E5M2, []byte{0x3c, 0x7b, 0x01, 0x7c, 0xfc, 0x7d}, []float32{1, 57344, 0x1p-16, inf, -inf, nan}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]float32, len(tt.want))
			if err := safetensors.Decode(tt.d, got, tt.src); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				w, g := tt.want[i], got[i]
				if w != g && !(w != w && g != g) {
					t.Errorf("Decode(%s)[%d] = %g, want %g", tt.d, i, g, w)
				}
			}
		})
	}
	if err := safetensors.Decode(safetensors.I32, make([]float32, 1), make([]byte, 4)); !errors.Is(err, safetensors.ErrUnsupported) {
		t.Errorf("Decode(I32) = %v, want ErrUnsupported", err)
	}
	if err := safetensors.Decode(safetensors.F16, make([]float32, 2), make([]byte, 3)); !errors.Is(err, safetensors.ErrSize) {
		t.Errorf("Decode(3 bytes as 2 halves) = %v, want ErrSize", err)
	}
}

// Every finite half converts exactly: back through float64 arithmetic.
func TestDecodeAllHalves(t *testing.T) {
	src := make([]byte, 2*65536)
	for h := 0; h < 65536; h++ {
		src[2*h], src[2*h+1] = byte(h), byte(h>>8)
	}
	got := make([]float32, 65536)
	if err := safetensors.Decode(safetensors.F16, got, src); err != nil {
		t.Fatal(err)
	}
	for h := 0; h < 65536; h++ {
		e, m := h>>10&0x1f, float64(h&0x3ff)
		if e == 0x1f {
			continue
		}
		want := m * math.Pow(2, -24)
		if e > 0 {
			want = (1024 + m) * math.Pow(2, float64(e-25))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(got[h]) != want || math.Signbit(float64(got[h])) != (h&0x8000 != 0) {
			t.Fatalf("half %#04x = %g, want %g", h, got[h], want)
		}
	}
}

// Decode of F32 and BF16 rows of random bits, at lengths off the word
// loops' steps of 4 and 8 and from an odd start in memory, gives what each
// value's definition gives, bit for bit (NaN payloads included): F32 its
// little-endian bits, BF16 the top half of a float32's.
func TestDecodeRows(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	raw := make([]byte, 4*1100+1)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 9, 15, 17, 33, 1029} {
		for _, tt := range []struct {
			d   safetensors.DType
			def func(b []byte, i int) uint32
		}{
			{safetensors.F32, func(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }},
			{safetensors.BF16, func(b []byte, i int) uint32 { return uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16 }},
		} {
			src := raw[1 : 1+n*tt.d.Bits()/8]
			dst := make([]float32, n)
			if err := safetensors.Decode(tt.d, dst, src); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst {
				if got, want := math.Float32bits(v), tt.def(src, i); got != want {
					t.Fatalf("%s, %d values: value %d = %#08x, want %#08x", tt.d, n, i, got, want)
				}
			}
		}
	}
}

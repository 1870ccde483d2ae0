package gguf_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// Half-precision constants used in the hand-assembled blocks. Each is
// sign·2^(exp-15)·(1+mant/1024) with the fields of the 16 bits.
const (
	f16One      = 0x3c00 // 1.0:  exp 15, mant 0
	f16Two      = 0x4000 // 2.0:  exp 16
	f16Half     = 0x3800 // 0.5:  exp 14
	f16Quarter  = 0x3400 // 0.25: exp 13
	f16Ten      = 0x4900 // 10.0: exp 18, mant 256 → 8·1.25
	f16MinusOne = 0xbc00 // -1.0
	f16MinusTwo = 0xc000 // -2.0
	f16Tiny     = 0x0001 // 2⁻²⁴, the smallest subnormal
	f16Inf      = 0x7c00 // +Inf
	f16NegInf   = 0xfc00 // -Inf
	f16QNaN     = 0x7e00 // quiet NaN → float32 bits 0x7fc00000
	f16SNaN     = 0x7c01 // signalling NaN, payload 1 → 0x7fc02000 (quieted, as ggml)
)

// anyNaN in a want slice accepts any NaN: a NaN the arithmetic creates (0·Inf,
// Inf-Inf) has a bit pattern that depends on the CPU.
var anyNaN = math.Float32frombits(0x7fffffff)

// le16 returns v as two little-endian bytes.
func le16(v uint16) []byte { return []byte{byte(v), byte(v >> 8)} }

// join concatenates byte slices into a new one.
func join(parts ...[]byte) []byte { return slices.Concat(parts...) }

// fill returns n copies of b.
func fill(n int, b byte) []byte { return slices.Repeat([]byte{b}, n) }

// patch sets b[off] = v for each (off, v) pair and returns b.
func patch(b []byte, pairs ...int) []byte {
	for i := 0; i < len(pairs); i += 2 {
		b[pairs[i]] = byte(pairs[i+1])
	}
	return b
}

// seg returns n copies of v.
func seg(v float32, n int) []float32 { return slices.Repeat([]float32{v}, n) }

// fseq concatenates float segments.
func fseq(parts ...[]float32) []float32 { return slices.Concat(parts...) }

// at sets w[i] = v for each (i, v) pair and returns w.
func at(w []float32, pairs ...float64) []float32 {
	for i := 0; i < len(pairs); i += 2 {
		w[int(pairs[i])] = float32(pairs[i+1])
	}
	return w
}

// bits returns the float32 with the given bit pattern.
func bits(b uint32) float32 { return math.Float32frombits(b) }

// negZero is -0.
var negZero = bits(0x80000000)

// knownCase is a block assembled by hand with the values the published
// layout gives for it, worked out by hand.
type knownCase struct {
	name string
	typ  gguf.Type
	src  []byte
	want []float32
}

// allKnownCases gathers the known-answer cases of every type.
func allKnownCases() []knownCase {
	return slices.Concat(fpCases(), legacyCases(), kCases(), iqCases())
}

// sameBits reports whether got matches want bit for bit, anyNaN matching
// any NaN, and describes the first difference.
func sameBits(got, want []float32) (string, bool) {
	if len(got) != len(want) {
		return fmt.Sprintf("%d elements, want %d", len(got), len(want)), false
	}
	for i := range want {
		g, w := math.Float32bits(got[i]), math.Float32bits(want[i])
		if w == math.Float32bits(anyNaN) && math.IsNaN(float64(got[i])) {
			continue
		}
		if g != w {
			return fmt.Sprintf("element %d = %v (%#08x), want %v (%#08x)", i, got[i], g, want[i], w), false
		}
	}
	return "", true
}

// supported lists every type Dequantize decodes.
var supported = []gguf.Type{
	gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeF64, gguf.TypeI8, gguf.TypeI16, gguf.TypeI32,
	gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0,
	gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K,
	gguf.TypeIQ4_NL, gguf.TypeIQ4_XS, gguf.TypeMXFP4,
}

// decoders are the two implementations, which must agree.
var decoders = []struct {
	name string
	f    func(gguf.Type, []float32, []byte) error
}{
	{"Dequantize", gguf.Dequantize},
	{"DequantizeRef", gguf.DequantizeRef},
}

func TestDequantizeKnown(t *testing.T) {
	covered := map[gguf.Type]bool{}
	for _, c := range allKnownCases() {
		covered[c.typ] = true
		for _, d := range decoders {
			t.Run(c.typ.String()+"/"+c.name+"/"+d.name, func(t *testing.T) {
				got := make([]float32, len(c.want))
				if err := d.f(c.typ, got, c.src); err != nil {
					t.Fatalf("%s(%v, %d, %d bytes) = %v, want nil", d.name, c.typ, len(got), len(c.src), err)
				}
				if diff, ok := sameBits(got, c.want); !ok {
					t.Errorf("%s(%v, %d bytes): %s", d.name, c.typ, len(c.src), diff)
				}
			})
		}
	}
	for _, typ := range supported {
		if !covered[typ] {
			t.Errorf("no known-answer case for %v", typ)
		}
	}
}

func TestCanDequantize(t *testing.T) {
	want := map[gguf.Type]bool{}
	for _, typ := range supported {
		want[typ] = true
	}
	for id := range gguf.Type(64) {
		if got := id.CanDequantize(); got != want[id] {
			t.Errorf("%v.CanDequantize() = %v, want %v", id, got, want[id])
		}
	}
	if got := gguf.Type(math.MaxUint32).CanDequantize(); got {
		t.Errorf("Type(MaxUint32).CanDequantize() = true, want false")
	}
}

func TestDequantizeErrors(t *testing.T) {
	cases := []struct {
		name    string
		typ     gguf.Type
		dst     int
		src     int
		want    error
		message string // a substring of the error
	}{
		{"partial block", gguf.TypeQ4_K, 256, 145, gguf.ErrInvalid, "Q4_K: 145 source bytes are not a whole number of 144-byte blocks"},
		{"short source", gguf.TypeQ8_0, 32, 33, gguf.ErrInvalid, "Q8_0: 33 source bytes"},
		{"dst too short", gguf.TypeQ8_0, 63, 68, gguf.ErrInvalid, "Q8_0: destination of 63 elements, want 64 for 68 source bytes"},
		{"dst too long", gguf.TypeQ6_K, 257, 210, gguf.ErrInvalid, "Q6_K: destination of 257 elements, want 256 for 210 source bytes"},
		{"empty dst, one block", gguf.TypeMXFP4, 0, 17, gguf.ErrInvalid, "MXFP4: destination of 0 elements, want 32"},
		{"f32 odd bytes", gguf.TypeF32, 1, 5, gguf.ErrInvalid, "F32: 5 source bytes are not a whole number of 4-byte blocks"},
		{"f16 dst mismatch", gguf.TypeF16, 2, 2, gguf.ErrInvalid, "F16: destination of 2 elements, want 1"},
		{"unsupported Q8_K", gguf.TypeQ8_K, 256, 292, gguf.ErrUnsupported, "dequantize Q8_K"},
		{"unsupported I64", gguf.TypeI64, 1, 8, gguf.ErrUnsupported, "dequantize I64"},
		{"unsupported IQ2_XXS", gguf.TypeIQ2_XXS, 256, 66, gguf.ErrUnsupported, "IQ2_XXS"},
		{"removed Q4_2", gguf.Type(4), 32, 0, gguf.ErrUnsupported, "Q4_2(removed)"},
		{"undefined type", gguf.Type(1000), 0, 0, gguf.ErrUnsupported, "Type(1000)"},
	}
	for _, c := range cases {
		for _, d := range decoders {
			t.Run(c.name+"/"+d.name, func(t *testing.T) {
				err := d.f(c.typ, make([]float32, c.dst), make([]byte, c.src))
				if !errors.Is(err, c.want) {
					t.Fatalf("%s(%v, %d, %d bytes) = %v, want an error wrapping %v", d.name, c.typ, c.dst, c.src, err, c.want)
				}
				if !strings.Contains(err.Error(), c.message) {
					t.Errorf("%s(%v, %d, %d bytes) = %q, want it to contain %q", d.name, c.typ, c.dst, c.src, err, c.message)
				}
			})
		}
	}
}

func TestDequantizeEmpty(t *testing.T) {
	for _, typ := range supported {
		for _, d := range decoders {
			if err := d.f(typ, nil, nil); err != nil {
				t.Errorf("%s(%v, nil, nil) = %v, want nil", d.name, typ, err)
			}
		}
	}
}

// randomBlocks returns n blocks of random bytes of type typ.
func randomBlocks(r *rand.Rand, typ gguf.Type, n int) []byte {
	b := make([]byte, int(typ.TypeSize())*n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestDequantizeMatchesRef runs random blocks (NaN, Inf and subnormal scales
// included) through both implementations; FuzzDequantize does the same
// with the fuzzer's inputs.
func TestDequantizeMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, typ := range supported {
		t.Run(typ.String(), func(t *testing.T) {
			for range 20 {
				checkSame(t, typ, randomBlocks(r, typ, 1+r.IntN(24)))
			}
			// Many blocks (the amd64 kernels loop over them, and BF16
			// and F16 over 32 and 8 elements), lengths off those steps.
			checkSame(t, typ, randomBlocks(r, typ, 3*16+5))
			checkSame(t, typ, randomBlocks(r, typ, 1000+r.IntN(8)))
		})
	}
}

// checkSame checks that Dequantize and DequantizeRef give the same error
// and the same bits, and that Dequantize writes nothing past dst.
func checkSame(t *testing.T, typ gguf.Type, src []byte) {
	t.Helper()
	n := 0
	if ts := typ.TypeSize(); ts > 0 {
		n = len(src) / int(ts) * int(typ.BlockSize())
	}
	const canary = 0x7fbadbad
	fast := make([]float32, n+4)
	for i := range fast {
		fast[i] = bits(canary)
	}
	ref := make([]float32, n)
	errFast := gguf.Dequantize(typ, fast[:n], src)
	errRef := gguf.DequantizeRef(typ, ref, src)
	if (errFast == nil) != (errRef == nil) || errFast != nil && errFast.Error() != errRef.Error() {
		t.Fatalf("Dequantize(%v, %d bytes) = %v, DequantizeRef = %v", typ, len(src), errFast, errRef)
	}
	if errFast != nil {
		return
	}
	for i := range ref {
		if math.Float32bits(fast[i]) != math.Float32bits(ref[i]) {
			t.Fatalf("%v block %d element %d: Dequantize = %v (%#08x), DequantizeRef = %v (%#08x)",
				typ, i/int(typ.BlockSize()), i%int(typ.BlockSize()), fast[i], math.Float32bits(fast[i]), ref[i], math.Float32bits(ref[i]))
		}
	}
	for i, v := range fast[n:] {
		if math.Float32bits(v) != canary {
			t.Fatalf("Dequantize(%v, %d bytes) wrote %v past dst[%d]", typ, len(src), v, n+i)
		}
	}
}

// FuzzDequantize checks that Dequantize and DequantizeRef agree bit for bit
// (NaN patterns included) on any type id and any bytes, and that neither
// panics or accepts bad lengths.
func FuzzDequantize(f *testing.F) {
	for _, c := range allKnownCases() {
		f.Add(uint32(c.typ), c.src)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, typ := range supported {
		f.Add(uint32(typ), randomBlocks(r, typ, 3))
	}
	f.Add(uint32(gguf.TypeQ8_K), make([]byte, 292))
	f.Add(uint32(99), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, id uint32, src []byte) {
		typ := gguf.Type(id % 48) // every defined, removed and a few undefined ids
		checkSame(t, typ, src)
		if !typ.CanDequantize() {
			if err := gguf.Dequantize(typ, nil, src); !errors.Is(err, gguf.ErrUnsupported) {
				t.Fatalf("Dequantize(%v) = %v, want ErrUnsupported", typ, err)
			}
			return
		}
		ts, bs := int(typ.TypeSize()), int(typ.BlockSize())
		whole := src[:len(src)/ts*ts]
		checkSame(t, typ, whole)
		n := len(src) / ts * bs
		if len(src)%ts != 0 {
			if err := gguf.Dequantize(typ, make([]float32, n), src); !errors.Is(err, gguf.ErrInvalid) {
				t.Fatalf("Dequantize(%v, %d, %d bytes) = %v, want ErrInvalid", typ, n, len(src), err)
			}
		}
		if err := gguf.Dequantize(typ, make([]float32, n+1), src); !errors.Is(err, gguf.ErrInvalid) {
			t.Fatalf("Dequantize(%v, %d, %d bytes) = %v, want ErrInvalid", typ, n+1, len(src), err)
		}
	})
}

// TestDequantizeAllocatesNothing checks Dequantize's promise that it
// allocates nothing, for every type, over many blocks: a compare --full
// decodes millions of rows, and an allocation a call there is garbage
// collected under the decoding.
func TestDequantizeAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, typ := range supported {
		src := randomBlocks(r, typ, 3*16+5)
		dst := make([]float32, len(src)/int(typ.TypeSize())*int(typ.BlockSize()))
		allocs := testing.AllocsPerRun(10, func() {
			if err := gguf.Dequantize(typ, dst, src); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Dequantize(%v, %d bytes) allocates %v times a call, want 0", typ, len(src), allocs)
		}
	}
}

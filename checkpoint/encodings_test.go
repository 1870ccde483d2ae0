package checkpoint_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// fp8Ref is the float32 of an 8-bit float byte, built from the OCP 8-bit
// floating point specification (v1.0, §5.3) as bit fields of the float32
// it widens to: E4M3 (bias 7, no infinities, S.1111.111 the only NaN)
// and E5M2 (bias 15, S.11111.00 infinity, S.11111.xx NaN). A normal
// number keeps its mantissa bits at the top of float32's and rebiases its
// exponent to 127; a subnormal is m·2^(1−bias−mantissa bits).
func fp8Ref(b byte, e5m2 bool) float32 {
	eb, mb, bias := 4, 3, 7
	if e5m2 {
		eb, mb, bias = 5, 2, 15
	}
	sign := uint32(b>>7) << 31
	e, m := uint32(b>>mb)&(1<<eb-1), uint32(b)&(1<<mb-1)
	top := uint32(1<<eb - 1)
	switch {
	case e5m2 && e == top && m == 0:
		return math.Float32frombits(sign | 0x7F80_0000)
	case e5m2 && e == top, !e5m2 && e == top && m == 7:
		return float32(math.NaN())
	case e == 0:
		v := float32(math.Ldexp(float64(m), 1-bias-mb))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (e-uint32(bias)+127)<<23 | m<<(23-mb))
}

// Every FP8 code decodes bit for bit to the specification's value (scale
// 1, one block), and the published anchors hold: E4M3's largest 448
// (0x7E) and smallest subnormal 2^-9 (0x01), E5M2's largest 57344 (0x7B),
// its infinity 0x7C and smallest subnormal 2^-16.
func TestDecodeFP8BlockCodesBitExact(t *testing.T) {
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, tt := range []struct {
		dtype safetensors.DType
		e5m2  bool
	}{{safetensors.F8_E4M3, false}, {safetensors.F8_E5M2, true}} {
		dst := make([]float32, 256)
		if err := checkpoint.DecodeFP8Block(dst, codes, tt.dtype, []float32{1}, 256); err != nil {
			t.Fatal(err)
		}
		for c, got := range dst {
			want := fp8Ref(byte(c), tt.e5m2)
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Errorf("%s code %#02x = %g, want %g", tt.dtype, c, got, want)
			}
		}
	}
	anchors := []struct {
		e5m2 bool
		code byte
		want float64
	}{{false, 0x7E, 448}, {false, 0x01, 0x1p-9}, {false, 0xB8, -1}, {true, 0x7B, 57344}, {true, 0x7C, math.Inf(1)}, {true, 0x01, 0x1p-16}}
	for _, a := range anchors {
		if got := float64(fp8Ref(a.code, a.e5m2)); got != a.want {
			t.Errorf("reference: code %#02x (e5m2 %v) = %g, want %g", a.code, a.e5m2, got, a.want)
		}
	}
}

// Each value is its code's value times its block's scale, the last block
// partial; a power-of-two scale multiplies exactly; doubling every scale
// doubles every value.
func TestDecodeFP8BlockScales(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 128, 129, 300} {
		for _, bc := range []int{1, 5, 128} {
			codes := make([]byte, n)
			for i := range codes {
				codes[i] = byte(rng.IntN(256)) &^ 0x40 // exponent ≤ 7: finite in both formats
			}
			scales := make([]float32, (n+bc-1)/bc)
			for i := range scales {
				scales[i] = float32(math.Ldexp(1, rng.IntN(20)-10))
			}
			for _, dt := range []safetensors.DType{safetensors.F8_E4M3, safetensors.F8_E5M2} {
				dst, twice := make([]float32, n), make([]float32, n)
				if err := checkpoint.DecodeFP8Block(dst, codes, dt, scales, bc); err != nil {
					t.Fatal(err)
				}
				doubled := make([]float32, len(scales))
				for i, s := range scales {
					doubled[i] = 2 * s
				}
				if err := checkpoint.DecodeFP8Block(twice, codes, dt, doubled, bc); err != nil {
					t.Fatal(err)
				}
				for i := range dst {
					want := fp8Ref(codes[i], dt == safetensors.F8_E5M2) * scales[i/bc]
					if dst[i] != want || twice[i] != 2*dst[i] {
						t.Fatalf("%s n %d block %d: value %d = %g (doubled %g), want %g", dt, n, bc, i, dst[i], twice[i], want)
					}
				}
			}
		}
	}
	for _, bad := range []struct {
		dst, codes, scales, bc int
		dt                     safetensors.DType
	}{{4, 4, 1, 3, safetensors.F8_E4M3}, {4, 3, 2, 2, safetensors.F8_E4M3}, {4, 4, 2, 0, safetensors.F8_E4M3}, {4, 4, 2, 2, safetensors.BF16}} {
		err := checkpoint.DecodeFP8Block(make([]float32, bad.dst), make([]byte, bad.codes), bad.dt, make([]float32, bad.scales), bad.bc)
		if !errors.Is(err, checkpoint.ErrFP8Block) {
			t.Errorf("DecodeFP8Block(%+v) = %v, want ErrFP8Block", bad, err)
		}
	}
}

// Hand values, one group of 8 inputs and 8 outputs, scale 0.5 for output
// 0 (F16 0x3800) and 1 for the others (0x3C00):
//
//	GPTQ: qweight word (0, 0) = 0x76543210, inputs 0–7 of output 0 hold
//	codes 0–7; qzeros nibble 0 = 3: the zero of output 0 is 4 (v1, stored
//	minus one) or 3 (v2). Row 0 = (0..7 − 4)·0.5, or (0..7 − 3)·0.5.
//	AWQ: qweight word (0, 0) = 0x76543210, nibble n holding output
//	[0 2 4 6 1 3 5 7][n]: input 0 of outputs 0–7 holds codes 0 4 1 5 2 6
//	3 7; zeros 0.
func TestDecodeIntPackedHand(t *testing.T) {
	le := binary.LittleEndian
	scales := make([]byte, 16)
	le.PutUint16(scales, 0x3800)
	for o := 1; o < 8; o++ {
		le.PutUint16(scales[2*o:], 0x3C00)
	}
	q := make([]byte, 32) // GPTQ [1, 8] words; AWQ [8, 1]
	le.PutUint32(q, 0x76543210)
	z := []byte{3, 0, 0, 0}
	for _, v2 := range []bool{false, true} {
		dst := make([]float32, 64)
		if err := checkpoint.DecodeIntPacked(dst, q, z, scales, nil, checkpoint.IntScheme{Bits: 4, Group: 8, ZerosAsStored: v2}, 8, 8, 1); err != nil {
			t.Fatal(err)
		}
		zero := 4.0
		if v2 {
			zero = 3
		}
		for i := range 8 {
			if want := float32((float64(i) - zero) * 0.5); dst[i] != want {
				t.Errorf("GPTQ v2 %v: row 0 input %d = %g, want %g", v2, i, dst[i], want)
			}
		}
		want := float32(-1) // output 1: code 0, zero 0 + 1 (v1) or 0 (v2), scale 1
		if v2 {
			want = 0
		}
		if dst[8] != want {
			t.Errorf("GPTQ v2 %v: row 1 input 0 = %g, want %g", v2, dst[8], want)
		}
	}
	dst := make([]float32, 64)
	if err := checkpoint.DecodeIntPacked(dst, q, []byte{0, 0, 0, 0}, scales, nil, checkpoint.IntScheme{AWQ: true, Bits: 4, Group: 8}, 8, 8, 1); err != nil {
		t.Fatal(err)
	}
	for o, code := range []float32{0, 4, 1, 5, 2, 6, 3, 7} {
		want := code
		if o == 0 {
			want *= 0.5
		}
		if dst[o*8] != want {
			t.Errorf("AWQ: output %d input 0 = %g, want %g", o, dst[o*8], want)
		}
	}
}

// packInt packs codes [out, in] with zeros and power-of-two scales
// [groups, out] as the scheme's definition says (see checkpoint.IntScheme),
// independently of the decoder.
func packInt(s checkpoint.IntScheme, codes []int, zeros []int, scaleExp []int, groupOf []int, out, in int) (q, z, sc, gidx []byte) {
	le := binary.LittleEndian
	per := 32 / s.Bits
	awqOrder := [8]int{0, 2, 4, 6, 1, 3, 5, 7}
	groups := len(zeros) / out
	if s.AWQ {
		q = make([]byte, 4*in*out/8)
		for i := range in {
			for c := range out / 8 {
				var w uint32
				for n := range 8 {
					w |= uint32(codes[(c*8+awqOrder[n])*in+i]) << (4 * n)
				}
				le.PutUint32(q[4*(i*out/8+c):], w)
			}
		}
	} else {
		q = make([]byte, 4*in/per*out)
		for r := range in / per {
			for o := range out {
				var w uint32
				for j := range per {
					w |= uint32(codes[o*in+r*per+j]) << (s.Bits * j)
				}
				le.PutUint32(q[4*(r*out+o):], w)
			}
		}
	}
	z = make([]byte, 4*groups*out/per)
	for g := range groups {
		for c := range out / per {
			var w uint32
			for n := range per {
				o := c*per + n
				if s.AWQ {
					o = c*8 + awqOrder[n]
				}
				v := zeros[g*out+o]
				if !s.AWQ && !s.ZerosAsStored {
					v--
				}
				w |= uint32(v) << (s.Bits * n)
			}
			le.PutUint32(z[4*(g*out/per+c):], w)
		}
	}
	sc = make([]byte, 2*groups*out)
	for i, k := range scaleExp {
		le.PutUint16(sc[2*i:], uint16(k+15)<<10)
	}
	gidx = make([]byte, 4*in)
	for i, g := range groupOf {
		le.PutUint32(gidx[4*i:], uint32(g))
	}
	return q, z, sc, gidx
}

// Random codes, zeros (1 up: v1 cannot store 0), power-of-two scales and
// groups (through g_idx, in any order) packed by the definition decode to
// exactly (code − zero)·scale, for GPTQ at 2, 4 and 8 bits (v1 and v2)
// and AWQ; without g_idx the groups are input/Group.
func TestDecodeIntPackedRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	schemes := []checkpoint.IntScheme{{Bits: 2}, {Bits: 4}, {Bits: 8}, {Bits: 4, ZerosAsStored: true}, {Bits: 8, ZerosAsStored: true}, {AWQ: true, Bits: 4}}
	for trial := range 60 {
		s := schemes[trial%len(schemes)]
		per := 32 / s.Bits
		out, in := max(8, per)*(1+rng.IntN(4)), per*(1+rng.IntN(4))
		if s.AWQ {
			in = 1 + rng.IntN(40)
		}
		group := 1 + rng.IntN(in)
		s.Group = int64(group)
		groups := (in + group - 1) / group
		act := trial%2 == 0
		groupOf := make([]int, in)
		for i := range groupOf {
			groupOf[i] = i / group
			if act {
				groupOf[i] = rng.IntN(groups)
			}
		}
		levels := 1<<s.Bits - 1
		codes, zeros, exps := make([]int, out*in), make([]int, groups*out), make([]int, groups*out)
		for i := range codes {
			codes[i] = rng.IntN(levels + 1)
		}
		for i := range zeros {
			zeros[i], exps[i] = 1+rng.IntN(levels), rng.IntN(10)-7
		}
		q, z, sc, gidx := packInt(s, codes, zeros, exps, groupOf, out, in)
		if !act {
			gidx = nil
		}
		dst := make([]float32, out*in)
		if err := checkpoint.DecodeIntPacked(dst, q, z, sc, gidx, s, out, in, groups); err != nil {
			t.Fatalf("%+v [%d, %d]: %v", s, out, in, err)
		}
		for o := range out {
			for i := range in {
				g := groupOf[i]
				want := float32(float64(codes[o*in+i]-zeros[g*out+o]) * math.Ldexp(1, exps[g*out+o]))
				if dst[o*in+i] != want {
					t.Fatalf("%+v [%d, %d] act-order %v: (%d, %d) = %g, want %g", s, out, in, act, o, i, dst[o*in+i], want)
				}
			}
		}
		if act && groups > 0 { // a group out of range is refused
			binary.LittleEndian.PutUint32(gidx[4*(in-1):], uint32(groups))
			if err := checkpoint.DecodeIntPacked(dst, q, z, sc, gidx, s, out, in, groups); !errors.Is(err, checkpoint.ErrIntPacked) {
				t.Fatalf("g_idx naming group %d of %d: %v, want ErrIntPacked", groups, groups, err)
			}
		}
	}
	for _, bad := range []struct {
		s                  checkpoint.IntScheme
		out, in, groups, q int
	}{
		{checkpoint.IntScheme{Bits: 3}, 8, 8, 1, 12}, {checkpoint.IntScheme{AWQ: true, Bits: 8}, 8, 8, 1, 64}, {checkpoint.IntScheme{Bits: 4}, 7, 8, 1, 28},
		{checkpoint.IntScheme{Bits: 4}, 8, 8, 9, 32}, {checkpoint.IntScheme{Bits: 4}, 8, 8, 1, 31}, {checkpoint.IntScheme{Bits: 4}, 0, 8, 1, 0},
	} {
		err := checkpoint.DecodeIntPacked(make([]float32, bad.out*bad.in), make([]byte, bad.q), make([]byte, 4*bad.groups), make([]byte, 2*bad.groups*bad.out), nil, bad.s, bad.out, bad.in, bad.groups)
		if !errors.Is(err, checkpoint.ErrIntPacked) {
			t.Errorf("DecodeIntPacked(%+v) = %v, want ErrIntPacked", bad, err)
		}
	}
}

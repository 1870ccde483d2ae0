package checkpoint_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
)

// FuzzDecodeFP8Block: any codes, scales and block width decode without a
// panic; on success every value is its code's value (fp8Ref) times its
// block's scale, and otherwise the error wraps ErrFP8Block.
func FuzzDecodeFP8Block(f *testing.F) {
	f.Add([]byte{0x38, 0x7E, 0x7F, 0xFF, 0x01}, []byte{0, 0, 0x80, 0x3F}, uint8(5), false)
	f.Add([]byte{0x3C, 0x7B, 0x7C, 0xFE}, []byte{0, 0, 0, 0x40, 0, 0, 0, 0x3F}, uint8(2), true)
	f.Add([]byte{}, []byte{}, uint8(0), false)
	f.Fuzz(func(t *testing.T, codes, scaleBytes []byte, bc uint8, e5m2 bool) {
		if len(codes) > 1<<16 {
			return
		}
		scales := make([]float32, len(scaleBytes)/4)
		for i := range scales {
			scales[i] = math.Float32frombits(binary.LittleEndian.Uint32(scaleBytes[4*i:]))
		}
		dt := safetensors.F8_E4M3
		if e5m2 {
			dt = safetensors.F8_E5M2
		}
		dst := make([]float32, len(codes))
		err := checkpoint.DecodeFP8Block(dst, codes, dt, scales, int(bc))
		if err != nil {
			if !errors.Is(err, checkpoint.ErrFP8Block) {
				t.Fatalf("error %v does not wrap ErrFP8Block", err)
			}
			return
		}
		for i, v := range dst {
			want := fp8Ref(codes[i], e5m2) * scales[i/int(bc)]
			if math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
				t.Fatalf("value %d = %g, want %g", i, v, want)
			}
		}
	})
}

// FuzzDecodeIntPacked: any bytes cut into qweight, qzeros, scales and
// g_idx of the sizes the dimensions ask (or not) decode without a panic;
// on success every value is (q − zero)·scale with q and zero on the grid
// (|value| ≤ 2^bits·|scale|), and otherwise the error wraps ErrIntPacked.
func FuzzDecodeIntPacked(f *testing.F) {
	f.Add(make([]byte, 32+4+16+32), uint8(8), uint8(8), uint8(1), uint8(4), false, false, true)
	f.Add(make([]byte, 256), uint8(8), uint8(5), uint8(2), uint8(4), true, false, false)
	f.Add(make([]byte, 300), uint8(16), uint8(16), uint8(4), uint8(2), false, true, true)
	f.Fuzz(func(t *testing.T, data []byte, out, in, groups, bits uint8, awq, v2, withGidx bool) {
		s := checkpoint.IntScheme{AWQ: awq, Bits: int(bits), Group: -1, ZerosAsStored: v2}
		per := max(1, 32/max(int(bits), 1))
		qn := int(out) * int(in) / per * 4
		zn := int(groups) * (int(out) / per) * 4
		sn := int(groups) * int(out) * 2
		gn := 0
		if withGidx {
			gn = int(in) * 4
		}
		take := func(n int) []byte {
			n = min(n, len(data))
			b := data[:n]
			data = data[n:]
			return b
		}
		q, z, sc := take(qn), take(zn), take(sn)
		var gidx []byte
		if withGidx {
			gidx = take(gn)
		}
		dst := make([]float32, int(out)*int(in))
		err := checkpoint.DecodeIntPacked(dst, q, z, sc, gidx, s, int(out), int(in), int(groups))
		if err != nil {
			if !errors.Is(err, checkpoint.ErrIntPacked) {
				t.Fatalf("error %v does not wrap ErrIntPacked", err)
			}
			return
		}
		var smax float64
		for i := 0; i+1 < len(sc); i += 2 {
			v := math.Abs(float64(halfRef(binary.LittleEndian.Uint16(sc[i:]))))
			if !math.IsNaN(v) {
				smax = math.Max(smax, v)
			}
		}
		for i, v := range dst {
			if a := math.Abs(float64(v)); !math.IsNaN(a) && a > math.Ldexp(smax, int(bits)) {
				t.Fatalf("value %d = %g: off the grid of %d bits with scales up to %g", i, v, bits, smax)
			}
		}
	})
}

// FuzzDecodeMXFP4: any blocks and scales decode without a panic; on
// success each value is its E2M1 code's ±{0, 0.5, …, 6} times
// 2^(scale − 127) (OCP Microscaling v1.0, §5.3.3), NaN for scale 0xFF.
func FuzzDecodeMXFP4(f *testing.F) {
	f.Add(make([]byte, 32), []byte{127, 128})
	f.Add([]byte{0xF1, 0x97}, []byte{0xFF})
	f.Fuzz(func(t *testing.T, blocks, scales []byte) {
		if len(scales) > 1<<12 {
			return
		}
		dst := make([]float32, 32*len(scales))
		if err := checkpoint.DecodeMXFP4(dst, blocks, scales); err != nil {
			if !errors.Is(err, checkpoint.ErrMXFP4) {
				t.Fatalf("error %v does not wrap ErrMXFP4", err)
			}
			return
		}
		e2m1 := [8]float64{0, 0.5, 1, 1.5, 2, 3, 4, 6}
		for i, v := range dst {
			code := blocks[i/2] >> (4 * (i % 2)) & 15
			want := float32(e2m1[code&7] * math.Ldexp(1, int(scales[i/32])-127))
			if code&8 != 0 {
				want = -want
			}
			if scales[i/32] == 0xFF {
				want = float32(math.NaN())
			}
			if math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
				t.Fatalf("value %d (code %d, scale %d) = %g, want %g", i, code, scales[i/32], v, want)
			}
		}
	})
}

// halfRef is the value of an IEEE 754 binary16 (1 sign, 5 exponent bits
// of bias 15, 10 mantissa bits).
func halfRef(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10&31), float64(h&0x3FF)
	switch {
	case e == 31 && m == 0:
		return sign * math.Inf(1)
	case e == 31:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(m, -24)
	}
	return sign * math.Ldexp(1+m/1024, e-15)
}

package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// halfToF32 decodes a binary16 value, written from the IEEE 754 definition.
func halfToF32(h uint16) float32 {
	sign := float64(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return float32(sign * math.Ldexp(mant, -24))
	case 31:
		if mant != 0 {
			return float32(math.NaN())
		}
		return float32(math.Inf(int(sign)))
	}
	return float32(sign * math.Ldexp(1024+mant, exp-25))
}

func TestToF16(t *testing.T) {
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"third", 1.0 / 3, 0x3555},
		{"tenth", 0.1, 0x2e66},
		{"max", 65504, 0x7bff},
		{"tie above max rounds to infinity", 65520, 0x7c00},
		{"just below the tie", math.Nextafter32(65520, 0), 0x7bff},
		{"overflow", 1e6, 0x7c00},
		{"smallest normal", float32(math.Ldexp(1, -14)), 0x0400},
		{"smallest subnormal", float32(math.Ldexp(1, -24)), 0x0001},
		{"half the smallest subnormal ties to zero", float32(math.Ldexp(1, -25)), 0x0000},
		{"just above half the smallest subnormal", math.Nextafter32(float32(math.Ldexp(1, -25)), 1), 0x0001},
		{"1.5 subnormals ties to 2", float32(math.Ldexp(3, -25)), 0x0002},
		{"binary32 subnormal", math.Float32frombits(1), 0x0000},
		{"infinity", float32(math.Inf(-1)), 0xfc00},
		{"NaN", float32(math.NaN()), 0x7e00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toF16(tt.in); got != tt.want {
				t.Errorf("toF16(%g) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
}

// TestToF16Exhaustive checks every finite half: it converts back to itself,
// the midpoint between it and the next half rounds to the even one of the
// two, and a binary32 step either side of the midpoint rounds to the nearer.
func TestToF16Exhaustive(t *testing.T) {
	for h := uint16(0); h < 0x7c00; h++ {
		f := halfToF32(h)
		if got := toF16(f); got != h {
			t.Fatalf("toF16(%g) = %#04x, want %#04x", f, got, h)
		}
		if got := toF16(-f); got != h|0x8000 {
			t.Fatalf("toF16(%g) = %#04x, want %#04x", -f, got, h|0x8000)
		}
		next := halfToF32(h + 1) // 0x7c00 is +Inf: use 65536 as the next step
		if h+1 == 0x7c00 {
			next = 65536
		}
		mid := (f + next) / 2 // exact: halves have 11 significant bits
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		if got := toF16(mid); got != even {
			t.Fatalf("toF16(%g) (midpoint of %#04x and %#04x) = %#04x, want %#04x", mid, h, h+1, got, even)
		}
		if got := toF16(math.Nextafter32(mid, 0)); got != h {
			t.Fatalf("toF16(just below %g) = %#04x, want %#04x", mid, got, h)
		}
		if got := toF16(math.Nextafter32(mid, float32(math.Inf(1)))); got != h+1 {
			t.Fatalf("toF16(just above %g) = %#04x, want %#04x", mid, got, h+1)
		}
	}
}

func TestToBF16(t *testing.T) {
	tests := []struct {
		name string
		in   uint32 // binary32 bits
		want uint16
	}{
		{"one", 0x3f800000, 0x3f80},
		{"tie to even (down)", 0x3f808000, 0x3f80},
		{"tie to even (up)", 0x3f818000, 0x3f82},
		{"above the tie", 0x3f808001, 0x3f81},
		{"below the tie", 0x3f807fff, 0x3f80},
		{"negative", 0xbf808001, 0xbf81},
		{"max rounds to infinity", 0x7f7fffff, 0x7f80},
		{"infinity", 0x7f800000, 0x7f80},
		{"NaN stays NaN", 0x7f800001, 0x7fc0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toBF16(math.Float32frombits(tt.in)); got != tt.want {
				t.Errorf("toBF16(%#08x) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
}

func TestQ8_0(t *testing.T) {
	// amax 127 gives d = 1, so the quants are the values rounded half away
	// from zero.
	x := make([]float32, 64)
	in := []float32{127, -127, 2.5, -2.5, 0.5, -0.5, 1.49, -1.51, 0}
	copy(x, in)
	want := []int8{127, -127, 3, -3, 1, -1, 1, -2, 0}
	// The second block: every value 0.001·j; d = 0.031/127.
	for j := range 32 {
		x[32+j] = 0.001 * float32(j)
	}
	got, err := q8_0Bytes(x)
	if err != nil {
		t.Fatalf("q8_0Bytes: %v", err)
	}
	if len(got) != 2*34 {
		t.Fatalf("q8_0Bytes(64 values) = %d bytes, want 68", len(got))
	}
	if d := binary.LittleEndian.Uint16(got); d != 0x3c00 {
		t.Errorf("block 0: d = %#04x, want 0x3c00 (1.0)", d)
	}
	for i, w := range want {
		if q := int8(got[2+i]); q != w {
			t.Errorf("block 0: qs[%d] = %d for %g, want %d", i, q, in[i], w)
		}
	}
	for j := len(want); j < 32; j++ {
		if got[2+j] != 0 {
			t.Errorf("block 0: qs[%d] = %d, want 0", j, int8(got[2+j]))
		}
	}
	blk := got[34:]
	d := halfToF32(binary.LittleEndian.Uint16(blk))
	if want := float32(0.031) / 127; math.Abs(float64(d-want)) > float64(want)/1000 {
		t.Errorf("block 1: d = %g, want about %g", d, want)
	}
	for j := range 32 {
		deq := d * float32(int8(blk[2+j]))
		if diff := math.Abs(float64(deq - x[32+j])); diff > float64(d)*0.51 {
			t.Errorf("block 1: value %d dequantizes to %g, want within d/2 of %g", j, deq, x[32+j])
		}
	}
	if int8(blk[2+31]) != 127 {
		t.Errorf("block 1: qs[31] (the absmax) = %d, want 127", int8(blk[2+31]))
	}

	zero, err := q8_0Bytes(make([]float32, 32))
	if err != nil || !bytes.Equal(zero, make([]byte, 34)) {
		t.Errorf("q8_0Bytes(32 zeros) = %v, %v; want 34 zero bytes", zero, err)
	}
	if _, err := q8_0Bytes(make([]float32, 33)); err == nil {
		t.Error("q8_0Bytes(33 values) succeeded, want an error")
	}
}

func TestWeights(t *testing.T) {
	a := weights("model.layers.0.self_attn.q_proj.weight", 10000, 2)
	b := weights("model.layers.0.self_attn.q_proj.weight", 10000, 2)
	c := weights("model.layers.0.self_attn.k_proj.weight", 10000, 2)
	if !slicesEqual(a, b) {
		t.Error("weights(name) differs between two calls")
	}
	if slicesEqual(a, c) {
		t.Error("weights of two names are equal")
	}
	tests := []struct {
		name     string
		rank     int
		mean, sd float64
	}{
		{"model.layers.1.mlp.experts.3.up_proj.weight", 2, 0, matrixStd},
		{"model.norm.weight", 1, 1, normStd},
	}
	for _, tt := range tests {
		v := weights(tt.name, 20000, tt.rank)
		var sum, sq float64
		for _, x := range v {
			sum += float64(x)
		}
		mean := sum / float64(len(v))
		for _, x := range v {
			sq += (float64(x) - mean) * (float64(x) - mean)
		}
		sd := math.Sqrt(sq / float64(len(v)))
		if math.Abs(mean-tt.mean) > tt.sd/20 || math.Abs(sd-tt.sd) > tt.sd/20 {
			t.Errorf("weights(%q): mean %g, sd %g; want about %g, %g", tt.name, mean, sd, tt.mean, tt.sd)
		}
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

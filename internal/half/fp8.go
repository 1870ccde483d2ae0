package half

import "math"

// E4M3 and E5M2 map every 8-bit pattern of float8_e4m3fn and float8_e5m2
// to its value: safetensors decodes with them, checkpoint scales with them.
var E4M3, E5M2 = f8Table(4, 3, 7, false), f8Table(5, 2, 15, true)

// f8Table builds the value table of an 8-bit float with the given exponent
// and mantissa widths and bias. With ieee, the all-ones exponent holds
// infinities and NaNs; without (the "fn" variants), only S.1111.111 is NaN
// and the rest of that exponent holds ordinary values.
func f8Table(expBits, mantBits, bias int, ieee bool) [256]float32 {
	var t [256]float32
	maxExp := 1<<expBits - 1
	for b := 0; b < 256; b++ {
		sign := 1.0
		if b&0x80 != 0 {
			sign = -1
		}
		e := b >> mantBits & maxExp
		m := b & (1<<mantBits - 1)
		var v float64
		switch {
		case ieee && e == maxExp && m == 0:
			v = math.Inf(1)
		case ieee && e == maxExp, !ieee && e == maxExp && m == 1<<mantBits-1:
			v = math.NaN()
		case e == 0:
			v = math.Ldexp(float64(m), 1-bias-mantBits)
		default:
			v = math.Ldexp(float64(m|1<<mantBits), e-bias-mantBits)
		}
		t[b] = float32(sign * v)
	}
	return t
}

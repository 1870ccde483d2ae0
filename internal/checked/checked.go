// Package checked holds overflow-checked integer arithmetic for sizes and
// counts read from untrusted files.
//
// Every function reports ok=false instead of wrapping, so a parser can turn
// an overflow into an error that names the field at fault.
package checked

import (
	"math"
	"math/bits"
)

// Mul returns a·b for non-negative a and b, and false when either is
// negative or the product does not fit in an int64.
func Mul(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

// Add returns a+b for non-negative a and b, and false when either is
// negative or the sum does not fit in an int64.
func Add(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	s, carry := bits.Add64(uint64(a), uint64(b), 0)
	if carry != 0 || s > math.MaxInt64 {
		return 0, false
	}
	return int64(s), true
}

// Product returns the product of dims, 1 for no dims, and false when a dim is
// negative or the product overflows an int64. A zero dim gives 0 even when
// the other dims would overflow, as the element count of such a tensor is 0.
func Product(dims []int64) (int64, bool) {
	p := int64(1)
	ok := true
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, true
		}
		if ok {
			p, ok = Mul(p, d)
		}
	}
	return p, ok
}

// AlignUp returns off rounded up to a multiple of align, which must be a
// power of two greater than zero, and false on overflow or a bad alignment.
func AlignUp(off, align int64) (int64, bool) {
	if align <= 0 || align&(align-1) != 0 || off < 0 {
		return 0, false
	}
	return Add(off, (align-off%align)%align)
}

// SatMul returns the product of non-negative xs, or math.MaxInt64 when it
// does not fit (or an x is negative).
func SatMul(xs ...int64) int64 {
	if p, ok := Product(xs); ok {
		return p
	}
	return math.MaxInt64
}

// SatAdd returns the sum of non-negative xs, or math.MaxInt64 when it does
// not fit (or an x is negative).
func SatAdd(xs ...int64) int64 {
	var s int64
	for _, x := range xs {
		n, ok := Add(s, x)
		if !ok {
			return math.MaxInt64
		}
		s = n
	}
	return s
}

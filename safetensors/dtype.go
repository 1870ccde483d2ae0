package safetensors

import "strconv"

// DType is the element type of a tensor, as named in the "dtype" field of a
// safetensors header. The zero value is invalid.
//
// The set mirrors the Dtype enum of the reference crate
// (safetensors/src/tensor.rs in github.com/huggingface/safetensors).
type DType uint8

// The dtypes a safetensors header may name. Each constant is spelled as the
// format spells it.
const (
	BOOL        DType = iota + 1 // boolean, one byte per element
	F4                           // 4-bit float (OCP MX FP4, E2M1), two elements per byte
	F6_E2M3                      // 6-bit float (OCP MX FP6, E2M3)
	F6_E3M2                      // 6-bit float (OCP MX FP6, E3M2)
	U8                           // unsigned 8-bit integer
	I8                           // signed 8-bit integer
	F8_E5M2                      // 8-bit float, 5 exponent and 2 mantissa bits
	F8_E4M3                      // 8-bit float, 4 exponent and 3 mantissa bits
	F8_E8M0                      // 8-bit exponent-only scale (OCP MX E8M0)
	F8_E4M3FNUZ                  // 8-bit float E4M3, finite, no negative zero
	F8_E5M2FNUZ                  // 8-bit float E5M2, finite, no negative zero
	I16                          // signed 16-bit integer
	U16                          // unsigned 16-bit integer
	F16                          // IEEE 754 half precision
	BF16                         // bfloat16
	I32                          // signed 32-bit integer
	U32                          // unsigned 32-bit integer
	F32                          // IEEE 754 single precision
	C64                          // complex of two F32 parts
	F64                          // IEEE 754 double precision
	I64                          // signed 64-bit integer
	U64                          // unsigned 64-bit integer
)

// numDTypes is one past the last valid DType.
const numDTypes = U64 + 1

// dtypeTraits is indexed by DType; entry 0 is the invalid zero value.
var dtypeTraits = [numDTypes]struct {
	name  string
	bits  uint8
	float bool
}{
	BOOL:        {"BOOL", 8, false},
	F4:          {"F4", 4, true},
	F6_E2M3:     {"F6_E2M3", 6, true},
	F6_E3M2:     {"F6_E3M2", 6, true},
	U8:          {"U8", 8, false},
	I8:          {"I8", 8, false},
	F8_E5M2:     {"F8_E5M2", 8, true},
	F8_E4M3:     {"F8_E4M3", 8, true},
	F8_E8M0:     {"F8_E8M0", 8, true},
	F8_E4M3FNUZ: {"F8_E4M3FNUZ", 8, true},
	F8_E5M2FNUZ: {"F8_E5M2FNUZ", 8, true},
	I16:         {"I16", 16, false},
	U16:         {"U16", 16, false},
	F16:         {"F16", 16, true},
	BF16:        {"BF16", 16, true},
	I32:         {"I32", 32, false},
	U32:         {"U32", 32, false},
	F32:         {"F32", 32, true},
	C64:         {"C64", 64, false},
	F64:         {"F64", 64, true},
	I64:         {"I64", 64, false},
	U64:         {"U64", 64, false},
}

// ParseDType returns the DType the format names s, and false when s names
// none. The match is exact and case-sensitive.
func ParseDType(s string) (DType, bool) {
	// A switch on strings compiles to a length test and a few comparisons,
	// and never allocates.
	switch s {
	case "BOOL":
		return BOOL, true
	case "F4":
		return F4, true
	case "F6_E2M3":
		return F6_E2M3, true
	case "F6_E3M2":
		return F6_E3M2, true
	case "U8":
		return U8, true
	case "I8":
		return I8, true
	case "F8_E5M2":
		return F8_E5M2, true
	case "F8_E4M3":
		return F8_E4M3, true
	case "F8_E8M0":
		return F8_E8M0, true
	case "F8_E4M3FNUZ":
		return F8_E4M3FNUZ, true
	case "F8_E5M2FNUZ":
		return F8_E5M2FNUZ, true
	case "I16":
		return I16, true
	case "U16":
		return U16, true
	case "F16":
		return F16, true
	case "BF16":
		return BF16, true
	case "I32":
		return I32, true
	case "U32":
		return U32, true
	case "F32":
		return F32, true
	case "C64":
		return C64, true
	case "F64":
		return F64, true
	case "I64":
		return I64, true
	case "U64":
		return U64, true
	}
	return 0, false
}

// Valid reports whether d is one of the named dtypes.
func (d DType) Valid() bool { return d > 0 && d < numDTypes }

// String returns the format's name for d, such as "BF16", or "DType(N)" for
// an invalid value.
func (d DType) String() string {
	if !d.Valid() {
		return "DType(" + strconv.Itoa(int(d)) + ")"
	}
	return dtypeTraits[d].name
}

// Bits returns the size of one element in bits: 4 for F4, 6 for F6_*, 8 for
// BOOL, U8, I8 and F8_*, 64 for C64, and so on. It returns 0 for an invalid
// DType.
func (d DType) Bits() int {
	if !d.Valid() {
		return 0
	}
	return int(dtypeTraits[d].bits)
}

// IsFloat reports whether d is a real floating-point type, including the
// 4-, 6- and 8-bit ones and the E8M0 scale type. It is false for C64, for
// integers and for BOOL.
func (d DType) IsFloat() bool { return d.Valid() && dtypeTraits[d].float }

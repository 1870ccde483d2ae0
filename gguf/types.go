package gguf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// Type is a ggml tensor type id, as stored in a GGUF tensor info.
//
// The ids mirror enum ggml_type in
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/include/ggml.h#L389-L434
type Type uint32

// The ggml types defined at the pinned ggml commit. Ids 4, 5, 31-33 and 36-38
// were removed from ggml (see [Type.Removed]) and have no constant.
const (
	TypeF32     Type = 0
	TypeF16     Type = 1
	TypeQ4_0    Type = 2
	TypeQ4_1    Type = 3
	TypeQ5_0    Type = 6
	TypeQ5_1    Type = 7
	TypeQ8_0    Type = 8
	TypeQ8_1    Type = 9
	TypeQ2_K    Type = 10
	TypeQ3_K    Type = 11
	TypeQ4_K    Type = 12
	TypeQ5_K    Type = 13
	TypeQ6_K    Type = 14
	TypeQ8_K    Type = 15
	TypeIQ2_XXS Type = 16
	TypeIQ2_XS  Type = 17
	TypeIQ3_XXS Type = 18
	TypeIQ1_S   Type = 19
	TypeIQ4_NL  Type = 20
	TypeIQ3_S   Type = 21
	TypeIQ2_S   Type = 22
	TypeIQ4_XS  Type = 23
	TypeI8      Type = 24
	TypeI16     Type = 25
	TypeI32     Type = 26
	TypeI64     Type = 27
	TypeF64     Type = 28
	TypeIQ1_M   Type = 29
	TypeBF16    Type = 30
	TypeTQ1_0   Type = 34
	TypeTQ2_0   Type = 35
	TypeMXFP4   Type = 39
	TypeNVFP4   Type = 40
	TypeQ1_0    Type = 41
	TypeQ2_0    Type = 42
)

// typeTrait is one row of the ggml type table.
type typeTrait struct {
	name      string
	blockSize int64 // elements per block
	typeSize  int64 // bytes per block
	quantized bool
	removed   bool
}

// typeTraits is ggml's type table: block sizes and block byte sizes from
// type_traits in
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml.c#L631-L945
// with the block structs (and their static_asserts) in
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/src/ggml-common.h#L180-L460
// Names are those of gguf-py's GGMLQuantizationType (ggml's own names in
// upper case). Removed ids keep their former names.
var typeTraits = [...]typeTrait{
	TypeF32:     {"F32", 1, 4, false, false},
	TypeF16:     {"F16", 1, 2, false, false},
	TypeQ4_0:    {"Q4_0", 32, 18, true, false},   // block_q4_0: f16 d, 16 B qs
	TypeQ4_1:    {"Q4_1", 32, 20, true, false},   // block_q4_1: f16 d, m, 16 B qs
	4:           {"Q4_2", 0, 0, false, true},     // removed
	5:           {"Q4_3", 0, 0, false, true},     // removed
	TypeQ5_0:    {"Q5_0", 32, 22, true, false},   // f16 d, 4 B qh, 16 B qs
	TypeQ5_1:    {"Q5_1", 32, 24, true, false},   // f16 d, m, 4 B qh, 16 B qs
	TypeQ8_0:    {"Q8_0", 32, 34, true, false},   // f16 d, 32 B qs
	TypeQ8_1:    {"Q8_1", 32, 36, true, false},   // f16 d, s, 32 B qs (gguf-py's 40 is stale)
	TypeQ2_K:    {"Q2_K", 256, 84, true, false},  // 16 B scales, 64 B qs, f16 d, dmin
	TypeQ3_K:    {"Q3_K", 256, 110, true, false}, // 32 B hmask, 64 B qs, 12 B scales, f16 d
	TypeQ4_K:    {"Q4_K", 256, 144, true, false}, // f16 d, dmin, 12 B scales, 128 B qs
	TypeQ5_K:    {"Q5_K", 256, 176, true, false}, // f16 d, dmin, 12 B scales, 32 B qh, 128 B qs
	TypeQ6_K:    {"Q6_K", 256, 210, true, false}, // 128 B ql, 64 B qh, 16 B scales, f16 d
	TypeQ8_K:    {"Q8_K", 256, 292, true, false}, // f32 d, 256 B qs, 16 i16 bsums
	TypeIQ2_XXS: {"IQ2_XXS", 256, 66, true, false},
	TypeIQ2_XS:  {"IQ2_XS", 256, 74, true, false},
	TypeIQ3_XXS: {"IQ3_XXS", 256, 98, true, false},
	TypeIQ1_S:   {"IQ1_S", 256, 50, true, false},
	TypeIQ4_NL:  {"IQ4_NL", 32, 18, true, false},
	TypeIQ3_S:   {"IQ3_S", 256, 110, true, false},
	TypeIQ2_S:   {"IQ2_S", 256, 82, true, false},
	TypeIQ4_XS:  {"IQ4_XS", 256, 136, true, false},
	TypeI8:      {"I8", 1, 1, false, false},
	TypeI16:     {"I16", 1, 2, false, false},
	TypeI32:     {"I32", 1, 4, false, false},
	TypeI64:     {"I64", 1, 8, false, false},
	TypeF64:     {"F64", 1, 8, false, false},
	TypeIQ1_M:   {"IQ1_M", 256, 56, true, false},
	TypeBF16:    {"BF16", 1, 2, false, false},
	31:          {"Q4_0_4_4", 0, 0, false, true}, // removed: Q4_0 is repacked at load time
	32:          {"Q4_0_4_8", 0, 0, false, true}, // removed
	33:          {"Q4_0_8_8", 0, 0, false, true}, // removed
	TypeTQ1_0:   {"TQ1_0", 256, 54, true, false},
	TypeTQ2_0:   {"TQ2_0", 256, 66, true, false},
	36:          {"IQ4_NL_4_4", 0, 0, false, true}, // removed: IQ4_NL is repacked at load time
	37:          {"IQ4_NL_4_8", 0, 0, false, true}, // removed
	38:          {"IQ4_NL_8_8", 0, 0, false, true}, // removed
	TypeMXFP4:   {"MXFP4", 32, 17, true, false},    // e8m0 scale, 16 B qs
	TypeNVFP4:   {"NVFP4", 64, 36, true, false},    // 4 e4m3 scales, 32 B qs
	TypeQ1_0:    {"Q1_0", 128, 18, true, false},    // f16 d, 16 B qs
	TypeQ2_0:    {"Q2_0", 64, 18, true, false},     // f16 d, 16 B qs
}

const removedSuffix = "(removed)"

// trait returns t's entry of the table (the zero entry for an id past
// it) and whether ggml defines t. It returns a pointer: a copy of the
// entry on every TypeSize and BlockSize was most of Dequantize's fixed
// cost a call.
func (t Type) trait() (*typeTrait, bool) {
	if uint64(t) >= uint64(len(typeTraits)) {
		return &noTrait, false
	}
	tr := &typeTraits[t]
	return tr, tr.name != ""
}

// noTrait is the entry of the ids past the table.
var noTrait typeTrait

// String returns ggml's name of the type in upper case ("F32", "Q4_K",
// "BF16"); a removed id prints as e.g. "Q4_2(removed)" and an id ggml never
// defined as e.g. "Type(99)".
func (t Type) String() string {
	tr, ok := t.trait()
	switch {
	case !ok:
		return "Type(" + strconv.FormatUint(uint64(t), 10) + ")"
	case tr.removed:
		return tr.name + removedSuffix
	}
	return tr.name
}

// Known reports whether ggml defines the type today: an id in the table that
// has not been removed.
func (t Type) Known() bool {
	tr, ok := t.trait()
	return ok && !tr.removed
}

// Removed reports whether the id once named a ggml type whose support has
// since been removed from GGUF files (ids 4, 5, 31-33, 36-38).
func (t Type) Removed() bool {
	tr, ok := t.trait()
	return ok && tr.removed
}

// BlockSize returns the number of elements in one block of the type (1 for
// unquantized types), or 0 if the type is not [Type.Known].
func (t Type) BlockSize() int64 {
	tr, _ := t.trait()
	return tr.blockSize
}

// TypeSize returns the number of bytes in one block of the type, or 0 if the
// type is not [Type.Known].
func (t Type) TypeSize() int64 {
	tr, _ := t.trait()
	return tr.typeSize
}

// Quantized reports whether the type stores elements in quantized blocks.
func (t Type) Quantized() bool {
	tr, _ := t.trait()
	return tr.quantized
}

// unknownTypeError explains why a type has no size.
func (t Type) unknownTypeError() error {
	if t.Removed() {
		return fmt.Errorf("%w: %v: ggml removed this type", ErrUnknownType, t)
	}
	return fmt.Errorf("%w: ggml type %d is not defined", ErrUnknownType, uint32(t))
}

// RowSize returns the number of bytes of one row of ne0 elements. It fails
// with [ErrUnknownType] if the type is not [Type.Known], with [ErrInvalid]
// if ne0 is negative or not a multiple of the block size, and with
// [ErrOverflow] if the size does not fit in an int64.
func (t Type) RowSize(ne0 int64) (int64, error) {
	tr, ok := t.trait()
	if !ok || tr.removed {
		return 0, t.unknownTypeError()
	}
	if ne0 < 0 {
		return 0, fmt.Errorf("%w: ne[0] = %d is negative", ErrInvalid, ne0)
	}
	if ne0%tr.blockSize != 0 {
		return 0, fmt.Errorf("%w: ne[0] = %d is not a multiple of %v's block size %d", ErrInvalid, ne0, t, tr.blockSize)
	}
	n, ok := checked.Mul(ne0/tr.blockSize, tr.typeSize)
	if !ok {
		return 0, fmt.Errorf("%w: row of %d %v elements", ErrOverflow, ne0, t)
	}
	return n, nil
}

// Bytes returns the number of bytes of a tensor of the type with dims in ne
// order (ne[0], the contiguous dimension, first), as ggml_nbytes computes it.
// No dims means one element, as in ggml. It fails like [Type.RowSize], and
// with [ErrOverflow] if the element count or byte size does not fit in an
// int64.
func (t Type) Bytes(dims []int64) (int64, error) {
	ne0 := int64(1)
	if len(dims) > 0 {
		ne0 = dims[0]
	}
	row, err := t.RowSize(ne0)
	if err != nil {
		return 0, err
	}
	n, ok := checked.Product(dims)
	if !ok {
		for i, d := range dims {
			if d < 0 {
				return 0, fmt.Errorf("%w: ne[%d] = %d is negative", ErrInvalid, i, d)
			}
		}
		return 0, fmt.Errorf("%w: element count of %v", ErrOverflow, dims)
	}
	if n == 0 {
		return 0, nil
	}
	b, ok := checked.Mul(row, n/ne0)
	if !ok {
		return 0, fmt.Errorf("%w: byte size of %v %v", ErrOverflow, t, dims)
	}
	return b, nil
}

// ParseType returns the type named name, ignoring case. It accepts every
// string [Type.String] returns: the names of defined types ("q4_k"), of
// removed ones with or without the "(removed)" suffix, and "Type(N)".
func ParseType(name string) (Type, bool) {
	base := name
	if len(base) > len(removedSuffix) && strings.EqualFold(base[len(base)-len(removedSuffix):], removedSuffix) {
		base = base[:len(base)-len(removedSuffix)]
	}
	for id, tr := range typeTraits {
		if tr.name != "" && strings.EqualFold(tr.name, base) && (base == name || tr.removed) {
			return Type(id), true
		}
	}
	if len(name) > len("Type()") && strings.EqualFold(name[:5], "Type(") && name[len(name)-1] == ')' {
		if n, err := strconv.ParseUint(name[5:len(name)-1], 10, 32); err == nil {
			return Type(n), true
		}
	}
	return 0, false
}

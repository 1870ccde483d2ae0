package gguf

import "strconv"

// ValueType is the type of a metadata value, enum gguf_metadata_value_type in
// https://github.com/ggml-org/ggml/blob/d99724f2b141fed9e1a9f402213506c081433465/docs/gguf.md
type ValueType uint32

// The metadata value types. Integers and floats are little-endian; a bool is
// one byte, 0 or 1; a string is a u64 byte length and the bytes; an array is
// an element type, a u64 count and the elements.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	ValueUint8:   "u8",
	ValueInt8:    "i8",
	ValueUint16:  "u16",
	ValueInt16:   "i16",
	ValueUint32:  "u32",
	ValueInt32:   "i32",
	ValueFloat32: "f32",
	ValueBool:    "bool",
	ValueString:  "string",
	ValueArray:   "array",
	ValueUint64:  "u64",
	ValueInt64:   "i64",
	ValueFloat64: "f64",
}

// valueSizes holds the encoded size of each fixed-size type, 0 for strings
// and arrays.
var valueSizes = [...]int64{
	ValueUint8: 1, ValueInt8: 1, ValueUint16: 2, ValueInt16: 2,
	ValueUint32: 4, ValueInt32: 4, ValueFloat32: 4, ValueBool: 1,
	ValueUint64: 8, ValueInt64: 8, ValueFloat64: 8,
}

// String returns the short name of the type ("u8", "i32", "f64", "bool",
// "string", "array"), or "ValueType(N)" for an undefined id.
func (t ValueType) String() string {
	if t.valid() {
		return valueTypeNames[t]
	}
	return "ValueType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

func (t ValueType) valid() bool { return uint64(t) < uint64(len(valueTypeNames)) }

// fixedSize returns the encoded size of a fixed-size type and 0 for strings,
// arrays and undefined ids.
func (t ValueType) fixedSize() int64 {
	if uint64(t) < uint64(len(valueSizes)) {
		return valueSizes[t]
	}
	return 0
}

// minSize returns the fewest bytes one encoded value of the type takes: a
// string's length prefix, an array's type and count.
func (t ValueType) minSize() int64 {
	switch t {
	case ValueString:
		return 8
	case ValueArray:
		return 12
	}
	return t.fixedSize()
}

func (t ValueType) signed() bool {
	return t == ValueInt8 || t == ValueInt16 || t == ValueInt32 || t == ValueInt64
}

func (t ValueType) unsigned() bool {
	return t == ValueUint8 || t == ValueUint16 || t == ValueUint32 || t == ValueUint64
}

package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Value is one typed metadata value: a scalar, a string or an array (which
// may nest). The zero Value is the u8 0. Values are immutable and safe for
// concurrent use.
//
// Arrays are stored packed, not as one Value per element: fixed-size
// elements as their little-endian bytes, strings as one string holding all
// elements back to back plus end offsets. [Value.Elem] and [Value.Strings]
// materialize elements on demand without copying string bytes.
type Value struct {
	typ  ValueType
	bits uint64 // integers (signed ones sign-extended), float bits, bool 0/1
	str  string
	arr  *array
}

// array is the payload of an array Value; exactly one of raw, ends or vals is
// used, depending on elem.
type array struct {
	elem ValueType
	n    int
	raw  []byte   // fixed-size elements, little-endian, n*elem.fixedSize() bytes
	blob string   // string elements, concatenated
	ends []uint32 // string element i is blob[end(i-1):end(i)], with end(-1) = 0
	wide []int    // the ends instead, once the blob passes 4 GiB
	vals []Value  // array elements
	err  error    // set by Array when an element does not have the element type

	// An array read under WithKeptArrayLen with more elements than it
	// keeps holds none of raw, blob, ends or vals: only elem, n and sum,
	// a hash of its encoded elements (unless read under
	// WithoutDroppedHash: then hashed is false).
	dropped bool
	hashed  bool
	sum     uint64
}

// Uint8 returns a u8 value.
func Uint8(x uint8) Value { return Value{typ: ValueUint8, bits: uint64(x)} }

// Int8 returns an i8 value.
func Int8(x int8) Value { return Value{typ: ValueInt8, bits: uint64(int64(x))} }

// Uint16 returns a u16 value.
func Uint16(x uint16) Value { return Value{typ: ValueUint16, bits: uint64(x)} }

// Int16 returns an i16 value.
func Int16(x int16) Value { return Value{typ: ValueInt16, bits: uint64(int64(x))} }

// Uint32 returns a u32 value.
func Uint32(x uint32) Value { return Value{typ: ValueUint32, bits: uint64(x)} }

// Int32 returns an i32 value.
func Int32(x int32) Value { return Value{typ: ValueInt32, bits: uint64(int64(x))} }

// Uint64 returns a u64 value.
func Uint64(x uint64) Value { return Value{typ: ValueUint64, bits: x} }

// Int64 returns an i64 value.
func Int64(x int64) Value { return Value{typ: ValueInt64, bits: uint64(x)} }

// Float32 returns an f32 value.
func Float32(x float32) Value { return Value{typ: ValueFloat32, bits: uint64(math.Float32bits(x))} }

// Float64 returns an f64 value.
func Float64(x float64) Value { return Value{typ: ValueFloat64, bits: math.Float64bits(x)} }

// Bool returns a bool value.
func Bool(x bool) Value {
	v := Value{typ: ValueBool}
	if x {
		v.bits = 1
	}
	return v
}

// String returns a string value. GGUF strings should be UTF-8, but any bytes
// are kept as they are.
func String(s string) Value { return Value{typ: ValueString, str: s} }

// Array returns an array of elements of type elem; elements may themselves be
// arrays (of any element type each). If elem is not a defined type or an
// element's type differs from elem, the Value is still returned but
// [EncodeHeader] rejects it.
func Array(elem ValueType, elems ...Value) Value {
	a := &array{elem: elem, n: len(elems)}
	for i, e := range elems {
		if e.typ != elem {
			a.err = fmt.Errorf("element %d is %v, want %v", i, e.typ, elem)
			break
		}
	}
	switch size := elem.fixedSize(); {
	case !elem.valid():
		a.err = fmt.Errorf("%w: array element type %d", ErrUnknownType, uint32(elem))
		a.vals = append([]Value(nil), elems...)
	case a.err != nil:
		a.vals = append([]Value(nil), elems...)
	case elem == ValueString:
		var sb strings.Builder
		a.ends = make([]uint32, 0, len(elems))
		for _, e := range elems {
			sb.WriteString(e.str)
			a.addEnd(sb.Len())
		}
		a.blob = sb.String()
	case elem == ValueArray:
		a.vals = append([]Value(nil), elems...)
	default:
		a.raw = make([]byte, 0, int64(len(elems))*size)
		for _, e := range elems {
			a.raw = appendFixed(a.raw, elem, e.bits)
		}
	}
	return Value{typ: ValueArray, arr: a}
}

// StringArray returns an array of strings.
func StringArray(s []string) Value {
	a := &array{elem: ValueString, n: len(s), ends: make([]uint32, 0, len(s))}
	var sb strings.Builder
	for _, e := range s {
		sb.WriteString(e)
		a.addEnd(sb.Len())
	}
	a.blob = sb.String()
	return Value{typ: ValueArray, arr: a}
}

// Float32Array returns an array of f32.
func Float32Array(f []float32) Value {
	a := &array{elem: ValueFloat32, n: len(f), raw: make([]byte, 4*len(f))}
	for i, x := range f {
		binary.LittleEndian.PutUint32(a.raw[4*i:], math.Float32bits(x))
	}
	return Value{typ: ValueArray, arr: a}
}

// Int32Array returns an array of i32.
func Int32Array(x []int32) Value {
	a := &array{elem: ValueInt32, n: len(x), raw: make([]byte, 4*len(x))}
	for i, e := range x {
		binary.LittleEndian.PutUint32(a.raw[4*i:], uint32(e))
	}
	return Value{typ: ValueArray, arr: a}
}

// appendFixed appends the little-endian encoding of a fixed-size value.
func appendFixed(b []byte, t ValueType, bits uint64) []byte {
	switch t.fixedSize() {
	case 1:
		return append(b, byte(bits))
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(bits))
	case 4:
		return binary.LittleEndian.AppendUint32(b, uint32(bits))
	}
	return binary.LittleEndian.AppendUint64(b, bits)
}

// decodeFixed decodes a fixed-size value of type t from b, which holds
// exactly t.fixedSize() bytes.
func decodeFixed(t ValueType, b []byte) Value {
	var bits uint64
	switch t {
	case ValueUint8, ValueBool:
		bits = uint64(b[0])
	case ValueInt8:
		bits = uint64(int64(int8(b[0])))
	case ValueUint16:
		bits = uint64(binary.LittleEndian.Uint16(b))
	case ValueInt16:
		bits = uint64(int64(int16(binary.LittleEndian.Uint16(b))))
	case ValueUint32, ValueFloat32:
		bits = uint64(binary.LittleEndian.Uint32(b))
	case ValueInt32:
		bits = uint64(int64(int32(binary.LittleEndian.Uint32(b))))
	default: // 64-bit types
		bits = binary.LittleEndian.Uint64(b)
	}
	return Value{typ: t, bits: bits}
}

// Type returns the value's type.
func (v Value) Type() ValueType { return v.typ }

// AsUint returns an integer value (of any width or signedness) that is not
// negative; ok is false for negative integers and other types.
func (v Value) AsUint() (x uint64, ok bool) {
	switch {
	case v.typ.unsigned():
		return v.bits, true
	case v.typ.signed() && int64(v.bits) >= 0:
		return v.bits, true
	}
	return 0, false
}

// AsInt returns an integer value (of any width or signedness) that fits in
// an int64; ok is false for larger u64 values and other types.
func (v Value) AsInt() (x int64, ok bool) {
	switch {
	case v.typ.signed():
		return int64(v.bits), true
	case v.typ.unsigned() && v.bits <= math.MaxInt64:
		return int64(v.bits), true
	}
	return 0, false
}

// AsFloat returns an f32 or f64 value as a float64, and an integer value
// converted to the nearest float64; ok is false for other types.
func (v Value) AsFloat() (x float64, ok bool) {
	switch {
	case v.typ == ValueFloat32:
		return float64(math.Float32frombits(uint32(v.bits))), true
	case v.typ == ValueFloat64:
		return math.Float64frombits(v.bits), true
	case v.typ.signed():
		return float64(int64(v.bits)), true
	case v.typ.unsigned():
		return float64(v.bits), true
	}
	return 0, false
}

// AsBool returns a bool value; ok is false for other types.
func (v Value) AsBool() (x, ok bool) {
	return v.bits != 0, v.typ == ValueBool
}

// AsString returns a string value; ok is false for other types.
func (v Value) AsString() (s string, ok bool) {
	return v.str, v.typ == ValueString
}

// ElemType returns the element type of an array. For a value that is not an
// array it returns 0 ([ValueUint8]); check [Value.Type] first.
func (v Value) ElemType() ValueType {
	if v.arr == nil {
		return 0
	}
	return v.arr.elem
}

// Kept reports whether v holds its elements: false only for an array that
// [Read] checked but did not keep (see [WithKeptArrayLen]). Such an array
// has its type, element type and length; [Value.Elem] panics on it,
// [Value.Strings] reports false and [Value.Any] returns nil.
func (v Value) Kept() bool { return v.arr == nil || !v.arr.dropped }

// Len returns the number of elements of an array, and 0 for other values.
func (v Value) Len() int {
	if v.arr == nil {
		return 0
	}
	return v.arr.n
}

// Elem returns element i of an array. Like indexing a slice, it panics if i
// is not in [0, v.Len()), and it panics on an array whose elements were not
// kept ([Value.Kept]).
func (v Value) Elem(i int) Value {
	if i < 0 || i >= v.Len() {
		panic(fmt.Sprintf("gguf: Value.Elem(%d) out of range [0:%d)", i, v.Len()))
	}
	a := v.arr
	if a.dropped {
		panic(fmt.Sprintf("gguf: Value.Elem(%d): the %d elements of the array were not kept", i, a.n))
	}
	switch {
	case a.vals != nil:
		return a.vals[i]
	case a.elem == ValueString:
		return Value{typ: ValueString, str: a.blob[a.start(i):a.end(i)]}
	}
	size := int(a.elem.fixedSize())
	return decodeFixed(a.elem, a.raw[i*size:(i+1)*size])
}

func (a *array) start(i int) int {
	if i == 0 {
		return 0
	}
	return a.end(i - 1)
}

// end returns where string element i ends in the blob.
func (a *array) end(i int) int {
	if a.wide != nil {
		return a.wide[i]
	}
	return int(a.ends[i])
}

// addEnd appends where the next string element ends. The ends are kept as
// uint32 (half the memory of int: 1.2 MB less for a 152k-token
// vocabulary's tokens and merges) until one passes 4 GiB, then as int.
func (a *array) addEnd(end int) {
	if a.wide == nil && uint64(end) <= math.MaxUint32 {
		a.ends = append(a.ends, uint32(end))
		return
	}
	if a.wide == nil {
		a.wide = make([]int, len(a.ends), max(cap(a.ends), len(a.ends)+1))
		for i, e := range a.ends {
			a.wide[i] = int(e)
		}
		a.ends = nil
	}
	a.wide = append(a.wide, end)
}

// Strings returns the elements of an array of strings. The strings share
// memory with the value; only the slice is allocated. ok is false for other
// values and for an array whose elements were not kept ([Value.Kept]).
func (v Value) Strings() (s []string, ok bool) {
	if v.arr == nil || v.arr.elem != ValueString || v.arr.vals != nil || v.arr.dropped {
		return nil, false
	}
	a := v.arr
	s = make([]string, a.n)
	prev := 0
	for i := range s {
		end := a.end(i)
		s[i] = a.blob[prev:end]
		prev = end
	}
	return s, true
}

// Any returns the value as a plain Go value: uint64 for unsigned integers,
// int64 for signed ones, float64 for floats, bool, string, and []any
// (recursively) for arrays; nil for an array whose elements were not kept
// ([Value.Kept]).
func (v Value) Any() any {
	switch {
	case v.typ.unsigned():
		return v.bits
	case v.typ.signed():
		return int64(v.bits)
	case v.typ == ValueFloat32, v.typ == ValueFloat64:
		f, _ := v.AsFloat()
		return f
	case v.typ == ValueBool:
		return v.bits != 0
	case v.typ == ValueString:
		return v.str
	case v.typ == ValueArray && !v.Kept():
		return nil
	case v.typ == ValueArray:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = v.Elem(i).Any()
		}
		return out
	}
	return nil
}

// Equal reports whether v and w have the same type and contents. Floats are
// compared by their bits, so a NaN equals itself. (go-cmp uses this method.)
// Two arrays whose elements were not kept ([Value.Kept]) are compared by
// their element types, lengths and a 64-bit hash of their encoded elements,
// seeded at random for each process (so no input can be made to collide on
// purpose); such an array never equals one whose elements were kept, nor
// one read under [WithoutDroppedHash], which has no hash.
func (v Value) Equal(w Value) bool {
	if v.typ != w.typ {
		return false
	}
	if v.typ != ValueArray {
		return v.bits == w.bits && v.str == w.str
	}
	if v.ElemType() != w.ElemType() || v.Len() != w.Len() || v.Kept() != w.Kept() {
		return false
	}
	if !v.Kept() {
		return v.arr.hashed && w.arr.hashed && v.arr.sum == w.arr.sum
	}
	for i := range v.Len() {
		if !v.Elem(i).Equal(w.Elem(i)) {
			return false
		}
	}
	return true
}

// String formats the value for people: numbers and bools as Go prints them,
// strings quoted, arrays as [a b c] with long arrays abbreviated.
func (v Value) String() string {
	switch v.typ {
	case ValueString:
		return fmt.Sprintf("%q", v.str)
	case ValueArray:
		if !v.Kept() {
			return fmt.Sprintf("[... (%d %v, not kept)]", v.Len(), v.ElemType())
		}
		const show = 8
		var sb strings.Builder
		sb.WriteByte('[')
		for i := range min(v.Len(), show) {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(v.Elem(i).String())
		}
		if v.Len() > show {
			fmt.Fprintf(&sb, " ... (%d %v)", v.Len(), v.ElemType())
		}
		sb.WriteByte(']')
		return sb.String()
	}
	return fmt.Sprint(v.Any())
}

package gguf_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/gguf"
)

func TestValueAccessors(t *testing.T) {
	type opt[T any] struct {
		v  T
		ok bool
	}
	tests := []struct {
		name  string
		v     gguf.Value
		typ   gguf.ValueType
		uint  opt[uint64]
		int   opt[int64]
		float opt[float64]
		any   any
	}{
		{name: "u8", v: gguf.Uint8(200), typ: gguf.ValueUint8, uint: opt[uint64]{200, true}, int: opt[int64]{200, true}, float: opt[float64]{200, true}, any: uint64(200)},
		{name: "i8 negative", v: gguf.Int8(-3), typ: gguf.ValueInt8, int: opt[int64]{-3, true}, float: opt[float64]{-3, true}, any: int64(-3)},
		{name: "u16", v: gguf.Uint16(7), typ: gguf.ValueUint16, uint: opt[uint64]{7, true}, int: opt[int64]{7, true}, float: opt[float64]{7, true}, any: uint64(7)},
		{name: "i16", v: gguf.Int16(9), typ: gguf.ValueInt16, uint: opt[uint64]{9, true}, int: opt[int64]{9, true}, float: opt[float64]{9, true}, any: int64(9)},
		{name: "u32", v: gguf.Uint32(1 << 31), typ: gguf.ValueUint32, uint: opt[uint64]{1 << 31, true}, int: opt[int64]{1 << 31, true}, float: opt[float64]{1 << 31, true}, any: uint64(1 << 31)},
		{name: "i32 min", v: gguf.Int32(math.MinInt32), typ: gguf.ValueInt32, int: opt[int64]{math.MinInt32, true}, float: opt[float64]{math.MinInt32, true}, any: int64(math.MinInt32)},
		{name: "u64 max", v: gguf.Uint64(math.MaxUint64), typ: gguf.ValueUint64, uint: opt[uint64]{math.MaxUint64, true}, float: opt[float64]{math.MaxUint64, true}, any: uint64(math.MaxUint64)},
		{name: "i64", v: gguf.Int64(42), typ: gguf.ValueInt64, uint: opt[uint64]{42, true}, int: opt[int64]{42, true}, float: opt[float64]{42, true}, any: int64(42)},
		{name: "f32", v: gguf.Float32(0.25), typ: gguf.ValueFloat32, float: opt[float64]{0.25, true}, any: 0.25},
		{name: "f64", v: gguf.Float64(-1e300), typ: gguf.ValueFloat64, float: opt[float64]{-1e300, true}, any: -1e300},
		{name: "bool", v: gguf.Bool(true), typ: gguf.ValueBool, any: true},
		{name: "string", v: gguf.String("x"), typ: gguf.ValueString, any: "x"},
		{name: "array", v: gguf.Int32Array([]int32{1}), typ: gguf.ValueArray, any: []any{int64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Type(); got != tt.typ {
				t.Errorf("Type() = %v, want %v", got, tt.typ)
			}
			if x, ok := tt.v.AsUint(); ok != tt.uint.ok || x != tt.uint.v {
				t.Errorf("AsUint() = %d, %v, want %d, %v", x, ok, tt.uint.v, tt.uint.ok)
			}
			if x, ok := tt.v.AsInt(); ok != tt.int.ok || x != tt.int.v {
				t.Errorf("AsInt() = %d, %v, want %d, %v", x, ok, tt.int.v, tt.int.ok)
			}
			if x, ok := tt.v.AsFloat(); ok != tt.float.ok || x != tt.float.v {
				t.Errorf("AsFloat() = %v, %v, want %v, %v", x, ok, tt.float.v, tt.float.ok)
			}
			if _, ok := tt.v.AsBool(); ok != (tt.typ == gguf.ValueBool) {
				t.Errorf("AsBool() ok = %v", ok)
			}
			if _, ok := tt.v.AsString(); ok != (tt.typ == gguf.ValueString) {
				t.Errorf("AsString() ok = %v", ok)
			}
			if diff := cmp.Diff(tt.any, tt.v.Any()); diff != "" {
				t.Errorf("Any() mismatch (-want +got):\n%s", diff)
			}
			if !tt.v.Equal(tt.v) {
				t.Errorf("Equal(itself) = false")
			}
		})
	}
}

func TestValueArrays(t *testing.T) {
	nested := gguf.Array(gguf.ValueArray,
		gguf.Array(gguf.ValueUint16, gguf.Uint16(1), gguf.Uint16(2)),
		gguf.StringArray([]string{"a"}),
	)
	tests := []struct {
		name    string
		v       gguf.Value
		elem    gguf.ValueType
		any     []any
		strings []string // nil: Strings() must fail
	}{
		{name: "strings", v: gguf.StringArray([]string{"tok", "", "é"}), elem: gguf.ValueString,
			any: []any{"tok", "", "é"}, strings: []string{"tok", "", "é"}},
		{name: "strings via Array", v: gguf.Array(gguf.ValueString, gguf.String("a"), gguf.String("bc")), elem: gguf.ValueString,
			any: []any{"a", "bc"}, strings: []string{"a", "bc"}},
		{name: "empty strings", v: gguf.StringArray(nil), elem: gguf.ValueString, any: []any{}, strings: []string{}},
		{name: "f32", v: gguf.Float32Array([]float32{1, -0.5}), elem: gguf.ValueFloat32, any: []any{1.0, -0.5}},
		{name: "i32", v: gguf.Int32Array([]int32{-1, 2}), elem: gguf.ValueInt32, any: []any{int64(-1), int64(2)}},
		{name: "i8", v: gguf.Array(gguf.ValueInt8, gguf.Int8(-128)), elem: gguf.ValueInt8, any: []any{int64(-128)}},
		{name: "i16", v: gguf.Array(gguf.ValueInt16, gguf.Int16(-2)), elem: gguf.ValueInt16, any: []any{int64(-2)}},
		{name: "u64", v: gguf.Array(gguf.ValueUint64, gguf.Uint64(1<<63)), elem: gguf.ValueUint64, any: []any{uint64(1 << 63)}},
		{name: "bool", v: gguf.Array(gguf.ValueBool, gguf.Bool(true), gguf.Bool(false)), elem: gguf.ValueBool, any: []any{true, false}},
		{name: "nested", v: nested, elem: gguf.ValueArray, any: []any{[]any{uint64(1), uint64(2)}, []any{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.v.Type() != gguf.ValueArray || tt.v.ElemType() != tt.elem || tt.v.Len() != len(tt.any) {
				t.Errorf("Type, ElemType, Len = %v, %v, %d, want array, %v, %d", tt.v.Type(), tt.v.ElemType(), tt.v.Len(), tt.elem, len(tt.any))
			}
			if diff := cmp.Diff(tt.any, tt.v.Any()); diff != "" {
				t.Errorf("Any() mismatch (-want +got):\n%s", diff)
			}
			for i := range tt.v.Len() {
				if diff := cmp.Diff(tt.any[i], tt.v.Elem(i).Any()); diff != "" {
					t.Errorf("Elem(%d) mismatch (-want +got):\n%s", i, diff)
				}
			}
			s, ok := tt.v.Strings()
			if ok != (tt.strings != nil) || !cmp.Equal(s, tt.strings) {
				t.Errorf("Strings() = %q, %v, want %q", s, ok, tt.strings)
			}
		})
	}
	if got := gguf.Uint8(1).Len(); got != 0 {
		t.Errorf("Uint8(1).Len() = %d, want 0", got)
	}
	if got := gguf.Uint8(1).ElemType(); got != 0 {
		t.Errorf("Uint8(1).ElemType() = %v, want 0", got)
	}
}

func TestValueElemPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Elem(5) on a 1-element array did not panic")
		}
	}()
	gguf.Int32Array([]int32{1}).Elem(5)
}

func TestValueEqual(t *testing.T) {
	nan := gguf.Float64(math.NaN())
	tests := []struct {
		name string
		a, b gguf.Value
		want bool
	}{
		{"same u8", gguf.Uint8(1), gguf.Uint8(1), true},
		{"u8 vs i8", gguf.Uint8(1), gguf.Int8(1), false},
		{"nan", nan, nan, true},
		{"strings", gguf.String("a"), gguf.String("b"), false},
		{"string arrays built two ways", gguf.StringArray([]string{"a", "b"}), gguf.Array(gguf.ValueString, gguf.String("a"), gguf.String("b")), true},
		{"array elem types", gguf.Array(gguf.ValueUint8), gguf.Array(gguf.ValueInt8), false},
		{"array lengths", gguf.Int32Array([]int32{1}), gguf.Int32Array([]int32{1, 2}), false},
		{"array contents", gguf.Int32Array([]int32{1}), gguf.Int32Array([]int32{2}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Equal(tt.b); got != tt.want {
				t.Errorf("%v.Equal(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		v    gguf.Value
		want string
	}{
		{gguf.Int8(-1), "-1"},
		{gguf.Float32(0.5), "0.5"},
		{gguf.Bool(false), "false"},
		{gguf.String("a\n"), `"a\n"`},
		{gguf.StringArray([]string{"a", "b"}), `["a" "b"]`},
		{gguf.Int32Array([]int32{1, 2, 3, 4, 5, 6, 7, 8, 9}), "[1 2 3 4 5 6 7 8 ... (9 i32)]"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

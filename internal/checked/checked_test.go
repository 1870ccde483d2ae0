package checked_test

import (
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/internal/checked"
)

func TestMul(t *testing.T) {
	tests := []struct {
		name   string
		a, b   int64
		want   int64
		wantOK bool
	}{
		{"small", 6, 7, 42, true},
		{"zero", 0, math.MaxInt64, 0, true},
		{"max", math.MaxInt64, 1, math.MaxInt64, true},
		{"overflow", math.MaxInt64, 2, 0, false},
		{"2^32 squared", 1 << 32, 1 << 32, 0, false},
		{"2^31 times 2^32", 1 << 31, 1 << 32, 0, false},
		{"negative", -1, 5, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := checked.Mul(tt.a, tt.b)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("Mul(%d, %d) = %d, %v, want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestProduct(t *testing.T) {
	tests := []struct {
		name   string
		dims   []int64
		want   int64
		wantOK bool
	}{
		{"scalar", nil, 1, true},
		{"qwen expert", []int64{128, 1536, 4096}, 805306368, true},
		{"overflow", []int64{1 << 40, 1 << 30}, 0, false},
		{"zero wins over overflow", []int64{1 << 40, 1 << 30, 0}, 0, true},
		{"negative", []int64{3, -2}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := checked.Product(tt.dims)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("Product(%v) = %d, %v, want %d, %v", tt.dims, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAlignUp(t *testing.T) {
	tests := []struct {
		off, align, want int64
		wantOK           bool
	}{
		{0, 32, 0, true},
		{1, 32, 32, true},
		{32, 32, 32, true},
		{33, 32, 64, true},
		{5, 0, 0, false},
		{5, 24, 0, false},
		{math.MaxInt64, 32, 0, false},
	}
	for _, tt := range tests {
		got, ok := checked.AlignUp(tt.off, tt.align)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("AlignUp(%d, %d) = %d, %v, want %d, %v", tt.off, tt.align, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestSaturating(t *testing.T) {
	const maxI = math.MaxInt64
	tests := []struct {
		name     string
		xs       []int64
		mul, add int64
	}{
		{"none", nil, 1, 0},
		{"small", []int64{2, 3, 7}, 42, 12},
		{"zero factor", []int64{1 << 62, 0, 1 << 62}, 0, maxI},
		{"just fits", []int64{1 << 31, 1 << 31}, 1 << 62, 1 << 32},
		{"overflows", []int64{1 << 32, 1 << 32}, maxI, 1 << 33},
		{"sum overflows", []int64{maxI, 1}, maxI, maxI},
		{"negative", []int64{-1, 5}, maxI, maxI},
	}
	for _, tt := range tests {
		if got := checked.SatMul(tt.xs...); got != tt.mul {
			t.Errorf("SatMul(%s) = %d, want %d", tt.name, got, tt.mul)
		}
		if got := checked.SatAdd(tt.xs...); got != tt.add {
			t.Errorf("SatAdd(%s) = %d, want %d", tt.name, got, tt.add)
		}
	}
}

package safetensors_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/safetensors"
)

func TestDType(t *testing.T) {
	tests := []struct {
		name  string
		d     safetensors.DType
		bits  int
		float bool
	}{
		{"BOOL", safetensors.BOOL, 8, false},
		{"F4", safetensors.F4, 4, true},
		{"F6_E2M3", safetensors.F6_E2M3, 6, true},
		{"F6_E3M2", safetensors.F6_E3M2, 6, true},
		{"U8", safetensors.U8, 8, false},
		{"I8", safetensors.I8, 8, false},
		{"F8_E5M2", safetensors.F8_E5M2, 8, true},
		{"F8_E4M3", safetensors.F8_E4M3, 8, true},
		{"F8_E8M0", safetensors.F8_E8M0, 8, true},
		{"F8_E4M3FNUZ", safetensors.F8_E4M3FNUZ, 8, true},
		{"F8_E5M2FNUZ", safetensors.F8_E5M2FNUZ, 8, true},
		{"I16", safetensors.I16, 16, false},
		{"U16", safetensors.U16, 16, false},
		{"F16", safetensors.F16, 16, true},
		{"BF16", safetensors.BF16, 16, true},
		{"I32", safetensors.I32, 32, false},
		{"U32", safetensors.U32, 32, false},
		{"F32", safetensors.F32, 32, true},
		{"C64", safetensors.C64, 64, false},
		{"F64", safetensors.F64, 64, true},
		{"I64", safetensors.I64, 64, false},
		{"U64", safetensors.U64, 64, false},
	}
	seen := map[safetensors.DType]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := safetensors.ParseDType(tt.name)
			if !ok || d != tt.d {
				t.Errorf("ParseDType(%q) = %v, %v; want %v, true", tt.name, d, ok, tt.d)
			}
			if got := tt.d.String(); got != tt.name {
				t.Errorf("%v.String() = %q, want %q", tt.d, got, tt.name)
			}
			if got := tt.d.Bits(); got != tt.bits {
				t.Errorf("%v.Bits() = %d, want %d", tt.d, got, tt.bits)
			}
			if got := tt.d.IsFloat(); got != tt.float {
				t.Errorf("%v.IsFloat() = %v, want %v", tt.d, got, tt.float)
			}
			if !tt.d.Valid() {
				t.Errorf("%v.Valid() = false", tt.d)
			}
		})
		seen[tt.d] = true
	}
	// Every valid DType is in the table.
	for d := safetensors.DType(1); d.Valid(); d++ {
		if !seen[d] {
			t.Errorf("DType %d (%v) is not tested", d, d)
		}
	}
}

func TestDTypeInvalid(t *testing.T) {
	for _, d := range []safetensors.DType{0, 23, 255} {
		if d.Valid() || d.Bits() != 0 || d.IsFloat() || d.String() != "DType("+itoa(int(d))+")" {
			t.Errorf("DType(%d): Valid %v, Bits %d, IsFloat %v, String %q", d, d.Valid(), d.Bits(), d.IsFloat(), d.String())
		}
	}
	for _, s := range []string{"", "bf16", "F8", "BF16 ", "FP8_E4M3", "float32"} {
		if d, ok := safetensors.ParseDType(s); ok {
			t.Errorf("ParseDType(%q) = %v, true; want false", s, d)
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

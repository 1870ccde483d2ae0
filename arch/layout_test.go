package arch_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

func TestCutIndex(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		rest string
		ok   bool
	}{
		{"0.attn_norm.weight", 0, "attn_norm.weight", true},
		{"12.mlp.experts.3.w1.weight", 12, "mlp.experts.3.w1.weight", true},
		{"123456789.x", 123456789, "x", true},
		{"7.", 7, "", true},
		{"1234567890.x", 0, "", false}, // more than 9 digits
		{"01.x", 0, "", false},         // a leading zero
		{"x.y", 0, "", false},
		{"12", 0, "", false}, // no dot
		{"12x.y", 0, "", false},
		{"-1.x", 0, "", false},
		{"", 0, "", false},
	}
	for _, tt := range tests {
		n, rest, ok := arch.CutIndex(tt.s)
		if n != tt.n || rest != tt.rest || ok != tt.ok {
			t.Errorf("CutIndex(%q) = %d, %q, %v; want %d, %q, %v", tt.s, n, rest, ok, tt.n, tt.rest, tt.ok)
		}
	}
}

func TestShapeIn(t *testing.T) {
	logical := []int64{128, 4096, 1536}
	if got := arch.ShapeIn(checkpoint.FormatSafetensors, logical); !cmp.Equal(got, logical) {
		t.Errorf("ShapeIn(safetensors) = %v, want %v", got, logical)
	}
	got := arch.ShapeIn(checkpoint.FormatGGUF, logical)
	if want := []int64{1536, 4096, 128}; !cmp.Equal(got, want) {
		t.Errorf("ShapeIn(gguf) = %v, want %v", got, want)
	}
	if logical[0] != 128 {
		t.Error("ShapeIn(gguf) changed its argument")
	}
}

// Fill must give the role a whole-struct copy of the template would, but
// for the fields it sets.
func TestRoleFill(t *testing.T) {
	tmpl := arch.RoleOf(arch.CompAttnQ, []int64{64, 32})
	tmpl.Part = arch.PartCompanion
	var r arch.Role
	if !r.Fill(&tmpl, "blk.3.attn_q.weight", 3, -1, 42) {
		t.Fatal("Fill = false")
	}
	want := tmpl
	want.Name, want.Layer, want.Expert, want.Index = "blk.3.attn_q.weight", 3, -1, 42
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Fill (-want +got):\n%s", diff)
	}
	e := tmpl.At("model.layers.3.self_attn.q_proj.weight", 3, -1)
	if e.Name != "model.layers.3.self_attn.q_proj.weight" || e.Layer != 3 || e.Expert != -1 || e.Component != arch.CompAttnQ {
		t.Errorf("At = %+v", e)
	}
}

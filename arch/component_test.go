package arch_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch"
)

func TestDefineComponent(t *testing.T) {
	sinks := arch.DefineComponent("test_attn_sinks", arch.GroupAttention)
	if g := sinks.Group(); g != arch.GroupAttention {
		t.Errorf("Group() = %v, want attention", g)
	}
	if r := arch.RoleOf(sinks, []int64{8}); !r.Known || r.Group != arch.GroupAttention || r.Component != sinks {
		t.Errorf("RoleOf = %+v, want a known attention role", r)
	}
	if arch.DefineComponent("test_attn_sinks", arch.GroupAttention) != sinks {
		t.Error("defining a component again with its group changed it")
	}
	if g := arch.Component("never_defined").Group(); g != arch.GroupOther {
		t.Errorf("an undefined component's group = %v, want other", g)
	}
	defer func() {
		if recover() == nil {
			t.Error("DefineComponent with another group did not panic")
		}
	}()
	arch.DefineComponent("test_attn_sinks", arch.GroupNorms)
}

func TestObligations(t *testing.T) {
	o := arch.NewObligations("LLAMA")
	want := []string{"FALSIFY-LLAMA-001", "FALSIFY-LLAMA-002", "FALSIFY-LLAMA-003", "FALSIFY-LLAMA-004",
		"FALSIFY-LLAMA-005", "FALSIFY-LLAMA-006", "FALSIFY-LLAMA-007"}
	got := o.List()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("List()[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	if o.Gate != "F-LLAMA-001" {
		t.Errorf("Gate = %q", o.Gate)
	}
}

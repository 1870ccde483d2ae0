package qwen3_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch/qwen3"
)

// The two harnesses pass over their whole domains, and each checks as many
// configurations as its grid holds.
func TestHarnesses(t *testing.T) {
	hs := qwen3.MustNew(qwen3.TinyMoE()).Harnesses()
	if len(hs) != 2 || hs[0].ID != "KANI-QM3E-001" || hs[1].ID != "KANI-QM3E-002" {
		t.Fatalf("harnesses %+v", hs)
	}
	for _, h := range hs {
		if !h.Pass || h.Configs == 0 || h.Domain == "" {
			t.Errorf("%s: %+v", h.ID, h)
		}
		t.Logf("%s: %d configurations: %s", h.ID, h.Configs, h.Detail)
	}
}

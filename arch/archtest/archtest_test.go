package archtest_test

import (
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
)

// An Edited spec lists what its edits leave, and leaves the spec itself
// as it was: its templates' shapes and its metadata.
func TestEdited(t *testing.T) {
	spec := qwen2.MustNew(qwen2.Tiny())
	f := checkpoint.FormatGGUF
	e := archtest.Edited{Spec: spec,
		Edit: func(f checkpoint.Format, es []arch.Expected) []arch.Expected {
			return archtest.Reshape("blk.0.attn_k.bias", 17)(f, archtest.Drop("blk.1.attn_q.bias", "output.weight")(f, es))
		},
		Meta: archtest.DropKeys("qwen2.block_count")}
	got, want := e.Expected(f), spec.Expected(f)
	if len(got) != len(want)-2 || slices.ContainsFunc(got, func(x arch.Expected) bool { return x.Name == "blk.1.attn_q.bias" }) {
		t.Errorf("Expected: %d entries, want %d without blk.1.attn_q.bias", len(got), len(want)-2)
	}
	for _, x := range got {
		if x.Name == "blk.0.attn_k.bias" && !slices.Equal(x.Shape, []int64{17}) {
			t.Errorf("blk.0.attn_k.bias shape %v, want [17]", x.Shape)
		}
	}
	if x, _, _ := spec.Locate(f, "blk.0.attn_k.bias"); !slices.Equal(x.Shape, []int64{16}) {
		t.Errorf("the spec's blk.0.attn_k.bias is now %v, want [16]", x.Shape)
	}
	if e.GGUFArch() != "qwen2" || len(e.GGUFMetadata()) != len(spec.GGUFMetadata())-1 ||
		slices.ContainsFunc(e.GGUFMetadata(), func(kv gguf.KV) bool { return kv.Key == "qwen2.block_count" }) {
		t.Errorf("GGUFArch %q, metadata %v; want qwen2 without block_count", e.GGUFArch(), e.GGUFMetadata())
	}
	if len(archtest.Edited{Spec: spec}.Expected(f)) != len(want) {
		t.Error("an Edited spec without edits does not list the spec's tensors")
	}
}

// The report predicates see failed checks, not skipped ones, and the
// finding of the check on the tensor with the message.
func TestReport(t *testing.T) {
	r := &audit.Report{
		Checks:   []audit.Check{{ID: "A", Pass: true}, {ID: "B", Detail: "broken"}, {ID: "C", Skipped: true}},
		Findings: []audit.Finding{{Check: "B", Tensor: "t", Message: "shape [2], want [3]"}, {Check: "B", Message: "layer 0: no t"}},
	}
	if got := archtest.Failed(r); !slices.Equal(got, []string{"B: broken"}) {
		t.Errorf("Failed = %q, want [B: broken]", got)
	}
	if archtest.Fails(r, "A") || !archtest.Fails(r, "B") || archtest.Fails(r, "C") || archtest.Fails(r, "D") {
		t.Error("Fails: want only B")
	}
	for _, tt := range []struct {
		check, tensor, msg string
		want               bool
	}{
		{"B", "t", "want [3]", true}, {"B", "", "no t", true}, {"B", "", "want [3]", false}, {"B", "u", "want", false}, {"A", "t", "", false},
	} {
		if got := archtest.HasFinding(r, tt.check, tt.tensor, tt.msg); got != tt.want {
			t.Errorf("HasFinding(%s, %q, %q) = %v, want %v", tt.check, tt.tensor, tt.msg, got, tt.want)
		}
	}
}

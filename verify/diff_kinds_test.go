package verify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/verify"
)

func TestRecordThenDiffNamesTheChangedTensor(t *testing.T) {
	dir := copyFixture(t, "hf-bf16")
	before := record(t, dir)
	if d := verify.Diff(before, record(t, dir)); !d.Identical || d.Same != 45 {
		t.Fatalf("Diff(same, same): identical %v, same %d; want true, 45", d.Identical, d.Same)
	}
	tn, file := tensorAt(t, dir, "model.layers.1.mlp.gate.weight")
	b := readAt(t, file, tn.Offset+3, 1)
	patch(t, file, tn.Offset+3, []byte{b[0] + 1})
	after := record(t, dir)
	d := verify.Diff(before, after)
	if d.Identical || d.Differences() != 1 || len(d.Changed) != 1 || d.Changed[0].Name != tn.Name || d.Same != 44 {
		t.Fatalf("Diff after changing %s: %+v; want exactly that tensor changed", tn.Name, d)
	}
	if len(d.Files) != 1 || d.Files[0].Name != tn.File {
		t.Errorf("Diff files_changed = %+v, want %s", d.Files, tn.File)
	}
}

func TestDiffKinds(t *testing.T) {
	base := &verify.Manifest{Source: "a", Tensors: []verify.ManifestTensor{
		{Name: "same", DType: "F32", Shape: []int64{2}, SHA256: digest("1")},
		{Name: "changed", DType: "F32", Shape: []int64{2}, SHA256: digest("2")},
		{Name: "reshaped", DType: "F32", Shape: []int64{2, 3}, SHA256: digest("3")},
		{Name: "retyped", DType: "F32", Shape: []int64{4}, SHA256: digest("4")},
		{Name: "removed", DType: "F32", Shape: []int64{4}, SHA256: digest("5")},
		{Name: "unhashed", DType: "F32", Shape: []int64{4}},
	}}
	other := &verify.Manifest{Source: "b", Tensors: []verify.ManifestTensor{
		{Name: "added", DType: "BF16", Shape: []int64{1}, SHA256: digest("6")},
		{Name: "same", DType: "F32", Shape: []int64{2}, SHA256: digest("1")},
		{Name: "changed", DType: "F32", Shape: []int64{2}, SHA256: digest("x")},
		{Name: "reshaped", DType: "F32", Shape: []int64{3, 2}, SHA256: digest("3")},
		{Name: "retyped", DType: "BF16", Shape: []int64{4}, SHA256: digest("4")},
		{Name: "unhashed", DType: "F32", Shape: []int64{4}, SHA256: digest("7")},
	}}
	d := verify.Diff(base, other)
	names := func(cs []verify.DiffChange) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	got := map[string][]string{"changed": names(d.Changed), "reshaped": names(d.Reshaped), "retyped": names(d.Retyped)}
	for _, x := range d.Added {
		got["added"] = append(got["added"], x.Name)
	}
	for _, x := range d.Removed {
		got["removed"] = append(got["removed"], x.Name)
	}
	for _, x := range d.Unhashed {
		got["unhashed"] = append(got["unhashed"], x.Name)
	}
	want := map[string][]string{"added": {"added"}, "removed": {"removed"}, "changed": {"changed"}, "reshaped": {"reshaped"}, "retyped": {"retyped"}, "unhashed": {"unhashed"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff kinds (-want +got):\n%s", diff)
	}
	if d.Identical || d.Same != 1 || d.Differences() != 5 {
		t.Errorf("Diff: identical %v, same %d, differences %d; want false, 1, 5", d.Identical, d.Same, d.Differences())
	}
	var text bytes.Buffer
	if err := d.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"added     added", "removed   removed", "changed   changed", "reshaped  reshaped  [2 3] → [3 2]", "retyped   retyped  F32 → BF16"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text diff lacks %q:\n%s", w, text.String())
		}
	}
	// The verdict: any difference fails; nothing differing but a tensor
	// not compared (no digest) is incomplete, not a pass; all compared and
	// the same passes.
	hashed := &verify.Manifest{Source: "c", Tensors: base.Tensors[:2]}
	for _, tt := range []struct {
		name    string
		d       *verify.DiffReport
		verdict string
	}{
		{"five differences", d, "fail"},
		{"the same manifest, a tensor without digest", verify.Diff(base, base), "incomplete"},
		{"every tensor hashed and the same", verify.Diff(hashed, hashed), "pass"},
	} {
		if tt.d.Verdict != tt.verdict || tt.d.Pass != (tt.verdict == "pass") {
			t.Errorf("%s: verdict %q, pass %v; want %q", tt.name, tt.d.Verdict, tt.d.Pass, tt.verdict)
		}
	}
	if h := verify.Diff(base, base); !h.Identical || len(h.Unhashed) != 1 {
		t.Errorf("a manifest against itself: identical %v, %d unhashed; want true, 1", h.Identical, len(h.Unhashed))
	}
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

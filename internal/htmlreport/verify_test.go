package htmlreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/weightaudit/weightaudit/verify"
)

// The defects planted in a copy of testdata/tiny/hf-bf16: a BF16 NaN
// (0x7FC0) as the first element of one tensor of layer 1, and one tensor
// of layer 0 zeroed whole.
const (
	nanTensor  = "model.layers.1.self_attn.q_proj.weight"
	zeroTensor = "model.layers.0.mlp.experts.2.down_proj.weight"
)

// verifyPlanted verifies the tiny BF16 checkpoint with the defects
// planted.
func verifyPlanted(t *testing.T) *verify.Report {
	t.Helper()
	dir := plantTiny(t, "hf-bf16", map[string]func([]byte) []byte{
		nanTensor:  func([]byte) []byte { return []byte{0xc0, 0x7f} },
		zeroTensor: func(old []byte) []byte { return make([]byte, len(old)) },
	})
	r, err := verify.Run(context.Background(), loadDir(t, dir), verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBrowserVerify opens a verify report with NaN and zero defects in
// Chromium: nothing but the page loads, nothing is logged, the checks
// that found them fail and the others pass, the counts are the JSON
// report's, and the per-layer statistics are drawn one panel per kind of
// tensor.
func TestBrowserVerify(t *testing.T) {
	r := verifyPlanted(t)
	var h, j bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var jr struct {
		Verdict string `json:"verdict"`
		Totals  struct {
			Tensors int   `json:"tensors"`
			Bytes   int64 `json:"bytes"`
		} `json:"totals"`
		Layers []struct {
			Layer int   `json:"layer"`
			NaN   int64 `json:"nan"`
		} `json:"layers"`
		Findings []struct {
			Check  string `json:"check"`
			Tensor string `json:"tensor"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(j.Bytes(), &jr); err != nil {
		t.Fatal(err)
	}
	found := map[string]string{} // check → tensor
	for _, f := range jr.Findings {
		found[f.Check] = f.Tensor
	}
	if found[verify.CheckNaN] != nanTensor || found[verify.CheckAllZero] != zeroTensor || jr.Verdict != "fail" {
		t.Fatalf("verdict %s, findings %v: the planted defects were not found", jr.Verdict, jr.Findings)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "verify.html")
	if err := os.WriteFile(path, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := open(t, path)
	got := eval[struct {
		Facts  map[string]string `json:"facts"`
		Checks map[string]string `json:"checks"`
		Panels int               `json:"panels"`
		NaN    map[string]string `json:"nan"`
	}](t, p, `(() => {
  const text = e => e.textContent.trim();
  const out = {facts: {}, checks: {}, nan: {}};
  document.querySelectorAll(".fact[data-key]").forEach(f => out.facts[f.dataset.key] = text(f.querySelector(".value")));
  document.querySelectorAll("#checks tbody tr").forEach(r => out.checks[text(r.cells[1])] = text(r.cells[0]));
  document.querySelectorAll('table[data-key="layers"] tbody tr').forEach(r => out.nan[text(r.cells[0])] = text(r.cells[2]));
  out.panels = document.querySelectorAll(".charts.small svg").length;
  return out;
})()`)
	p.screenshot(t, filepath.Join(dir, "verify.png"))
	p.clean(t)
	if n := count(t, got.Facts["tensors"]); n != int64(jr.Totals.Tensors) {
		t.Errorf("tensors shown %d, JSON %d", n, jr.Totals.Tensors)
	}
	if n := count(t, got.Facts["bytes"]); n != jr.Totals.Bytes {
		t.Errorf("bytes shown %d, JSON %d", n, jr.Totals.Bytes)
	}
	for _, id := range []string{verify.CheckNaN, verify.CheckInf, verify.CheckAllZero, verify.CheckTruncated} {
		want := "PASS"
		if _, ok := found[id]; ok {
			want = "FAIL"
		}
		if got.Checks[id] != want {
			t.Errorf("check %s shown %q, want %s", id, got.Checks[id], want)
		}
	}
	if got.Checks[verify.CheckSHA256] != "SKIP" {
		t.Errorf("check %s shown %q with no reference digest, want SKIP", verify.CheckSHA256, got.Checks[verify.CheckSHA256])
	}
	for _, l := range jr.Layers {
		if l.NaN > 0 && count(t, got.NaN[itoa(l.Layer)]) != l.NaN {
			t.Errorf("layer %d: NaN shown %q, JSON %d", l.Layer, got.NaN[itoa(l.Layer)], l.NaN)
		}
	}
	// Each decoder layer of the tiny Qwen3-MoE holds two layer norms, the
	// q, k, v, o projections, q_norm and k_norm, the router, and gate, up
	// and down projections per expert: 12 kinds of tensor.
	if got.Panels != 12 {
		t.Errorf("%d panels of per-layer statistics, want 12", got.Panels)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

package htmlreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// TestBrowserInspect opens inspect's page of the built-in 30B Q4_K_M GGUF
// layout (three dtypes) in Chromium: nothing but the page loads and
// nothing is logged, and the numbers it shows equal the JSON report's:
// files, tensors, parameters, bytes, and each dtype's row; the
// per-layer charts are drawn.
func TestBrowserInspect(t *testing.T) {
	l, err := synth.Builtin("30b-gguf")
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source(), checkpoint.WithPartialFiles())
	if err != nil {
		t.Fatal(err)
	}
	r := audit.NewInspectReport(ck)
	var h, j bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var jr struct {
		Totals struct {
			Files   int   `json:"files"`
			Tensors int   `json:"tensors"`
			Params  int64 `json:"params"`
			Bytes   int64 `json:"bytes"`
		} `json:"totals"`
		DTypes []struct {
			DType   string `json:"dtype"`
			Tensors int    `json:"tensors"`
			Bytes   int64  `json:"bytes"`
		} `json:"dtypes"`
		Tensors []json.RawMessage `json:"tensors"`
	}
	if err := json.Unmarshal(j.Bytes(), &jr); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "inspect.html")
	if err := os.WriteFile(path, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := open(t, path)
	got := eval[shown](t, p, readDOM)
	p.screenshot(t, filepath.Join(dir, "inspect.png"))
	p.clean(t)
	for key, want := range map[string]int64{"files": int64(jr.Totals.Files), "tensors": int64(jr.Totals.Tensors),
		"params": jr.Totals.Params, "bytes": jr.Totals.Bytes} {
		if n := count(t, got.Facts[key]); n != want || want == 0 {
			t.Errorf("the page shows %s %d, the JSON %d", key, n, want)
		}
	}
	if jr.Totals.Tensors != len(jr.Tensors) {
		t.Errorf("JSON totals.tensors %d, %d tensors listed", jr.Totals.Tensors, len(jr.Tensors))
	}
	if len(got.DTypes) != len(jr.DTypes) || len(jr.DTypes) != 3 {
		t.Errorf("%d dtype rows shown, the JSON has %d, want 3", len(got.DTypes), len(jr.DTypes))
	}
	for _, d := range jr.DTypes {
		row := got.DTypes[d.DType]
		if len(row) != 4 || count(t, row[1]) != int64(d.Tensors) || count(t, row[3]) != d.Bytes {
			t.Errorf("dtype %s: row %q, JSON %d tensors, %d bytes", d.DType, row, d.Tensors, d.Bytes)
		}
	}
	if got.SVGs != 2 || got.Banner != "pass" {
		t.Errorf("%d charts, banner %q: want the two per-layer charts and a pass", got.SVGs, got.Banner)
	}
}

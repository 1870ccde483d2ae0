package htmlreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	cmp "github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/hub"
)

// compareTiny compares the tiny checkpoint's F32 safetensors with its BF16
// copy (a faithful conversion: every pair within its bound).
func compareTiny(t *testing.T) *cmp.Report {
	t.Helper()
	load := func(name string) *checkpoint.Checkpoint {
		ck, err := checkpoint.Load(context.Background(), hub.NewDir(filepath.Join("..", "..", "testdata", "tiny", name)))
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	r, err := cmp.Run(context.Background(), load("hf-f32"), load("hf-bf16"), cmp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// writeCompare writes r as HTML into dir and returns the file's path and
// r's JSON decoded.
func writeCompare(t *testing.T, r *cmp.Report, dir string) (string, map[string]any) {
	t.Helper()
	var h, j bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var jr map[string]any
	if err := json.Unmarshal(j.Bytes(), &jr); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "compare.html")
	if err := os.WriteFile(path, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, jr
}

// TestBrowserCompare opens compare's page in Chromium: nothing but the
// page loads and nothing is logged (open and clean fail the test
// otherwise), and the numbers it shows equal the JSON report's: the
// verdict, the pairs compared, those failed, the bytes read, the metadata
// check; the pairs table lists every pair.
func TestBrowserCompare(t *testing.T) {
	r := compareTiny(t)
	dir := t.TempDir()
	path, jr := writeCompare(t, r, dir)
	p := open(t, path)
	got := eval[shown](t, p, readDOM)
	rows := eval[int](t, p, `document.querySelectorAll('table[data-key="pairs"] tbody tr').length`)
	p.screenshot(t, filepath.Join(dir, "compare.png"))
	p.clean(t)
	pairs := len(jr["pairs"].([]any))
	if got.Banner != jr["verdict"] || jr["verdict"] != "pass" {
		t.Errorf("banner %q, JSON verdict %v: want both pass (F32 against its BF16 copy)", got.Banner, jr["verdict"])
	}
	if n := count(t, got.Facts["pairs"]); n != int64(pairs) || pairs == 0 {
		t.Errorf("the page shows %d pairs, the JSON has %d", n, pairs)
	}
	if n := count(t, got.Facts["failed"]); n != int64(jr["failed"].(float64)) {
		t.Errorf("the page shows %d failed, the JSON %v", n, jr["failed"])
	}
	if n := count(t, got.Facts["bytes_read"]); n != int64(jr["bytes_read"].(float64)) || n == 0 {
		t.Errorf("the page shows %d bytes read, the JSON %v", n, jr["bytes_read"])
	}
	if got.Checks["COMPARE-METADATA"] != "PASS" || len(jr["metadata"].([]any)) != 0 {
		t.Errorf("metadata check %q, JSON metadata %v: want PASS and none", got.Checks["COMPARE-METADATA"], jr["metadata"])
	}
	if rows != pairs {
		t.Errorf("the pairs table has %d rows, want the %d pairs", rows, pairs)
	}
}

// TestBrowserCompareHostile plants markup in a failed pair's tensor name:
// the page shows it as text in the root causes and the findings, runs
// none of it, and its banner says fail.
func TestBrowserCompareHostile(t *testing.T) {
	r := compareTiny(t)
	r.Pairs[0].A, r.Pairs[0].Pass = hostileTensor, false
	r.Pairs[0].Role = hostileTensor
	r.Failed, r.Pass, r.Verdict = r.Failed+1, false, "fail"
	dir := t.TempDir()
	path, _ := writeCompare(t, r, dir)
	p := open(t, path)
	got := eval[shown](t, p, readDOM)
	if pwned := eval[string](t, p, `String(window.pwned)`); pwned != "undefined" {
		t.Errorf("planted markup ran: window.pwned = %v", pwned)
	}
	cells := eval[[]string](t, p, `Array.from(document.querySelectorAll("#findings tbody td:nth-child(2)"), td => td.textContent).filter(s => s)`)
	p.clean(t)
	if got.Banner != "fail" || len(got.Causes) == 0 {
		t.Errorf("banner %q, root causes %q: want fail with the pair as a cause", got.Banner, got.Causes)
	}
	if !contains(cells, hostileTensor) {
		t.Errorf("findings' tensors %q: want %q shown as text", cells, hostileTensor)
	}
}

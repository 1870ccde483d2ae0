package htmlreport_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/weightaudit/weightaudit/verify"
)

// pageDOM is what a page's DOM shows, read by the browser: the facts, the
// checks, every table's rows by its data-key, the banner and root causes,
// the findings' tensors and the charts drawn.
type pageDOM struct {
	Facts    map[string]string     `json:"facts"`
	Checks   map[string]string     `json:"checks"`
	Tables   map[string][][]string `json:"tables"`
	Banner   string                `json:"banner"`
	Causes   []string              `json:"causes"`
	Findings []string              `json:"findings"`
	SVGs     int                   `json:"svgs"`
}

const readPageDOM = `(() => {
  const text = e => e ? e.textContent.trim() : null;
  const out = {facts: {}, checks: {}, tables: {}, causes: [], findings: []};
  document.querySelectorAll(".fact[data-key]").forEach(f => out.facts[f.dataset.key] = text(f.querySelector(".value")));
  document.querySelectorAll("#checks tbody tr").forEach(r => out.checks[text(r.cells[1])] = text(r.cells[0]));
  document.querySelectorAll("table[data-key]").forEach(t => out.tables[t.dataset.key] = Array.from(t.querySelectorAll("tbody tr"), r => Array.from(r.cells, c => c.textContent)));
  document.querySelectorAll("#root-causes li").forEach(li => out.causes.push(text(li)));
  document.querySelectorAll("#findings tbody td:nth-child(2)").forEach(td => out.findings.push(td.textContent));
  out.svgs = document.querySelectorAll("figure svg").length;
  out.banner = document.getElementById("verdict").dataset.verdict;
  return out;
})()`

// openReport writes the HTML page writeHTML renders to a file in a
// temporary folder, decodes what writeJSON writes into jr, opens the page
// in Chromium and reads its DOM; the page must load nothing else and log
// nothing. The screenshot goes beside the page, named png.
func openReport(t *testing.T, writeHTML, writeJSON func(w *bytes.Buffer) error, jr any, png string) (*page, pageDOM) {
	t.Helper()
	var h, j bytes.Buffer
	if err := writeHTML(&h); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	if err := writeJSON(&j); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	if err := json.Unmarshal(j.Bytes(), jr); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := open(t, path)
	got := eval[pageDOM](t, p, readPageDOM)
	p.screenshot(t, filepath.Join(dir, png))
	p.clean(t)
	return p, got
}

// diffJSON is the part of a diff's JSON report the page is compared with.
type diffJSON struct {
	A, B      string
	Identical bool
	Same      int
	BytesRead int64 `json:"bytes_read"`
	Added     []struct{ Name string }
	Removed   []struct{ Name string }
	Reshaped  []struct{ Name string }
	Retyped   []struct{ Name string }
	Unhashed  []struct{ Name string }
	Files     []struct{ Name string } `json:"files_changed"`
	Changed   []struct {
		Name        string
		FirstDiff   *int64   `json:"first_diff_offset"`
		MaxAbsDelta *float64 `json:"max_abs_delta"`
	}
}

// checkDiffPage checks what the page shows against the JSON report: the
// verdict, each count, the bytes read, one check per kind of difference
// (failed exactly when the JSON lists such a tensor), and one row per
// tensor that differs, each changed one with the JSON's first differing
// byte and largest difference.
func checkDiffPage(t *testing.T, got pageDOM, jr diffJSON) {
	t.Helper()
	want := map[bool]string{true: "pass", false: "fail"}[jr.Identical]
	if got.Banner != want {
		t.Errorf("banner %q, JSON identical %v", got.Banner, jr.Identical)
	}
	if got.Facts["a"] != jr.A || got.Facts["b"] != jr.B {
		t.Errorf("sides shown %q and %q, JSON %q and %q", got.Facts["a"], got.Facts["b"], jr.A, jr.B)
	}
	kinds := []struct {
		key, check string
		n          int
	}{
		{"added", "DIFF-ADDED", len(jr.Added)}, {"removed", "DIFF-REMOVED", len(jr.Removed)},
		{"reshaped", "DIFF-RESHAPED", len(jr.Reshaped)}, {"retyped", "DIFF-RETYPED", len(jr.Retyped)},
		{"changed", "DIFF-CHANGED", len(jr.Changed)},
	}
	for _, k := range kinds {
		if n := count(t, got.Facts[k.key]); n != int64(k.n) {
			t.Errorf("%s shown %d, JSON %d", k.key, n, k.n)
		}
		if st := map[bool]string{true: "FAIL", false: "PASS"}[k.n > 0]; got.Checks[k.check] != st {
			t.Errorf("check %s shown %q with %d %s tensor(s) in the JSON, want %s", k.check, got.Checks[k.check], k.n, k.key, st)
		}
	}
	for key, n := range map[string]int64{"same": int64(jr.Same), "unhashed": int64(len(jr.Unhashed)),
		"files_changed": int64(len(jr.Files)), "bytes_read": jr.BytesRead} {
		if m := count(t, got.Facts[key]); m != n {
			t.Errorf("%s shown %d, JSON %d", key, m, n)
		}
	}
	if st := map[bool]string{true: "SKIP", false: "PASS"}[len(jr.Unhashed) > 0]; got.Checks["DIFF-UNHASHED"] != st {
		t.Errorf("check DIFF-UNHASHED shown %q with %d unhashed, want %s", got.Checks["DIFF-UNHASHED"], len(jr.Unhashed), st)
	}
	// A tensor both reshaped and retyped is one row.
	names := map[string]string{} // tensor → kind of row expected
	for _, x := range jr.Removed {
		names[x.Name] = "removed"
	}
	for _, x := range jr.Added {
		names[x.Name] = "added"
	}
	for _, x := range jr.Retyped {
		names[x.Name] = "retyped"
	}
	for _, x := range jr.Reshaped {
		if names[x.Name] == "retyped" {
			names[x.Name] = "reshaped and retyped"
		} else {
			names[x.Name] = "reshaped"
		}
	}
	for _, x := range jr.Changed {
		names[x.Name] = "changed"
	}
	rows := got.Tables["differences"]
	if len(rows) != len(names) {
		t.Errorf("%d rows of tensors that differ, the JSON has %d such tensors", len(rows), len(names))
	}
	if len(got.Findings) != len(names) {
		t.Errorf("%d findings, the JSON has %d tensors that differ", len(got.Findings), len(names))
	}
	byName := map[string][]string{}
	for _, r := range rows {
		byName[r[1]] = r
		if names[r[1]] != r[0] {
			t.Errorf("row %q: kind %q, the JSON says %q", r[1], r[0], names[r[1]])
		}
	}
	for _, c := range jr.Changed {
		r := byName[c.Name]
		if len(r) != 7 {
			t.Errorf("changed %s: row %q", c.Name, r)
			continue
		}
		if (c.FirstDiff == nil) != (r[5] == "") || c.FirstDiff != nil && count(t, r[5]) != *c.FirstDiff {
			t.Errorf("changed %s: first differing byte shown %q, JSON %v", c.Name, r[5], deref(c.FirstDiff))
		}
		if c.MaxAbsDelta == nil {
			if r[6] != "" {
				t.Errorf("changed %s: max |Δ| shown %q, none in the JSON", c.Name, r[6])
			}
		} else if v, err := strconv.ParseFloat(r[6], 64); err != nil || !close6(v, *c.MaxAbsDelta) {
			t.Errorf("changed %s: max |Δ| shown %q, JSON %v", c.Name, r[6], *c.MaxAbsDelta)
		}
	}
	if len(got.Tables["unhashed"]) != len(jr.Unhashed) || len(got.Tables["files_changed"]) != len(jr.Files) {
		t.Errorf("%d unhashed and %d file rows, the JSON has %d and %d", len(got.Tables["unhashed"]), len(got.Tables["files_changed"]), len(jr.Unhashed), len(jr.Files))
	}
	if jr.Identical != (len(got.Causes) == 0) {
		t.Errorf("identical %v with root causes %q", jr.Identical, got.Causes)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// close6 reports whether shown, a value printed to six significant
// digits, is want: within half a unit of its sixth digit.
func close6(shown, want float64) bool {
	return math.Abs(shown-want) <= 5e-6*math.Abs(want)
}

// TestBrowserDiff opens diff's page in Chromium for the tiny F32
// checkpoint against itself (identical) and against a copy with one
// value changed, compared by content as DiffCheckpoints does for sources
// that publish no digests: nothing but the page loads, nothing is logged,
// and the page shows the JSON report's numbers; the changed tensor's row
// gives the first differing byte and the largest difference worked out
// from the bytes written.
func TestBrowserDiff(t *testing.T) {
	const tensor, elem = "model.layers.1.self_attn.q_proj.weight", 5
	var offset int64 // of the first byte the patch changes
	var delta float64
	changed := plantTiny(t, "hf-f32", map[string]func([]byte) []byte{tensor: func(old []byte) []byte {
		b := bytes.Clone(old[:4*(elem+1)])
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*elem:]))
		w := v + 0.123456789 // not a round number: six digits shown, more in the JSON
		binary.LittleEndian.PutUint32(b[4*elem:], math.Float32bits(w))
		for offset = 4 * elem; b[offset] == old[offset]; offset++ {
		}
		delta = math.Abs(float64(w) - float64(v))
		return b
	}})
	a := loadDir(t, tinyDir("hf-f32"))
	var tensorBytes int64
	for _, tn := range a.Inventory().Tensors {
		tensorBytes += tn.Bytes
	}
	for _, tt := range []struct {
		name string
		b    string
	}{
		{"identical", tinyDir("hf-f32")},
		{"changed", changed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := verify.DiffCheckpoints(context.Background(), a, loadDir(t, tt.b), nil, nil, 2)
			if err != nil {
				t.Fatal(err)
			}
			var jr diffJSON
			_, got := openReport(t, func(w *bytes.Buffer) error { return r.WriteHTML(w) }, func(w *bytes.Buffer) error { return r.WriteJSON(w) }, &jr, "diff.png")
			checkDiffPage(t, got, jr)
			// With no published digest every tensor of both sides is read.
			if jr.BytesRead != 2*tensorBytes {
				t.Errorf("JSON bytes_read %d, want both sides' %d tensor bytes", jr.BytesRead, 2*tensorBytes)
			}
			if tt.name == "identical" {
				if !jr.Identical || jr.Same != 45 || len(got.Tables["differences"]) != 0 {
					t.Errorf("identical %v, same %d, %d rows: want true, the 45 tensors of testdata/tiny/MANIFEST, none", jr.Identical, jr.Same, len(got.Tables["differences"]))
				}
				return
			}
			if len(jr.Changed) != 1 || jr.Changed[0].Name != tensor || jr.Same != 44 || jr.Identical {
				t.Fatalf("JSON changed %+v, same %d: want %s alone", jr.Changed, jr.Same, tensor)
			}
			row := got.Tables["differences"][0]
			if count(t, row[5]) != offset {
				t.Errorf("first differing byte shown %s, the patch changed byte %d first", row[5], offset)
			}
			if v, err := strconv.ParseFloat(row[6], 64); err != nil || !close6(v, delta) {
				t.Errorf("max |Δ| shown %q, the patch added %v", row[6], delta)
			}
			if len(got.Causes) != 1 || !strings.HasPrefix(got.Causes[0], tensor+": changed") {
				t.Errorf("root causes %q, want the changed tensor", got.Causes)
			}
		})
	}
}

// Names with markup, quotes and ampersands for the diff's tensors, files
// and sides.
const (
	hostileA    = `<img src=x onerror="window.pwned=3">&a`
	hostileB    = `b "quoted" & 'single' <b>bold</b>`
	hostileFile = `model-<script>window.pwned=4</script>.safetensors`
)

// hostileDiff diffs two manifests holding every kind of difference, the
// names planted with markup.
func hostileDiff() *verify.DiffReport {
	h := func(s string) string { return hostileTensor + `"&'` + s }
	digest := func(s string) string { return strings.Repeat(s, 64)[:64] }
	a := &verify.Manifest{Source: hostileA, Files: []verify.ManifestFile{{Name: hostileFile, SHA256: digest("a")}}, Tensors: []verify.ManifestTensor{
		{Name: h("same"), File: hostileFile, DType: "F32", Shape: []int64{2}, SHA256: digest("1")},
		{Name: h("changed"), File: hostileFile, DType: "F32", Shape: []int64{2}, SHA256: digest("2")},
		{Name: h("reshaped"), File: hostileFile, DType: "F32", Shape: []int64{2, 3}, SHA256: digest("3")},
		{Name: h("retyped"), File: hostileFile, DType: "F32", Shape: []int64{4}, SHA256: digest("4")},
		{Name: h("both"), File: hostileFile, DType: "F32", Shape: []int64{4}, SHA256: digest("4")},
		{Name: h("removed"), File: hostileFile, DType: "F32", Shape: []int64{4}, SHA256: digest("5")},
		{Name: h("unhashed"), File: hostileFile, DType: "F32", Shape: []int64{4}},
	}}
	b := &verify.Manifest{Source: hostileB, Files: []verify.ManifestFile{{Name: hostileFile, SHA256: digest("b")}}, Tensors: []verify.ManifestTensor{
		{Name: h("added"), File: hostileFile, DType: "BF16", Shape: []int64{1}, SHA256: digest("6")},
		{Name: h("same"), File: hostileFile, DType: "F32", Shape: []int64{2}, SHA256: digest("1")},
		{Name: h("changed"), File: hostileFile, DType: "F32", Shape: []int64{2}, SHA256: digest("7")},
		{Name: h("reshaped"), File: hostileFile, DType: "F32", Shape: []int64{3, 2}, SHA256: digest("3")},
		{Name: h("retyped"), File: hostileFile, DType: "BF16", Shape: []int64{4}, SHA256: digest("4")},
		{Name: h("both"), File: hostileFile, DType: "BF16", Shape: []int64{2}, SHA256: digest("4")},
		{Name: h("unhashed"), File: hostileFile, DType: "F32", Shape: []int64{4}, SHA256: digest("8")},
	}}
	return verify.Diff(a, b)
}

// TestBrowserDiffKinds opens the page of a diff with every kind of
// difference, its names planted with markup: the page shows each name as
// text, runs none of it, lists one row per tensor that differs (a tensor
// both reshaped and retyped once), and the filter box narrows the
// findings to those naming what is typed.
func TestBrowserDiffKinds(t *testing.T) {
	r := hostileDiff()
	var jr diffJSON
	p, got := openReport(t, func(w *bytes.Buffer) error { return r.WriteHTML(w) }, func(w *bytes.Buffer) error { return r.WriteJSON(w) }, &jr, "kinds.png")
	checkDiffPage(t, got, jr)
	if pwned := eval[string](t, p, `String(window.pwned)`); pwned != "undefined" {
		t.Errorf("planted markup ran: window.pwned = %v", pwned)
	}
	// added, removed, reshaped, retyped, both (one row), changed.
	if len(got.Tables["differences"]) != 6 || len(jr.Unhashed) != 1 || len(jr.Files) != 1 {
		t.Errorf("%d rows, %d unhashed, %d files: want 6, 1, 1", len(got.Tables["differences"]), len(jr.Unhashed), len(jr.Files))
	}
	for _, n := range got.Findings {
		if !strings.HasPrefix(n, hostileTensor+`"&'`) {
			t.Errorf("finding's tensor shown as %q, want the planted name as text", n)
		}
	}
	if f := got.Tables["files_changed"]; len(f) != 1 || f[0][0] != hostileFile {
		t.Errorf("files whose digests differ: %q, want %q as text", f, hostileFile)
	}
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.ID("filter"), `"&'re`)); err != nil {
		t.Fatalf("typing into the filter box: %v", err)
	}
	// The names of removed, reshaped and retyped end so.
	if n := eval[int](t, p, `document.querySelectorAll("#findings tbody tr:not([hidden])").length`); n != 3 {
		t.Errorf("the filter shows %d findings, want the 3 whose names hold %q", n, `"&'re`)
	}
}

// TestWriteDiffHTMLEscapes checks the document itself: the planted
// markup appears only escaped, and the page's one script is its own.
func TestWriteDiffHTMLEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := hostileDiff().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, raw := range []string{"<script>window.pwned", "<img src=x", "<b>bold", `"quoted" & 'single'`} {
		if strings.Contains(doc, raw) {
			t.Errorf("the document holds %q unescaped", raw)
		}
	}
	for _, esc := range []string{"&lt;script&gt;window.pwned=1&lt;/script&gt;", "&lt;img src=x onerror=&#34;window.pwned=3&#34;&gt;&amp;a",
		"&#34;quoted&#34; &amp; &#39;single&#39; &lt;b&gt;bold&lt;/b&gt;", "model-&lt;script&gt;window.pwned=4&lt;/script&gt;.safetensors"} {
		if !strings.Contains(doc, esc) {
			t.Errorf("the document lacks the escaped %q", esc)
		}
	}
	if n := strings.Count(doc, "<script"); n != 1 {
		t.Errorf("%d <script elements, want the page's one", n)
	}
}

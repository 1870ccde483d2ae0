package htmlreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/weightaudit/weightaudit/audit"
)

// screenshot, when set, is where TestBrowserBuiltin also writes its
// screenshot: the README's docs/html-report.png is made by
//
//	go test ./internal/htmlreport -run TestBrowserBuiltin -args -screenshot=$PWD/docs/html-report.png
var screenshot = flag.String("screenshot", "", "also write TestBrowserBuiltin's screenshot to this PNG file")

// chromiumPath is where Debian's chromium package puts the browser; .ci/run
// installs it.
const chromiumPath = "/usr/bin/chromium"

// needChromium skips the test when the browser is absent, and fails it
// instead under CI (CI=true), where .ci/run installs it.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing (.ci/run installs Debian's chromium): %v", chromiumPath, err)
		}
		t.Skipf("no %s (apt-get install chromium): the browser test does not run", chromiumPath)
	}
}

// page is one report opened in headless Chromium, with what the browser
// reported while it loaded.
type page struct {
	ctx     context.Context
	url     string
	mu      sync.Mutex
	reqs    []string // Network.requestWillBeSent URLs
	console []string // Runtime.consoleAPICalled, Log.entryAdded and exceptions
}

func (p *page) record(list *[]string, s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*list = append(*list, s)
}

// open starts a fresh Chromium (its own profile in a temporary
// directory, no network of its own: the flags keep it from calling home)
// and loads the file at path from its file:// URL.
func open(t *testing.T, path string) *page {
	t.Helper()
	needChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	p := &page{ctx: ctx, url: (&url.URL{Scheme: "file", Path: path}).String()}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.record(&p.reqs, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			p.record(&p.console, fmt.Sprintf("console.%s %s", ev.Type, strings.Join(args, " ")))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelVerbose || ev.Entry.Level == cdplog.EntryLevelInfo {
				return // Chromium's own notes (e.g. violations), not the page's errors
			}
			p.record(&p.console, fmt.Sprintf("log %s %s: %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			if d.Exception != nil {
				d.Text += " " + d.Exception.Description
			}
			p.record(&p.console, fmt.Sprintf("exception %s at %s:%d", d.Text, d.URL, d.LineNumber))
		}
	})
	if err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	for _, enable := range []func() error{
		func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err },
		func() error { _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); return err },
		func() error { _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); return err },
	} {
		if err := enable(); err != nil {
			t.Fatalf("enabling the DevTools domains: %v", err)
		}
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(p.url),
		chromedp.WaitReady(chromedp.CSS("body")),
	)
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete"`))
	}
	if err != nil {
		t.Fatalf("loading %s in Chromium: %v", p.url, err)
	}
	return p
}

// clean checks that the page asked for nothing but itself and logged
// nothing.
func (p *page) clean(t *testing.T) {
	t.Helper()
	// Let late events (a lazily loaded resource, a console message from
	// the script) arrive.
	if err := chromedp.Do(p.ctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.reqs) != 1 || p.reqs[0] != p.url {
		t.Errorf("requests = %q, want only the page itself %s", p.reqs, p.url)
	}
	if len(p.console) > 0 {
		t.Errorf("the page logged (console or log entries, exceptions):\n%s", strings.Join(p.console, "\n"))
	}
}

// eval evaluates js in the page and decodes its value.
func eval[T any](t *testing.T, p *page, js string) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func (p *page) screenshot(t *testing.T, path string) {
	t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// shown is what the page's DOM shows, read by the browser.
type shown struct {
	Facts  map[string]string   `json:"facts"`  // data-key → the value's text
	Checks map[string]string   `json:"checks"` // id → status text
	DTypes map[string][]string `json:"dtypes"` // dtype → the row's cells
	SVGs   int                 `json:"svgs"`
	Banner string              `json:"banner"`
	Causes []string            `json:"causes"`
}

const readDOM = `(() => {
  const text = e => e ? e.textContent.trim() : null;
  const out = {facts: {}, checks: {}, dtypes: {}, causes: []};
  document.querySelectorAll(".fact[data-key]").forEach(f => out.facts[f.dataset.key] = text(f.querySelector(".value")));
  document.querySelectorAll("#checks tbody tr").forEach(r => out.checks[text(r.cells[1])] = text(r.cells[0]));
  document.querySelectorAll('table[data-key="dtypes"] tbody tr').forEach(r => out.dtypes[text(r.cells[0])] = Array.from(r.cells, text));
  document.querySelectorAll("#root-causes li").forEach(li => out.causes.push(text(li)));
  out.svgs = document.querySelectorAll("figure svg").length;
  out.banner = document.getElementById("verdict").dataset.verdict;
  return out;
})()`

// count parses a count as the page shows it: 235,093,634,560.
func count(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		t.Fatalf("the page shows %q where a count belongs: %v", s, err)
	}
	return n
}

// jsonReport holds the keys of the JSON report the page is compared with,
// decoded from the JSON format's output.
type jsonReport struct {
	Verdict string `json:"verdict"`
	Params  struct {
		Total  int64 `json:"total"`
		Active int64 `json:"active"`
	} `json:"params"`
	Checks []struct {
		ID      string `json:"id"`
		Pass    bool   `json:"pass"`
		Skipped bool   `json:"skipped"`
	} `json:"checks"`
	Gate struct {
		ID   string `json:"id"`
		Pass bool   `json:"pass"`
	} `json:"gate"`
	DTypes []struct {
		DType string `json:"dtype"`
		Bytes int64  `json:"bytes"`
	} `json:"dtypes"`
	Layers []struct {
		Bytes int64 `json:"bytes"`
	} `json:"layers"`
	Findings []json.RawMessage `json:"findings"`
}

// writeBoth writes r as HTML into dir and returns the file's path and the
// JSON report of the same run.
func writeBoth(t *testing.T, r *audit.Report, dir string) (string, jsonReport) {
	t.Helper()
	var h, j bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	if err := r.WriteJSON(&j); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	var jr jsonReport
	if err := json.Unmarshal(j.Bytes(), &jr); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, jr
}

// compare checks the numbers the page shows against the JSON report.
func compare(t *testing.T, got shown, jr jsonReport) {
	t.Helper()
	if got.Banner != jr.Verdict {
		t.Errorf("banner verdict %q, JSON %q", got.Banner, jr.Verdict)
	}
	if n := count(t, got.Facts["params.total"]); n != jr.Params.Total {
		t.Errorf("total parameters shown %d, JSON %d", n, jr.Params.Total)
	}
	if n := count(t, got.Facts["params.active"]); n != jr.Params.Active {
		t.Errorf("active parameters shown %d, JSON %d", n, jr.Params.Active)
	}
	for _, c := range jr.Checks {
		want := "FAIL"
		switch {
		case c.Skipped:
			want = "SKIP"
		case c.Pass:
			want = "PASS"
		}
		if got.Checks[c.ID] != want {
			t.Errorf("check %s shown %q, JSON says %s", c.ID, got.Checks[c.ID], want)
		}
	}
	if want := map[bool]string{true: "PASS", false: "FAIL"}[jr.Gate.Pass]; got.Checks[jr.Gate.ID] != want {
		t.Errorf("gate %s shown %q, want %s", jr.Gate.ID, got.Checks[jr.Gate.ID], want)
	}
	if len(got.DTypes) != len(jr.DTypes) {
		t.Errorf("%d dtype rows shown, JSON has %d", len(got.DTypes), len(jr.DTypes))
	}
	var sum, layers int64
	for _, d := range jr.DTypes {
		row := got.DTypes[d.DType]
		if len(row) < 4 {
			t.Errorf("dtype %s: row %q", d.DType, row)
			continue
		}
		if n := count(t, row[3]); n != d.Bytes {
			t.Errorf("dtype %s: bytes shown %d, JSON %d", d.DType, n, d.Bytes)
		}
		sum += d.Bytes
	}
	// The dtype rows and the layer rows are tallied apart: both sum every
	// tensor's bytes.
	for _, l := range jr.Layers {
		layers += l.Bytes
	}
	if sum != layers {
		t.Errorf("bytes per dtype sum to %d, the layers' to %d", sum, layers)
	}
}

// TestBrowserBuiltin opens the reports of two built-in layouts in
// Chromium: the BF16 Qwen3-235B-A22B safetensors (the default of `audit`)
// and the Q4_K_M Qwen3-30B-A3B GGUF (three dtypes). Each loads from
// file:// with no other request and nothing logged, draws its charts, and
// shows the JSON report's numbers; for the 235B those are DESIGN.md's
// (total 235,093,634,560, active 22,190,763,520).
func TestBrowserBuiltin(t *testing.T) {
	for _, tt := range []struct {
		builtin       string
		total, active int64 // published; 0: not checked here
		dtypes        int
	}{
		{"safetensors", 235_093_634_560, 22_190_763_520, 1},
		{"30b-gguf", 0, 0, 3},
	} {
		t.Run(tt.builtin, func(t *testing.T) {
			r := auditBuiltin(t, tt.builtin)
			dir := t.TempDir()
			path, jr := writeBoth(t, r, dir)
			p := open(t, path)
			got := eval[shown](t, p, readDOM)
			p.screenshot(t, filepath.Join(dir, "report.png"))
			if *screenshot != "" && tt.builtin == "safetensors" {
				p.screenshot(t, *screenshot)
			}
			p.clean(t)
			compare(t, got, jr)
			if tt.total != 0 && (jr.Params.Total != tt.total || jr.Params.Active != tt.active) {
				t.Errorf("JSON params total %d, active %d, want %d and %d", jr.Params.Total, jr.Params.Active, tt.total, tt.active)
			}
			if len(got.DTypes) != tt.dtypes {
				t.Errorf("%d dtype rows, want %d", len(got.DTypes), tt.dtypes)
			}
			// Two charts per layer, two per group, two of memory, one
			// roofline per preset (nine).
			if got.SVGs != 2+2+2+9 {
				t.Errorf("%d charts drawn, want 15", got.SVGs)
			}
			if jr.Verdict != "pass" || len(got.Causes) != 0 {
				t.Errorf("verdict %s with root causes %q, want a pass with none", jr.Verdict, got.Causes)
			}
		})
	}
}

// TestBrowserHostileNames plants markup in a tensor name and in the
// source's name: the page shows them as text, runs none of it, and the
// filter box finds the finding by its tensor's name.
func TestBrowserHostileNames(t *testing.T) {
	r := auditHostile(t)
	dir := t.TempDir()
	path, jr := writeBoth(t, r, dir)
	p := open(t, path)
	got := eval[shown](t, p, readDOM)
	compare(t, got, jr)
	if jr.Verdict != "fail" || len(got.Causes) == 0 {
		t.Fatalf("verdict %s, root causes %q: want a failure with its causes", jr.Verdict, got.Causes)
	}
	if pwned := eval[string](t, p, `String(window.pwned)`); pwned != "undefined" {
		t.Errorf("planted markup ran: window.pwned = %v", pwned)
	}
	cells := eval[[]string](t, p, `Array.from(document.querySelectorAll("#findings tbody td:nth-child(2)"), td => td.textContent).filter(s => s)`)
	if !contains(cells, hostileTensor) {
		t.Errorf("findings' tensors %q: want %q shown as text", cells, hostileTensor)
	}
	// The filter box: typing narrows the findings to those that match.
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.ID("filter"), "pwned")); err != nil {
		t.Fatalf("typing into the filter box: %v", err)
	}
	visible := eval[int](t, p, `document.querySelectorAll("#findings tbody tr:not([hidden])").length`)
	total := eval[int](t, p, `document.querySelectorAll("#findings tbody tr").length`)
	matching := 0
	for _, raw := range jr.Findings {
		if strings.Contains(strings.ToLower(string(raw)), "pwned") {
			matching++
		}
	}
	if visible != matching || visible == 0 || total != len(jr.Findings) {
		t.Errorf("filter %q: %d of %d rows shown, want the %d of %d findings that mention it", "pwned", visible, total, matching, len(jr.Findings))
	}
	p.screenshot(t, filepath.Join(dir, "hostile.png"))
	p.clean(t)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

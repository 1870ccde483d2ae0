package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/termui/ptytest"
)

// complete runs the shell-completion request for args (the last one being
// the word to complete) and returns the values offered.
func complete(tb testing.TB, args ...string) []string {
	tb.Helper()
	out, stderr, code := cli(tb, append([]string{"__complete"}, args...)...)
	if code != 0 {
		tb.Fatalf("__complete %v: exit %d: %s", args, code, stderr)
	}
	var values []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" || strings.HasPrefix(l, ":") {
			continue // the directive
		}
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values
}

// Every value completion offers is one the command accepts (run with
// it: each value, the hardware all at once as --hw takes a list), and the
// hardware offered names each preset once.
func TestFlagCompletion(t *testing.T) {
	for _, flag := range []string{"--format", "--builtin", "--kv-type", "--hw"} {
		values := complete(t, "audit", flag, "")
		if len(values) < 2 {
			t.Errorf("audit %s: completion offers %v", flag, values)
		}
		runs := values
		if flag == "--hw" {
			runs = []string{strings.Join(values, ",")}
		}
		for _, v := range runs {
			args := []string{"audit", "--builtin", "30b-gguf", "--format", "json", flag, v}
			if flag == "--builtin" {
				args[2] = v
			}
			if _, stderr, code := cli(t, args...); code != 0 {
				t.Errorf("%v, offered by completion: exit %d: %s", args, code, stderr)
			}
		}
		if flag == "--hw" {
			named := map[string]bool{}
			for _, v := range values {
				h, ok := cost.LookupHardware(v)
				if !ok || named[h.Name] {
					t.Errorf("--hw completion %q: preset %q (found %v) named twice or not at all", v, h.Name, ok)
				}
				named[h.Name] = true
			}
			if len(named) != len(cost.HardwarePresets()) {
				t.Errorf("--hw completion names %d presets, want all %d", len(named), len(cost.HardwarePresets()))
			}
		}
	}
	// After a comma, the items typed stay and the next is completed.
	for _, v := range complete(t, "audit", "--hw", "h200,") {
		if !strings.HasPrefix(v, "h200,") {
			t.Errorf("--hw h200, completes to %q", v)
		}
	}
	if got := complete(t, "verify", "--builtin", ""); len(got) == 0 {
		t.Errorf("verify --builtin completes to nothing")
	}
	if got := complete(t, "compare", "--format", ""); !contains(got, "json") {
		t.Errorf("compare --format completes to %v, want json among them", got)
	}
	out, _, code := cli(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_weightaudit") {
		t.Errorf("completion bash: exit %d, no bash completion script", code)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestTypoSuggestions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr; "" for no suggestion
	}{
		{"flag", []string{"audit", "--fromat", "json"}, "unknown flag: --fromat (did you mean --format?)"},
		{"flag-with-value", []string{"audit", "--fromat=json"}, "unknown flag: --fromat (did you mean --format?)"},
		{"inherited-flag", []string{"verify", "--timout", "5"}, "unknown flag: --timout (did you mean --timeout?)"},
		{"prefix", []string{"verify", "--require"}, "unknown flag: --require (did you mean --require-digests?)"},
		{"far", []string{"audit", "--zzzzzz"}, ""},
		{"command", []string{"adit"}, "unknown command \"adit\" for \"weightaudit\"\n\nDid you mean this?\n\taudit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := cli(t, tt.args...)
			if code != exitUsage {
				t.Errorf("%v: exit %d, want %d", tt.args, code, exitUsage)
			}
			if tt.want == "" {
				if strings.Contains(stderr, "did you mean") {
					t.Errorf("%v: stderr %q suggests something", tt.args, stderr)
				}
			} else if !strings.Contains(stderr, tt.want) {
				t.Errorf("%v: stderr %q, want %q", tt.args, stderr, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"format", "format", 0}, {"fromat", "format", 2}, {"fomat", "format", 1},
		{"", "abc", 3}, {"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// The table is coloured on a terminal and with --color=always, never in
// JSON, with --color=never or NO_COLOR, nor in a pipe.
func TestColor(t *testing.T) {
	audit := []string{"audit", "--builtin", "safetensors"}
	tests := []struct {
		name    string
		args    []string
		noColor string
		tty     bool
		want    bool
	}{
		{"pipe", audit, "", false, false},
		{"pipe-always", append(audit, "--color=always"), "", false, true},
		{"pipe-always-NO_COLOR", append(audit, "--color", "always"), "1", false, true},
		{"pipe-always-json", append(audit, "--color=always", "--json"), "", false, false},
		{"pipe-always-markdown", append(audit, "--color=always", "--format", "markdown"), "", false, false},
		{"terminal", audit, "", true, true},
		{"terminal-NO_COLOR", audit, "1", true, false},
		{"terminal-never", append(audit, "--color=never"), "", true, false},
		{"terminal-json", append(audit, "--json"), "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			var out string
			if tt.tty {
				plain, _, _ := cli(t, tt.args...)
				lines := strings.Split(strings.TrimSpace(plain), "\n")
				tty, read := ptytest.Open(t, 400)
				var stderr bytes.Buffer
				if code := exitCode(run(context.Background(), tt.args, tty, &stderr), &stderr); code != 0 {
					t.Fatalf("%v: exit %d: %s", tt.args, code, stderr.String())
				}
				out = ptytest.WaitFor(t, read, lines[len(lines)-1]) // all written
			} else {
				var code int
				out, _, code = cli(t, tt.args...)
				if code != 0 {
					t.Fatalf("%v: exit %d", tt.args, code)
				}
			}
			green := strings.Contains(out, "\x1b[1;32mPASS\x1b[0m")
			if green != tt.want || (!tt.want && sgr.MatchString(out)) {
				t.Errorf("%v (NO_COLOR=%q, terminal %v): PASS in green %v, want %v\n%.300q", tt.args, tt.noColor, tt.tty, green, tt.want, out)
			}
			if tt.want && tt.tty {
				// Without its colour the text is the pipe's, line for line.
				plain, _, _ := cli(t, tt.args...)
				if got := strings.ReplaceAll(sgr.ReplaceAllString(out, ""), "\r\n", "\n"); got != plain {
					t.Errorf("the coloured table is not the plain one coloured:\n%s\nwant\n%s", got, plain)
				}
			}
		})
	}
	if _, stderr, code := cli(t, "audit", "--builtin", "safetensors", "--color", "sometimes"); code != exitUsage || !strings.Contains(stderr, "auto, never, always") {
		t.Errorf("--color sometimes: exit %d, %q; want %d naming the modes", code, stderr, exitUsage)
	}
}

// On a terminal of 60 columns no line of the table is wider, every
// section of it still shows, and the numbers that fit are the pipe's.
func TestTableFitsTerminal(t *testing.T) {
	args := []string{"diff", "--color=never", "../../testdata/tiny/hf-bf16", "../../testdata/tiny/gguf/tiny-f32.gguf"}
	plain, _, code := cli(t, args...)
	if code != 1 {
		t.Fatalf("%v: exit %d, want 1 (they differ)", args, code)
	}
	tty, read := ptytest.Open(t, 60)
	var stderr bytes.Buffer
	exitCode(run(context.Background(), args, tty, &stderr), &stderr)
	want := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	last := want[len(want)-1]
	if len([]rune(last)) > 60 {
		last = string([]rune(last)[:20])
	}
	got := ptytest.ScreenLines(ptytest.WaitFor(t, read, last))
	got = got[:len(got)-1] // after the last newline
	if len(got) != len(want) {
		t.Fatalf("the terminal shows %d lines, the pipe gets %d", len(got), len(want))
	}
	shortened := 0
	for i, g := range got {
		if n := len([]rune(g)); n > 60 {
			t.Errorf("line %d has %d columns on a 60-column terminal: %q", i, n, g)
		}
		if g != want[i] {
			shortened++
			if !strings.Contains(g, "…") {
				t.Errorf("line %d changed without an ellipsis: %q, from %q", i, g, want[i])
			}
		}
	}
	if shortened == 0 {
		t.Errorf("no line was shortened: the test shows nothing")
	}
}

// slowHub serves dir as the Hub does, each file's body in 4 KiB pieces
// each followed by a pause (at 100 ms a read of the tiny shards takes
// about a second), and
// answers the first whole-file read of fail with 503 after 600 ms, when
// the bar, drawn every 250 ms, is on the terminal.
func slowHub(tb testing.TB, dir, fail string, pause time.Duration) string {
	tb.Helper()
	h := repoHandler(tb, dir, "acme/tiny", "")
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/"+fail) && wholeRead(r) {
			failed := false
			once.Do(func() { failed = true })
			if failed {
				time.Sleep(600 * time.Millisecond)
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		}
		h(trickle{w, pause}, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// trickle writes a response's body 4 KiB at a time, each piece followed
// by a pause.
type trickle struct {
	http.ResponseWriter
	pause time.Duration
}

func (t trickle) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 4<<10)
		m, err := t.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		t.ResponseWriter.(http.Flusher).Flush()
		p = p[k:]
		time.Sleep(t.pause)
	}
	return n, nil
}

// wholeRead reports whether r reads a file from its start for more than
// its header's first bytes.
func wholeRead(r *http.Request) bool {
	rg := r.Header.Get("Range")
	if rg == "" {
		return true
	}
	var start, end int64
	n, _ := fmt.Sscanf(rg, "bytes=%d-%d", &start, &end)
	return n == 2 && start == 0 && end >= 8<<10
}

// TestProgressOnTerminal verifies a slow Hub repository whose server asks
// for a retry: on a terminal the bar is drawn, the retry notice stands
// whole on a line of its own and the bar's line is cleared at the end; on
// a pipe there is the notice and no bar.
func TestProgressOnTerminal(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_ENDPOINT", slowHub(t, "../../testdata/tiny/hf-bf16", "model-00002-of-00002.safetensors", 100*time.Millisecond))
	args := []string{"verify", "--no-cache", "--json", "hf://acme/tiny"}

	tty, read := ptytest.Open(t, 120)
	var stdout bytes.Buffer
	if code := exitCode(run(context.Background(), args, &stdout, tty), tty); code != 0 {
		t.Fatalf("verify on a terminal: exit %d\n%s", code, read())
	}
	out := ptytest.WaitFor(t, read, "\r\x1b[K") // the bar's line cleared
	time.Sleep(50 * time.Millisecond)
	out = read()
	if !strings.Contains(out, "%)") {
		t.Errorf("no progress bar on the terminal: %q", out)
	}
	lines := ptytest.ScreenLines(out)
	notices := 0
	for _, l := range lines {
		if strings.Contains(l, "retrying") {
			notices++
			if !strings.HasPrefix(l, "retrying GET ") || strings.Contains(l, "%)") || !strings.Contains(l, "503") {
				t.Errorf("the retry notice's line shows %q", l)
			}
		}
	}
	if notices != 1 {
		t.Errorf("the terminal shows %d retry notices, want 1:\n%q", notices, out)
	}
	if last := lines[len(lines)-1]; last != "" {
		t.Errorf("the terminal's last line shows %q, want it cleared", last)
	}

	t.Setenv("HF_ENDPOINT", slowHub(t, "../../testdata/tiny/hf-bf16", "model-00002-of-00002.safetensors", 100*time.Millisecond))
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var piped bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&piped, pr); close(copied) }()
	stdout.Reset()
	code := exitCode(run(context.Background(), args, &stdout, pw), pw)
	pw.Close()
	<-copied
	if code != 0 {
		t.Fatalf("verify to a pipe: exit %d\n%s", code, piped.String())
	}
	if s := piped.String(); !strings.Contains(s, "retrying GET ") || strings.ContainsAny(s, "\r\x1b") || strings.Contains(s, "%)") {
		t.Errorf("stderr on a pipe: %q, want the retry notice and no bar", s)
	}
}

// Reading the headers of a slow remote listing shows a bar counting the
// files on a terminal, out of the 2 shards the index names, and on a pipe
// nothing.
func TestHeadersBarOnTerminal(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	// Each response takes 400 ms: the bar, drawn every 250 ms, is seen.
	t.Setenv("HF_ENDPOINT", slowHub(t, "../../testdata/tiny/hf-bf16", "", 400*time.Millisecond))
	args := []string{"inspect", "--no-cache", "--json", "hf://acme/tiny"}

	tty, read := ptytest.Open(t, 120)
	var stdout bytes.Buffer
	if code := exitCode(run(context.Background(), args, &stdout, tty), tty); code != 0 {
		t.Fatalf("inspect on a terminal: exit %d\n%s", code, read())
	}
	out := ptytest.WaitFor(t, read, "\r\x1b[K")
	if !regexp.MustCompile(`headers [0-2] / 2 files \(`).MatchString(out) {
		t.Errorf("no headers bar on the terminal: %q", out)
	}
	if lines := ptytest.ScreenLines(out); lines[len(lines)-1] != "" {
		t.Errorf("the bar's line is left showing %q", lines[len(lines)-1])
	}

	var stderr bytes.Buffer
	if code := exitCode(run(context.Background(), args, &stdout, &stderr), &stderr); code != 0 || stderr.Len() != 0 {
		t.Errorf("inspect to a buffer: exit %d, stderr %q; want 0 and nothing", code, stderr.String())
	}
}

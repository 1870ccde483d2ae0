package termui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/internal/interrupt"
	"github.com/weightaudit/weightaudit/internal/termui/ptytest"
)

var screenLines = ptytest.ScreenLines

func TestBarOnTerminalOnly(t *testing.T) {
	for name, f := range notTerminals(t) {
		if b := NewBar(f, "verify", Bytes, 100); b != nil {
			b.Stop()
			t.Errorf("NewBar(%s) = a bar, want nil", name)
		}
	}
	tty, read := openPTY(t, 60)
	b := NewBar(tty, "verify", Bytes, 0)
	if b == nil {
		t.Fatal("NewBar(pty) = nil, want a bar")
	}
	b.AddFiles(map[string]int64{"model-00001-of-00002.safetensors": 1 << 20})
	b.AddFiles(map[string]int64{"b": 1 << 20})
	b.AddFile("model-00001-of-00002.safetensors", 512<<10)
	waitFor(t, read, "(25.0%)")
	b.Stop()
	out := waitFor(t, read, "\r\x1b[K")
	lines := screenLines(out)
	if last := lines[len(lines)-1]; last != "" {
		t.Errorf("after Stop the terminal's line shows %q, want it cleared", last)
	}
	// Every drawing fits the 60 columns (one left free, so the terminal
	// never wraps the line).
	for _, d := range strings.Split(strings.ReplaceAll(out, "\x1b[K", ""), "\r") {
		if n := len([]rune(d)); n > 59 {
			t.Errorf("the bar drew %q, %d columns on a 60-column terminal", d, n)
		}
	}
	var nilBar *Bar // what NewBar returns off a terminal: usable as is
	nilBar.Add(1)
	nilBar.AddFile("x", 1)
	nilBar.SetTotal(1)
	nilBar.Stop()
}

// TestBarArmsInterrupts: once a bar is drawn the run catches SIGINT and
// SIGTERM (package interrupt): a person watching it may stop it, and the
// run then ends as an interrupted one, not killed mid-line.
func TestBarArmsInterrupts(t *testing.T) {
	_, stop := interrupt.Context(context.Background())
	defer stop()
	tty, read := openPTY(t, 60)
	b := NewBar(tty, "headers", "files", 10)
	if interrupt.Armed() {
		t.Fatal("armed before the bar was drawn")
	}
	b.Add(3)
	waitFor(t, read, "3 / 10 files")
	b.Stop()
	if !interrupt.Armed() {
		t.Error("the bar was drawn with signals not caught")
	}
}

// TestPrintlnKeepsBarApart writes notices from several goroutines while a
// bar is drawn: on the terminal each notice must stand on a line of its
// own, whole, and the bar must come back below them.
func TestPrintlnKeepsBarApart(t *testing.T) {
	tty, read := openPTY(t, 200)
	b := NewBar(tty, "verify", Bytes, 1000)
	b.Add(100)
	waitFor(t, read, "(10.0%)")
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 5 {
				b.Add(10)
				Println(tty, strings.Repeat("x", 10*g+1)+" retrying GET https://example.invalid/a in 1 s")
				time.Sleep(time.Millisecond)
			}
		}()
	}
	for range 4 {
		<-done
	}
	out := waitFor(t, read, "(30.0%)")
	b.Stop()
	notices := 0
	for _, l := range screenLines(out) {
		if strings.Contains(l, "retrying") {
			notices++
			if !strings.HasSuffix(l, " retrying GET https://example.invalid/a in 1 s") || strings.Trim(strings.TrimSuffix(l, " retrying GET https://example.invalid/a in 1 s"), "x") != "" {
				t.Errorf("a notice's line shows %q: garbled", l)
			}
		}
	}
	if notices != 20 {
		t.Errorf("the terminal shows %d notice lines, want 20", notices)
	}
	lines := screenLines(out)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "verify ") {
		t.Errorf("below the notices the terminal shows %q, want the bar again", last)
	}
}

func TestPrintlnOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	Println(&buf, "retrying")
	if got := buf.String(); got != "retrying\n" {
		t.Errorf("Println to a buffer wrote %q, want the line alone", got)
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name        string
		unit        Unit
		done, total int64
		elapsed     time.Duration
		active      []string
		want        string
	}{
		{"start", Bytes, 0, 1 << 30, 0, nil, "verify 0 B / 1.00 GiB (0.0%)"},
		// 512 MiB in 1 s: 536,870,912 B/s = 537 MB/s; the other 512 MiB
		// at that rate take 1 s.
		{"half", Bytes, 512 << 20, 1 << 30, time.Second, []string{"a.safetensors", "b.safetensors"},
			"verify 512.00 MiB / 1.00 GiB (50.0%)  537 MB/s  ETA 1s  a.safetensors +1"},
		{"total-unknown", Bytes, 0, 0, time.Second, nil, "verify 0 B"},
		// 3 MB in 1 s, of a total not yet known: no share, no ETA.
		{"total-unknown-rate", Bytes, 3e6, 0, time.Second, nil, "verify 2.86 MiB  3 MB/s"},
		{"items-unknown", "files", 2, 0, 0, nil, "verify 2 files"},
		// 120 of 400 in 3 s: 40 a second, 280 left take 7 s.
		{"items", "tensor pairs", 120, 400, 3 * time.Second, nil, "verify 120 / 400 tensor pairs (30.0%)  ETA 7s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line("verify", tt.unit, tt.done, tt.total, tt.elapsed, tt.active); got != tt.want {
				t.Errorf("Line(%d, %d, %v, %v) = %q, want %q", tt.done, tt.total, tt.elapsed, tt.active, got, tt.want)
			}
		})
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, 30, true)
	w.Write([]byte("PASS  a\n  retyped  model.layers.0.mlp.experts"))
	w.Write([]byte(".127.down_proj.weight  BF16\nFAIL"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// The second line is 64 runes into 30: the name down to 20 runes
	// gives 27, and the end is cut of the 7 still over (29 runes and "…").
	want := "\x1b[1;32mPASS\x1b[0m  a\n  retyped  model.laye…oj.weig…\n\x1b[1;31mFAIL\x1b[0m"
	if got := buf.String(); got != want {
		t.Errorf("Writer wrote %q, want %q", got, want)
	}
}

// Set keeps the largest count it is told of: cumulative counts reported
// from concurrent work may arrive out of order.
func TestBarSet(t *testing.T) {
	tty, _ := ptytest.Open(t, 80)
	b := NewBar(tty, "diff", Bytes, 0)
	defer b.Stop()
	b.AddTotal(10)
	b.AddTotal(5)
	for _, n := range []int64{4, 9, 7} {
		b.Set(n)
	}
	if b.done != 9 || b.total != 15 {
		t.Errorf("after Set 4, 9, 7 of AddTotal 10 and 5: done %d of %d, want 9 of 15", b.done, b.total)
	}
}

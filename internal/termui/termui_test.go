package termui

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/internal/termui/ptytest"
)

func openPTY(tb testing.TB, cols uint16) (*os.File, func() string) {
	tb.Helper()
	return ptytest.Open(tb, cols)
}

func waitFor(tb testing.TB, read func() string, want string) string {
	tb.Helper()
	return ptytest.WaitFor(tb, read, want)
}

// notTerminals returns streams that are not terminals: /dev/null (a
// character device, which the old check took for one), a pipe and a
// regular file.
func notTerminals(tb testing.TB) map[string]*os.File {
	tb.Helper()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := null.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		tb.Fatalf("%s is not a character device here (%v): the test means nothing", os.DevNull, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	go io.Copy(io.Discard, r)
	file, err := os.Create(tb.TempDir() + "/out")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { null.Close(); w.Close(); r.Close(); file.Close() })
	return map[string]*os.File{"devnull": null, "pipe": w, "file": file}
}

func TestIsTerminal(t *testing.T) {
	tty, _ := openPTY(t, 80)
	if !IsTerminal(tty) {
		t.Errorf("IsTerminal(pty) = false, want true")
	}
	if got := Width(tty); got != 80 {
		t.Errorf("Width(pty of 80 columns) = %d, want 80", got)
	}
	for name, f := range notTerminals(t) {
		if IsTerminal(f) {
			t.Errorf("IsTerminal(%s) = true, want false", name)
		}
		if got := Width(f); got != 0 {
			t.Errorf("Width(%s) = %d, want 0", name, got)
		}
	}
	if IsTerminal(&bytes.Buffer{}) {
		t.Errorf("IsTerminal(*bytes.Buffer) = true, want false")
	}
}

func TestUseColor(t *testing.T) {
	tty, _ := openPTY(t, 80)
	pipe := notTerminals(t)["pipe"]
	tests := []struct {
		name    string
		w       io.Writer
		mode    ColorMode
		noColor string
		want    bool
	}{
		{"auto-terminal", tty, ColorAuto, "", true},
		{"auto-terminal-NO_COLOR", tty, ColorAuto, "1", false},
		{"auto-terminal-NO_COLOR-any-value", tty, ColorAuto, "false", false},
		{"auto-pipe", pipe, ColorAuto, "", false},
		{"never-terminal", tty, ColorNever, "", false},
		{"always-pipe", pipe, ColorAlways, "", true},
		{"always-NO_COLOR", pipe, ColorAlways, "1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UseColor(tt.w, tt.mode, tt.noColor); got != tt.want {
				t.Errorf("UseColor(%s, %v, %q) = %v, want %v", tt.name, tt.mode, tt.noColor, got, tt.want)
			}
		})
	}
}

func TestParseColorMode(t *testing.T) {
	for _, name := range ColorModes {
		m, err := ParseColorMode(name)
		if err != nil || m.String() != name {
			t.Errorf("ParseColorMode(%q) = %v, %v; want it back", name, m, err)
		}
	}
	if _, err := ParseColorMode("yes"); err == nil || !strings.Contains(err.Error(), "auto, never, always") {
		t.Errorf("ParseColorMode(yes) error = %v, want one listing the modes", err)
	}
}

func TestColorize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  PASS  STRUCT-FILES  ok", "  \x1b[1;32mPASS\x1b[0m  STRUCT-FILES  ok"},
		{"FAIL  verify x — 1 finding(s)", "\x1b[1;31mFAIL\x1b[0m  verify x — 1 finding(s)"},
		{"  a.safetensors  1 KiB  abc  mismatch", "  a.safetensors  1 KiB  abc  \x1b[1;31mmismatch\x1b[0m"},
		{"PASSED PASS.weight xPASS", "PASSED PASS.weight xPASS"}, // not alone: untouched
		{"differ: 45 tensor(s)", "\x1b[1;31mdiffer:\x1b[0m 45 tensor(s)"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Colorize(tt.in); got != tt.want {
			t.Errorf("Colorize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The rows of a table are as long and their cells in a column as wide:
// fitted to one width, they lose as much of each column and stay aligned,
// the short name giving its padding first.
func TestFitKeepsColumns(t *testing.T) {
	rows := []string{
		"  model-00001-of-00002.safetensors  36.85 KiB  unchecked",
		"  model.safetensors.index.json      3.76 KiB   unchecked",
	}
	// 56 runes into 46: 10 from the name column's cell (24 runes left).
	want := []string{
		"  model-00001…afetensors  36.85 KiB  unchecked",
		"  model.safet…index.json  3.76 KiB   unchecked",
	}
	for i, row := range rows {
		if got := Fit(row, 46); got != want[i] {
			t.Errorf("Fit(%q, 46) = %q, want %q", row, got, want[i])
		}
	}
}

func TestFit(t *testing.T) {
	const name = "model.layers.0.mlp.experts.127.down_proj.weight" // 47 runes
	tests := []struct {
		name  string
		line  string
		width int
		want  string
	}{
		{"fits", "  retyped  a.weight  BF16 → F32", 80, "  retyped  a.weight  BF16 → F32"},
		{"no-width", "  retyped  " + name + "  BF16 → F32", 0, "  retyped  " + name + "  BF16 → F32"},
		// 11 + 47 + 12 = 70 runes into 60: the name loses 11 runes and
		// gains "…" (36 runes: 18 from its start, 17 from its end); the
		// numbers and the columns' spaces stay.
		{"name-middle", "  retyped  " + name + "  BF16 → F32", 60,
			"  retyped  model.layers.0.mlp…7.down_proj.weight  BF16 → F32"},
		// The name goes no shorter than 20 runes (10 + "…" + 9), the line
		// is then 43 runes: its first 29 stay and "…" marks the cut.
		{"name-then-end", "  retyped  " + name + "  BF16 → F32", 30,
			"  retyped  model.laye…oj.weig…"},
		// A digest is shortened only after the names: 111 runes into 90,
		// the file name (28 runes) goes down to 20 and gives 8, the
		// 64-rune digest the other 13 (to 51: 25 + "…" + 25).
		{"digest-after-names", "  model-00001-of-2.safetensors  36.85 KiB  " + strings.Repeat("ab", 32) + "  ok", 90,
			"  model-0000…fetensors  36.85 KiB  " + strings.Repeat("ab", 12) + "a…b" + strings.Repeat("ab", 12) + "  ok"},
		{"numbers-kept", "  1,244,663,808  2,489,327,616  4,975,510,016  1,244,663,808", 40,
			"  1,244,663,808  2,489,327,616  4,975,5…"}, // no name: the first 39 runes stay
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fit(tt.line, tt.width)
			if got != tt.want {
				t.Errorf("Fit(%q, %d) =\n%q, want\n%q", tt.line, tt.width, got, tt.want)
			}
			if n := len([]rune(got)); tt.width > 0 && n > tt.width {
				t.Errorf("Fit(%q, %d) has %d runes", tt.line, tt.width, n)
			}
		})
	}
}

// BenchmarkWriter measures what fitting and colouring cost a table on a
// terminal, against writing it as it is (Plain): a diff of 36,945 tensors
// (the 235B layout) is 36,945 such lines.
func BenchmarkWriter(b *testing.B) {
	var table bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&table, "  retyped   model.layers.%d.mlp.experts.%d.down_proj.weight  BF16 → F32\n", i/128, i%128)
		fmt.Fprintf(&table, "  PASS  STRUCT-TENSORS    [structural] %d tensors as qwen3moe predicts\n", i)
	}
	data := table.Bytes()
	for _, bm := range []struct {
		name  string
		width int
		color bool
	}{{"Plain", 0, false}, {"Fit60", 60, false}, {"Fit60Color", 60, true}, {"Fit200Color", 200, true}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if bm.width == 0 && !bm.color {
					io.Discard.Write(data)
					continue
				}
				w := NewWriter(io.Discard, bm.width, bm.color)
				w.Write(data)
				w.Flush()
			}
		})
	}
}

package textfmt_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// TestColumnsAsTabwriter: Columns writes what text/tabwriter writes for
// the same lines, whether it aligns them itself (regular lines: ASCII,
// multi-byte runes, invalid UTF-8, empty cells, carriage returns) or hands
// them to tabwriter (a differing number of cells, tabwriter's control
// bytes in a cell).
func TestColumnsAsTabwriter(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"none", nil},
		{"one cell", []string{"a", "bbb", ""}},
		{"header and rows", []string{"name\tshape\tdtype\toffset", "model.embed_tokens.weight\t[151936 4096]\tBF16\t0", "x\t[]\tF32\t12345678"}},
		{"runes", []string{"é\tß\tend", "naïve\t日本語\tend", "\xff\xfe\tx\t"}},
		{"empty cells", []string{"\t\t", "a\t\tb", "\tc\t"}},
		{"carriage return", []string{"a\rb\tc\td", "e\tf\tg"}},
		{"ragged", []string{"a\tb\tc", "dd\tee", "f\tg\th\ti"}},
		{"vertical tab", []string{"a\vb\tc", "d\te"}},
		{"form feed", []string{"a\tb", "c\fd\te", "f\tg"}},
		{"newline in a cell", []string{"a\tb", "c\nd\te"}},
		{"escape byte", []string{"a\tb", "\xffc\xff\td"}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "bc", "é", "日", "", " ", "0", "\xc3"}
	for k := range 20 {
		cols := 1 + r.IntN(5)
		var lines []string
		for range r.IntN(30) {
			var cells []string
			for range cols {
				var sb strings.Builder
				for range r.IntN(6) {
					sb.WriteString(alphabet[r.IntN(len(alphabet))])
				}
				cells = append(cells, sb.String())
			}
			lines = append(lines, strings.Join(cells, "\t"))
		}
		tests = append(tests, struct {
			name  string
			lines []string
		}{fmt.Sprintf("random %d", k), lines})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, padding := range []int{0, 1, 2} {
				var want bytes.Buffer
				tw := tabwriter.NewWriter(&want, 0, 0, padding, ' ', 0)
				for _, l := range tt.lines {
					fmt.Fprintf(tw, "%s\n", l)
				}
				if err := tw.Flush(); err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				err := textfmt.Columns(&got, padding, len(tt.lines), func(b []byte, i int) []byte { return append(b, tt.lines[i]...) })
				if err != nil || got.String() != want.String() {
					t.Errorf("padding %d: Columns = %q, %v; tabwriter wrote %q", padding, got.String(), err, want.String())
				}
			}
		})
	}
}

// TestColumnsWriteError: a failing writer's error is returned.
func TestColumnsWriteError(t *testing.T) {
	err := textfmt.Columns(&failWriter{}, 2, 3, func(b []byte, i int) []byte { return append(b, "a\tb"...) })
	if err == nil || err.Error() != "disk full" {
		t.Errorf("Columns to a failing writer = %v, want disk full", err)
	}
}

// Package textfmt formats numbers and reports for people: counts with
// thousands separators, parameter counts and byte sizes in short units,
// indented JSON, and a writer that keeps its first error.
package textfmt

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// MaxTextFindings bounds the findings the terminal and Markdown reports
// list; the JSON and JUnit reports carry all of them.
const MaxTextFindings = 40

// Verdict returns "PASS" or "FAIL".
func Verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// Icon is the Markdown reports' mark of a verdict or check status: ✅ for
// pass, ❌ for fail (in any case), ➖ for the rest (skip, incomplete).
func Icon(status string) string {
	switch strings.ToLower(status) {
	case "pass":
		return "✅"
	case "fail":
		return "❌"
	}
	return "➖"
}

// PassIcon is [Icon] of [Verdict](pass).
func PassIcon(pass bool) string { return Icon(Verdict(pass)) }

// WriteJSON writes v as JSON indented by two spaces, ending in a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Printer writes formatted text to W, keeping the first error in Err and
// writing nothing after it.
type Printer struct {
	W   io.Writer
	Err error
}

// F writes like fmt.Fprintf, unless an earlier write failed.
func (p *Printer) F(format string, args ...any) {
	if p.Err == nil {
		_, p.Err = fmt.Fprintf(p.W, format, args...)
	}
}

// FirstOf sums up n things found, of which first is the first, in one
// line: first itself when it is the only one, else "3 findings; the
// first: …" (noun in the singular; the plural adds an s).
func FirstOf(n int, noun, first string) string {
	if n == 1 {
		return first
	}
	return fmt.Sprintf("%s %ss; the first: %s", Count(int64(n)), noun, first)
}

// Count formats n with thousands separators: 235,093,634,560.
func Count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Params formats a parameter count the way model cards do: 235.09 B, 622.33 M.
func Params(n int64) string {
	switch f := float64(n); {
	case f >= 1e9:
		return fmt.Sprintf("%.2f B", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2f M", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.2f K", f/1e3)
	}
	return fmt.Sprint(n)
}

// Bytes formats a byte count in binary units: 437.89 GiB.
func Bytes(n int64) string {
	sign, mag := "", uint64(n)
	if n < 0 {
		// A shortfall: the magnitude in its unit, with an ASCII minus in
		// every format (-math.MinInt64 overflows int64, not uint64).
		sign, mag = "-", -uint64(n)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(mag)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%s%d B", sign, mag)
	}
	return fmt.Sprintf("%s%.2f %s", sign, f, units[i])
}

// MDEscape escapes s for a Markdown table cell: its pipes.
func MDEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// MDCode formats s as inline Markdown code (backquotes inside it become
// quotes); "" stays "".
func MDCode(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

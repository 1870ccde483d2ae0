package termui

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// minName is the fewest runes a name is shortened to, the ellipsis
// counted: "model.layer…proj.weight" still says which tensor it is.
const minName = 20

// Fit returns line shortened to at most width runes (one column each, as
// the tables' text is), or line itself when it fits or width is not
// positive. It first shortens the longest names in the middle with an
// ellipsis (a tensor's or file's name keeps its start and its end), never
// below 20 runes and never a number; then hexadecimal digests the same
// way; and only then cuts the line's end, marked with an ellipsis.
// Spaces, and so the columns of a table whose names are shortened alike,
// are kept.
func Fit(line string, width int) string {
	n := utf8.RuneCountInString(line)
	if width <= 0 || n <= width {
		return line
	}
	fields := splitFields(line)
	over := n - width
	for _, pass := range []func(string) bool{isName, isHex} {
		var cand []int
		for i, f := range fields {
			if f != "" && f[0] != ' ' && pass(f) && utf8.RuneCountInString(f) > minName {
				cand = append(cand, i)
			}
		}
		sort.SliceStable(cand, func(a, b int) bool {
			return utf8.RuneCountInString(fields[cand[a]]) > utf8.RuneCountInString(fields[cand[b]])
		})
		for _, i := range cand {
			if over <= 0 {
				break
			}
			r := []rune(fields[i])
			cut := min(over+1, len(r)-minName+1) // +1: the ellipsis takes a rune
			if cut < 2 {
				continue
			}
			keep := len(r) - cut
			head := (keep + 1) / 2
			fields[i] = string(r[:head]) + "…" + string(r[len(r)-(keep-head):])
			over -= cut - 1
		}
	}
	out := strings.Join(fields, "")
	if over > 0 {
		r := []rune(out)
		out = strings.TrimRight(string(r[:width-1]), " ") + "…"
	}
	return out
}

// splitFields splits line into alternating runs of spaces and of other
// runes, which joined give line back.
func splitFields(line string) []string {
	var fields []string
	start := 0
	for i := 1; i <= len(line); i++ {
		if i == len(line) || (line[i] == ' ') != (line[start] == ' ') {
			fields = append(fields, line[start:i])
			start = i
		}
	}
	return fields
}

// isName reports whether f reads as a name: it has a letter and is not a
// hexadecimal digest.
func isName(f string) bool {
	return strings.IndexFunc(f, unicode.IsLetter) >= 0 && !isHex(f)
}

// isHex reports whether f is a hexadecimal digest, with or without its
// algorithm ("sha256:…").
func isHex(f string) bool {
	if _, rest, ok := strings.Cut(f, ":"); ok {
		f = rest
	}
	if len(f) < 32 {
		return false
	}
	for _, c := range f {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

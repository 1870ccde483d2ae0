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
// positive. It first shortens the cells of long names (24 runes or more):
// a table's column loses its padding beyond two spaces, then the name is
// cut in the middle with an ellipsis (a tensor's or file's name keeps its
// start and its end), never below 20 runes; the widest cells first, so
// the rows of a table, whose cells in a column are as wide, lose the same
// where their names are long. Numbers are
// never cut; hexadecimal digests are, the same way, only after the names;
// and only then is the line's end cut, marked with an ellipsis.
func Fit(line string, width int) string {
	n := utf8.RuneCountInString(line)
	if width <= 0 || n <= width {
		return line
	}
	fields := splitFields(line)
	over := n - width
	for _, pass := range []func(string) bool{isName, isHex} {
		var cand []int // indices of the tokens to shorten, widest cell first
		for i, f := range fields {
			if f[0] != ' ' && pass(f) && utf8.RuneCountInString(f) >= minShortened {
				cand = append(cand, i)
			}
		}
		cell := func(i int) int { return utf8.RuneCountInString(fields[i]) + pad(fields, i) }
		sort.SliceStable(cand, func(a, b int) bool { return cell(cand[a]) > cell(cand[b]) })
		for _, i := range cand {
			if over <= 0 {
				break
			}
			if p := pad(fields, i); p > 2 {
				cut := min(over, p-2)
				fields[i+1] = fields[i+1][cut:]
				over -= cut
			}
			r := []rune(fields[i])
			if over <= 0 {
				continue
			}
			cut := min(over+1, len(r)-minName+1) // +1: the ellipsis takes a rune
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

// minShortened is the shortest name cut: shorter ones would give too
// little to be worth their legibility.
const minShortened = minName + 4

// pad returns the spaces after the token fields[i] when they pad a table's
// column (more follows them), else 0.
func pad(fields []string, i int) int {
	if i+2 >= len(fields) {
		return 0
	}
	return len(fields[i+1])
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

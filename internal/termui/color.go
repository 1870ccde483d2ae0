package termui

import (
	"fmt"
	"io"
	"strings"
)

// ColorMode is the value of --color.
type ColorMode int

const (
	ColorAuto   ColorMode = iota // colour on a terminal unless NO_COLOR is set
	ColorNever                   // never colour
	ColorAlways                  // colour wherever the output goes, NO_COLOR or not
)

// ColorModes are the names --color takes, in the order of the help.
var ColorModes = []string{"auto", "never", "always"}

func (m ColorMode) String() string { return ColorModes[m] }

// ParseColorMode parses auto, never or always.
func ParseColorMode(s string) (ColorMode, error) {
	for i, name := range ColorModes {
		if s == name {
			return ColorMode(i), nil
		}
	}
	return 0, fmt.Errorf("--color %q: want %s", s, strings.Join(ColorModes, ", "))
}

// UseColor reports whether output to w is coloured under mode: always
// under ColorAlways, never under ColorNever, and under ColorAuto only when
// w is a terminal and noColor (the value of $NO_COLOR) is empty: by
// no-color.org, any non-empty value turns colour off.
func UseColor(w io.Writer, mode ColorMode, noColor string) bool {
	switch mode {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	return noColor == "" && IsTerminal(w)
}

// SGR sequences: the colours of the verdict words.
const (
	sgrReset  = "\x1b[0m"
	sgrRed    = "\x1b[1;31m"
	sgrGreen  = "\x1b[1;32m"
	sgrYellow = "\x1b[33m"
	sgrDim    = "\x1b[2m"
)

// wordColors are the words coloured where they stand alone between
// spaces: the verdicts and check outcomes of every command's table,
// verify's per-file status and diff's verdict.
var wordColors = map[string]string{
	"PASS":       sgrGreen,
	"FAIL":       sgrRed,
	"INCOMPLETE": sgrYellow,
	"SKIP":       sgrDim,
	"mismatch":   sgrRed,
	"unchecked":  sgrYellow,
	"differ:":    sgrRed,   // diff's verdict
	"identical:": sgrGreen, // diff's verdict
}

// Colorize returns line with each verdict word that stands alone (between
// spaces or the line's ends) wrapped in its colour. Other text, and a
// word inside a longer one (PASSED, a tensor name), is left as it is.
func Colorize(line string) string {
	var b strings.Builder
	i := 0
	for i < len(line) {
		if line[i] == ' ' {
			b.WriteByte(' ')
			i++
			continue
		}
		j := strings.IndexByte(line[i:], ' ')
		if j < 0 {
			j = len(line)
		} else {
			j += i
		}
		word := line[i:j]
		if sgr, ok := wordColors[word]; ok {
			b.WriteString(sgr + word + sgrReset)
		} else {
			b.WriteString(word)
		}
		i = j
	}
	return b.String()
}

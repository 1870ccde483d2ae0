package termui

import (
	"io"
	"os"

	"golang.org/x/term"
)

// fder is an output stream with a file descriptor: *os.File.
type fder interface{ Fd() uintptr }

// IsTerminal reports whether w is a terminal: an *os.File whose
// descriptor the terminal driver answers for. /dev/null, a pipe and a
// regular file are not terminals.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(fder)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Width returns the width in columns of the terminal w is, or 0 when w is
// not a terminal or its size is unknown (a pseudo-terminal never sized).
// $COLUMNS does not count: the size the driver reports is the size.
func Width(w io.Writer) int {
	if !IsTerminal(w) {
		return 0
	}
	width, _, err := term.GetSize(int(w.(fder).Fd()))
	if err != nil || width <= 0 {
		return 0
	}
	return width
}

var _ fder = (*os.File)(nil)

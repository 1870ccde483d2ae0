// Package termui is what the commands do differently on a terminal: it
// tells a terminal from a pipe, a file or /dev/null (golang.org/x/term's
// IsTerminal on the file descriptor, not a character-device check, which
// /dev/null passes), reads the terminal's width, decides whether to colour
// (--color=never|auto|always and NO_COLOR, https://no-color.org), fits a
// table's lines to the width, and draws a progress bar on stderr that the
// lines written with [Println] (retry notices) do not garble.
//
// The bar is this package's own (about a hundred lines) rather than
// schollz/progressbar or vbauerster/mpb: what it must do that they do not
// is share one lock with the retry notices of every source of a run, so a
// notice clears the bar's line and the bar is drawn again below it, and
// show which of many concurrently read files are in flight; both
// libraries would bring their own terminal detection and width, where
// this one must agree with the tables' (x/term on the descriptor).
//
// A table is decorated line by line as it is written ([Writer]), so the
// reports' renderers stay unaware of terminals: about 2 to 4 µs a line
// fitted to 60 columns and coloured (BenchmarkWriter), some 0.1 s for the
// 36,945 lines of a diff of the 235B layout, written in one write per
// renderer's write.
//
// Nothing here changes what goes to a file, a pipe or a JSON document:
// every decoration is off unless the stream is a terminal, except colour
// under --color=always. Safe for concurrent use where a type says so.
package termui

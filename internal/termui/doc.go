// Package termui is what the commands do differently on a terminal: it
// tells a terminal from a pipe, a file or /dev/null (golang.org/x/term's
// IsTerminal on the file descriptor, not a character-device check, which
// /dev/null passes), reads the terminal's width, decides whether to colour
// (--color=never|auto|always and NO_COLOR, https://no-color.org), fits a
// table's lines to the width, and draws a progress bar on stderr that the
// lines written with [Println] (retry notices) do not garble.
//
// Nothing here changes what goes to a file, a pipe or a JSON document:
// every decoration is off unless the stream is a terminal, except colour
// under --color=always. Safe for concurrent use where a type says so.
package termui

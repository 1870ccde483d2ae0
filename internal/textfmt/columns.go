package textfmt

import (
	"bytes"
	"io"
	"text/tabwriter"
	"unicode/utf8"
)

// Columns writes n lines to w, line i being what line appends to b: cells
// separated by tabs, without the newline. It aligns them as
// tabwriter.NewWriter(w, 0, 0, padding, ' ', 0) does (each tab-terminated
// cell left-aligned, padded with spaces to the width in runes of its
// column's widest cell plus padding; the text after the last tab as it
// is) and writes the same bytes, but without holding every line: it
// formats each line twice into one reused buffer, once to measure the
// columns and once to write it. (tabwriter kept 37 MB of cells for the
// 36,945 lines of inspect --tensors of a 235B checkpoint.) When the lines
// do not all have the same number of tabs, or a cell holds a byte
// tabwriter reads as a control ('\v', '\n', '\f', 0xff), the lines go
// through tabwriter itself.
func Columns(w io.Writer, padding, n int, line func(b []byte, i int) []byte) error {
	var (
		b      []byte
		widths []int
	)
	for i := range n {
		b = line(b[:0], i)
		if bytes.ContainsAny(b, "\v\n\f\xff") {
			return viaTabwriter(w, padding, n, line)
		}
		col := 0
		for cell := range bytes.SplitSeq(b, []byte{'\t'}) {
			if i == 0 {
				widths = append(widths, 0)
			}
			if col >= len(widths) {
				return viaTabwriter(w, padding, n, line)
			}
			widths[col] = max(widths[col], utf8.RuneCount(cell)+padding)
			col++
		}
		if col != len(widths) {
			return viaTabwriter(w, padding, n, line)
		}
	}
	var out []byte
	for i := range n {
		b = line(b[:0], i)
		out = out[:0]
		col := 0
		for cell := range bytes.SplitSeq(b, []byte{'\t'}) {
			out = append(out, cell...)
			if col < len(widths)-1 { // the text after the last tab is not padded
				for range widths[col] - utf8.RuneCount(cell) {
					out = append(out, ' ')
				}
			}
			col++
		}
		out = append(out, '\n')
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// viaTabwriter writes the lines of [Columns] through a tabwriter.
func viaTabwriter(w io.Writer, padding, n int, line func(b []byte, i int) []byte) error {
	tw := tabwriter.NewWriter(w, 0, 0, padding, ' ', 0)
	var b []byte
	for i := range n {
		b = append(line(b[:0], i), '\n')
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	return tw.Flush()
}

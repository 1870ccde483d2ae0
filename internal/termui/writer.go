package termui

import (
	"bytes"
	"io"
)

// Writer decorates a table's text for a terminal, line by line: each line
// fitted to a width (see [Fit]) and its verdict words coloured (see
// [Colorize]). A line is written once its newline is; [Writer.Flush]
// writes a last one without. It is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	width int  // 0: lines are not fitted
	color bool // verdict words coloured
	buf   []byte
	out   []byte // the decorated lines of one Write, written at once
}

// NewWriter returns a Writer to w that fits lines to width (none when 0)
// and colours when color is set.
func NewWriter(w io.Writer, width int, color bool) *Writer {
	return &Writer{w: w, width: width, color: color}
}

// Write decorates each complete line of p and writes them in one write to
// the underlying writer, keeping the rest for the next Write or Flush. It
// reports len(p) unless that write failed.
func (d *Writer) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	d.out = d.out[:0]
	rest := d.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		d.out = append(d.line(d.out, string(rest[:i])), '\n')
		rest = rest[i+1:]
	}
	d.buf = append(d.buf[:0], rest...)
	if len(d.out) == 0 {
		return len(p), nil
	}
	if _, err := d.w.Write(d.out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes the line begun and not ended.
func (d *Writer) Flush() error {
	if len(d.buf) == 0 {
		return nil
	}
	_, err := d.w.Write(d.line(nil, string(d.buf)))
	d.buf = d.buf[:0]
	return err
}

// line appends s decorated to dst.
func (d *Writer) line(dst []byte, s string) []byte {
	s = Fit(s, d.width)
	if d.color {
		s = Colorize(s)
	}
	return append(dst, s...)
}

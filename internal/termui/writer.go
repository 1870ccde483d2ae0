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
}

// NewWriter returns a Writer to w that fits lines to width (none when 0)
// and colours when color is set.
func NewWriter(w io.Writer, width int, color bool) *Writer {
	return &Writer{w: w, width: width, color: color}
}

// Write decorates and writes each complete line of p, keeping the rest
// for the next Write or Flush. It reports len(p) unless w failed.
func (d *Writer) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	for {
		i := bytes.IndexByte(d.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := d.line(string(d.buf[:i]), "\n"); err != nil {
			return 0, err
		}
		d.buf = d.buf[i+1:]
	}
}

// Flush writes the line begun and not ended.
func (d *Writer) Flush() error {
	if len(d.buf) == 0 {
		return nil
	}
	err := d.line(string(d.buf), "")
	d.buf = nil
	return err
}

func (d *Writer) line(s, end string) error {
	s = Fit(s, d.width)
	if d.color {
		s = Colorize(s)
	}
	_, err := io.WriteString(d.w, s+end)
	return err
}

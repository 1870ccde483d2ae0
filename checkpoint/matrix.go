package checkpoint

import (
	"context"
	"fmt"
)

// Matrix is a tensor read as rows: a 2-D tensor's [rows, cols], one
// slice of a stacked 3-D tensor (the experts of a GGUF layer), or a 1-D
// tensor as one row. A row is read and decoded only when asked for; a
// quantized row is whole blocks, so it decodes alone. It is safe for
// concurrent use.
type Matrix struct {
	r          *Reader
	t          *Tensor
	codec      Codec
	off        int64 // absolute offset of row 0
	rows, cols int
	rowBytes   int64
}

// Matrix returns the rows of t (an entry of the reader's checkpoint), or
// of slice s of a 3-D t (s -1 for a 1-D or 2-D one). The error names the
// tensor: a type that cannot be decoded, a shape that is not a matrix, a
// slice out of range, rows that do not fit the tensor's bytes.
func (r *Reader) Matrix(t *Tensor, s int) (*Matrix, error) {
	codec, err := r.ck.Codec(t)
	if err != nil {
		return nil, err
	}
	var rows, cols, off int64
	switch l := t.Logical; {
	case len(l) == 1 && s < 0:
		rows, cols = 1, l[0]
	case len(l) == 2 && s < 0:
		rows, cols = l[0], l[1]
	case len(l) == 3 && s >= 0 && int64(s) < l[0]:
		rows, cols = l[1], l[2]
	default:
		return nil, fmt.Errorf("tensor %s: shape %v is not a matrix (slice %d)", t.Name, l, s)
	}
	rowBytes, err := codec.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	if s >= 0 {
		off = int64(s) * rows * rowBytes
	}
	if rows > 0 && (rowBytes <= 0 || off+rows*rowBytes > t.Bytes) {
		return nil, fmt.Errorf("tensor %s: %d rows of %d bytes do not fit its %d bytes", t.Name, rows, rowBytes, t.Bytes)
	}
	return &Matrix{r: r, t: t, codec: codec, off: t.Offset + off, rows: int(rows), cols: int(cols), rowBytes: rowBytes}, nil
}

// Tensor returns the tensor the matrix reads.
func (m *Matrix) Tensor() *Tensor { return m.t }

// Rows and Cols return the matrix's dimensions.
func (m *Matrix) Rows() int { return m.rows }

// Cols returns the length of a row.
func (m *Matrix) Cols() int { return m.cols }

// RowBytes returns the bytes one stored row takes.
func (m *Matrix) RowBytes() int64 { return m.rowBytes }

// ReadRow reads row i and decodes it into dst, which must hold Cols
// elements; buf, when it holds RowBytes bytes, is used for the stored
// row (else one is allocated). A remote file fetches the row and nothing
// past it (see [hub.ReadExact]): rows are read one at a time where they
// are scattered (a sample), so the next one rarely follows; reads of
// consecutive rows go through ReadRows.
func (m *Matrix) ReadRow(ctx context.Context, i int, dst []float32, buf []byte) error {
	if i < 0 || i >= m.rows || len(dst) != m.cols {
		return fmt.Errorf("tensor %s: row %d of %d into %d elements", m.t.Name, i, m.rows, len(dst))
	}
	if int64(len(buf)) != m.rowBytes {
		buf = make([]byte, m.rowBytes)
	}
	if err := m.r.readAt(ctx, m.t.File, buf, m.off+int64(i)*m.rowBytes, true); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", m.t.Name, i, err)
	}
	if err := m.codec.Decode(dst, buf); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", m.t.Name, i, err)
	}
	return nil
}

// ReadRows reads the n rows from i on in one read and decodes them into
// dst, which must hold n·Cols elements; buf, when it holds n·RowBytes
// bytes, is used for the stored rows (else one is allocated).
func (m *Matrix) ReadRows(ctx context.Context, i, n int, dst []float32, buf []byte) error {
	if i < 0 || n < 1 || i+n > m.rows || len(dst) != n*m.cols {
		return fmt.Errorf("tensor %s: rows %d to %d of %d into %d elements", m.t.Name, i, i+n, m.rows, len(dst))
	}
	if int64(len(buf)) != int64(n)*m.rowBytes {
		buf = make([]byte, int64(n)*m.rowBytes)
	}
	if err := m.r.ReadAt(ctx, m.t.File, buf, m.off+int64(i)*m.rowBytes); err != nil {
		return fmt.Errorf("tensor %s rows %d to %d: %w", m.t.Name, i, i+n, err)
	}
	if err := m.codec.Decode(dst, buf); err != nil {
		return fmt.Errorf("tensor %s rows %d to %d: %w", m.t.Name, i, i+n, err)
	}
	return nil
}

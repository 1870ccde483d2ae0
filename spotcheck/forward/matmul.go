package forward

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// A RowSource supplies the rows of a weight matrix W of shape [Rows, Cols]
// (row-major, PyTorch's [out, in]) one at a time, so that a quantized
// tensor can be dequantized row by row and never held whole. A RowSource
// over a GGUF tensor decodes row i with gguf.Dequantize; [Dense] holds the
// rows in memory.
//
// Row must write row i (0 ≤ i < Rows) into dst, whose length is Cols and
// which the caller owns and reuses; Row must not keep dst. [MatMul] calls
// Row concurrently from several goroutines (with distinct dst) when jobs >
// 1, so an implementation must then be safe for concurrent use. Rows and
// Cols must not change.
type RowSource interface {
	Rows() int
	Cols() int
	Row(i int, dst []float32) error
}

// Dense is an in-memory [RowSource]: a row-major float32 matrix. It is safe
// for concurrent use.
type Dense struct {
	rows, cols int
	data       []float32
}

var _ RowSource = (*Dense)(nil)

// NewDense returns the rows×cols matrix held in data, row-major; data is
// kept, not copied, and must not be modified while the Dense is in use.
// len(data) must equal rows·cols, otherwise the error wraps [ErrShape].
func NewDense(rows, cols int, data []float32) (*Dense, error) {
	n, ok := checked.Mul(int64(rows), int64(cols))
	if !ok || int64(len(data)) != n {
		return nil, fmt.Errorf("dense: len(data) = %d, want %d×%d: %w", len(data), rows, cols, ErrShape)
	}
	return &Dense{rows: rows, cols: cols, data: data}, nil
}

// Rows returns the number of rows.
func (d *Dense) Rows() int { return d.rows }

// Cols returns the number of columns, the length of a row.
func (d *Dense) Cols() int { return d.cols }

// Row copies row i into dst. An i outside [0, Rows) gives an error
// wrapping [ErrInvalid], a len(dst) other than Cols one wrapping
// [ErrShape].
func (d *Dense) Row(i int, dst []float32) error {
	if i < 0 || i >= d.rows {
		return fmt.Errorf("dense: row %d of %d: %w", i, d.rows, ErrInvalid)
	}
	if len(dst) != d.cols {
		return fmt.Errorf("dense: len(dst) = %d, want %d: %w", len(dst), d.cols, ErrShape)
	}
	copy(dst, d.data[i*d.cols:(i+1)*d.cols])
	return nil
}

// RowRange returns the rows first … first+n−1 of src as a [RowSource] of
// n rows: row i is src's row first + i, read when asked for, never
// copied. It splits a fused matrix without reading it: Phi-3's qkv_proj
// into q, k and v, its gate_up_proj into gate and up (transformers slices
// the fused projection's output, which is the same as slicing its rows).
// A range outside src's rows gives an error wrapping [ErrShape]. The
// result is safe for concurrent use when src is.
func RowRange(src RowSource, first, n int) (RowSource, error) {
	if first < 0 || n < 0 || first > src.Rows()-n {
		return nil, fmt.Errorf("row range: rows %d … %d of %d: %w", first, first+n-1, src.Rows(), ErrShape)
	}
	return &rowRange{src: src, first: first, n: n}, nil
}

// rowRange is a [RowRange].
type rowRange struct {
	src      RowSource
	first, n int
}

func (r *rowRange) Rows() int { return r.n }
func (r *rowRange) Cols() int { return r.src.Cols() }

// Row reads src's row first + i; i outside [0, Rows) gives an error
// wrapping [ErrInvalid].
func (r *rowRange) Row(i int, dst []float32) error {
	if i < 0 || i >= r.n {
		return fmt.Errorf("row range: row %d of %d: %w", i, r.n, ErrInvalid)
	}
	return r.src.Row(r.first+i, dst)
}

// RowStride returns every step-th row of src from row first as a
// [RowSource]: row i is src's row first + i·step, read when asked for,
// never copied. It splits gpt-oss's interleaved gate_up_proj (gate the
// even rows, up the odd ones: GptOssExperts' gate_up[..., ::2] and
// gate_up[..., 1::2]) without reading it. first outside [0, step) or a
// step < 1 gives an error wrapping [ErrShape]; rows past the end of src
// are not counted. The result is safe for concurrent use when src is.
func RowStride(src RowSource, first, step int) (RowSource, error) {
	if step < 1 || first < 0 || first >= step {
		return nil, fmt.Errorf("row stride: first %d, step %d: %w", first, step, ErrShape)
	}
	n := 0
	if src.Rows() > first {
		n = (src.Rows() - first + step - 1) / step
	}
	return &rowStride{src: src, first: first, step: step, n: n}, nil
}

// rowStride is a [RowStride].
type rowStride struct {
	src            RowSource
	first, step, n int
}

func (r *rowStride) Rows() int { return r.n }
func (r *rowStride) Cols() int { return r.src.Cols() }

// Row reads src's row first + i·step; i outside [0, Rows) gives an error
// wrapping [ErrInvalid].
func (r *rowStride) Row(i int, dst []float32) error {
	if i < 0 || i >= r.n {
		return fmt.Errorf("row stride: row %d of %d: %w", i, r.n, ErrInvalid)
	}
	return r.src.Row(r.first+i*r.step, dst)
}

// MatMul computes y = x·Wᵀ for a batch of tokens: x is [n, Cols] and y is
// [n, Rows], row-major, that is y[t, i] = Σ_j W[i, j]·x[t, j] for every
// token t — a PyTorch Linear without bias applied to n inputs. n is
// len(x)/Cols; len(x) must be a multiple of Cols > 0 and len(y) must be
// n·Rows, otherwise the error wraps [ErrShape]. With n = 0 MatMul reads no
// row.
//
// Each row of W is read once, into a float32 buffer of Cols elements, and
// applied to all n tokens before the next row is read. The rows are split
// into contiguous ranges that at most jobs goroutines (errgroup) process
// at once; jobs < 1 gives an error wrapping [ErrInvalid]. Each y[t, i] is
// one dot product computed by one goroutine in T, with a summation order
// that depends only on Cols, so the result is bit-identical for every jobs
// and equals [MatVec] on token t alone.
//
// The first error from w.Row (wrapped with the row index) or from ctx
// stops the work and is returned; y is then partly written. The caller
// owns x and y. With jobs = 1 MatMul allocates nothing in the steady
// state (row buffers are pooled); a parallel call allocates a few small
// objects for its goroutines.
func MatMul[T Float](ctx context.Context, y []T, w RowSource, x []T, jobs int) error {
	n, err := checkMatMul(w, len(x), len(y), jobs)
	if err != nil || n == 0 || w.Rows() == 0 {
		return cmpErr(err, ctx)
	}
	rows, cols := w.Rows(), w.Cols()
	return forRows(ctx, w, jobs, func(i int, row []float32) {
		applyRow(y[i:], rows, row, x, n, cols)
	})
}

// cmpErr returns err, or the context's error when there is none.
func cmpErr(err error, ctx context.Context) error {
	if err != nil {
		return err
	}
	return ctx.Err()
}

// checkMatMul validates the operands of a product and returns the token
// count n.
func checkMatMul(w RowSource, lenX, lenY, jobs int) (int, error) {
	if jobs < 1 {
		return 0, fmt.Errorf("matmul: jobs = %d: %w", jobs, ErrInvalid)
	}
	rows, cols := w.Rows(), w.Cols()
	if rows < 0 || cols <= 0 || lenX%cols != 0 {
		return 0, fmt.Errorf("matmul: W is %d×%d, len(x) = %d: want a multiple of the column count: %w", rows, cols, lenX, ErrShape)
	}
	n := lenX / cols
	if want, ok := checked.Mul(int64(n), int64(rows)); !ok || int64(lenY) != want {
		return 0, fmt.Errorf("matmul: len(y) = %d, want %d tokens × %d rows: %w", lenY, n, rows, ErrShape)
	}
	return n, nil
}

// forRows reads every row of w once and hands it to apply, splitting the
// rows into contiguous ranges that at most jobs goroutines process at once.
// apply must write only outputs of its own row.
func forRows(ctx context.Context, w RowSource, jobs int, apply func(i int, row []float32)) error {
	rows, cols := w.Rows(), w.Cols()
	run := func(ctx context.Context, lo, hi int) error {
		bp, _ := rowBufs.Get().(*[]float32)
		if bp == nil || cap(*bp) < cols {
			b := make([]float32, cols)
			bp = &b
		}
		defer rowBufs.Put(bp)
		row := (*bp)[:cols]
		for i := lo; i < hi; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := w.Row(i, row); err != nil {
				return fmt.Errorf("matmul: row %d: %w", i, err)
			}
			apply(i, row)
		}
		return nil
	}
	jobs = min(jobs, rows)
	chunk := (rows + 4*jobs - 1) / (4 * jobs)
	if jobs == 1 || chunk >= rows {
		return run(ctx, 0, rows)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for lo := 0; lo < rows; lo += chunk {
		hi := min(lo+chunk, rows)
		g.Go(func() error { return run(gctx, lo, hi) })
	}
	return g.Wait()
}

// MatVec computes y = W·x for one vector: len(x) must be Cols and len(y)
// Rows. It is [MatMul] with one token, with the same errors, determinism
// and allocation behaviour.
func MatVec[T Float](ctx context.Context, y []T, w RowSource, x []T, jobs int) error {
	if len(x) != w.Cols() {
		return fmt.Errorf("matvec: len(x) = %d, want %d: %w", len(x), w.Cols(), ErrShape)
	}
	return MatMul(ctx, y, w, x, jobs)
}

// rowBufs pools row buffers (*[]float32) across MatMul calls.
var rowBufs sync.Pool

// applyRow sets y[t·stride] = dotW(row, x[t]) for the n tokens of x. (Taking
// tokens in pairs, to load each weight once for two, measured slower: the
// extra partial sums spill registers.)
func applyRow[T Float](y []T, stride int, row []float32, x []T, n, cols int) {
	row = row[:cols:cols]
	for t := range n {
		y[t*stride] = dotW(row, x[t*cols:(t+1)*cols])
	}
}

// MatMulPair computes [MatMul] in two precisions at once, y32 = x32·Wᵀ and
// y64 = x64·Wᵀ, reading and decoding each row of W once for both. x32 and
// x64 must have the same length, as must y32 and y64. The results are
// bit-identical to two MatMul calls.
func MatMulPair(ctx context.Context, y32 []float32, y64 []float64, w RowSource, x32 []float32, x64 []float64, jobs int) error {
	if len(x32) != len(x64) || len(y32) != len(y64) {
		return fmt.Errorf("matmul pair: float32 and float64 operands differ in length (%d/%d inputs, %d/%d outputs): %w", len(x32), len(x64), len(y32), len(y64), ErrShape)
	}
	n, err := checkMatMul(w, len(x32), len(y32), jobs)
	if err != nil || n == 0 || w.Rows() == 0 {
		return cmpErr(err, ctx)
	}
	rows, cols := w.Rows(), w.Cols()
	return forRows(ctx, w, jobs, func(i int, row []float32) {
		applyRowPair(y32[i:], y64[i:], rows, row, x32, x64, n, cols)
	})
}

// applyRowPair is applyRow in both precisions at once, through dotPair
// (tokens two at a time through dotPair2): y32[t·stride], y64[t·stride] =
// the dot products of row with x32[t] and x64[t], bit-identical to two
// applyRow calls.
func applyRowPair(y32 []float32, y64 []float64, stride int, row []float32, x32 []float32, x64 []float64, n, cols int) {
	row = row[:cols:cols]
	t := 0
	for ; t+2 <= n; t += 2 {
		a, b := t*cols, (t+1)*cols
		y32[t*stride], y32[(t+1)*stride], y64[t*stride], y64[(t+1)*stride] = dotPair2(row, x32[a:b], x32[b:b+cols], x64[a:b], x64[b:b+cols])
	}
	if t < n {
		y32[t*stride], y64[t*stride] = dotPair(row, x32[t*cols:(t+1)*cols], x64[t*cols:(t+1)*cols])
	}
}

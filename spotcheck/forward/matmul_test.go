package forward_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// naiveMatMul is the triple loop y[t][i] = Σ_j W[i][j]·x[t][j] in float64.
func naiveMatMul(w []float32, rows, cols int, x []float64) []float64 {
	n := len(x) / cols
	y := make([]float64, n*rows)
	for t := range n {
		for i := range rows {
			s := 0.0
			for j := range cols {
				s += float64(w[i*cols+j]) * x[t*cols+j]
			}
			y[t*rows+i] = s
		}
	}
	return y
}

func mustDense(tb testing.TB, rows, cols int, data []float32) *forward.Dense {
	tb.Helper()
	d, err := forward.NewDense(rows, cols, data)
	if err != nil {
		tb.Fatalf("NewDense(%d, %d) = %v", rows, cols, err)
	}
	return d
}

// countingSource counts the rows read, to check that each is read once.
type countingSource struct {
	*forward.Dense
	reads []atomic.Int32
}

func (c *countingSource) Row(i int, dst []float32) error {
	c.reads[i].Add(1)
	return c.Dense.Row(i, dst)
}

func TestMatMulAgainstNaive(t *testing.T) {
	r := newRand(10)
	shapes := []struct{ rows, cols, n int }{
		{1, 1, 1}, {3, 5, 1}, {5, 3, 2}, {17, 33, 3}, {64, 64, 8}, {100, 7, 5}, {33, 130, 4}, {8, 16, 0},
	}
	for _, s := range shapes {
		for _, jobs := range []int{1, 3} {
			t.Run(fmt.Sprintf("%dx%d_n%d_jobs%d", s.rows, s.cols, s.n, jobs), func(t *testing.T) {
				w := randVec32(r, s.rows*s.cols, 1)
				x := randVec(r, s.n*s.cols, 1)
				src := &countingSource{Dense: mustDense(t, s.rows, s.cols, w), reads: make([]atomic.Int32, s.rows)}
				want := naiveMatMul(w, s.rows, s.cols, x)

				y := make([]float64, s.n*s.rows)
				if err := forward.MatMul(context.Background(), y, src, x, jobs); err != nil {
					t.Fatalf("MatMul = %v", err)
				}
				checkClose(t, "float64 MatMul vs naive", y, want, 1e-13)
				for i := range src.reads {
					if got, wantReads := src.reads[i].Load(), min(s.n, 1); int(got) != wantReads {
						t.Errorf("row %d read %d times, want %d", i, got, wantReads)
					}
				}

				y32 := make([]float32, s.n*s.rows)
				if err := forward.MatMul(context.Background(), y32, src, to32(x), jobs); err != nil {
					t.Fatalf("MatMul = %v", err)
				}
				// Compare with the float64 product of the same rounded x.
				checkClose(t, "float32 MatMul vs naive", y32, naiveMatMul(w, s.rows, s.cols, to64(to32(x))), 1e-5)
			})
		}
	}
}

func TestMatMulDeterministic(t *testing.T) {
	r := newRand(11)
	rows, cols, n := 301, 257, 7
	w := mustDense(t, rows, cols, randVec32(r, rows*cols, 1))
	x := randVec32(r, n*cols, 1)
	ref := make([]float32, n*rows)
	if err := forward.MatMul(context.Background(), ref, w, x, 1); err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []int{2, 4, 7, 1000, math.MaxInt} {
		y := make([]float32, n*rows)
		if err := forward.MatMul(context.Background(), y, w, x, jobs); err != nil {
			t.Fatal(err)
		}
		if !bitsEqual(y, ref) {
			t.Errorf("MatMul(jobs=%d) differs from MatMul(jobs=1)", jobs)
		}
	}
	// Each token alone (MatVec) and any subset of tokens give the same
	// bits as the batch: a token's result does not depend on its company.
	for tok := range n {
		y := make([]float32, rows)
		if err := forward.MatVec(context.Background(), y, w, x[tok*cols:(tok+1)*cols], 4); err != nil {
			t.Fatal(err)
		}
		if !bitsEqual(y, ref[tok*rows:(tok+1)*rows]) {
			t.Errorf("MatVec(token %d) differs from MatMul's row for it", tok)
		}
	}
	y := make([]float32, 3*rows)
	if err := forward.MatMul(context.Background(), y, w, x[2*cols:5*cols], 2); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(y, ref[2*rows:5*rows]) {
		t.Errorf("MatMul(tokens 2..4) differs from the full batch")
	}
	// The same holds in float64.
	x64 := to64(x)
	ref64 := make([]float64, n*rows)
	y64 := make([]float64, n*rows)
	if err := forward.MatMul(context.Background(), ref64, w, x64, 1); err != nil {
		t.Fatal(err)
	}
	if err := forward.MatMul(context.Background(), y64, w, x64, 4); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(y64, ref64) {
		t.Errorf("float64 MatMul(jobs=4) differs from MatMul(jobs=1)")
	}
}

func TestMatMulIdentity(t *testing.T) {
	// W = I gives y = x exactly, W = 2I gives 2x.
	const d = 19
	eye := make([]float32, d*d)
	for i := range d {
		eye[i*d+i] = 2
	}
	x := randVec32(newRand(12), 3*d, 100)
	y := make([]float32, 3*d)
	if err := forward.MatMul(context.Background(), y, mustDense(t, d, d, eye), x, 2); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if y[i] != 2*x[i] {
			t.Fatalf("(2I)·x [%d] = %v, want %v", i, y[i], 2*x[i])
		}
	}
}

// failingSource fails on one row.
type failingSource struct {
	*forward.Dense
	bad int
}

var errBadRow = errors.New("bad row")

func (f failingSource) Row(i int, dst []float32) error {
	if i == f.bad {
		return errBadRow
	}
	return f.Dense.Row(i, dst)
}

func TestMatMulErrors(t *testing.T) {
	w := mustDense(t, 4, 3, make([]float32, 12))
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	f := make([]float32, 64)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"jobs 0", forward.MatMul(ctx, f[:4], w, f[:3], 0), forward.ErrInvalid},
		{"x not whole rows", forward.MatMul(ctx, f[:4], w, f[:4], 1), forward.ErrShape},
		{"y too short", forward.MatMul(ctx, f[:7], w, f[:6], 1), forward.ErrShape},
		{"y too long", forward.MatMul(ctx, f[:9], w, f[:6], 1), forward.ErrShape},
		{"matvec x", forward.MatVec(ctx, f[:8], w, f[:6], 1), forward.ErrShape},
		{"zero cols", forward.MatMul(ctx, f[:0], mustDense(t, 3, 0, nil), f[:0], 1), forward.ErrShape},
		{"row error", forward.MatMul(ctx, f[:8], failingSource{w, 2}, f[:6], 1), errBadRow},
		{"row error parallel", forward.MatMul(ctx, f[:8], failingSource{w, 3}, f[:6], 4), errBadRow},
		{"canceled", forward.MatMul(canceled, f[:4], w, f[:3], 1), context.Canceled},
		{"canceled parallel", forward.MatMul(canceled, f[:4], w, f[:3], 3), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("error = %v, want %v", tt.err, tt.want)
			}
		})
	}
	t.Run("no tokens reads nothing", func(t *testing.T) {
		if err := forward.MatMul(ctx, f[:0], failingSource{w, 0}, f[:0], 1); err != nil {
			t.Errorf("MatMul(n=0) = %v, want nil", err)
		}
	})
}

func TestDense(t *testing.T) {
	if _, err := forward.NewDense(2, 3, make([]float32, 5)); !errors.Is(err, forward.ErrShape) {
		t.Errorf("NewDense(2, 3, 5 values) = %v, want ErrShape", err)
	}
	if _, err := forward.NewDense(-1, -1, make([]float32, 1)); !errors.Is(err, forward.ErrShape) {
		t.Errorf("NewDense(-1, -1) = %v, want ErrShape", err)
	}
	d := mustDense(t, 2, 3, []float32{1, 2, 3, 4, 5, 6})
	row := make([]float32, 3)
	if err := d.Row(1, row); err != nil || row[0] != 4 || row[2] != 6 {
		t.Errorf("Row(1) = %v, %v, want [4 5 6], nil", row, err)
	}
	for _, i := range []int{-1, 2} {
		if err := d.Row(i, row); !errors.Is(err, forward.ErrInvalid) {
			t.Errorf("Row(%d) = %v, want ErrInvalid", i, err)
		}
	}
	if err := d.Row(0, row[:2]); !errors.Is(err, forward.ErrShape) {
		t.Errorf("Row(0, 2 elements) = %v, want ErrShape", err)
	}
}

// RowRange serves rows of its source, renumbered from 0, without copying:
// the product over a range is the range of the product, bit for bit, as
// Phi-3's fused qkv_proj is sliced; a range outside the source is refused.
func TestRowRange(t *testing.T) {
	r := newRand(40)
	const rows, cols, n = 10, 7, 3
	w := mustDense(t, rows, cols, randVec32(r, rows*cols, 1))
	x := randVec32(r, n*cols, 1)
	whole := make([]float32, n*rows)
	if err := forward.MatMul(context.Background(), whole, w, x, 1); err != nil {
		t.Fatal(err)
	}
	for _, rg := range []struct{ first, n int }{{0, 4}, {4, 3}, {7, 3}, {0, 10}, {5, 0}} {
		src, err := forward.RowRange(w, rg.first, rg.n)
		if err != nil || src.Rows() != rg.n || src.Cols() != cols {
			t.Fatalf("RowRange(%d, %d) = %d×%d, %v", rg.first, rg.n, src.Rows(), src.Cols(), err)
		}
		part := make([]float32, n*rg.n)
		if err := forward.MatMul(context.Background(), part, src, x, 2); err != nil {
			t.Fatal(err)
		}
		for tok := range n {
			if want := whole[tok*rows+rg.first:][:rg.n]; !bitsEqual(part[tok*rg.n:][:rg.n], want) {
				t.Errorf("RowRange(%d, %d): token %d = %v, want %v", rg.first, rg.n, tok, part[tok*rg.n:][:rg.n], want)
			}
		}
		if err := src.Row(rg.n, make([]float32, cols)); !errors.Is(err, forward.ErrInvalid) {
			t.Errorf("RowRange(%d, %d).Row(%d) = %v, want ErrInvalid", rg.first, rg.n, rg.n, err)
		}
	}
	for _, rg := range []struct{ first, n int }{{-1, 2}, {8, 3}, {0, 11}, {2, -1}} {
		if _, err := forward.RowRange(w, rg.first, rg.n); !errors.Is(err, forward.ErrShape) {
			t.Errorf("RowRange(%d, %d) of %d rows = %v, want ErrShape", rg.first, rg.n, rows, err)
		}
	}
}

// MatMulPair computes each precision bit for bit as MatMul does alone,
// for row lengths with and without a tail of fewer than four columns and
// for one and several tokens and jobs: the spot-check's float32 path and
// its float64 reference may share the row pass but not change a result.
func TestMatMulPairBitIdentical(t *testing.T) {
	ctx := context.Background()
	r := newRand(71)
	for _, cols := range []int{1, 3, 4, 7, 64, 4099} {
		for _, n := range []int{1, 3} {
			for _, jobs := range []int{1, 2} {
				t.Run(fmt.Sprintf("cols=%d/n=%d/jobs=%d", cols, n, jobs), func(t *testing.T) {
					const rows = 9
					w := mustDense(t, rows, cols, randVec32(r, rows*cols, 1))
					x32 := randVec32(r, n*cols, 1)
					x64 := randVec(r, n*cols, 1) // not x32 widened: the paths see different inputs
					want32, want64 := make([]float32, n*rows), make([]float64, n*rows)
					if err := forward.MatMul(ctx, want32, w, x32, jobs); err != nil {
						t.Fatal(err)
					}
					if err := forward.MatMul(ctx, want64, w, x64, jobs); err != nil {
						t.Fatal(err)
					}
					got32, got64 := make([]float32, n*rows), make([]float64, n*rows)
					if err := forward.MatMulPair(ctx, got32, got64, w, x32, x64, jobs); err != nil {
						t.Fatal(err)
					}
					if !bitsEqual(got32, want32) || !bitsEqual(got64, want64) {
						t.Errorf("MatMulPair = %v, %v; want MatMul's %v, %v", got32, got64, want32, want64)
					}
					// And both equal the plain sums within rounding (the independent check).
					checkClose(t, "float64", got64, naiveMatMul(w2(t, w), rows, cols, x64), 1e-12)
				})
			}
		}
	}
}

// MatMulPair keeps MatMul's bits on values at the edges of the float
// types too: subnormal products, signed zeros, overflow to infinity.
func TestMatMulPairBitIdenticalEdges(t *testing.T) {
	ctx := context.Background()
	const rows, cols = 4, 13
	tiny := math.SmallestNonzeroFloat32
	var w []float32
	for i := range rows * cols {
		w = append(w, []float32{1e-20, -1e-20, 0, float32(math.Copysign(0, -1)), 3e38, -2.5, float32(tiny) * 4}[i%7])
	}
	x32 := make([]float32, 2*cols)
	x64 := make([]float64, 2*cols)
	for i := range x32 {
		x32[i] = []float32{1e-20, 3e38, -1, float32(math.Copysign(0, -1)), 7e-30}[i%5]
		x64[i] = []float64{1e-300, 1e308, -1, math.Copysign(0, -1), 7e-30}[i%5]
	}
	d := mustDense(t, rows, cols, w)
	want32, want64 := make([]float32, 2*rows), make([]float64, 2*rows)
	got32, got64 := make([]float32, 2*rows), make([]float64, 2*rows)
	if err := forward.MatMul(ctx, want32, d, x32, 1); err != nil {
		t.Fatal(err)
	}
	if err := forward.MatMul(ctx, want64, d, x64, 1); err != nil {
		t.Fatal(err)
	}
	if err := forward.MatMulPair(ctx, got32, got64, d, x32, x64, 1); err != nil {
		t.Fatal(err)
	}
	if !bitsEqual(got32, want32) || !bitsEqual(got64, want64) {
		t.Errorf("MatMulPair = %v, %v; want MatMul's %v, %v", got32, got64, want32, want64)
	}
}

// w2 returns the rows of d as one slice.
func w2(tb testing.TB, d *forward.Dense) []float32 {
	tb.Helper()
	out := make([]float32, d.Rows()*d.Cols())
	for i := range d.Rows() {
		if err := d.Row(i, out[i*d.Cols():(i+1)*d.Cols()]); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

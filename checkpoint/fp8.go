package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/weightaudit/weightaudit/internal/half"
	"github.com/weightaudit/weightaudit/safetensors"
)

// ErrFP8Block is returned by [DecodeFP8Block] and [NewFP8BlockRows] for
// FP8 values and block scales that do not agree.
var ErrFP8Block = errors.New("not FP8 values with block scales")

// MaxBlockScales bounds the scales of one weight [FP8BlockRows] holds in
// memory (DeepSeek-V3's largest weight, the 129280 × 7168 lm_head were it
// quantized, has 1010 × 56).
const MaxBlockScales = 1 << 24

// DecodeFP8Block decodes one row of a block-quantized FP8 weight into
// dst: codes are its FP8 values (dtype F8_E4M3 or F8_E5M2, one byte
// each), scales the block scales of its row of blocks, and value c is
// code c's value times scales[c/blockCols] (DeepSeek-V3's and Qwen3's
// -FP8 "weight_scale_inv", which multiplies: transformers'
// FineGrainedFP8 dequantization and DeepSeek's weight_dequant). The last
// block of a row may be partial. dst, codes and scales are the caller's;
// nothing is allocated. Lengths that do not agree give an error wrapping
// [ErrFP8Block]; it never panics.
func DecodeFP8Block(dst []float32, codes []byte, dtype safetensors.DType, scales []float32, blockCols int) error {
	if dtype != safetensors.F8_E4M3 && dtype != safetensors.F8_E5M2 {
		return fmt.Errorf("dtype %s: %w", dtype, ErrFP8Block)
	}
	if blockCols < 1 || len(dst) != len(codes) || (len(dst)+blockCols-1)/blockCols != len(scales) {
		return fmt.Errorf("%d values from %d codes and %d scales of blocks of %d: %w", len(dst), len(codes), len(scales), blockCols, ErrFP8Block)
	}
	tab := &half.E4M3
	if dtype == safetensors.F8_E5M2 {
		tab = &half.E5M2
	}
	for b, s := range scales {
		lo, hi := b*blockCols, min((b+1)*blockCols, len(dst))
		decodeFP8Scaled(dst[lo:hi], codes[lo:hi], tab, s)
	}
	return nil
}

// decodeFP8Scaled sets dst[i] = tab[codes[i]]·s; len(codes) ≥ len(dst).
// E4M3's whole groups of eight go through the vector kernel where there
// is one (fp8_amd64.go); the loop takes four values a step with their
// bounds checked once.
func decodeFP8Scaled(dst []float32, codes []byte, tab *[256]float32, s float32) {
	codes = codes[:len(dst)]
	i := 0
	if hasE4M3Vec && tab == &half.E4M3 && len(dst) >= 8 {
		i = len(dst) &^ 7
		e4m3ScaledVec(&dst[0], &codes[0], i, s)
	}
	for ; i+4 <= len(dst); i += 4 {
		d, c := dst[i:i+4:i+4], codes[i:i+4:i+4]
		d[0], d[1], d[2], d[3] = tab[c[0]]*s, tab[c[1]]*s, tab[c[2]]*s, tab[c[3]]*s
	}
	for ; i < len(dst); i++ {
		dst[i] = tab[codes[i]] * s
	}
}

// FP8BlockRows reads a block-quantized FP8 weight [out, in] as rows of
// values: each row's FP8 codes read when asked for, times the scales of
// its row of blocks, the scale tensor [⌈out/block[0]⌉, ⌈in/block[1]⌉]
// (F32 or BF16) read whole, once, when the first row is. It is safe for
// concurrent use.
type FP8BlockRows struct {
	m, sm  *Matrix
	dtype  safetensors.DType
	block  [2]int
	mu     sync.Mutex
	scales []float32 // nil until read
}

// NewFP8BlockRows reads weight, an F8_E4M3 or F8_E5M2 matrix, with its
// block scales scale (of blocks block[0] rows by block[1] columns)
// through r. Types, shapes or blocks that do not agree give an error
// naming both tensors and wrapping [ErrFP8Block].
func NewFP8BlockRows(r *Reader, weight, scale *Tensor, block [2]int64) (*FP8BlockRows, error) {
	dt, _ := safetensors.ParseDType(weight.DType)
	w, s := weight.Logical, scale.Logical
	bad := func(why string) error {
		return fmt.Errorf("tensor %s %s %v with scales %s %s %v (blocks %v): %s: %w", weight.Name, weight.DType, w, scale.Name, scale.DType, s, block, why, ErrFP8Block)
	}
	if r.ck.Format != FormatSafetensors || dt != safetensors.F8_E4M3 && dt != safetensors.F8_E5M2 {
		return nil, bad("not safetensors FP8 values")
	}
	if len(w) != 2 || len(s) != 2 || block[0] < 1 || block[1] < 1 || block[0] > MaxBlockScales || block[1] > MaxBlockScales {
		return nil, bad("not a matrix with 2-D scales")
	}
	if s[0] != (w[0]+block[0]-1)/block[0] || s[1] != (w[1]+block[1]-1)/block[1] || s[0]*s[1] > MaxBlockScales {
		return nil, bad("not one scale per block")
	}
	m, err := r.Matrix(weight, -1)
	if err != nil {
		return nil, err
	}
	sm, err := r.Matrix(scale, -1)
	if err != nil {
		return nil, err
	}
	return &FP8BlockRows{m: m, sm: sm, dtype: dt, block: [2]int{int(block[0]), int(block[1])}}, nil
}

// Rows and Cols are the weight's dimensions.
func (f *FP8BlockRows) Rows() int { return f.m.Rows() }

// Cols is the length of a row.
func (f *FP8BlockRows) Cols() int { return f.m.Cols() }

// RowBytes is the bytes of one row's codes.
func (f *FP8BlockRows) RowBytes() int64 { return f.m.RowBytes() }

// Tensor is the weight tensor.
func (f *FP8BlockRows) Tensor() *Tensor { return f.m.Tensor() }

func (f *FP8BlockRows) loadScales(ctx context.Context) ([]float32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scales == nil {
		s := make([]float32, f.sm.Rows()*f.sm.Cols())
		if err := f.sm.ReadRows(ctx, 0, f.sm.Rows(), s, nil); err != nil {
			return nil, err
		}
		f.scales = s
	}
	return f.scales, nil
}

// ReadRow reads row i's codes into buf (when it holds RowBytes bytes,
// else into a new buffer) and decodes them, scaled, into dst (Cols
// values): [FP8BlockRows.ReadRows] of one row, read exactly (no read-ahead
// past a row of a sampled, scattered set).
func (f *FP8BlockRows) ReadRow(ctx context.Context, i int, dst []float32, buf []byte) error {
	return f.readRows(ctx, i, 1, dst, buf, true)
}

// ReadRows reads the codes of the n rows from i on in one read (into buf
// when it holds n·RowBytes bytes, else a new buffer) and decodes them,
// each scaled by its row of blocks, into dst (n·Cols values).
func (f *FP8BlockRows) ReadRows(ctx context.Context, i, n int, dst []float32, buf []byte) error {
	return f.readRows(ctx, i, n, dst, buf, false)
}

// readRows is ReadRows; with exact set, the read goes through
// [hub.ReadExact] (see [Reader.readAt]).
func (f *FP8BlockRows) readRows(ctx context.Context, i, n int, dst []float32, buf []byte, exact bool) error {
	t, c := f.m.Tensor(), f.m.Cols()
	if i < 0 || n < 1 || i+n > f.m.Rows() || len(dst) != n*c {
		return fmt.Errorf("tensor %s: rows %d to %d of %d into %d elements: %w", t.Name, i, i+n, f.m.Rows(), len(dst), ErrFP8Block)
	}
	scales, err := f.loadScales(ctx)
	if err != nil {
		return err
	}
	rb := f.m.RowBytes()
	if int64(len(buf)) != int64(n)*rb {
		buf = make([]byte, int64(n)*rb)
	}
	if err := f.m.r.readAt(ctx, t.File, buf, f.m.off+int64(i)*rb, exact); err != nil {
		return fmt.Errorf("tensor %s rows %d to %d: %w", t.Name, i, i+n, err)
	}
	sc := f.sm.Cols()
	for k := range n {
		br := (i + k) / f.block[0]
		if err := DecodeFP8Block(dst[k*c:(k+1)*c], buf[int64(k)*rb:int64(k+1)*rb], f.dtype, scales[br*sc:(br+1)*sc], f.block[1]); err != nil {
			return fmt.Errorf("tensor %s row %d: %w", t.Name, i+k, err)
		}
	}
	return nil
}

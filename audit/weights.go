package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/weightaudit/weightaudit/audit/forward"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// ErrNoData is returned when tensor data is asked of a checkpoint loaded
// without a source to read it from.
var ErrNoData = errors.New("no tensor data")

// weights reads tensor data of a checkpoint: whole vectors, or matrices row
// by row so that a quantized row is dequantized only when a kernel needs
// it. It opens each file once, counts every byte read, and is safe for
// concurrent use.
type weights struct {
	ck    *Checkpoint
	inv   *Inventory
	roles []Role
	byKey map[weightKey]*Tensor

	mu    sync.Mutex
	files map[string]hub.File
	read  atomic.Int64
}

type weightKey struct {
	layer  int
	comp   Component
	expert int
}

func newWeights(ck *Checkpoint, spec Spec) (*weights, error) {
	if ck.src == nil {
		return nil, ErrNoData
	}
	inv := ck.Inventory()
	w := &weights{ck: ck, inv: inv, roles: Assign(spec, inv), byKey: map[weightKey]*Tensor{}, files: map[string]hub.File{}}
	for i, r := range w.roles {
		if r.Known {
			w.byKey[weightKey{r.Layer, r.Component, r.Expert}] = &inv.Tensors[i]
		}
	}
	return w, nil
}

// Close closes the files opened.
func (w *weights) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, f := range w.files {
		errs = append(errs, f.Close())
	}
	w.files = map[string]hub.File{}
	return errors.Join(errs...)
}

func (w *weights) file(ctx context.Context, name string) (hub.File, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.files[name]; ok {
		return f, nil
	}
	f, err := w.ck.src.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	w.files[name] = f
	return f, nil
}

// readAt reads len(p) bytes of file at off, counting them.
func (w *weights) readAt(ctx context.Context, file string, p []byte, off int64) error {
	f, err := w.file(ctx, file)
	if err != nil {
		return err
	}
	n, err := f.ReadAt(p, off)
	w.read.Add(int64(n))
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: read %d bytes at offset %d: %w", file, len(p), off, err)
}

// decoder returns the function converting a tensor's bytes to float32 and
// the bytes of n elements (n a whole number of blocks).
func (w *weights) decoder(t *Tensor) (func(dst []float32, src []byte) error, func(n int64) (int64, error), error) {
	if w.ck.Format == FormatGGUF {
		typ, ok := gguf.ParseType(t.DType)
		if !ok || !typ.CanDequantize() {
			return nil, nil, fmt.Errorf("tensor %s: cannot dequantize %s", t.Name, t.DType)
		}
		return func(dst []float32, src []byte) error { return gguf.Dequantize(typ, dst, src) },
			func(n int64) (int64, error) { return typ.RowSize(n) }, nil
	}
	dt, ok := safetensors.ParseDType(t.DType)
	if !ok || !dt.CanDecode() {
		return nil, nil, fmt.Errorf("tensor %s: cannot decode %s", t.Name, t.DType)
	}
	return func(dst []float32, src []byte) error { return safetensors.Decode(dt, dst, src) },
		func(n int64) (int64, error) { return n * int64(dt.Bits()) / 8, nil }, nil
}

// tensor finds a layer's tensor by component; for experts stored one
// tensor per expert it is that expert's, for stacked experts the stack.
func (w *weights) tensor(layer int, comp Component, expert int) (*Tensor, bool) {
	if t, ok := w.byKey[weightKey{layer, comp, expert}]; ok {
		return t, true
	}
	t, ok := w.byKey[weightKey{layer, comp, -1}]
	return t, ok && expert >= 0 && len(t.Logical) == 3
}

// vector reads a whole 1-D tensor.
func (w *weights) vector(ctx context.Context, t *Tensor) ([]float32, error) {
	decode, size, err := w.decoder(t)
	if err != nil {
		return nil, err
	}
	n := t.Params
	nb, err := size(n)
	if err != nil || nb != t.Bytes {
		return nil, fmt.Errorf("tensor %s: %d elements do not fill %d bytes of %s", t.Name, n, t.Bytes, t.DType)
	}
	buf := make([]byte, nb)
	if err := w.readAt(ctx, t.File, buf, t.Offset); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	out := make([]float32, n)
	if err := decode(out, buf); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	return out, nil
}

// matrix returns the [out, in] rows of a 2-D tensor, or of one expert of
// a stacked 3-D one.
func (w *weights) matrix(ctx context.Context, t *Tensor, expert int) (*tensorRows, error) {
	decode, size, err := w.decoder(t)
	if err != nil {
		return nil, err
	}
	s := t.Logical
	var rows, cols, off int64
	switch {
	case len(s) == 2:
		rows, cols = s[0], s[1]
	case len(s) == 3 && expert >= 0 && int64(expert) < s[0]:
		rows, cols = s[1], s[2]
	default:
		return nil, fmt.Errorf("tensor %s: shape %v is not a matrix (expert %d)", t.Name, s, expert)
	}
	rowBytes, err := size(cols)
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	if len(s) == 3 {
		off = int64(expert) * rows * rowBytes
	}
	if off+rows*rowBytes > t.Bytes {
		return nil, fmt.Errorf("tensor %s: %d rows of %d bytes do not fit its %d bytes", t.Name, rows, rowBytes, t.Bytes)
	}
	return &tensorRows{w: w, ctx: ctx, t: t, off: t.Offset + off, rows: int(rows), cols: int(cols), rowBytes: rowBytes, decode: decode}, nil
}

// tensorRows serves a matrix's rows from the file, dequantizing each row
// as it is asked for. It is safe for concurrent use.
type tensorRows struct {
	w          *weights
	ctx        context.Context
	t          *Tensor
	off        int64
	rows, cols int
	rowBytes   int64
	decode     func(dst []float32, src []byte) error
	pool       sync.Pool
}

var _ forward.RowSource = (*tensorRows)(nil)

func (r *tensorRows) Rows() int { return r.rows }
func (r *tensorRows) Cols() int { return r.cols }

// Row reads and decodes row i into dst, which must hold Cols elements.
func (r *tensorRows) Row(i int, dst []float32) error {
	if i < 0 || i >= r.rows || len(dst) != r.cols {
		return fmt.Errorf("tensor %s: row %d of %d into %d elements: %w", r.t.Name, i, r.rows, len(dst), forward.ErrShape)
	}
	bp, _ := r.pool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, r.rowBytes)
		bp = &b
	}
	defer r.pool.Put(bp)
	if err := r.w.readAt(r.ctx, r.t.File, *bp, r.off+int64(i)*r.rowBytes); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", r.t.Name, i, err)
	}
	return r.decode(dst, *bp)
}

// layerWeights adapts one decoder layer to forward.Layer.
type layerWeights struct {
	w      *weights
	ctx    context.Context
	layer  int
	sparse bool
}

var vectorComps = map[string]Component{"attn_norm": CompAttnNorm, "q_norm": CompAttnQNorm, "k_norm": CompAttnKNorm, "ffn_norm": CompFFNNorm}

var matrixComps = map[string][2]Component{ // [dense or attention, expert]
	"q": {CompAttnQ}, "k": {CompAttnK}, "v": {CompAttnV}, "o": {CompAttnO}, "router": {CompRouter},
	"gate": {CompMLPGate, CompExpertGate}, "up": {CompMLPUp, CompExpertUp}, "down": {CompMLPDown, CompExpertDown},
}

func (l *layerWeights) Sparse() bool { return l.sparse }

func (l *layerWeights) Vector(name string) ([]float32, error) {
	comp, ok := vectorComps[name]
	if !ok {
		return nil, fmt.Errorf("layer %d: no vector %q", l.layer, name)
	}
	t, ok := l.w.tensor(l.layer, comp, -1)
	if !ok {
		return nil, fmt.Errorf("layer %d: no %s tensor", l.layer, comp)
	}
	return l.w.vector(l.ctx, t)
}

func (l *layerWeights) Matrix(name string, expert int) (forward.RowSource, error) {
	comps, ok := matrixComps[name]
	if !ok {
		return nil, fmt.Errorf("layer %d: no matrix %q", l.layer, name)
	}
	comp := comps[0]
	if expert >= 0 {
		comp = comps[1]
	}
	t, ok := l.w.tensor(l.layer, comp, expert)
	if !ok || comp == "" {
		return nil, fmt.Errorf("layer %d: no %s tensor for expert %d", l.layer, comp, expert)
	}
	return l.w.matrix(l.ctx, t, expert)
}

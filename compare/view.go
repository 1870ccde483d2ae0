package compare

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// view reads a tensor's rows as the Hugging Face model holds them: with
// llama.cpp's Q/K head permutation undone and FP8 block scales applied
// (by [checkpoint.FP8BlockRows], the decoder the spot-check shares), so
// that both sides of a pair read the same logical rows.
type view struct {
	m      rows
	stored []int // stored[i]: the stored row holding logical row i; nil for the identity
	// whole holds a transposed tensor read whole: logical row i is its
	// column i.
	transposed bool
	whole      []float32
	transform  string
	buf        []byte // one stored row: a view serves one goroutine
	// With sequential set (--full), a plain matrix is read a chunk of rows
	// at a time, from first (cached rows first..first+len(cache)/cols).
	sequential bool
	cache      []float32
	cacheBuf   []byte
	first      int
}

// chunkBytes bounds one read of a sequential view, and chunkFloats the
// rows it decodes at once.
const (
	chunkBytes  = 1 << 20
	chunkFloats = 1 << 19
)

// view returns the view of slot sl, of role k.
func (s *side) view(rd *checkpoint.Reader, sl slot, k key) (*view, error) {
	var m rows
	var err error
	var fp8 string // the transform FP8 block scales make
	switch sl.packing {
	case arch.PackGPTQ, arch.PackAWQ:
		m, err = newIntPacked(rd, s, sl.t, sl.packing)
	case arch.PackMXFP4:
		st, ok := s.byName[strings.TrimSuffix(sl.t.Name, "_blocks")+"_scales"]
		if !ok {
			return nil, fmt.Errorf("tensor %s: MXFP4 blocks without their scales", sl.t.Name)
		}
		m, err = checkpoint.NewMXFP4Rows(rd, sl.t, st, max(sl.slice, 0))
	default:
		m, err = rd.Matrix(sl.t, sl.slice)
		if base, ok := strings.CutSuffix(sl.t.Name, ".weight"); ok && s.quant.Scheme == arch.QuantFP8Block && err == nil {
			if st, ok := s.byName[base+".weight_scale_inv"]; ok {
				m, err = checkpoint.NewFP8BlockRows(rd, sl.t, st, s.quant.Block)
				fp8 = fmt.Sprintf("%s: FP8 block scales of %s applied", sl.t.Name, st.Name)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	v := &view{m: m}
	if t, ok := s.spec.(arch.Transposer); ok && t.Transposed(s.ck.Format, k.comp) {
		if int64(m.Rows())*int64(m.Cols()) > maxTransposed {
			return nil, fmt.Errorf("tensor %s: stored transposed and over %d elements: too large to compare", sl.t.Name, maxTransposed)
		}
		v.transposed = true
		v.transform = fmt.Sprintf("%s: stored [in, out], read transposed", sl.t.Name)
	}
	if heads := arch.PermutedHeads(s.spec, s.ck.Format, k.comp); heads > 0 {
		n := m.Rows()
		v.stored = make([]int, n)
		for r := range n {
			v.stored[arch.HFRow(r, n, heads)] = r
		}
		v.transform = fmt.Sprintf("%s: llama.cpp's Q/K row permutation over %d heads undone", sl.t.Name, heads)
	}
	v.transform = joinNonEmpty(v.transform, fp8)
	return v, nil
}

// maxTransposed bounds the elements of a transposed tensor read whole.
const maxTransposed = 64 << 20

// rows and cols are the logical dimensions.
func (v *view) rows() int {
	if v.transposed {
		return v.m.Cols()
	}
	return v.m.Rows()
}

func (v *view) cols() int {
	if v.transposed {
		return v.m.Rows()
	}
	return v.m.Cols()
}

// row reads logical row i into dst.
func (v *view) row(ctx context.Context, i int, dst []float32) error {
	if v.transposed {
		return v.column(ctx, i, dst)
	}
	r := i
	if v.stored != nil {
		r = v.stored[i]
	}
	if m, ok := v.m.(chunkRows); ok && v.sequential && v.stored == nil {
		return v.cached(ctx, m, r, dst)
	}
	if int64(len(v.buf)) != v.m.RowBytes() {
		v.buf = make([]byte, v.m.RowBytes())
	}
	return v.m.ReadRow(ctx, r, dst, v.buf)
}

// rowRef returns logical row i: the view's own copy of it when the view
// holds it (a chunk of a sequential view, valid until the next call), else
// scratch (Cols elements) filled as row fills it.
func (v *view) rowRef(ctx context.Context, i int, scratch []float32) ([]float32, error) {
	if m, ok := v.m.(chunkRows); ok && v.sequential && v.stored == nil && !v.transposed {
		if err := v.fill(ctx, m, i); err != nil {
			return nil, err
		}
		c := m.Cols()
		return v.cache[(i-v.first)*c : (i-v.first+1)*c], nil
	}
	return scratch, v.row(ctx, i, scratch)
}

// chunkRows are rows read several at a time: a plain matrix's, or FP8
// rows with their block scales.
type chunkRows interface {
	rows
	ReadRows(ctx context.Context, i, n int, dst []float32, buf []byte) error
}

var (
	_ chunkRows = (*checkpoint.Matrix)(nil)
	_ chunkRows = (*checkpoint.FP8BlockRows)(nil)
)

// cached serves row r from the rows read in one chunk, reading the chunk
// from r on when r is not in it.
func (v *view) cached(ctx context.Context, m chunkRows, r int, dst []float32) error {
	if err := v.fill(ctx, m, r); err != nil {
		return err
	}
	c := m.Cols()
	copy(dst, v.cache[(r-v.first)*c:(r-v.first+1)*c])
	return nil
}

// fill makes the chunk hold row r, reading the rows from r on when it does
// not: as many as chunkBytes of stored rows and chunkFloats of decoded ones
// hold (at least one). The buffers are taken at their full sizes, so that
// the pools serve every tensor's chunks with the same buffers.
func (v *view) fill(ctx context.Context, m chunkRows, r int) error {
	c := m.Cols()
	if n := len(v.cache) / max(c, 1); r >= v.first && r < v.first+n && n > 0 {
		return nil
	}
	rb := m.RowBytes()
	k := int(min(int64(m.Rows()-r), max(1, min(chunkBytes/max(rb, 1), int64(chunkFloats/max(c, 1))))))
	if cap(v.cache) < k*c {
		v.release()
		v.cache = getFloats(max(k*c, chunkFloats))
	}
	v.cache = v.cache[:k*c]
	if nb := int64(k) * rb; int64(cap(v.cacheBuf)) < nb {
		putBytes(v.cacheBuf)
		v.cacheBuf = getBytes(int(max(nb, chunkBytes)))
	}
	v.cacheBuf = v.cacheBuf[:int64(k)*rb]
	if err := m.ReadRows(ctx, r, k, v.cache, v.cacheBuf); err != nil {
		v.cache = v.cache[:0]
		return err
	}
	v.first = r
	return nil
}

// column reads logical row i of a transposed tensor: its stored column i,
// the whole tensor read once, a chunk of rows a read where the rows can be
// read so (ReadRow fetches a remote row and nothing past it).
func (v *view) column(ctx context.Context, i int, dst []float32) error {
	n, c := v.m.Rows(), v.m.Cols()
	if v.whole == nil {
		whole := make([]float32, n*c)
		if m, ok := v.m.(chunkRows); ok {
			k := int(max(1, chunkBytes/max(m.RowBytes(), 1)))
			buf := make([]byte, int64(min(k, n))*m.RowBytes())
			for r := 0; r < n; r += k {
				k = min(k, n-r)
				if err := m.ReadRows(ctx, r, k, whole[r*c:(r+k)*c], buf[:int64(k)*m.RowBytes()]); err != nil {
					return err
				}
			}
		} else {
			for r := range n {
				if err := v.m.ReadRow(ctx, r, whole[r*c:(r+1)*c], nil); err != nil {
					return err
				}
			}
		}
		v.whole = whole
	}
	if i < 0 || i >= c || len(dst) != n {
		return fmt.Errorf("tensor %s: column %d of %d into %d elements", v.m.Tensor().Name, i, c, len(dst))
	}
	for r := range n {
		dst[r] = v.whole[r*c+i]
	}
	return nil
}

// The chunk buffers of sequential views, recycled across the pairs: a
// --full comparison of a MoE model reads tens of thousands of tensors.
var (
	floatPool sync.Pool // *[]float32
	bytePool  sync.Pool // *[]byte
)

func getFloats(n int) []float32 {
	if p, _ := floatPool.Get().(*[]float32); p != nil && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func getBytes(n int) []byte {
	if p, _ := bytePool.Get().(*[]byte); p != nil && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]byte, n)
}

// putFloats and putBytes give a buffer back to its pool. The pool holds
// a pointer to their own copy of the slice header: a pointer to a field
// that is then cleared (the view's) would hand the next taker an empty
// slice, written under it by another goroutine.
func putFloats(f []float32) {
	if cap(f) > 0 {
		floatPool.Put(&f)
	}
}

func putBytes(b []byte) {
	if cap(b) > 0 {
		bytePool.Put(&b)
	}
}

// release returns the view's chunk buffers to the pools.
func (v *view) release() {
	putFloats(v.cache)
	putBytes(v.cacheBuf)
	v.cache, v.cacheBuf = nil, nil
}

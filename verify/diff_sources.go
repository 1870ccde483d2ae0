package verify

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// DigestFunc gives the sha256 a source publishes for one of its files
// (a Hub LFS sha256, an OCI layer digest); false for a file without one.
type DigestFunc func(name string) (sha256 string, ok bool)

// DiffOption configures [DiffCheckpoints].
type DiffOption func(*diffOptions)

type diffOptions struct {
	progress func(done, total int64)
}

// WithDiffProgress makes DiffCheckpoints call f after each tensor pair it
// reads, with the bytes of both sides read so far and to be read in all,
// from as many goroutines as its jobs; a CLI draws its progress with it.
// The default, nil, calls nothing.
func WithDiffProgress(f func(done, total int64)) DiffOption {
	return func(o *diffOptions) { o.progress = f }
}

// DiffCheckpoints compares the tensors of a and b by name, reading as
// little tensor data as it can: first what the sources publish (da and db,
// each nil for a source that publishes nothing) and the headers (name,
// dtype, shape, offset and length in the file); a tensor is the same
// without a byte read when both sides hold it at the same place of a file
// of the same name whose published digests are equal. Only the other
// tensors are read, both sides row by row at once: a changed one gets the
// offset of its first differing byte and the largest difference of its
// values (DiffChange.FirstDiff, MaxAbsDelta). The report's BytesRead
// counts the tensor bytes read. jobs tensors are read at once (at least
// one).
func DiffCheckpoints(ctx context.Context, a, b *checkpoint.Checkpoint, da, db DigestFunc, jobs int, opts ...DiffOption) (*DiffReport, error) {
	var o diffOptions
	for _, opt := range opts {
		opt(&o)
	}
	r := &DiffReport{SchemaVersion: DiffSchemaVersion, A: a.Source, B: b.Source, Added: []DiffTensor{}, Removed: []DiffTensor{},
		Reshaped: []DiffChange{}, Retyped: []DiffChange{}, Changed: []DiffChange{}, Unhashed: []DiffTensor{}, Files: []DiffFileRef{}}
	same := map[string]bool{} // files published the same on both sides
	bFiles := map[string]bool{}
	for _, f := range b.Files {
		bFiles[f.Name] = true
	}
	for _, f := range a.Files {
		if !bFiles[f.Name] || da == nil || db == nil {
			continue
		}
		sa, okA := da(f.Name)
		sb, okB := db(f.Name)
		switch {
		case okA && okB && sa == sb:
			same[f.Name] = true
		case okA && okB:
			r.Files = append(r.Files, DiffFileRef{Name: f.Name, A: sa, B: sb})
		}
	}
	invA, invB := a.Inventory(), b.Inventory()
	byName := make(map[string]*checkpoint.Tensor, len(invB.Tensors))
	for i := range invB.Tensors {
		if _, dup := byName[invB.Tensors[i].Name]; !dup {
			byName[invB.Tensors[i].Name] = &invB.Tensors[i]
		}
	}
	type pair struct{ a, b *checkpoint.Tensor }
	var toRead []pair
	seen := map[string]bool{}
	for i := range invA.Tensors {
		ta := &invA.Tensors[i]
		if seen[ta.Name] {
			continue
		}
		seen[ta.Name] = true
		tb, ok := byName[ta.Name]
		if !ok {
			r.Removed = append(r.Removed, DiffTensor{Name: ta.Name, DType: ta.DType, Shape: ta.Shape})
			continue
		}
		c := DiffChange{Name: ta.Name, A: DiffSide{File: ta.File, DType: ta.DType, Shape: ta.Shape},
			B: DiffSide{File: tb.File, DType: tb.DType, Shape: tb.Shape}}
		reshaped, retyped := !slices.Equal(ta.Shape, tb.Shape), ta.DType != tb.DType
		switch {
		case reshaped || retyped:
			if reshaped {
				r.Reshaped = append(r.Reshaped, c)
			}
			if retyped {
				r.Retyped = append(r.Retyped, c)
			}
		case same[ta.File] && ta.File == tb.File && ta.Offset == tb.Offset && ta.Bytes == tb.Bytes:
			r.Same++
		default:
			toRead = append(toRead, pair{ta, tb})
		}
	}
	for i := range invB.Tensors {
		if tb := &invB.Tensors[i]; !seen[tb.Name] {
			seen[tb.Name] = true
			r.Added = append(r.Added, DiffTensor{Name: tb.Name, DType: tb.DType, Shape: tb.Shape})
		}
	}
	if len(toRead) > 0 {
		ra, err := a.NewReader()
		if err != nil {
			return nil, err
		}
		defer ra.Close()
		rb, err := b.NewReader()
		if err != nil {
			return nil, err
		}
		defer rb.Close()
		changes := make([]*DiffChange, len(toRead))
		var total int64
		for _, p := range toRead {
			total += p.a.Bytes + p.b.Bytes
		}
		var done atomic.Int64
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(jobs, 1))
		for i, p := range toRead {
			g.Go(func() error {
				c, err := diffTensor(gctx, ra, rb, p.a, p.b)
				changes[i] = c
				if o.progress != nil {
					o.progress(done.Add(p.a.Bytes+p.b.Bytes), total)
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, c := range changes {
			if c == nil {
				r.Same++
			} else {
				r.Changed = append(r.Changed, *c)
			}
		}
		r.BytesRead = ra.BytesRead() + rb.BytesRead()
	}
	r.judge()
	return r, nil
}

// diffTensor reads ta and tb (same dtype and shape) row by row and
// returns nil when their bytes are equal, else the change with the first
// differing byte's offset (from the tensor's start) and the largest
// difference of the decoded values.
func diffTensor(ctx context.Context, ra, rb *checkpoint.Reader, ta, tb *checkpoint.Tensor) (*DiffChange, error) {
	parts := []int{-1}
	if len(ta.Logical) == 3 {
		parts = make([]int, ta.Logical[0])
		for i := range parts {
			parts[i] = i
		}
	}
	c := &DiffChange{Name: ta.Name, A: DiffSide{File: ta.File, DType: ta.DType, Shape: ta.Shape},
		B: DiffSide{File: tb.File, DType: tb.DType, Shape: tb.Shape}}
	first, maxAbs := int64(-1), 0.0
	var base int64
	for _, s := range parts {
		ma, err := ra.Matrix(ta, s)
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		mb, err := rb.Matrix(tb, s)
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		bufA, bufB := make([]byte, ma.RowBytes()), make([]byte, mb.RowBytes())
		va, vb := make([]float32, ma.Cols()), make([]float32, mb.Cols())
		for i := range ma.Rows() {
			if err := ma.ReadRow(ctx, i, va, bufA); err != nil {
				return nil, err
			}
			if err := mb.ReadRow(ctx, i, vb, bufB); err != nil {
				return nil, err
			}
			if !bytes.Equal(bufA, bufB) {
				if first < 0 {
					j := 0
					for j < len(bufA) && bufA[j] == bufB[j] {
						j++
					}
					first = base + int64(i)*ma.RowBytes() + int64(j)
				}
				for k := range va {
					if d := math.Abs(float64(va[k]) - float64(vb[k])); d > maxAbs { // a NaN is verify's to find
						maxAbs = d
					}
				}
			}
		}
		base += int64(ma.Rows()) * ma.RowBytes()
	}
	if first < 0 {
		return nil, nil
	}
	c.FirstDiff, c.MaxAbsDelta = &first, &maxAbs
	return c, nil
}

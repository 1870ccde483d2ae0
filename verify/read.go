package verify

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// verifier holds the state of one Verify call.
type verifier struct {
	ck      *checkpoint.Checkpoint
	inv     *checkpoint.Inventory
	opts    Options
	zeroRun int64
	bufSize int
	digests bool
	// manifestDigests reports whether Options.Manifest holds tensor
	// digests: then every tensor must be in it.
	manifestDigests bool
	pool            *bufPool
	files           []fileState    // the files to read: every file, or the shard's
	byFile          map[string]int // index in files
	all             map[string]bool
	shard           *ShardPlan
	scans           []*tensorScan // by inventory index
	layers          []*layerState // the layers streamed, in the order of their first file in files
	streams         chan struct{} // a token per layer streaming (see maxLayerStreams)
}

// fileState is one file being verified.
type fileState struct {
	name  string
	size  int64 // as listed when the checkpoint was loaded
	spans []span
	read  atomic.Int64
	sum   []byte // set when the file was read to its end
	// gitSum is the file's Git blob id, when one is expected and the file
	// was read to its end.
	gitSum []byte
	// sha512 is the file's SHA-512, when one is expected (an OCI layer
	// digest of that algorithm) and the file was read to its end.
	sha512 []byte
	// unread is set when the file's data could not be read (see
	// CheckUnread): the reason, a phrase.
	unread string
	// layer is the layer the file is read from by streaming it (see
	// verifier.layer), nil for a file read with ReadAt where it is.
	layer *layerState
	// copyStatus and copyErr are the outcome of Options.Copy.
	copyStatus, copyErr string
}

// span is one tensor's byte range in its file.
type span struct {
	start, end int64
	tensor     int // inventory index
	done       bool
}

// plan lists the files to read (those of the shard, when one is asked
// for) and each file's tensors in offset order.
func (v *verifier) plan() {
	all := checkpointFiles(v.ck)
	v.all = make(map[string]bool, len(all))
	for _, f := range all {
		v.all[f.Name] = true
	}
	var part []int
	if sp := v.opts.Shard; sp.Count > 0 {
		part = AssignShards(all, sp.Count)
		v.shard = &ShardPlan{Index: sp.Index, Count: sp.Count, Files: make([]ShardFile, len(all))}
		for i, f := range all {
			v.shard.Files[i] = ShardFile{Name: f.Name, Shard: part[i]}
		}
	}
	v.byFile = map[string]int{}
	for i, f := range all {
		if part == nil || part[i] == v.shard.Index {
			v.byFile[f.Name] = len(v.files)
			v.files = append(v.files, fileState{name: f.Name, size: f.Size})
		}
	}
	v.scans = make([]*tensorScan, len(v.inv.Tensors))
	type checkKey struct {
		dtype        string
		scales, e8m0 bool
	}
	checks := map[checkKey]*valueCheck{}
	names := make(map[string]bool, len(v.inv.Tensors))
	for i := range v.inv.Tensors {
		names[v.inv.Tensors[i].Name] = true
	}
	has := func(name string) bool { return names[name] }
	for i := range v.inv.Tensors {
		t := &v.inv.Tensors[i]
		fi, ok := v.byFile[t.File]
		if !ok {
			continue
		}
		k := checkKey{dtype: t.DType}
		if v.ck.Format == checkpoint.FormatSafetensors {
			k.scales, k.e8m0 = scaleRole(t.Name, t.DType, has)
		}
		vc := checks[k]
		if vc == nil {
			if k.scales {
				vc = checkForScales(t.DType, k.e8m0)
			} else {
				vc = checkFor(v.ck.Format, t.DType)
			}
			checks[k] = vc
		}
		v.scans[i] = newTensorScan(vc, t.Bytes, v.zeroRun, nil)
		v.files[fi].spans = append(v.files[fi].spans, span{start: t.Offset, end: checked.SatAdd(t.Offset, t.Bytes), tensor: i})
	}
	for i := range v.files {
		slices.SortStableFunc(v.files[i].spans, func(a, b span) int {
			switch {
			case a.start < b.start:
				return -1
			case a.start > b.start:
				return 1
			}
			return 0
		})
	}
}

// chunk is one buffer of a file.
type chunk struct {
	buf  []byte
	off  int64
	refs atomic.Int32
}

// file reads one file to its end: one goroutine reads buffers, another
// hashes and checks them, a slice at a time so that the checks find the
// bytes in the cache; with tensor digests, which double the hashing, one
// goroutine hashes the file and another checks and hashes the tensors.
// With Options.Copy, a third goroutine hands the buffers to the
// copy. A file whose data cannot be read where it is (hub.ErrCompressedLayer)
// is marked unread, not an error.
func (v *verifier) file(ctx context.Context, fs *fileState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := v.ck.Origin().Open(ctx, fs.name)
	if err != nil {
		return err
	}
	defer f.Close()
	return v.read(ctx, fs, f, f.Size())
}

// read is the pipeline of file over f, the file's size bytes: it reads
// them with ReadAt strictly in order, from offset 0 to the end, from one
// goroutine (a reader of a stream can serve it: see seqReaderAt).
func (v *verifier) read(ctx context.Context, fs *fileState, f io.ReaderAt, size int64) error {
	fs.size = size
	path := hub.Path(v.ck.Origin(), fs.name)

	var fc FileCopy
	if v.opts.Copy != nil {
		switch c, err := v.opts.Copy(fs.name, size); {
		case err != nil:
			fs.copyStatus, fs.copyErr = CopyNotStored, err.Error()
		case c == nil:
			fs.copyStatus = CopyPresent
		default:
			fc = c
		}
	}

	var scratch []float32
	d := &dispatcher{v: v, fs: fs, scratch: &scratch}
	h := sha256.New()
	var gh hash.Hash // the Git blob id, only when one is to be checked
	if want, _, _ := v.expected(fs.name); want == "" && v.opts.ExpectedGitBlob[fs.name] != "" {
		gh = sha1.New()
		fmt.Fprintf(gh, "blob %d\x00", size)
	}
	var sh hash.Hash // the SHA-512, only when one is to be checked
	if v.opts.ExpectedSHA512[fs.name] != "" {
		sh = sha512.New()
	}
	nbuf := cap(v.pool.free)
	g, gctx := errgroup.WithContext(ctx)
	// Each channel can hold every buffer there is, so sends never block.
	toHash := make(chan *chunk, nbuf)
	var toCheck, toCopy chan *chunk
	refs := int32(1)
	if v.opts.split || v.digests { // the tensor digests double the work: give them a goroutine
		toCheck = make(chan *chunk, nbuf)
		refs++
	}
	if fc != nil {
		toCopy = make(chan *chunk, nbuf)
		refs++
	}
	release := func(c *chunk) {
		if c.refs.Add(-1) == 0 {
			v.pool.put(c.buf)
		}
	}
	var unread error
	g.Go(func() error {
		defer close(toHash)
		if toCheck != nil {
			defer close(toCheck)
		}
		if toCopy != nil {
			defer close(toCopy)
		}
		for off := int64(0); off < size; {
			n := int(min(int64(v.bufSize), size-off))
			buf, err := v.pool.get(gctx)
			if err != nil {
				return err
			}
			k, err := f.ReadAt(buf[:n], off)
			if k < n {
				v.pool.put(buf)
				if errors.Is(err, hub.ErrCompressedLayer) {
					unread = err
				}
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("%s: read %d bytes at offset %d: %w", path, n, off, err)
			}
			c := &chunk{buf: buf[:n], off: off}
			c.refs.Store(refs)
			if toCheck != nil {
				toCheck <- c
			}
			if toCopy != nil {
				toCopy <- c
			}
			toHash <- c
			off += int64(n)
		}
		return nil
	})
	g.Go(func() error {
		for c := range toHash {
			if err := gctx.Err(); err != nil {
				release(c)
				continue
			}
			if gh != nil {
				gh.Write(c.buf)
			}
			if sh != nil {
				sh.Write(c.buf)
			}
			if toCheck != nil {
				h.Write(c.buf)
			} else {
				for p, off := c.buf, c.off; len(p) > 0; {
					k := min(len(p), hashSlice)
					h.Write(p[:k])
					d.dispatch(p[:k], off)
					p, off = p[k:], off+int64(k)
				}
			}
			fs.read.Add(int64(len(c.buf)))
			if v.opts.Progress != nil {
				v.opts.Progress(fs.name, int64(len(c.buf)))
			}
			release(c)
		}
		return gctx.Err()
	})
	if toCheck != nil {
		g.Go(func() error {
			for c := range toCheck {
				if gctx.Err() == nil {
					d.dispatch(c.buf, c.off)
				}
				release(c)
			}
			return gctx.Err()
		})
	}
	var copyErr error
	if toCopy != nil {
		g.Go(func() error {
			for c := range toCopy {
				if copyErr == nil && gctx.Err() == nil {
					_, copyErr = fc.Write(c.buf)
				}
				release(c)
			}
			return nil // a failed copy does not stop the verification
		})
	}
	err := g.Wait()
	if fc != nil {
		v.endCopy(fs, fc, err, copyErr)
	}
	if err != nil {
		if unread != nil && ctx.Err() == nil {
			fs.unread = fmt.Sprintf("its data cannot be read where it is (%s)", unread)
			return nil
		}
		return err
	}
	fs.sum = h.Sum(nil)
	if gh != nil {
		fs.gitSum = gh.Sum(nil)
	}
	if sh != nil {
		fs.sha512 = sh.Sum(nil)
	}
	d.finishFile(size)
	return nil
}

// endCopy commits or aborts a file's copy and records the outcome.
func (v *verifier) endCopy(fs *fileState, fc FileCopy, readErr, writeErr error) {
	switch {
	case readErr != nil:
		fc.Abort()
		fs.copyStatus, fs.copyErr = CopyNotStored, "the file was not read to its end"
	case writeErr != nil:
		fc.Abort()
		fs.copyStatus, fs.copyErr = CopyNotStored, writeErr.Error()
	default:
		if err := fc.Commit(); err != nil {
			fs.copyStatus, fs.copyErr = CopyNotStored, err.Error()
		} else {
			fs.copyStatus = CopyStored
		}
	}
}

// dispatcher hands the bytes of a file to the scans of the tensors they
// belong to; a buffer may hold several tensors and a tensor span several
// buffers.
type dispatcher struct {
	v       *verifier
	fs      *fileState
	next    int   // next span to start
	active  []int // spans started and not ended
	scratch *[]float32
}

func (d *dispatcher) dispatch(p []byte, off int64) {
	end := off + int64(len(p))
	spans := d.fs.spans
	for d.next < len(spans) && spans[d.next].start < end {
		d.start(d.next)
		d.active = append(d.active, d.next)
		d.next++
	}
	keep := d.active[:0]
	for _, i := range d.active {
		sp := &spans[i]
		lo, hi := max(sp.start, off), min(sp.end, end)
		if lo < hi {
			d.v.scans[sp.tensor].write(p[lo-off : hi-off])
		}
		if sp.end <= end {
			d.end(sp)
		} else {
			keep = append(keep, i)
		}
	}
	d.active = keep
}

func (d *dispatcher) start(i int) {
	s := d.v.scans[d.fs.spans[i].tensor]
	s.scratch = d.scratch
	if d.v.digests {
		s.digest = sha256.New()
	}
}

func (d *dispatcher) end(sp *span) {
	s := d.v.scans[sp.tensor]
	s.finish()
	if s.digest != nil {
		s.sum = s.digest.Sum(nil)
		s.digest = nil
	}
	s.scratch = nil
	sp.done = true
}

// finishFile ends the spans that ended at or before the end of the file
// without a byte past their start (empty tensors at the end).
func (d *dispatcher) finishFile(size int64) {
	for i := d.next; i < len(d.fs.spans); i++ {
		sp := &d.fs.spans[i]
		if sp.end <= size {
			d.start(i)
			d.end(sp)
		}
	}
	for _, i := range d.active {
		if sp := &d.fs.spans[i]; sp.end <= size {
			d.end(sp)
		}
	}
}

// bufPool hands out at most n buffers of one size.
type bufPool struct {
	size int
	free chan []byte
	sem  chan struct{}
}

func newBufPool(size, n int) *bufPool {
	return &bufPool{size: size, free: make(chan []byte, n), sem: make(chan struct{}, n)}
}

func (p *bufPool) get(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	select {
	case b := <-p.free:
		return b, nil
	case p.sem <- struct{}{}:
		if p.size == DefaultBufferSize {
			if b, ok := defaultBuffers.Get().(*[]byte); ok {
				return *b, nil
			}
		}
		return make([]byte, p.size), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *bufPool) put(b []byte) { p.free <- b[:cap(b)] }

// release hands the buffers of a finished Verify to the next one.
func (p *bufPool) release() {
	for {
		select {
		case b := <-p.free:
			if len(b) == DefaultBufferSize {
				defaultBuffers.Put(&b)
			}
		default:
			return
		}
	}
}

// defaultBuffers keeps buffers of DefaultBufferSize between Verify calls
// (a diff of two sources, a benchmark), until the garbage collector takes
// them.
var defaultBuffers sync.Pool

package hub

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrCompressedLayer is returned by ReadAt of a file inside a compressed
// tar layer (or an uncompressed one from a registry that ignores Range)
// when the bytes asked for lie beyond the front of the file that was
// streamed: the layer can only be read from its start, so its tensor data
// cannot be range-read.
var ErrCompressedLayer = errors.New("inside a compressed layer: cannot be range-read")

// Limits on what is kept of tar layers, and on what listing a compressed
// one may decompress.
const (
	maxMemberPrefix = 64 << 20  // bytes kept of one file: enough for any header
	maxTarPrefix    = 256 << 20 // bytes kept of all the files of a source
	maxTarMembers   = 10000     // files of one tar layer
	// maxExpansion bounds the bytes a listing decompresses of a layer to
	// this multiple of its compressed size: model weights compress to
	// 0.7–0.95 of their size, tokenizers and configs to a quarter; a
	// member declaring more is a decompression bomb, or at best holds
	// nothing a listing needs.
	maxExpansion = 64
	// minExpansionBudget is the budget of a small layer, whatever its
	// size: a few configuration files compress far better than weights.
	minExpansionBudget = 64 << 20
)

// ErrExpansion is wrapped (with [ErrBadArchive]) by the error of a listing
// that stops at a member of a compressed layer whose declared size would
// take the bytes decompressed past the layer's budget: maxExpansion times
// its compressed size (at least 64 MiB).
var ErrExpansion = errors.New("implausible expansion")

// prefixFile is a file inside a tar layer: the front of it, as streamed.
type prefixFile struct {
	name  string
	size  int64
	data  []byte // the first len(data) bytes of the file
	layer v1.Hash
}

func (f *prefixFile) Size() int64  { return f.size }
func (f *prefixFile) Close() error { return nil }

// ReadAt serves the bytes streamed; a read beyond them fails with
// [ErrCompressedLayer].
func (f *prefixFile) ReadAt(p []byte, off int64) (int, error) {
	want, eof, err := clipRead(f.name, p, off, f.size)
	if err != nil {
		return 0, err
	}
	if end := off + int64(len(want)); end > int64(len(f.data)) {
		n := 0
		if off < int64(len(f.data)) {
			n = copy(want, f.data[off:])
		}
		return n, fmt.Errorf("%s: bytes %d-%d: %w (layer %s; only its first %d bytes were read)",
			f.name, off, end-1, ErrCompressedLayer, f.layer, len(f.data))
	}
	copy(want, f.data[off:])
	return len(want), eof
}

// growReader is an io.ReaderAt over the front of a tar member that pulls
// more of the member from the stream when a read goes beyond what it has,
// up to a cap.
type growReader struct {
	r    io.Reader
	data []byte
	size int64
	cap  int64
}

func (g *growReader) fill(end int64) error {
	end = min(end, g.size, g.cap)
	// Grow by doubling, reading into each new part before making the
	// next: memory follows the bytes the archive really holds, never the
	// size its header claims.
	for int64(len(g.data)) < end {
		next := min(max(2*int64(len(g.data)), 64<<10), g.size, g.cap)
		buf := make([]byte, next)
		copy(buf, g.data)
		n, err := io.ReadFull(g.r, buf[len(g.data):])
		g.data = buf[:len(g.data)+n]
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
	}
	return nil
}

func (g *growReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	end := off + int64(len(p))
	if err := g.fill(end); err != nil {
		return 0, err
	}
	if off >= int64(len(g.data)) {
		if off >= g.size {
			return 0, io.EOF
		}
		return 0, ErrCompressedLayer
	}
	n := copy(p, g.data[off:])
	if n < len(p) {
		if end > g.size {
			return n, io.EOF
		}
		return n, ErrCompressedLayer
	}
	return n, nil
}

// HeaderFunc reads, through r, as much of the file name (of size bytes) as
// the file's header needs, for a source that keeps only the front of some
// of its files: those inside a tar layer of an OCI artifact that is
// streamed when the source is listed (see [OCIOptions.ReadHeader]). The
// source keeps every byte read through r and serves those bytes from
// memory when the file is opened later. What is kept is capped at 64 MiB
// per file and 256 MiB for all the files of a source: a read beyond the
// cap fails with [ErrCompressedLayer]. r follows the io.ReaderAt contract;
// it is valid only until the function returns and is not safe for
// concurrent use. The function has no error to return: a file whose
// header does not parse fails again, with its error, when it is loaded.
type HeaderFunc func(name string, r io.ReaderAt, size int64)

// keepHeader reads from g as much of a member as read says its header
// needs, or, when read is nil, the whole member (up to the cap).
func keepHeader(name string, g *growReader, read HeaderFunc) {
	if read == nil {
		g.fill(g.size) // an error shows again as the archive is read on
		return
	}
	read(name, g, g.size)
}

// streamTar reads a compressed tar layer (gzip or zstd) from its start and
// keeps the front of each regular file in it. When the layer's annotation
// names the file it holds, streaming stops once that file's header is read
// and the body is closed: the layer is fetched only that far.
//
// Without such an annotation the layer is read to its end, and every byte
// of it is counted in Stats. That is the price of being correct: a tar
// archive does not say how many members it holds, the next member's header
// follows the whole of the current member's data, and compressed data
// cannot be skipped, only decompressed, so the only way to know that no
// model file follows is to reach the end. Neither the manifest nor the
// model configs of the Docker and ModelPack formats declare a layer's
// uncompressed size or member list that could end the stream sooner.
// Uncompressed tar layers do not pay this: see walkTar. With a header
// cache, what is kept of a layer is cached under its digest, and a later
// listing of the same layer streams nothing (see cachedTarFronts).
func (s *OCISource) streamTar(ctx context.Context, b ociBlob, l v1.Descriptor, k layerKind) ([]*prefixFile, error) {
	what := fmt.Sprintf("%s: layer %s (%s)", s.spec, l.Digest, l.MediaType)
	if b.path == "" {
		if pfs := s.cachedTarFronts(l); pfs != nil {
			return pfs, nil
		}
	}
	body, remote, err := s.openLayer(ctx, b, what)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	pfs, err := readTar(ctx, io.LimitReader(body, l.Size), l, k, what, s.opts.ReadHeader)
	if err == nil && remote {
		s.storeTarFronts(l, pfs)
	}
	return pfs, err
}

// decompress returns the uncompressed stream of a tar layer of kind k read
// from r (r itself for an uncompressed one) and a function releasing the
// decompressor. A zstd window is capped at 64 MiB, which bounds the
// memory a layer takes whatever it claims. A gzip stream's header is read
// at once: an error then is the layer's, prefixed "gzip: "; a zstd one
// ("zstd: ") is the decoder's setup.
func decompress(r io.Reader, k layerKind) (io.Reader, func(), error) {
	switch k {
	case kindTarGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case kindTarZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return r, func() {}, nil
}

// holds reports whether the archive member n is the file only, the name a
// single-file layer's annotation gives ("" for none).
func holds(only, n string) bool {
	return only != "" && (n == only || path.Base(n) == path.Base(only))
}

// readTar reads the tar layer l, of kind k, from r, keeping of each file
// what read reads (see keepHeader); see streamTar.
func readTar(ctx context.Context, r io.Reader, l v1.Descriptor, k layerKind, what string, read HeaderFunc) ([]*prefixFile, error) {
	r, release, err := decompress(r, k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer release()
	only := layerName(l) // a single-file layer names its file
	counted := &countReader{r: r}
	tr := tar.NewReader(counted)
	budget := max(min(l.Size, math.MaxInt64/maxExpansion)*maxExpansion, minExpansionBudget)
	var out []*prefixFile
	var kept int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: archive: %w", what, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if len(out) == maxTarMembers {
			return nil, fmt.Errorf("%s: over %d files: %w", what, maxTarMembers, ErrBadResponse)
		}
		n := cleanName(h.Name)
		if n == "" {
			return nil, fmt.Errorf("%s: archive member %q: not a relative path: %w", what, h.Name, ErrBadResponse)
		}
		if h.Size < 0 {
			return nil, fmt.Errorf("%s: archive member %q: negative size: %w", what, h.Name, ErrBadResponse)
		}
		// Stepping past this member decompresses all of it: refuse before
		// a byte of it is read when that would exceed the budget.
		if k != kindTar && h.Size > budget-counted.n {
			return nil, fmt.Errorf("%s: archive member %q declares %d bytes at %d decompressed bytes of a layer of %d compressed: past %d× (%d bytes) a listing does not decompress (%w: %w)",
				what, h.Name, h.Size, counted.n, l.Size, maxExpansion, budget, ErrExpansion, ErrBadArchive)
		}
		g := &growReader{r: tr, size: h.Size, cap: min(maxMemberPrefix, maxTarPrefix-kept)}
		keepHeader(n, g, read)
		kept += int64(len(g.data))
		out = append(out, &prefixFile{name: n, size: h.Size, data: g.data, layer: l.Digest})
		if holds(only, n) {
			break // the file the layer holds: no need to read its data
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tarMember is a regular file inside an uncompressed tar layer: size bytes
// at off in the layer's blob, which are read in place.
type tarMember struct {
	name      string
	blob      ociBlob
	off, size int64
}

// walkChunk is how much one read of the walk over an uncompressed tar
// layer fetches: a member header, or a PAX header with its records and the
// header after them, in one request.
const walkChunk = 4 << 10

// walkTar lists the regular files of an uncompressed tar layer by reading
// its member headers only: the archive is read through a cursor that
// fetches walkChunk bytes where it is and seeks over each member's data
// (archive/tar skips data with Seek when it can), so a layer costs about
// one small request per member, whatever its size. When the layer's
// annotation names the file it holds, the walk stops at that file. The
// files are then read in place, by Range requests on the blob (or reads of
// the local blob), like raw layers.
func (s *OCISource) walkTar(ctx context.Context, b ociBlob, l v1.Descriptor) ([]tarMember, error) {
	what := fmt.Sprintf("%s: layer %s (%s)", s.spec, l.Digest, l.MediaType)
	var read func(p []byte, off int64) error
	if b.path != "" {
		f, err := openStoreBlob(b.path, b.size, s.storeManifest)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		defer f.Close()
		read = func(p []byte, off int64) error {
			n, err := f.ReadAt(p, off)
			if n == len(p) {
				return nil
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read %s at %d: %w", b.path, off, err)
		}
	} else {
		read = s.remoteBlob(ctx, b, "layer "+l.Digest.String()).fetch
	}
	return walkTar(ctx, &blobCursor{read: read, size: b.size}, b, l, what)
}

// walkTar reads the member headers of the tar archive cur reads; b and l
// are its layer, what names it for messages.
func walkTar(ctx context.Context, cur *blobCursor, b ociBlob, l v1.Descriptor, what string) ([]tarMember, error) {
	only := layerName(l)
	tr := tar.NewReader(cur)
	var out []tarMember
	for entries := 0; ; entries++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if entries == maxTarMembers {
			return nil, fmt.Errorf("%s: over %d archive entries: %w", what, maxTarMembers, ErrBadResponse)
		}
		at := cur.pos
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: archive entry at byte %d: %w", what, at, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		n := cleanName(h.Name)
		if n == "" {
			return nil, fmt.Errorf("%s: archive member %q at byte %d: not a relative path: %w", what, h.Name, at, ErrBadResponse)
		}
		if sparse(h) {
			return nil, fmt.Errorf("%s: archive member %q at byte %d: a sparse file, whose bytes are not stored in place: %w", what, n, at, ErrBadResponse)
		}
		off := cur.pos // archive/tar has read the header blocks, not the data
		if h.Size < 0 || h.Size > b.size-off {
			return nil, fmt.Errorf("%s: archive member %q at byte %d: %d bytes at byte %d run past the layer's %d: %w",
				what, n, at, h.Size, off, b.size, ErrBadResponse)
		}
		out = append(out, tarMember{name: n, blob: b, off: off, size: h.Size})
		if holds(only, n) {
			break
		}
	}
	return out, nil
}

// blobCursor reads a blob as a stream that can seek: each read that the
// last fetch does not cover fetches at least walkChunk bytes (never past
// the blob's end) with read, which fills p with the bytes at off or fails.
type blobCursor struct {
	read   func(p []byte, off int64) error
	size   int64
	pos    int64
	buf    []byte // the last fetch, the bytes at bufOff
	bufOff int64
}

func (c *blobCursor) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.pos >= c.size {
		return 0, io.EOF
	}
	if c.pos < c.bufOff || c.pos >= c.bufOff+int64(len(c.buf)) {
		buf := make([]byte, min(max(int64(len(p)), walkChunk), c.size-c.pos))
		if err := c.read(buf, c.pos); err != nil {
			return 0, err
		}
		c.buf, c.bufOff = buf, c.pos
	}
	n := copy(p, c.buf[c.pos-c.bufOff:])
	c.pos += int64(n)
	return n, nil
}

func (c *blobCursor) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += c.pos
	case io.SeekEnd:
		off += c.size
	default:
		return c.pos, fmt.Errorf("seek: bad whence %d", whence)
	}
	if off < 0 || off > c.size {
		// archive/tar seeks to the last byte of a member's data: past the
		// end means the archive is cut short.
		return c.pos, fmt.Errorf("seek to byte %d of %d: %w", off, c.size, io.ErrUnexpectedEOF)
	}
	c.pos = off
	return off, nil
}

// remoteMember is a file inside an uncompressed tar layer of a registry,
// read with Range requests on the layer's blob. Its first read, at offset
// 0, is sized by the source's read ahead as a raw layer's first read is
// (what files of the kind needed, learned from the files closed so far);
// later reads go to the blob's remote file. It is safe for concurrent use.
type remoteMember struct {
	rf        *rangeFile // the blob, named as the member
	off, size int64
	kind      string

	mu     sync.Mutex
	head   []byte // the member's first bytes, from the first read
	probe  bool   // the first read was its kind's probe (see readAhead)
	seq    headerRun
	closed bool
}

func newRemoteMember(rf *rangeFile, m tarMember) *remoteMember {
	return &remoteMember{rf: rf, off: m.off, size: m.size, kind: path.Ext(m.name)}
}

func (m *remoteMember) Size() int64 { return m.size }

// ReadAt follows the io.ReaderAt contract, as rangeFile's does.
func (m *remoteMember) ReadAt(p []byte, off int64) (int, error) {
	return m.read(p, off, false)
}

// readExact reads as ReadAt does, fetching what is not held with no
// read-ahead and no first fetch (see [ReadExact]).
func (m *remoteMember) readExact(p []byte, off int64) (int, error) {
	return m.read(p, off, true)
}

func (m *remoteMember) read(p []byte, off int64, exact bool) (int, error) {
	want, eof, err := clipRead(m.rf.name, p, off, m.size)
	if err != nil {
		return 0, err
	}
	var head []byte
	if exact {
		m.mu.Lock()
		head = m.head
		m.mu.Unlock()
	} else if head, err = m.first(off, len(want)); err != nil {
		return 0, err
	}
	n := 0
	if off < int64(len(head)) {
		n = copy(want, head[off:])
	}
	if n < len(want) {
		m.outgrow()
		if _, err := m.rf.read(want[n:], m.off+off+int64(n), exact); err != nil {
			return n, err
		}
	}
	m.track(off, int64(len(want)))
	return len(want), eof
}

// first makes the first fetch when a read at offset 0 asks for less than
// a first fetch, and returns the member's first bytes (nil when none were
// fetched).
func (m *remoteMember) first(off int64, n int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.head != nil || off != 0 || int64(n) >= m.rf.ra.first || m.closed {
		return m.head, nil
	}
	// Not under m.mu while waiting for a probe: another goroutine's reads
	// beyond the head may run meanwhile.
	m.mu.Unlock()
	size, probe := m.rf.ra.firstFetch(m.rf.ctx, m.kind, m.rf)
	buf := make([]byte, min(size, m.size))
	err := m.rf.fetch(buf, m.off)
	m.mu.Lock()
	if err != nil {
		if probe {
			m.rf.ra.release(m.kind, m.rf, 0, false)
		}
		return nil, err
	}
	if m.head == nil {
		m.head, m.probe = buf, probe
	} else if probe {
		m.rf.ra.release(m.kind, m.rf, 0, false)
	}
	return m.head, nil
}

// outgrow ends the member's turn as its kind's probe when a read goes
// beyond the first fetch: there is nothing to learn soon.
func (m *remoteMember) outgrow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.probe {
		m.rf.ra.release(m.kind, m.rf, 0, true)
		m.probe = false
	}
}

func (m *remoteMember) track(off, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq.track(off, n)
}

// Close tells the read ahead how far a header read went (reads running
// sequentially from offset 0 and stopping short of the end), as a raw
// layer's file does, and drops what was fetched. It is idempotent.
func (m *remoteMember) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.rf.ra.release(m.kind, m.rf, m.seq.extent(m.size), false)
	m.probe, m.head = false, nil
	return m.rf.Close()
}

package hub

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
)

// ErrBadArchive is wrapped by the *[LayerError] that
// [OCISource.StreamLayer] returns when a layer's bytes do not decompress
// (a gzip or zstd stream that is damaged or cut short, a checksum that
// does not match) or do not form a tar archive within the limits a
// listing keeps to (at most 10,000 entries, member names that are clean
// relative paths, member data as long as its header says, no sparse
// files): the layer is damaged, as published or as served.
var ErrBadArchive = errors.New("damaged archive")

// LayerError is the error of [OCISource.StreamLayer] for a damaged layer:
// it names the layer, the file of the archive being read when the damage
// showed, and where. Err wraps [ErrBadArchive] and the decompressor's or
// the archive reader's own error.
type LayerError struct {
	Digest string // the layer's digest, "sha256:HEX"
	// File is the archive member being read, "" when the damage showed
	// between members (in a member header, or after the archive's end).
	File string
	// Offset is the byte offset in File of the first byte that could not
	// be read; when File is "", the offset in the uncompressed archive.
	Offset int64
	Err    error
}

// Error renders the error as `layer sha256:…: offset 1234 of file "x":
// damaged archive: …`.
func (e *LayerError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("layer %s: offset %d of the uncompressed archive: %v", e.Digest, e.Offset, e.Err)
	}
	return fmt.Sprintf("layer %s: offset %d of file %q: %v", e.Digest, e.Offset, e.File, e.Err)
}

// Unwrap returns Err.
func (e *LayerError) Unwrap() error { return e.Err }

var _ error = (*LayerError)(nil)

// maxTrailing is how much of the uncompressed stream after the archive's
// end StreamLayer decompresses (and drops), so that the stream's checksum
// is checked: tar writers pad an archive to a record of 10 KiB.
const maxTrailing = 1 << 20

// StreamedLayer returns the digest ("sha256:HEX") of the layer that holds
// the named file when that file can only be read by streaming the layer
// from its start with [OCISource.StreamLayer]: a file inside a compressed
// (tar+gzip, tar+zstd) layer, or inside an uncompressed tar layer of a
// registry that ignores Range requests. It returns false for every other
// file, which Open reads in place, and before the source is listed.
func (s *OCISource) StreamedLayer(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pf := s.tarred[name]
	if pf == nil {
		return "", false
	}
	d := pf.layer.String()
	if _, ok := s.streamed[d]; !ok {
		return "", false
	}
	return d, true
}

// StreamLayer reads the streamed layer of the given digest (see
// [OCISource.StreamedLayer]) from its start, once: from the registry with
// one GET of its blob (counted in Stats), or from the blob in the local
// Ollama store when the model was read from there, or from
// OCIOptions.BlobStore when that holds the blob. It decompresses the
// layer and walks its tar archive, calling visit for each regular file in
// archive order, from the calling goroutine: with the file's name (a clean
// relative path), its size as its header gives it, and a reader of its
// bytes that is valid until visit returns (visit may hand it to another
// goroutine that it waits for). visit may read all, part or none of the
// file: the rest is decompressed and dropped. After the archive's end, the
// rest of the stream is decompressed (up to 1 MiB, so that its checksum is
// checked) and the rest of the blob is read, so that the sha256 returned,
// in lower-case hex, covers every byte of the blob, up to the size the
// manifest gives; comparing it with the digest is the caller's business.
//
// A layer that does not decompress or is not a valid archive returns that
// sha256 together with a *[LayerError] wrapping [ErrBadArchive], which
// names the file being read and the offset in it: the rest of the blob is
// still read to compute the sha256. A blob that cannot be read (the
// network, the store, ctx cancelled) returns "" and an error naming the
// layer and the byte of the blob. When visit returns an error that did not
// come from reading the layer, the walk stops and that error is returned,
// wrapped with the layer's and the file's names, with "".
//
// Memory is bounded by the decompressor (a zstd window of at most 64 MiB)
// and small buffers, whatever the sizes of the layer and of its files:
// nothing of a file is kept. StreamLayer is safe for concurrent use; each
// call streams its layer anew.
func (s *OCISource) StreamLayer(ctx context.Context, digest string, visit func(name string, size int64, r io.Reader) error) (string, error) {
	if err := s.list(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	ml, ok := s.streamed[digest]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%s: layer %s: %w: no streamed layer of the artifact has this digest", s.spec, digest, ErrNotExist)
	}
	what := fmt.Sprintf("%s: layer %s (%s)", s.spec, digest, ml.l.MediaType)
	body, _, err := s.openLayer(ctx, ml.blob, what)
	if err != nil {
		return "", err
	}
	defer body.Close()
	w := &layerWalk{
		digest: digest, what: what, kind: ml.k, visit: visit,
		blob: &blobStream{ctx: ctx, r: io.LimitReader(body, ml.l.Size), h: sha256.New()},
	}
	return w.run(ctx)
}

// openLayer opens the blob of a streamed layer for reading from its
// start: the Ollama store's file or the blob store's, or the body of a
// GET on the registry (remote is then true). Errors are prefixed what.
func (s *OCISource) openLayer(ctx context.Context, b ociBlob, what string) (body io.ReadCloser, remote bool, err error) {
	if b.path != "" {
		f, err := openStoreBlob(b.path, b.size, s.storeManifest)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", what, err)
		}
		return fileBody(f, b.size), false, nil
	}
	if f := s.storedBlob(b); f != nil {
		return fileBody(f, b.size), false, nil
	}
	// Not under s.c.retry: a transient error is final here, and is told
	// as what it wraps.
	unwrap := func(err error) error {
		var t *transientError
		if errors.As(err, &t) {
			err = t.err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	resp, err := s.c.send(ctx, b.url, nil, nil)
	if err != nil {
		return nil, false, unwrap(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, unwrap(s.c.statusError(resp, s.classifier("blob "+b.digest.String())))
	}
	return resp.Body, true, nil
}

// fileBody reads the size bytes of a local blob file from its start.
func fileBody(f File, size int64) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, 0, size), f}
}

// blobStream reads a layer's blob, hashing every byte that passes and
// keeping the first error of the blob itself (not its end), so that a
// failure further up (in the decompressor, the archive reader) can be told
// apart from one of the network or the store. It is read from one
// goroutine at a time.
type blobStream struct {
	ctx context.Context
	r   io.Reader
	h   hash.Hash
	n   int64 // bytes read
	err error // the first error other than io.EOF
}

func (b *blobStream) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		b.err = err
		return 0, err
	}
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// layerWalk is one StreamLayer call.
type layerWalk struct {
	digest, what string
	kind         layerKind
	visit        func(name string, size int64, r io.Reader) error
	blob         *blobStream
	arch         *countReader // the uncompressed archive

	// The first failure reading the archive: where, and why.
	failed     error
	failFile   string
	failOffset int64
}

// fail records the first failure reading the archive.
func (w *layerWalk) fail(file string, off int64, err error) {
	if w.failed == nil {
		w.failed, w.failFile, w.failOffset = err, file, off
	}
}

// run streams the layer; see StreamLayer.
func (w *layerWalk) run(ctx context.Context) (string, error) {
	r, release, err := decompress(w.blob, w.kind)
	switch {
	case err != nil && w.kind == kindTarGzip: // a damaged gzip header: the layer's
		w.fail("", 0, err)
		return w.end()
	case err != nil:
		return "", fmt.Errorf("%s: %w", w.what, err)
	}
	defer release()
	w.arch = &countReader{r: r}
	tr := tar.NewReader(w.arch)
	for entries := 0; ; entries++ {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("%s: %w", w.what, err)
		}
		at := w.arch.n
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.fail("", at, fmt.Errorf("archive entry: %w", err))
			return w.end()
		}
		if entries == maxTarMembers {
			w.fail("", at, fmt.Errorf("over %d archive entries", maxTarMembers))
			return w.end()
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := cleanName(h.Name)
		if name == "" || h.Size < 0 {
			w.fail("", at, fmt.Errorf("archive member %q (%d bytes): not a relative path or a negative size", h.Name, h.Size))
			return w.end()
		}
		if sparse(h) {
			// Its holes would be read as zeros: a few bytes could stand
			// for any size.
			w.fail("", at, fmt.Errorf("archive member %q: a sparse file (GNU.sparse records), which a model layer does not hold", name))
			return w.end()
		}
		m := &memberReader{r: tr, w: w, name: name}
		verr := w.visit(name, h.Size, m)
		if w.failed == nil && verr == nil {
			_, verr = io.Copy(io.Discard, m) // what visit left; a failure is recorded
		}
		if w.failed != nil {
			return w.end()
		}
		if verr != nil {
			return "", fmt.Errorf("%s: file %q: %w", w.what, name, verr)
		}
	}
	// The archive's end: check the rest of the stream (its checksum).
	if w.kind != kindTar {
		if _, err := io.CopyN(io.Discard, w.arch, maxTrailing); err != nil && err != io.EOF {
			w.fail("", w.arch.n, fmt.Errorf("after the archive's end: %w", err))
		}
	}
	return w.end()
}

// end reads the rest of the blob and returns its sha256 and, when reading
// the archive failed, the *LayerError; an error of the blob itself comes
// first.
func (w *layerWalk) end() (string, error) {
	if w.blob.err == nil {
		io.Copy(io.Discard, w.blob) // an error is kept in w.blob.err
	}
	if err := w.blob.err; err != nil {
		return "", fmt.Errorf("%s: read the blob at byte %d: %w", w.what, w.blob.n, err)
	}
	sum := hex.EncodeToString(w.blob.h.Sum(nil))
	if w.failed != nil {
		return sum, &LayerError{Digest: w.digest, File: w.failFile, Offset: w.failOffset, Err: fmt.Errorf("%w: %w", ErrBadArchive, w.failed)}
	}
	return sum, nil
}

// sparse reports whether h is a GNU sparse file in PAX form, which
// archive/tar expands (the old GNU form has a type of its own, skipped as
// not regular).
func sparse(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// memberReader is the reader of one archive member handed to visit: it
// counts the member's bytes read and records the first failure.
type memberReader struct {
	r    io.Reader
	w    *layerWalk
	name string
	off  int64
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.w.failed != nil {
		return 0, fmt.Errorf("%s: file %q: read after the layer failed", m.w.what, m.name)
	}
	n, err := m.r.Read(p)
	m.off += int64(n)
	if err != nil && err != io.EOF {
		m.w.fail(m.name, m.off, err)
		err = fmt.Errorf("%s: offset %d of file %q: %w", m.w.what, m.off, m.name, err)
	}
	return n, err
}

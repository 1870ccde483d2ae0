package hub

import (
	"archive/tar"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/weightaudit/weightaudit/gguf"
)

// ErrCompressedLayer is returned by ReadAt of a file inside a tar layer
// when the bytes asked for lie beyond the front of the file that was
// streamed: the layer can only be read from its start, so its tensor data
// cannot be range-read.
var ErrCompressedLayer = errors.New("inside a compressed layer: cannot be range-read")

// Limits on what is kept of tar layers.
const (
	maxMemberPrefix = 64 << 20  // bytes kept of one file: enough for any header
	maxTarPrefix    = 256 << 20 // bytes kept of all the files of a source
	maxTarMembers   = 10000     // files of one tar layer
)

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
	if off < 0 {
		return 0, fmt.Errorf("%s: read at negative offset %d", f.name, off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want, eof := p, error(nil)
	if rem := f.size - off; int64(len(p)) > rem {
		want, eof = p[:rem], io.EOF
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
		next := min(max(end, 2*int64(len(g.data)), 64<<10), g.size, g.cap)
		next = min(next, max(2*int64(len(g.data)), 64<<10))
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

// keepHeader reads from g as much of a member as its header needs: a GGUF
// file's header and tensor infos, a safetensors file's length and JSON
// header, any other file whole (up to the cap).
func keepHeader(name string, g *growReader) {
	switch strings.ToLower(path.Ext(name)) {
	case ".gguf":
		gguf.Read(g, g.size) // its error, if any, shows again when the file is loaded
	case ".safetensors":
		var n [8]byte
		if _, err := g.ReadAt(n[:], 0); err != nil {
			return
		}
		h := binary.LittleEndian.Uint64(n[:])
		if h <= uint64(g.cap) {
			g.fill(8 + int64(h))
		}
	default:
		g.fill(g.size)
	}
}

// streamTar reads a tar layer (plain, gzip or zstd) from its start and
// keeps the front of each regular file in it. When the layer's annotation
// names a single file, streaming stops once that file's header is read;
// otherwise the whole layer is read to find every file.
func (s *OCISource) streamTar(ctx context.Context, u *url.URL, l v1.Descriptor, k layerKind) ([]*prefixFile, error) {
	what := fmt.Sprintf("%s: layer %s (%s)", s.spec, l.Digest, l.MediaType)
	resp, err := s.c.send(ctx, u, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := s.c.statusError(resp, s.classifier("blob "+l.Digest.String()))
		var t *transientError
		if errors.As(err, &t) {
			err = t.err
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return readTar(ctx, io.LimitReader(resp.Body, l.Size), l, k, what)
}

// readTar reads the tar layer l, of kind k, from r; see streamTar.
func readTar(ctx context.Context, r io.Reader, l v1.Descriptor, k layerKind, what string) ([]*prefixFile, error) {
	switch k {
	case kindTarGzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", what, err)
		}
		defer zr.Close()
		r = zr
	case kindTarZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %w", what, err)
		}
		defer zr.Close()
		r = zr
	}
	only := layerName(l) // a single-file layer names its file
	tr := tar.NewReader(r)
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
		g := &growReader{r: tr, size: h.Size, cap: min(maxMemberPrefix, maxTarPrefix-kept)}
		keepHeader(n, g)
		kept += int64(len(g.data))
		out = append(out, &prefixFile{name: n, size: h.Size, data: g.data, layer: l.Digest})
		if only != "" && (n == only || path.Base(n) == path.Base(only)) {
			break // the file the layer holds: no need to read its data
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

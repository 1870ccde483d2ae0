package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/weightaudit/weightaudit/hub"
)

// ArchiveCheck is the result for one layer read from its start (see
// [Run]): a tar layer, compressed or not, whose files cannot be read in
// place. Its digest covers its bytes as stored, so its sha256 is computed
// over the compressed bytes as they arrive.
type ArchiveCheck struct {
	Digest   string   `json:"digest"`                    // the layer's digest, "sha256:HEX"
	Files    []string `json:"files"`                     // the files of the checkpoint inside it that were verified (the shard's, with Options.Shard), in name order
	SHA256   string   `json:"sha256,omitempty"`          // of the layer's bytes; empty when it was not read to its end
	Expected string   `json:"expected_sha256,omitempty"` // the digest's hex digits, when it is a sha256
	// Status is "ok" (the sha256 is the digest's), "mismatch" (see
	// CheckSHA256), "damaged" (the digest matches, but the layer does not
	// decompress or is not a valid archive: see CheckArchive), "unchecked"
	// (a digest of another algorithm) or "incomplete" (not read to its
	// end: cancelled).
	Status string `json:"status"`
	// Error says where and how the layer is damaged, whatever its status.
	Error string `json:"error,omitempty"`
}

// maxLayerStreams is how many layers one Verify streams at once, whatever
// Jobs is: each stream holds a decompressor, whose window (zstd: as large
// as the layer was compressed with, up to 64 MiB) adds to the buffers'
// memory. A layer waiting for its turn holds its job.
const maxLayerStreams = 4

// layerState is one layer being streamed.
type layerState struct {
	digest string
	files  []*fileState // in the order of verifier.files
	done   bool         // StreamLayer returned for it, without an error of its own
	sum    string       // the sha256 of its bytes, "" when not read to its end
	damage *hub.LayerError
}

// planLayers groups the files to read that are inside streamed layers,
// when the source has any.
func (v *verifier) planLayers() {
	ls, ok := v.ck.Origin().(hub.LayerStreamer)
	if !ok {
		return
	}
	v.streams = make(chan struct{}, maxLayerStreams)
	byDigest := map[string]*layerState{}
	for i := range v.files {
		fs := &v.files[i]
		d, ok := ls.StreamedLayer(fs.name)
		if !ok {
			continue
		}
		l := byDigest[d]
		if l == nil {
			l = &layerState{digest: d}
			byDigest[d] = l
			v.layers = append(v.layers, l)
		}
		l.files = append(l.files, fs)
		fs.layer = l
	}
}

// layer streams one layer and reads its files through the same pipeline
// as any other file, in archive order, as they come: each file's stream is
// served to the pipeline by a seqReaderAt, since the pipeline reads
// strictly in order. A member not among the files to read is skipped (the
// streamer decompresses and drops it). A damaged layer is recorded, not an
// error.
func (v *verifier) layer(ctx context.Context, l *layerState) error {
	select {
	case v.streams <- struct{}{}:
		defer func() { <-v.streams }()
	case <-ctx.Done():
		return ctx.Err()
	}
	ls := v.ck.Origin().(hub.LayerStreamer)
	want := make(map[string]*fileState, len(l.files))
	for _, fs := range l.files {
		want[fs.name] = fs
	}
	visited := map[string]bool{}
	sum, err := ls.StreamLayer(ctx, l.digest, func(name string, size int64, r io.Reader) error {
		fs := want[name]
		if fs == nil {
			return nil
		}
		delete(want, name) // a second member of the same name is not read
		visited[name] = true
		return v.read(ctx, fs, &seqReaderAt{r: r}, size)
	})
	var le *hub.LayerError
	switch {
	case err == nil:
	case errors.As(err, &le) && errors.Is(err, hub.ErrBadArchive):
		l.damage = le
	default:
		return err
	}
	l.done, l.sum = true, sum
	for _, fs := range l.files {
		switch {
		case fs.sum != nil:
		case l.damage != nil && fs.name == l.damage.File:
			fs.unread = fmt.Sprintf("layer %s is damaged at offset %d of this file (%v)", l.digest, l.damage.Offset, l.damage.Err)
		case l.damage != nil:
			fs.unread = fmt.Sprintf("layer %s is damaged (at %s: %v) before this file was read", l.digest, damageWhere(l.damage), l.damage.Err)
		case !visited[fs.name]:
			fs.unread = fmt.Sprintf("layer %s, streamed, holds no such file, though its listing did", l.digest)
		}
	}
	return nil
}

// seqReaderAt serves a stream to a reader that calls ReadAt strictly in
// order from offset 0, from one goroutine, as verifier.read does; a read
// at any other offset fails.
type seqReaderAt struct {
	r   io.Reader
	off int64
}

func (s *seqReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off != s.off {
		return 0, fmt.Errorf("read at offset %d of a stream that is at offset %d", off, s.off)
	}
	n, err := io.ReadFull(s.r, p)
	s.off += int64(n)
	if err == io.ErrUnexpectedEOF || (err == io.EOF && len(p) > 0) {
		err = fmt.Errorf("the stream ends at offset %d: %w", s.off, io.ErrUnexpectedEOF)
	}
	return n, err
}

// mismatch reports whether the layer was read and its sha256 differs from
// its digest.
func (l *layerState) mismatch() bool {
	want, ok := strings.CutPrefix(l.digest, "sha256:")
	return l.done && l.sum != "" && ok && l.sum != strings.ToLower(want)
}

// verified reports whether the layer was read whole, undamaged, and its
// sha256 is its digest: then every file streamed from it is intact.
func (l *layerState) verified() bool {
	want, ok := strings.CutPrefix(l.digest, "sha256:")
	return l.done && l.damage == nil && l.sum != "" && ok && l.sum == strings.ToLower(want)
}

// note is a file's note when the caller gave none.
func (l *layerState) note() string {
	return fmt.Sprintf("inside layer %s, read as the layer streamed: no digest covers this file alone; the layer's digest covers its bytes (see archives)", l.digest)
}

// check gives the layer's result and findings.
func (l *layerState) check() (ArchiveCheck, []Finding) {
	ac := ArchiveCheck{Digest: l.digest, Files: make([]string, len(l.files)), SHA256: l.sum}
	for i, fs := range l.files {
		ac.Files[i] = fs.name
	}
	slices.Sort(ac.Files)
	want, isSHA := strings.CutPrefix(l.digest, "sha256:")
	if isSHA {
		ac.Expected = strings.ToLower(want)
	}
	if l.damage != nil {
		ac.Error = l.damage.Error()
	}
	files := strings.Join(ac.Files, ", ")
	var out []Finding
	switch {
	case !l.done || l.sum == "":
		ac.Status = "incomplete"
	case !isSHA:
		ac.Status = "unchecked"
	case l.mismatch():
		ac.Status = "mismatch"
		out = append(out, Finding{Check: CheckSHA256, Layer: l.digest, Files: ac.Files, Expected: ac.Expected, Actual: l.sum,
			Message: fmt.Sprintf("sha256 %s of the layer's bytes, expected %s (its digest); the layer holds %s", l.sum, ac.Expected, files)})
	case l.damage != nil:
		ac.Status = "damaged"
	default:
		ac.Status = "ok"
	}
	if d := l.damage; d != nil {
		out = append(out, Finding{Check: CheckArchive, Layer: l.digest, File: d.File, Offset: d.Offset, Files: ac.Files,
			Message: fmt.Sprintf("the layer does not decompress or is not a valid tar archive, at %s: %v; the layer holds %s", damageWhere(d), d.Err, files)})
	}
	return ac, out
}

// damageWhere says where a layer's damage showed.
func damageWhere(d *hub.LayerError) string {
	if d.File == "" {
		return fmt.Sprintf("offset %d of the uncompressed archive, between files", d.Offset)
	}
	return fmt.Sprintf("offset %d of file %s", d.Offset, d.File)
}

package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// layerFile is a file inside a streamed layer (see
// [OCISource.StreamedLayer]) opened for reading: the front kept when the
// source was listed is served from memory, and a read beyond it streams
// the layer from its start ([OCISource.StreamLayer]) to the file and on
// through it. A reader going forward, as dump and the spot-check's row
// reads mostly do, costs one stream of the layer up to where it stops; a
// read behind the stream's position starts it anew. Reads are serialized.
type layerFile struct {
	*prefixFile
	s      *OCISource
	ctx    context.Context
	digest string

	mu  sync.Mutex
	cur *memberStream // the running stream, nil before the first read past the front
}

// memberStream is one stream of the layer, positioned in the file.
type memberStream struct {
	pr     *io.PipeReader
	pos    int64 // the offset in the file of the next byte pr gives
	cancel context.CancelFunc
	done   chan struct{}
}

// errStreamDone stops StreamLayer once the file is read: the rest of the
// layer is not needed.
var errStreamDone = errors.New("file read")

func (f *layerFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= 0 && off+int64(len(p)) <= int64(len(f.data)) {
		return f.prefixFile.ReadAt(p, off)
	}
	want, eof, err := clipRead(f.name, p, off, f.size)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == nil || off < f.cur.pos {
		f.stop()
		f.start()
	}
	c := f.cur
	if skip := off - c.pos; skip > 0 {
		n, err := io.CopyN(io.Discard, c.pr, skip)
		c.pos += n
		if err != nil {
			return 0, f.streamErr(err, c.pos)
		}
	}
	n, err := io.ReadFull(c.pr, want)
	c.pos += int64(n)
	if err != nil {
		return n, f.streamErr(err, c.pos)
	}
	return n, eof
}

// streamErr describes a stream that ended before the bytes asked for.
func (f *layerFile) streamErr(err error, pos int64) error {
	f.stop()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: offset %d: streaming layer %s: %w", f.name, pos, f.digest, err)
}

// start streams the layer in the background, its file's bytes into a pipe.
func (f *layerFile) start() {
	ctx, cancel := context.WithCancel(f.ctx)
	pr, pw := io.Pipe()
	c := &memberStream{pr: pr, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		found := false
		_, err := f.s.StreamLayer(ctx, f.digest, func(name string, size int64, r io.Reader) error {
			if name != f.name || found {
				return nil
			}
			found = true
			if _, err := io.Copy(pw, r); err != nil {
				return err
			}
			return errStreamDone
		})
		switch {
		case errors.Is(err, errStreamDone):
			pw.Close()
		case err == nil && !found:
			pw.CloseWithError(fmt.Errorf("no file %s in the layer: %w", f.name, ErrBadArchive))
		case err == nil:
			pw.Close()
		default:
			pw.CloseWithError(err)
		}
	}()
	f.cur = c
}

// stop ends the running stream, if any, and waits for it. f.mu is held.
func (f *layerFile) stop() {
	if c := f.cur; c != nil {
		c.pr.Close()
		c.cancel()
		<-c.done
		f.cur = nil
	}
}

// Close ends a running stream.
func (f *layerFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stop()
	return nil
}

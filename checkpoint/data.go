package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// ErrNoData is returned when tensor data is asked of a checkpoint loaded
// without a source to read it from.
var ErrNoData = errors.New("no tensor data")

// Codec converts a tensor's stored bytes to float32: the format's decoder
// for its dtype or ggml type, fixed when the codec is made.
type Codec struct {
	// Decode converts src, a whole number of rows, to dst, which must
	// hold their elements. It allocates nothing.
	Decode func(dst []float32, src []byte) error
	// RowBytes returns the bytes n elements take (n a whole number of
	// the type's blocks).
	RowBytes func(n int64) (int64, error)
}

// Codec returns the codec of tensor t, an entry of ck's inventory: an
// error naming the tensor when its type cannot be converted to float32.
func (ck *Checkpoint) Codec(t *Tensor) (Codec, error) {
	if ck.Format == FormatGGUF {
		typ, ok := gguf.ParseType(t.DType)
		if !ok || !typ.CanDequantize() {
			return Codec{}, fmt.Errorf("tensor %s: cannot dequantize %s", t.Name, t.DType)
		}
		return Codec{
			Decode:   func(dst []float32, src []byte) error { return gguf.Dequantize(typ, dst, src) },
			RowBytes: typ.RowSize,
		}, nil
	}
	dt, ok := safetensors.ParseDType(t.DType)
	if !ok || !dt.CanDecode() {
		return Codec{}, fmt.Errorf("tensor %s: cannot decode %s", t.Name, t.DType)
	}
	return Codec{
		Decode:   func(dst []float32, src []byte) error { return safetensors.Decode(dt, dst, src) },
		RowBytes: func(n int64) (int64, error) { return n * int64(dt.Bits()) / 8, nil },
	}, nil
}

// Reader reads tensor data of a checkpoint: it opens each file once,
// counts every byte read, and is safe for concurrent use. Close it when
// done.
type Reader struct {
	ck    *Checkpoint
	mu    sync.Mutex
	files map[string]hub.File
	read  atomic.Int64
}

// NewReader returns a reader of ck's tensor data, or [ErrNoData] when ck
// was loaded without a source.
func (ck *Checkpoint) NewReader() (*Reader, error) {
	if ck.src == nil {
		return nil, ErrNoData
	}
	return &Reader{ck: ck, files: map[string]hub.File{}}, nil
}

// Close closes the files opened.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, f := range r.files {
		errs = append(errs, f.Close())
	}
	r.files = map[string]hub.File{}
	return errors.Join(errs...)
}

// BytesRead returns the bytes read so far.
func (r *Reader) BytesRead() int64 { return r.read.Load() }

func (r *Reader) file(ctx context.Context, name string) (hub.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.files[name]; ok {
		return f, nil
	}
	f, err := r.ck.src.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	r.files[name] = f
	return f, nil
}

// ReadAt reads len(p) bytes of file at off, counting them. A short read
// is an error naming the file and the offset.
func (r *Reader) ReadAt(ctx context.Context, file string, p []byte, off int64) error {
	return r.readAt(ctx, file, p, off, false)
}

// readAt reads as ReadAt does; with exact set, through [hub.ReadExact]: a
// remote file fetches these bytes and no read-ahead.
func (r *Reader) readAt(ctx context.Context, file string, p []byte, off int64, exact bool) error {
	f, err := r.file(ctx, file)
	if err != nil {
		return err
	}
	var n int
	if exact {
		n, err = hub.ReadExact(f, p, off)
	} else {
		n, err = f.ReadAt(p, off)
	}
	r.read.Add(int64(n))
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: read %d bytes at offset %d: %w", file, len(p), off, err)
}

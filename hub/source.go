package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// FileInfo names one file of a source and gives its size in bytes.
type FileInfo struct {
	Name string // slash-separated path relative to the source's root
	Size int64
}

// File is an open file of a source. ReadAt follows the io.ReaderAt contract:
// a short read always comes with an error, and calls are safe for concurrent
// use.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Source is a set of named files: a local folder, an in-memory layout, a
// model repository. Implementations are safe for concurrent use.
type Source interface {
	// String names the source for messages, e.g. the path the user gave.
	String() string
	// List returns the files of the source, sorted by name.
	List(ctx context.Context) ([]FileInfo, error)
	// Open opens the named file read-only.
	Open(ctx context.Context, name string) (File, error)
}

// ErrNotExist is returned (wrapped) by Open when the source has no file of
// that name.
var ErrNotExist = errors.New("file does not exist")

// ReadFile reads a whole file of src, refusing files larger than limit bytes
// so that a hostile source cannot make the caller allocate without bound.
// A remote file read whole is kept in the header cache as its own header
// (see [RecordHeader]).
func ReadFile(ctx context.Context, src Source, name string, limit int64) ([]byte, error) {
	f, err := src.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Size() > limit {
		return nil, &LimitError{Name: name, Size: f.Size(), Limit: limit}
	}
	parsed := RecordHeader(f)
	buf := make([]byte, f.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && f.Size() == 0) {
		return nil, err
	}
	parsed(f.Size())
	return buf, nil
}

// LimitError reports a file that is larger than the caller is willing to
// read whole.
type LimitError struct {
	Name        string
	Size, Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("file %s is %d bytes, over the limit of %d", e.Name, e.Size, e.Limit)
}

var _ error = (*LimitError)(nil)

// Path names file name of src for messages: the local path where there is
// one, otherwise the source's name and the file's.
func Path(src Source, name string) string {
	if p, ok := src.(interface{ Path(string) string }); ok {
		return p.Path(name)
	}
	return src.String() + "/" + name
}

// clipRead checks a ReadAt of len(p) bytes at off in the file name of size
// bytes, as io.ReaderAt has it: it returns the part of p the file fills,
// with io.EOF when that is short of p; or an error for a negative offset,
// and io.EOF for one at or past the end, when there is nothing to read.
func clipRead(name string, p []byte, off, size int64) (want []byte, eof, err error) {
	switch {
	case off < 0:
		return nil, nil, fmt.Errorf("%s: read at negative offset %d", name, off)
	case off >= size:
		return nil, nil, io.EOF
	case int64(len(p)) > size-off:
		return p[:size-off], io.EOF, nil
	}
	return p, nil, nil
}

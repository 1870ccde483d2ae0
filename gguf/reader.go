package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// reader reads little-endian fields through a bufio.Reader and tracks the
// absolute offset itself. Its errors are *FormatErrors without a Field; the
// caller fills it in.
type reader struct {
	br      *bufio.Reader
	bufSize int
	off     int64 // absolute offset of the next unread byte
	size    int64 // declared file size
	end     int64 // where the header must end: size, or the header cap
	nested  int64 // arrays read inside arrays, against maxNestedArrays
	names   names // the keys and tensor names
	o       *options
}

func newReader(r io.ReaderAt, size int64, o *options) *reader {
	end := min(size, o.maxHeaderLen)
	n := int(min(int64(o.bufferSize), max(end, 16)))
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, end), n)
	return &reader{br: br, bufSize: br.Size(), size: size, end: end, o: o}
}

// remaining returns the bytes the header may still take.
func (r *reader) remaining() int64 { return r.end - r.off }

// short returns what stops a field that does not fit in the bytes the
// header may still take: the end of the file ([ErrTruncated]) when inFile
// says it does not fit there either, else the header cap ([ErrLimit]).
func (r *reader) short(inFile func(left int64) bool) error {
	if r.end < r.size && inFile(r.size-r.off) {
		return ErrLimit
	}
	return ErrTruncated
}

// left describes the bytes the header may still take, for messages.
func (r *reader) left() string {
	if r.end < r.size {
		return fmt.Sprintf("%d bytes left under the %d-byte header cap", r.remaining(), r.o.maxHeaderLen)
	}
	return fmt.Sprintf("%d bytes left", r.remaining())
}

// errAt returns a *FormatError at off with an empty Field.
func errAt(off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Err: fmt.Errorf(format, args...)}
}

// withField sets the Field of a *FormatError that has none yet.
func withField(err error, field string) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Field == "" {
		fe.Field = field
	}
	return err
}

// prefix adds context to the cause of a *FormatError: "what: cause".
func prefix(err error, format string, args ...any) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		fe.Err = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), fe.Err)
	}
	return err
}

// truncated reports that what, which needs n bytes, does not fit in the file.
func (r *reader) truncated(what string, n int64) error {
	cut := r.short(func(left int64) bool { return n <= left })
	return errAt(r.off, "%s: %w: needs %d bytes, %s", what, cut, n, r.left())
}

// readErr turns an error of the underlying reader into a *FormatError.
func (r *reader) readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errAt(r.off, "%s: %w: the reader ended before the declared size %d", what, ErrTruncated, r.size)
	}
	return errAt(r.off, "%s: read: %w", what, err)
}

// next returns the next n bytes (n <= r.bufSize) and consumes them. The
// slice is valid until the next read.
func (r *reader) next(n int, what string) ([]byte, error) {
	if r.remaining() < int64(n) {
		return nil, r.truncated(what, int64(n))
	}
	b, err := r.br.Peek(n)
	if err != nil {
		return nil, r.readErr(what, err)
	}
	r.consume(n)
	return b, nil
}

// consume skips n bytes known to be buffered.
func (r *reader) consume(n int) {
	_, _ = r.br.Discard(n) // cannot fail: the bytes are buffered
	r.off += int64(n)
}

// window returns all buffered bytes, filling the buffer first if fewer than
// need (<= r.bufSize, <= r.remaining()) are buffered.
func (r *reader) window(need int, what string) ([]byte, error) {
	if r.br.Buffered() < need {
		if _, err := r.br.Peek(need); err != nil {
			return nil, r.readErr(what, err)
		}
	}
	b, _ := r.br.Peek(r.br.Buffered())
	return b, nil
}

func (r *reader) u32(what string) (uint32, error) {
	b, err := r.next(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64(what string) (uint64, error) {
	b, err := r.next(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// strLen reads a string's u64 length prefix and checks it against the bytes
// left and maxLen.
func (r *reader) strLen(what string, maxLen int64) (int64, error) {
	lenOff := r.off
	n, err := r.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()) {
		cut := r.short(func(left int64) bool { return n <= uint64(left) })
		return 0, errAt(lenOff, "%s: %w: length %d, but %s", what, cut, n, r.left())
	}
	if n > uint64(maxLen) {
		return 0, errAt(lenOff, "%s: %w: length %d, at most %d allowed", what, ErrLimit, n, maxLen)
	}
	return int64(n), nil
}

// name reads a length-prefixed key or tensor name (at most maxNameLen
// bytes) into r.names.
func (r *reader) name(what string) (string, error) {
	n, err := r.strLen(what, maxNameLen)
	if err != nil {
		return "", err
	}
	if n > int64(r.bufSize) {
		var sb strings.Builder
		sb.Grow(int(n))
		if err := r.copyTo(&sb, n, what); err != nil {
			return "", err
		}
		return sb.String(), nil
	}
	b, err := r.next(int(n), what)
	if err != nil {
		return "", err
	}
	return r.names.copy(b, r.remaining()), nil
}

// names copies many short strings into a few large blocks: one
// allocation per block instead of one per name, without size-class
// rounding. Its zero value is ready to use.
type names struct {
	b strings.Builder
}

// namesBlock is the size of a block of names.
const namesBlock = 64 << 10

// copy returns b as a string in the current block, or in a new one of
// at most namesBlock bytes, fewer when the names to come take at most
// left bytes.
func (a *names) copy(b []byte, left int64) string {
	if a.b.Cap()-a.b.Len() < len(b) {
		// The names handed out keep the old block: the builder only
		// appends, so the bytes they point at are never written again.
		a.b = strings.Builder{}
		a.b.Grow(max(int(min(namesBlock, left)), len(b)))
	}
	start := a.b.Len()
	a.b.Write(b)
	return a.b.String()[start:]
}

// str reads a length-prefixed string of at most maxLen bytes.
func (r *reader) str(what string, maxLen int64) (string, error) {
	n, err := r.strLen(what, maxLen)
	if err != nil {
		return "", err
	}
	if n <= int64(r.bufSize) {
		b, err := r.next(int(n), what)
		return string(b), err
	}
	var sb strings.Builder
	sb.Grow(int(n))
	if err := r.copyTo(&sb, n, what); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// copyTo writes the next n bytes (n <= r.remaining()) to sb, a
// strings.Builder, a hash or io.Discard, which never fail, in buffer-sized
// pieces.
func (r *reader) copyTo(sb io.Writer, n int64, what string) error {
	for n > 0 {
		k := int(min(n, int64(r.bufSize)))
		b, err := r.next(k, what)
		if err != nil {
			return err
		}
		sb.Write(b)
		n -= int64(k)
	}
	return nil
}

// full reads exactly len(b) bytes (len(b) <= r.remaining()) into b.
func (r *reader) full(b []byte, what string) error {
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	if err != nil {
		return r.readErr(what, err)
	}
	return nil
}

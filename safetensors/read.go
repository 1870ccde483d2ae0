package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"
)

// Read parses and validates the header of the safetensors file of size bytes
// that r holds. It reads only the 8-byte length prefix and the JSON header
// (two ReadAt calls for a header of up to 1 MiB, one more per MiB beyond),
// and enforces every rule listed in the package documentation. A problem in the file is reported as a [*FormatError]
// wrapping a category sentinel; an error from r is returned wrapped.
//
// The strings in the returned File are substrings of one copy of the header,
// which stays in memory as long as any of them does. Read is safe for
// concurrent use if r is.
func Read(r io.ReaderAt, size int64, opts ...Option) (*File, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	n, err := readHeaderLen(r, size, o.maxHeaderLen)
	if err != nil {
		return nil, err
	}
	header, err := readHeader(r, n)
	if err != nil {
		return nil, err
	}
	f := &File{Size: size, HeaderLen: n}
	if err := decodeHeader(f, header, o); err != nil {
		return nil, err
	}
	return f, nil
}

// readChunk is the most readHeader reads at once.
const readChunk = 1 << 20

// readHeader reads the n-byte JSON header into a string, in reads of at
// most readChunk bytes straight into the string's bytes: the header is
// held once, and copied once, by r.
func readHeader(r io.ReaderAt, n int64) (string, error) {
	if n == 0 {
		return "", nil
	}
	buf := make([]byte, n)
	for off := int64(0); off < n; {
		p := buf[off:min(n, off+readChunk)]
		if err := readFull(r, p, 8+off); err != nil {
			return "", err
		}
		off += int64(len(p))
	}
	// buf is written no more and dropped: the string is its only
	// reference, as strings.Builder.String makes one.
	return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
}

// Open reads the header of the safetensors file at path; see [Read]. The
// file is opened read-only and closed before Open returns. Errors name the
// path.
func Open(path string, opts ...Option) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Read(fd, st.Size(), opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// readHeaderLen reads and checks the 8-byte length prefix.
func readHeaderLen(r io.ReaderAt, size, maxLen int64) (int64, error) {
	if size < 8 {
		return 0, &FormatError{Offset: 0, Field: "header length",
			Err: fmt.Errorf("file is %d bytes, shorter than the 8-byte length prefix: %w", size, ErrTruncated)}
	}
	var p [8]byte
	if err := readFull(r, p[:], 0); err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint64(p[:])
	if n > uint64(maxLen) {
		return 0, &FormatError{Offset: 0, Field: "header length",
			Err: fmt.Errorf("%d bytes is over the %d-byte cap: %w", n, maxLen, ErrLimit)}
	}
	if n > uint64(size-8) {
		return 0, &FormatError{Offset: 0, Field: "header length",
			Err: fmt.Errorf("%d bytes is more than the %d bytes after the length prefix: %w", n, size-8, ErrTruncated)}
	}
	return int64(n), nil
}

// readFull fills p from r at off. A short read at the end of r is reported
// as ErrTruncated, any other failure as a wrapped I/O error.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Offset: off + int64(n), Field: "header",
			Err: fmt.Errorf("read %d of %d bytes: %w", n, len(p), ErrTruncated)}
	}
	return fmt.Errorf("safetensors: read %d bytes at offset %d: %w", len(p), off, err)
}

package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"unsafe"
)

// Read parses and validates the header of the safetensors file of size bytes
// that r holds. It reads only the 8-byte length prefix and the JSON header
// (two ReadAt calls for a header of up to 1 MiB, one more per MiB beyond),
// and enforces every rule listed in the package documentation. A problem in the file is reported as a [*FormatError]
// wrapping a category sentinel; an error from r is returned wrapped.
//
// A header of up to 1 MiB is read into a buffer reused by later calls and
// the strings of the returned File are copied out of it into one block; a
// longer one is held, and they are substrings of it. Read is safe for
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
	f := &File{Size: size, HeaderLen: n}
	if n <= pooledHeaderLen {
		// Most headers (a shard's is tens of KiB) are read into a buffer
		// reused from file to file, and what the File keeps of them (the
		// names, the metadata) is copied out into one block: for the
		// 118 shards of a 235B checkpoint 1.9 MB kept of 5.3 MB read,
		// and the rest never takes fresh memory.
		bp := headerBufs.Get().(*[]byte)
		defer headerBufs.Put(bp)
		buf := (*bp)[:n]
		if err := readInto(r, buf, 0); err != nil {
			return nil, err
		}
		o.detach = true
		if err := decodeHeader(f, unsafe.String(unsafe.SliceData(buf), len(buf)), o); err != nil {
			return nil, err
		}
		return f, nil
	}
	header, err := readHeader(r, n, o.maxTensors)
	if err != nil {
		return nil, err
	}
	if err := decodeHeader(f, header, o); err != nil {
		return nil, err
	}
	return f, nil
}

// pooledHeaderLen is the longest header read into a reused buffer.
const pooledHeaderLen = 1 << 20

// headerBufs holds the reused header buffers, pooledHeaderLen bytes each:
// one per concurrent Read. The bytes are never zeroed: a fresh buffer's
// pages are taken only as far as headers fill them.
var headerBufs = sync.Pool{New: func() any {
	b := make([]byte, pooledHeaderLen)
	return &b
}}

// readChunk is the most readHeader reads at once.
const readChunk = 1 << 20

// readHeader reads the n-byte JSON header into a string, in reads of at
// most readChunk bytes straight into the string's bytes: the header is
// held once, and copied once, by r.
//
// A header long enough to hold more than maxTensors entries (each takes at
// least minEntryLen bytes) is counted while it streams in, into a buffer
// that grows as it fills: one with more top-level keys than maxTensors
// tensors and a __metadata__ is refused at the first key too many, having
// read and held only what comes before it (a 100 MiB header of tiny
// entries stops after about 13 MiB at the default cap), instead of being
// read whole and decoded up to the cap. Once what is left cannot hold
// enough entries to pass the cap, the rest is read in one go.
func readHeader(r io.ReaderAt, n int64, maxTensors int) (string, error) {
	if n == 0 {
		return "", nil
	}
	limit := int64(maxTensors) + 1 // the tensors and __metadata__
	// fits reports whether the bytes from off on cannot hold enough new
	// keys to pass the limit: a tensor entry takes minEntryLen bytes, and
	// __metadata__ may be one more.
	fits := func(keys, off int64) bool { return keys+(n-off)/minEntryLen+1 <= limit }
	if fits(0, 0) {
		buf := make([]byte, n)
		if err := readInto(r, buf, 0); err != nil {
			return "", err
		}
		return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
	}
	// Count in chunks held apart, then join them once the count is done:
	// a refused header costs what was read before its key too many.
	c := keyCounter{limit: limit}
	var chunks [][]byte
	off := int64(0)
	for ; off < n && !fits(c.keys, off); off = min(n, off+readChunk) {
		p := make([]byte, min(n-off, readChunk))
		if err := readFull(r, p, 8+off); err != nil {
			return "", err
		}
		if err := c.feed(p, off); err != nil {
			return "", err
		}
		chunks = append(chunks, p)
	}
	buf := make([]byte, n)
	for i, p := range chunks {
		copy(buf[int64(i)*readChunk:], p)
		chunks[i] = nil
	}
	if err := readInto(r, buf[off:], off); err != nil {
		return "", err
	}
	// buf is written no more and dropped: the string is its only
	// reference, as strings.Builder.String makes one.
	return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
}

// readInto fills buf from r at 8 (the header's start) + off, in reads of at
// most readChunk bytes.
func readInto(r io.ReaderAt, buf []byte, off int64) error {
	for i := int64(0); i < int64(len(buf)); {
		p := buf[i:min(int64(len(buf)), i+readChunk)]
		if err := readFull(r, p, 8+off+i); err != nil {
			return err
		}
		i += int64(len(p))
	}
	return nil
}

// keyCounter counts the keys of the header's top-level object as the
// header streams in, chunk by chunk: enough JSON to find them (strings,
// escapes, nesting), not to validate (the decoder does). It fails at the
// key that makes more than limit.
type keyCounter struct {
	limit   int64
	keys    int64
	depth   int
	inStr   bool
	escaped bool
	wantKey bool   // at depth 1, after '{' or ','
	inKey   bool   // the string being read is a top-level key
	keyAt   int64  // where that key starts in the header
	key     []byte // its first bytes, for the error
}

// maxKeyShown is how much of a key an error quotes.
const maxKeyShown = 40

// feed counts the keys in p, which starts at off in the header.
func (c *keyCounter) feed(p []byte, off int64) error {
	for i, b := range p {
		if c.inStr {
			switch {
			case c.escaped:
				c.escaped = false
			case b == '\\':
				c.escaped = true
			case b == '"':
				c.inStr = false
				if c.inKey {
					c.inKey = false
					if c.keys > c.limit {
						return c.refuse()
					}
				}
				continue
			}
			if c.inKey && len(c.key) <= maxKeyShown {
				c.key = append(c.key, b)
			}
			continue
		}
		switch b {
		case '"':
			c.inStr = true
			if c.depth == 1 && c.wantKey {
				c.wantKey, c.inKey = false, true
				c.keys++
				c.keyAt, c.key = off+int64(i), c.key[:0]
			}
		case '{', '[':
			c.depth++
			c.wantKey = c.depth == 1 && b == '{'
		case '}', ']':
			c.depth--
		case ',':
			c.wantKey = c.depth == 1
		}
	}
	return nil
}

// refuse reports the key over the limit.
func (c *keyCounter) refuse() *FormatError {
	name := string(c.key)
	if len(c.key) > maxKeyShown {
		name = name[:maxKeyShown] + "..."
	}
	return &FormatError{Offset: 8 + c.keyAt, Field: tensorField(name),
		Err: fmt.Errorf("the header has more than %d tensors (counted as it was read): %w", c.limit-1, ErrLimit)}
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

package safetensors

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
	"unsafe"
)

// indexWindow is the size of the window an index is read in, and of each
// read that fills it.
const indexWindow = 64 << 10

// stream feeds a scanner a document read from r in windows, so that a
// document is parsed without being held whole. The parser cuts it into
// units (an index entry, the metadata object) and runs each with
// [stream.unit]: a unit that reaches the end of the window before the end
// of the document runs again from its start once more has been read, in a
// window twice as large when the unit filled the last one. So only the
// largest unit, not the document, has to fit in memory, and what a unit
// keeps must not point into the window: the parser copies it out (see
// arena).
type stream struct {
	sc     scanner // over the window; sc.base is the window's offset
	r      io.Reader
	window int    // the least bytes a window holds, when there are as many
	field  string // the Field of the errors of reading and of UTF-8
	size   int64  // the document's length
	read   int64  // bytes read from r so far
	buf    []byte // the window's bytes, reused between windows
	valid  int    // bytes of the window checked for UTF-8
	// bad is the first invalid UTF-8 byte found, reported when the parser
	// reaches it: so the first problem in the document is reported, as
	// when the document is read in one window, whatever the windows.
	bad *FormatError
}

// newStream returns a stream over the size bytes of r, read window bytes
// at a time, positioned before the first byte. field names the document in
// the errors of reading it and of invalid UTF-8.
func newStream(r io.Reader, size int64, window int, field string) *stream {
	return &stream{r: r, size: size, window: window, field: field, sc: scanner{more: size > 0}}
}

// done reports whether the window reaches the end of the document.
func (st *stream) done() bool { return st.read == st.size }

// unit runs parse from the cursor. When parse fails at the end of a
// window that does not end the document, unit reads more and runs it
// again from the same place; parse must therefore leave no trace before it
// succeeds, or leave the same on every run. A unit longer than limit
// bytes fails with [ErrLimit] at its start: what names it in the message. An
// error reading r is returned wrapped, not as a [*FormatError].
func (st *stream) unit(what string, limit int, parse func() *FormatError) error {
	for {
		start := st.sc.i
		st.sc.hitEnd = false
		err := parse()
		// It needs more input when it stopped at the end of the window, or
		// at a byte not checked as UTF-8 yet (the start of a rune the
		// window cuts short), which decides what the problem is.
		more := err != nil && !st.done() && (st.sc.hitEnd || err.Offset >= st.sc.base+int64(st.valid))
		reached := st.sc.base + int64(st.sc.i) // past the last byte it consumed
		switch {
		case more:
			reached = st.sc.base + int64(len(st.sc.s))
		case err != nil:
			reached = err.Offset + 1
		}
		if st.bad != nil && st.bad.Offset < reached && (!more || len(st.sc.s)-start > limit) {
			return st.bad // an invalid byte comes first
		}
		switch {
		case err == nil && st.sc.i-start <= limit:
			return nil
		case err == nil || more && len(st.sc.s)-start > limit:
			return st.sc.errf(start, ErrLimit, "%s is over the %d-byte cap", what, limit)
		case !more:
			return err
		}
		if err := st.fill(start); err != nil {
			return err
		}
	}
}

// fill drops the window's bytes before keep, moves the cursor to keep and
// reads more: the window grows to twice what it keeps when that is more
// than st.window. A document that ends early is an [ErrTruncated].
func (st *stream) fill(keep int) error {
	sc := &st.sc
	tail := len(sc.s) - keep
	want := int(min(int64(max(st.window, 2*tail)), int64(tail)+st.size-st.read))
	if cap(st.buf) < want {
		st.buf = make([]byte, 0, want)
	}
	b := append(st.buf[:0], sc.s[keep:]...)
	n := int(min(int64(want-tail), st.size-st.read))
	k, err := io.ReadFull(st.r, b[tail:tail+n])
	st.read += int64(k)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &FormatError{Offset: st.read, Field: st.field, Err: fmt.Errorf("read %d of %d bytes: %w", st.read, st.size, ErrTruncated)}
		}
		return fmt.Errorf("safetensors: read at offset %d: %w", st.read, err)
	}
	b = b[:tail+k]
	sc.base += int64(keep)
	// The window is read as a string over buf itself, not a copy of it:
	// the next fill writes buf over, which nothing minds, as nothing
	// keeps a string of the window (see stream). A copy per window would
	// take fresh memory for the whole document, a few MB for a large
	// index, which costs more than parsing it when a process starts.
	sc.s = unsafe.String(unsafe.SliceData(b), len(b))
	sc.i = 0
	sc.more = !st.done()
	st.buf = b
	st.valid = max(st.valid-keep, 0)
	st.checkUTF8()
	return nil
}

// first returns the first problem in the document: err, found by the
// parser at its offset, or an invalid UTF-8 byte found before it.
func (st *stream) first(err *FormatError) *FormatError {
	if st.bad != nil && st.bad.Offset <= err.Offset {
		return st.bad
	}
	return err
}

// checkUTF8 checks the window's bytes not checked yet, but for a rune
// that the window cuts short, and records the first invalid one in st.bad.
func (st *stream) checkUTF8() {
	s := st.sc.s
	end := len(s)
	if st.sc.more {
		// Leave out a last rune that may be cut short: it is checked
		// whole in the next window.
		for k := 1; k <= utf8.UTFMax && end-k >= st.valid; k++ {
			if utf8.RuneStart(s[end-k]) {
				if !utf8.FullRuneInString(s[end-k:]) {
					end -= k
				}
				break
			}
		}
	}
	part := scanner{s: s[st.valid:end], base: st.sc.base + int64(st.valid)}
	if err := part.validUTF8(); err != nil && st.bad == nil {
		err.Field = st.field
		st.bad = err
	}
	st.valid = end
}

// arena copies strings out of windows into large shared blocks, so that
// many small strings cost one allocation per block instead of one each,
// and none keeps a window alive.
type arena struct {
	block []byte        // the current block: only ever appended to
	ready <-chan []byte // blocks a prefaulter made ready, or nil
}

// arenaBlock is the size of an arena's blocks.
const arenaBlock = 64 << 10

// copy returns a copy of s.
func (a *arena) copy(s string) string {
	if s == "" {
		return ""
	}
	if cap(a.block)-len(a.block) < len(s) {
		// Strings already handed out keep the old block.
		a.block = nil
		if len(s) <= arenaBlock && a.ready != nil {
			a.block = <-a.ready // nil once the prefaulter has stopped
		}
		if a.block == nil {
			a.block = make([]byte, 0, max(arenaBlock, len(s)))
		}
	}
	start := len(a.block)
	a.block = append(a.block, s...) // within capacity: never moves
	return unsafe.String(&a.block[start], len(s))
}

// prefault makes the arena take its blocks from a goroutine that writes
// a byte of each page of the next block before it is needed, a few
// blocks ahead, until stop is closed. A process that fills an arena of
// megabytes (the 235B index's 36,945 names take 1.8 MB) otherwise takes
// the page faults of fresh memory one by one on its critical path; on a
// virtual machine where a fault costs 10-40 µs that is most of the time
// an index takes to read. The goroutine runs on another core when there
// is one: a parse that waits for nothing else gains the most.
func (a *arena) prefault(stop <-chan struct{}) {
	ready := make(chan []byte, 1)
	a.ready = ready
	go func() {
		defer close(ready)
		for {
			b := make([]byte, arenaBlock)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 0 // the page is the process's now
			}
			select {
			case ready <- b[:0]:
			case <-stop:
				return
			}
		}
	}()
}

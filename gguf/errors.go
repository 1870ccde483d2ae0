package gguf

import (
	"errors"
	"fmt"
)

// Category sentinels. Every [*FormatError] returned by [Read] wraps exactly
// one of them, except when the underlying io.ReaderAt fails with an error
// other than io.EOF: then it wraps that error. Test with [errors.Is].
var (
	// ErrNotGGUF means the file does not start with the magic "GGUF". The
	// message names the obsolete GGML, GGMF and GGJT magics when it sees one.
	ErrNotGGUF = errors.New("not a GGUF file")

	// ErrUnsupportedVersion means the header's version is not 2 or 3: version
	// 1 (an obsolete layout with 32-bit counts), 0, or a version newer than 3.
	ErrUnsupportedVersion = errors.New("unsupported GGUF version")

	// ErrByteOrder means the file appears to be written in the other byte
	// order: the version's low 16 bits are zero (e.g. 3 read as 0x03000000)
	// or the magic is byte-swapped.
	ErrByteOrder = errors.New("big-endian or byte-swapped file")

	// ErrTruncated means the file ends before a field is complete, or a count
	// or length claims more bytes than are left in the file, or the
	// io.ReaderAt returned fewer bytes than the declared size promised.
	ErrTruncated = errors.New("truncated")

	// ErrLimit means a count, length or nesting depth exceeds a cap of this
	// package (see the With... options), or the header reaches past the cap
	// on its length ([WithMaxHeaderLen]) or holds more than 65,536 arrays
	// inside arrays, even though the file might hold it.
	ErrLimit = errors.New("limit exceeded")

	// ErrOverflow means arithmetic on a declared size overflows int64: a
	// tensor's element count or byte size, or an offset plus a size.
	ErrOverflow = errors.New("integer overflow")

	// ErrInvalid means a field breaks a format rule not covered by a more
	// specific sentinel: an empty or non-UTF-8 key, an empty tensor name, a
	// bool byte other than 0 or 1, more than 4 dimensions, a dimension above
	// 2^63-1, or a row length that is not a multiple of the type's block size.
	ErrInvalid = errors.New("invalid value")

	// ErrUnknownType means a type id is not one this package knows: a
	// metadata value type above 12, or a ggml tensor type that ggml does not
	// define or has removed (see [Type.Removed]).
	ErrUnknownType = errors.New("unknown type")

	// ErrDuplicate means a metadata key or a tensor name occurs twice (in one
	// file, or across the parts of a split set).
	ErrDuplicate = errors.New("duplicate")

	// ErrAlignment means general.alignment is not a u32, is zero or is not a
	// power of two, or a tensor's offset is not a multiple of the alignment.
	ErrAlignment = errors.New("bad alignment")

	// ErrBounds means a tensor's data lies (partly) past the end of the file.
	ErrBounds = errors.New("out of bounds")

	// ErrOverlap means the data ranges of two tensors overlap.
	ErrOverlap = errors.New("overlapping tensors")

	// ErrNotFound means a metadata key or tensor asked for is not in the file.
	ErrNotFound = errors.New("not found")

	// ErrWrongType means a metadata key holds a value of another type than
	// the one asked for.
	ErrWrongType = errors.New("wrong value type")

	// ErrSplit means the parts given to [CheckSplit] do not form one
	// consistent split set.
	ErrSplit = errors.New("inconsistent split set")

	// ErrNotKept means an array's elements were asked for (by
	// [File.GetStrings] or [EncodeHeader]) that [Read] checked but did
	// not keep (see [WithKeptArrayLen]).
	ErrNotKept = errors.New("array elements not kept")
)

// FormatError reports a malformed file: the absolute byte offset of the field
// at fault, the field (`header`, `key "general.alignment"`, `tensor
// "blk.0.attn_q.weight"`, or `kv #3` / `tensor #3` before the name is
// known), and the cause, which wraps one of the Err... sentinels (or an I/O
// error of the underlying reader).
type FormatError struct {
	Offset int64  // absolute byte offset in the file of the field at fault
	Field  string // what the field belongs to
	Err    error  // the cause; wraps a sentinel
}

var _ error = (*FormatError)(nil)

// Error renders the error as `offset 1234: tensor "x": dims: ...`.
func (e *FormatError) Error() string {
	return fmt.Sprintf("offset %d: %s: %v", e.Offset, e.Field, e.Err)
}

// Unwrap returns the cause, so that errors.Is(err, ErrTruncated) works.
func (e *FormatError) Unwrap() error { return e.Err }

// SplitError reports a split set that does not hang together: the 0-based
// index of the part at fault, the key or tensor concerned, and the cause,
// which wraps [ErrSplit], [ErrNotFound], [ErrWrongType] or [ErrDuplicate].
type SplitError struct {
	Part  int    // 0-based index into the parts given to CheckSplit
	Field string // e.g. `key "split.no"` or `tensor "output.weight"`
	Err   error
}

var _ error = (*SplitError)(nil)

// Error renders the error as `part 2: key "split.no": ...`.
func (e *SplitError) Error() string {
	return fmt.Sprintf("part %d: %s: %v", e.Part, e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *SplitError) Unwrap() error { return e.Err }

// keyField and tensorField spell the FormatError.Field of a key or tensor.
func keyField(key string) string     { return fmt.Sprintf("key %q", key) }
func tensorField(name string) string { return fmt.Sprintf("tensor %q", name) }

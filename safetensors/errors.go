package safetensors

import (
	"errors"
	"fmt"
)

// Category sentinels. Every error that [Read], [ParseIndex] and
// [File.TensorReader] return for bad input wraps exactly one of them.
var (
	// ErrTruncated means the file ends before something it declares: it is
	// shorter than the 8-byte length prefix, shorter than the header the
	// prefix announces, or shorter than a tensor's data_offsets reach.
	ErrTruncated = errors.New("truncated file")

	// ErrLimit means a limit was exceeded: the header length is above the
	// cap set by [WithMaxHeaderLen], the header holds more tensors than
	// [WithMaxTensors] allows, a shape has more than 64 dimensions,
	// __metadata__ more than 65,536 entries, JSON nests deeper than 64
	// levels, or an index is over [MaxIndexLen] bytes, lists more than
	// [MaxIndexEntries] tensors, or has a weight_map entry, a metadata
	// object or another key's value over 1 MiB.
	ErrLimit = errors.New("limit exceeded")

	// ErrSyntax means the header (or index) is not valid JSON: invalid UTF-8,
	// a bad escape or unpaired surrogate, a control character in a string, a
	// malformed number or literal, an unexpected end, or data after the
	// top-level value.
	ErrSyntax = errors.New("invalid JSON")

	// ErrSchema means the JSON is well formed but does not follow the
	// format: the top level is not an object, a value has the wrong type, a
	// dtype is unknown, a key is unknown, missing or duplicated, or a shape
	// or offset is negative or not an integer.
	ErrSchema = errors.New("schema violation")

	// ErrOverflow means a number does not fit in an int64, or a tensor's
	// element count or size in bits does.
	ErrOverflow = errors.New("integer overflow")

	// ErrSize means a tensor's byte range disagrees with its dtype and
	// shape: end-begin is not the element count times the dtype size, or the
	// data is not a whole number of bytes.
	ErrSize = errors.New("size mismatch")

	// ErrLayout means the tensors do not tile the data section: begin is
	// after end, or, sorted by offset, the tensors do not start at 0, leave a
	// gap, overlap, or stop before the end of the file.
	ErrLayout = errors.New("invalid data layout")

	// ErrUnsafePath means a shard name in an index could reach outside the
	// index's directory: it is empty or contains a path separator, "..",
	// "://", ":" or a control character.
	ErrUnsafePath = errors.New("unsafe shard name")

	// ErrNotFound means [File.TensorReader] was asked for a tensor the file
	// does not hold.
	ErrNotFound = errors.New("tensor not found")
)

// FormatError describes a problem in a safetensors file or index and where
// it is. Err wraps one of the category sentinels.
type FormatError struct {
	// Offset is the absolute byte offset of the problem in the file: 8 plus
	// the position in the JSON header for header problems, 0 for the length
	// prefix. For an index it is the position in the index JSON.
	Offset int64
	// Field names what is at fault, such as `header`, `header length`,
	// `tensor "model.norm.weight"`, `metadata "format"` or
	// `key "__metadata__"`.
	Field string
	// Err describes the problem and wraps a category sentinel.
	Err error
}

var _ error = (*FormatError)(nil)

// Error renders the error as "offset N: field: problem".
func (e *FormatError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("offset %d: %s: %v", e.Offset, e.Field, e.Err)
}

// Unwrap returns the underlying error, so that errors.Is finds the category
// sentinel.
func (e *FormatError) Unwrap() error { return e.Err }

// tensorField is the FormatError.Field for a tensor.
func tensorField(name string) string { return fmt.Sprintf("tensor %q", name) }

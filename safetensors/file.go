package safetensors

import (
	"fmt"
	"io"
	"iter"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	// Name is the tensor's key in the header.
	Name string
	// DType is the element type.
	DType DType
	// Shape lists the dimensions outermost first, as stored (PyTorch order).
	// After Read it is never nil: a scalar has an empty Shape. Shapes of one
	// File share a backing array; each has its capacity clipped to its
	// length, so appending to one never changes another.
	Shape []int64
	// Begin and End are the data_offsets: the tensor's bytes are
	// [Begin, End) relative to the start of the data section, that is at
	// absolute offsets [File.DataOffset()+Begin, File.DataOffset()+End).
	Begin, End int64
}

// Elements returns the number of elements, the product of Shape: 1 for a
// scalar and 0 when a dimension is 0. It returns -1 when a dimension is
// negative or the product overflows an int64, which cannot happen for a
// TensorInfo returned by Read.
func (t *TensorInfo) Elements() int64 {
	n, ok := checked.Product(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// Bytes returns the size of the tensor's data, End - Begin.
func (t *TensorInfo) Bytes() int64 { return t.End - t.Begin }

// File is the parsed header of a safetensors file. A File holds no reader
// and is safe for concurrent use once Read returns it, as long as no one
// modifies it.
type File struct {
	// Size is the file size in bytes.
	Size int64
	// HeaderLen is N, the length of the JSON header that follows the
	// 8-byte length prefix.
	HeaderLen int64
	// Missing is the number of bytes the header declares past the end of
	// the file. It is nonzero only when [WithPartialData] let a truncated
	// file through.
	Missing int64
	// Metadata is the "__metadata__" object; it is nil when the header has
	// none and empty when it is "{}".
	Metadata map[string]string
	// Tensors lists the tensors sorted by Begin (ties by End, then Name);
	// it is nil when the file has none.
	Tensors []TensorInfo
}

// DataOffset returns the absolute offset of the data section, 8 + HeaderLen.
func (f *File) DataOffset() int64 { return 8 + f.HeaderLen }

// Lookup returns the tensor called name. It scans f.Tensors, so callers that
// look up many tensors should build a map once.
func (f *File) Lookup(name string) (*TensorInfo, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// All returns an iterator over the tensors in the order of f.Tensors, with
// their indexes. The pointers point into f.Tensors.
func (f *File) All() iter.Seq2[int, *TensorInfo] {
	return func(yield func(int, *TensorInfo) bool) {
		for i := range f.Tensors {
			if !yield(i, &f.Tensors[i]) {
				return
			}
		}
	}
}

// TensorReader returns a reader over the bytes of the tensor called name,
// read from r, which must hold the file f was parsed from. It fails with
// [ErrNotFound] for an unknown name and with a [*FormatError] wrapping
// [ErrTruncated] or [ErrLayout] when the tensor's range is not inside
// f.Size, which cannot happen for an unmodified File from Read. The reader
// is as safe for concurrent use as r.
func (f *File) TensorReader(r io.ReaderAt, name string) (*io.SectionReader, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("safetensors: tensor %q: %w", name, ErrNotFound)
	}
	data := f.DataOffset()
	if f.HeaderLen < 0 || t.Begin < 0 || t.End < t.Begin {
		return nil, &FormatError{Offset: data, Field: tensorField(name),
			Err: fmt.Errorf("data_offsets [%d, %d] are invalid: %w", t.Begin, t.End, ErrLayout)}
	}
	begin, ok1 := checked.Add(data, t.Begin)
	end, ok2 := checked.Add(data, t.End)
	if !ok1 || !ok2 || end > f.Size {
		return nil, &FormatError{Offset: begin, Field: tensorField(name),
			Err: fmt.Errorf("data_offsets [%d, %d] reach past the end of the %d-byte file: %w",
				t.Begin, t.End, f.Size, ErrTruncated)}
	}
	return io.NewSectionReader(r, begin, end-begin), nil
}

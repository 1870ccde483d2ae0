package gguf

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name   string
	Dims   []int64 // ne order: ne[0], the contiguous dimension, first
	Type   Type
	Offset int64 // relative to the start of the data section
	Size   int64 // bytes, from Type.Bytes(Dims)
}

// Elements returns the number of elements, the product of Dims (1 for no
// dims), or -1 if a dim is negative or the product overflows an int64.
func (t *TensorInfo) Elements() int64 {
	n, ok := checked.Product(t.Dims)
	if !ok {
		return -1
	}
	return n
}

// checkRanges checks that every tensor's data is aligned, inside the file
// and overlaps no other tensor's. offOffs[i] is the absolute offset of
// tensor i's offset field, for errors. With partial, data past the end of
// the file is recorded in f.Missing instead.
func checkRanges(f *File, offOffs []int64, partial bool) error {
	sorted := true
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset%f.Alignment != 0 {
			return &FormatError{offOffs[i], tensorField(t.Name), fmt.Errorf("offset: %w: %d is not a multiple of the alignment %d", ErrAlignment, t.Offset, f.Alignment)}
		}
		start, ok1 := checked.Add(f.DataOffset, t.Offset)
		end, ok2 := checked.Add(start, t.Size)
		if !ok1 || !ok2 {
			return &FormatError{offOffs[i], tensorField(t.Name), fmt.Errorf("offset: %w: data section %d + offset %d + size %d", ErrOverflow, f.DataOffset, t.Offset, t.Size)}
		}
		if end > f.Size && partial {
			f.Missing = max(f.Missing, end-f.Size)
		} else if end > f.Size {
			return &FormatError{offOffs[i], tensorField(t.Name), fmt.Errorf("offset: %w: data [%d, %d) ends past the end of the file at %d", ErrBounds, start, end, f.Size)}
		}
		if i > 0 && t.Offset < f.Tensors[i-1].Offset {
			sorted = false
		}
	}
	order := make([]int, 0, len(f.Tensors))
	for i := range f.Tensors {
		if f.Tensors[i].Size > 0 { // empty ranges overlap nothing
			order = append(order, i)
		}
	}
	if !sorted {
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Or(cmp.Compare(f.Tensors[a].Offset, f.Tensors[b].Offset), cmp.Compare(a, b))
		})
	}
	last := -1 // the tensor reaching furthest so far
	for _, i := range order {
		t := &f.Tensors[i]
		if last >= 0 {
			p := &f.Tensors[last]
			if t.Offset < p.Offset+p.Size {
				return &FormatError{offOffs[i], tensorField(t.Name), fmt.Errorf("offset: %w: data [%d, %d) overlaps tensor %q at [%d, %d)",
					ErrOverlap, f.DataOffset+t.Offset, f.DataOffset+t.Offset+t.Size, p.Name, f.DataOffset+p.Offset, f.DataOffset+p.Offset+p.Size)}
			}
		}
		if last < 0 || t.Offset+t.Size > f.Tensors[last].Offset+f.Tensors[last].Size {
			last = i
		}
	}
	return nil
}

// Lookup returns the tensor named name.
func (f *File) Lookup(name string) (*TensorInfo, bool) {
	if i, ok := f.tensorIndex[name]; ok && i < len(f.Tensors) && f.Tensors[i].Name == name {
		return &f.Tensors[i], true
	}
	for i := range f.Tensors { // f was built or changed by hand
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// TensorReader returns a reader of the named tensor's bytes in r, which must
// read the same file f was read from. It checks the tensor's range against
// f.Size again, so a File built or changed by hand cannot reach past the
// file. The returned reader is safe for concurrent use if r is.
func (f *File) TensorReader(r io.ReaderAt, name string) (*io.SectionReader, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("tensor %q: %w", name, ErrNotFound)
	}
	start, ok1 := checked.Add(f.DataOffset, t.Offset)
	end, ok2 := checked.Add(start, t.Size)
	if !ok1 || !ok2 || end > f.Size {
		return nil, fmt.Errorf("tensor %q: %w: data at %d + %d, size %d, file size %d", name, ErrBounds, f.DataOffset, t.Offset, t.Size, f.Size)
	}
	return io.NewSectionReader(r, start, t.Size), nil
}

// CheckContiguous reports whether the tensors are laid out as llama.cpp
// requires to load the file: each tensor's offset equals the previous
// tensor's offset plus its size padded to the alignment, in file order,
// starting at 0. [Read] does not require this; it only forbids overlaps.
// The error wraps [ErrInvalid] and names the first tensor out of place.
func (f *File) CheckContiguous() error {
	var want int64
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset != want {
			return fmt.Errorf("tensor %q: %w: offset %d, llama.cpp expects %d", t.Name, ErrInvalid, t.Offset, want)
		}
		end, ok := checked.Add(t.Offset, t.Size)
		if ok {
			want, ok = checked.AlignUp(end, f.Alignment)
		}
		if !ok {
			return fmt.Errorf("tensor %q: %w: offset %d + size %d", t.Name, ErrOverflow, t.Offset, t.Size)
		}
	}
	return nil
}

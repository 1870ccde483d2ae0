package gguf

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// EncodeHeader builds a complete GGUF header: magic, version, counts, the
// key-value pairs and tensor infos in slice order, and zero padding to the
// alignment. The alignment is general.alignment from kvs (which must then be
// a u32 power of two) or 32.
//
// It assigns tensors[i].Size from the type and dims, and tensors[i].Offset
// so that the tensors follow each other in slice order, each starting at a
// multiple of the alignment, as llama.cpp writes them. The data section
// begins right after the returned header; dataSize is the end of the last
// tensor's data (unpadded), so a complete file has len(header)+dataSize
// bytes.
//
// EncodeHeader accepts everything [Read] accepts and rejects, with an error
// naming the key or tensor, what Read would reject for reasons other than
// the caps of its options: a version other than 2 or 3, empty, non-UTF-8 or
// duplicate keys, malformed values, empty or duplicate tensor names, more
// than 4 dims, and unknown types or row lengths that do not fit the type.
func EncodeHeader(version uint32, kvs []KV, tensors []TensorInfo) (header []byte, dataSize int64, err error) {
	if version != 2 && version != 3 {
		return nil, 0, fmt.Errorf("gguf: encode: %w: version %d, want 2 or 3", ErrUnsupportedVersion, version)
	}
	size := int64(4 + 4 + 8 + 8)
	alignment := int64(defaultAlignment)
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		if err := checkKey(kv.Key); err != nil {
			return nil, 0, fmt.Errorf("gguf: encode: key %q: %w", kv.Key, err)
		}
		if seen[kv.Key] {
			return nil, 0, fmt.Errorf("gguf: encode: key %q: %w", kv.Key, ErrDuplicate)
		}
		seen[kv.Key] = true
		n, err := encodedSize(kv.Value)
		if err != nil {
			return nil, 0, fmt.Errorf("gguf: encode: key %q: %w", kv.Key, err)
		}
		size += 8 + int64(len(kv.Key)) + 4 + n
		if kv.Key == keyAlignment {
			if alignment, err = alignmentOf(kv.Value); err != nil {
				return nil, 0, fmt.Errorf("gguf: encode: key %q: %w", kv.Key, err)
			}
		}
	}

	names := make(map[string]bool, len(tensors))
	var off int64
	for i := range tensors {
		t := &tensors[i]
		if err := checkTensorName(t.Name); err != nil {
			return nil, 0, fmt.Errorf("gguf: encode: tensor %d %q: %w", i, t.Name, err)
		}
		if names[t.Name] {
			return nil, 0, fmt.Errorf("gguf: encode: tensor %q: %w", t.Name, ErrDuplicate)
		}
		names[t.Name] = true
		if len(t.Dims) > maxDims {
			return nil, 0, fmt.Errorf("gguf: encode: tensor %q: %w: %d dims, at most %d", t.Name, ErrInvalid, len(t.Dims), maxDims)
		}
		if !t.Type.Known() {
			return nil, 0, fmt.Errorf("gguf: encode: tensor %q: %w", t.Name, t.Type.unknownTypeError())
		}
		n, err := t.Type.Bytes(t.Dims)
		if err != nil {
			return nil, 0, fmt.Errorf("gguf: encode: tensor %q: dims %v: %w", t.Name, t.Dims, err)
		}
		if i > 0 {
			var ok bool
			if off, ok = checked.AlignUp(off, alignment); !ok {
				return nil, 0, fmt.Errorf("gguf: encode: tensor %q: offset: %w", t.Name, ErrOverflow)
			}
		}
		t.Offset, t.Size = off, n
		end, ok := checked.Add(off, n)
		if !ok {
			return nil, 0, fmt.Errorf("gguf: encode: tensor %q: offset: %w", t.Name, ErrOverflow)
		}
		off = end
		size += 8 + int64(len(t.Name)) + 4 + 8*int64(len(t.Dims)) + 4 + 8
	}
	padded, _ := checked.AlignUp(size, alignment)

	b := make([]byte, 0, padded)
	b = append(b, ggufMagic...)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(tensors)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(kvs)))
	for _, kv := range kvs {
		b = appendString(b, kv.Key)
		b = binary.LittleEndian.AppendUint32(b, uint32(kv.Value.typ))
		b = appendValue(b, kv.Value)
	}
	for _, t := range tensors {
		b = appendString(b, t.Name)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(t.Dims)))
		for _, d := range t.Dims {
			b = binary.LittleEndian.AppendUint64(b, uint64(d))
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(t.Type))
		b = binary.LittleEndian.AppendUint64(b, uint64(t.Offset))
	}
	if int64(len(b)) != size {
		return nil, 0, fmt.Errorf("gguf: encode: internal error: wrote %d header bytes, computed %d", len(b), size)
	}
	b = b[:padded] // make zeroed the padding
	return b, off, nil
}

// checkKey checks a key as Read does.
func checkKey(s string) error {
	if err := checkTensorName(s); err != nil {
		return err
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	return nil
}

// checkTensorName checks a tensor name as Read does. Unlike keys, tensor
// names need not be UTF-8: ggml does not require it.
func checkTensorName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty name", ErrInvalid)
	case len(s) > maxNameLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrLimit, len(s), maxNameLen)
	}
	return nil
}

// encodedSize returns the size of v's encoding without its type field, and
// an error if v cannot be encoded.
func encodedSize(v Value) (int64, error) {
	switch {
	case v.typ == ValueString:
		return 8 + int64(len(v.str)), nil
	case v.typ == ValueBool && v.bits > 1:
		return 0, fmt.Errorf("%w: bool %d", ErrInvalid, v.bits)
	case v.typ != ValueArray:
		if !v.typ.valid() {
			return 0, fmt.Errorf("%w: value type %d", ErrUnknownType, uint32(v.typ))
		}
		return v.typ.fixedSize(), nil
	}
	a := v.arr
	if a == nil {
		return 12, nil // the zero array Value cannot be built, but encode it as empty
	}
	if a.err != nil {
		return 0, a.err
	}
	if a.dropped {
		return 0, fmt.Errorf("%w: %d %v elements", ErrNotKept, a.n, a.elem)
	}
	n := int64(12)
	switch a.elem {
	case ValueString:
		return n + 8*int64(a.n) + int64(len(a.blob)), nil
	case ValueArray:
		for i, e := range a.vals {
			m, err := encodedSize(e)
			if err != nil {
				return 0, fmt.Errorf("element %d: %w", i, err)
			}
			n += m
		}
		return n, nil
	case ValueBool:
		for i, c := range a.raw {
			if c > 1 {
				return 0, fmt.Errorf("element %d: %w: bool %d", i, ErrInvalid, c)
			}
		}
	}
	return n + int64(len(a.raw)), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends v's encoding without its type field; v has passed
// encodedSize.
func appendValue(b []byte, v Value) []byte {
	switch v.typ {
	case ValueString:
		return appendString(b, v.str)
	case ValueArray:
		a := v.arr
		if a == nil {
			b = binary.LittleEndian.AppendUint32(b, uint32(ValueUint8))
			return binary.LittleEndian.AppendUint64(b, 0)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(a.elem))
		b = binary.LittleEndian.AppendUint64(b, uint64(a.n))
		switch a.elem {
		case ValueString:
			prev := 0
			for i := range a.n {
				end := a.end(i)
				b = appendString(b, a.blob[prev:end])
				prev = end
			}
			return b
		case ValueArray:
			for _, e := range a.vals {
				b = appendValue(b, e)
			}
			return b
		}
		return append(b, a.raw...)
	}
	return appendFixed(b, v.typ, v.bits)
}

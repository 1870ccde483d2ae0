package safetensors

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// EncodeHeader builds the 8-byte length prefix and the JSON header of a
// safetensors file holding tensors, in slice order, and returns them with
// the size of the data section that must follow.
//
// It assigns contiguous data_offsets in slice order, starting at 0, and
// writes them into the Begin and End fields of tensors; the other fields are
// only read. It writes nothing into tensors when it fails. The metadata keys
// are written sorted; a nil metadata map writes no "__metadata__" key, an
// empty one writes "{}". As the reference writer does, the JSON is padded
// with spaces so that 8+N is a multiple of 8.
//
// It fails, wrapping [ErrSchema], on an unknown dtype, a negative dimension,
// a duplicate name, a tensor named "__metadata__" or a string that is not
// valid UTF-8; wrapping [ErrOverflow] when a size overflows an int64; and
// wrapping [ErrSize] when a tensor's bits are not a whole number of bytes.
func EncodeHeader(metadata map[string]string, tensors []TensorInfo) (header []byte, dataSize int64, err error) {
	fail := func(name string, sentinel error, format string, args ...any) ([]byte, int64, error) {
		return nil, 0, fmt.Errorf("safetensors: encode tensor %q: %s: %w", name, fmt.Sprintf(format, args...), sentinel)
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, 0, fmt.Errorf("safetensors: encode metadata %q: invalid UTF-8: %w", k, ErrSchema)
		}
	}
	sizes := make([]int64, len(tensors))
	names := make(map[string]struct{}, len(tensors))
	jsonLen := 64
	for i := range tensors {
		t := &tensors[i]
		switch _, dup := names[t.Name]; {
		case dup:
			return fail(t.Name, ErrSchema, "duplicate name")
		case t.Name == metadataKey:
			return fail(t.Name, ErrSchema, "reserved name")
		case !utf8.ValidString(t.Name):
			return fail(t.Name, ErrSchema, "name is not valid UTF-8")
		case !t.DType.Valid():
			return fail(t.Name, ErrSchema, "unknown dtype %v", t.DType)
		}
		names[t.Name] = struct{}{}
		for j, dim := range t.Shape {
			if dim < 0 {
				return fail(t.Name, ErrSchema, "shape[%d] is negative: %d", j, dim)
			}
		}
		elems, ok := checked.Product(t.Shape)
		if !ok {
			return fail(t.Name, ErrOverflow, "shape %v has more elements than an int64 holds", clipDims(t.Shape))
		}
		bits, ok := checked.Mul(elems, int64(t.DType.Bits()))
		if !ok {
			return fail(t.Name, ErrOverflow, "%d elements of %v overflow an int64 bit count", elems, t.DType)
		}
		if bits%8 != 0 {
			return fail(t.Name, ErrSize, "%d elements of %v are not a whole number of bytes", elems, t.DType)
		}
		sizes[i] = bits / 8
		if dataSize, ok = checked.Add(dataSize, sizes[i]); !ok {
			return fail(t.Name, ErrOverflow, "data section is larger than an int64 holds")
		}
		jsonLen += len(t.Name) + 64 + 21*len(t.Shape)
	}

	b := make([]byte, 8, 8+jsonLen)
	b = append(b, '{')
	if metadata != nil {
		b = appendString(b, metadataKey)
		b = append(b, ':', '{')
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, metadata[k])
		}
		b = append(b, '}')
	}
	var off int64
	for i := range tensors {
		t := &tensors[i]
		if i > 0 || metadata != nil {
			b = append(b, ',')
		}
		b = appendString(b, t.Name)
		b = append(b, `:{"dtype":"`...)
		b = append(b, t.DType.String()...)
		b = append(b, `","shape":[`...)
		for j, dim := range t.Shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, dim, 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, off, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, off+sizes[i], 10)
		b = append(b, ']', '}')
		off += sizes[i]
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	binary.LittleEndian.PutUint64(b, uint64(len(b)-8))

	off = 0
	for i := range tensors {
		tensors[i].Begin, tensors[i].End = off, off+sizes[i]
		off += sizes[i]
	}
	return b, dataSize, nil
}

// appendString appends s, which must be valid UTF-8, as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !strSpecial[c] {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

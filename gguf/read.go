package gguf

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// The smallest encodings of a key-value pair (a 1-byte key, a value type and
// a 1-byte value) and of a tensor info (a 1-byte name, n_dims 0, a type and
// an offset), used to bound the header's counts by the bytes left.
const (
	minKVSize     = 8 + 1 + 4 + 1
	minTensorSize = 8 + 1 + 4 + 4 + 8
)

// Magic values. Obsolete formats stored a u32 magic, so their bytes appear
// reversed in a little-endian file.
const ggufMagic = "GGUF"

var oldMagics = map[string]string{
	"lmgg": "GGML (unversioned, pre-GGUF)",
	"fmgg": "GGMF (pre-GGUF)",
	"tjgg": "GGJT (pre-GGUF)",
	"ggml": "GGML (unversioned, pre-GGUF, big-endian)",
	"ggmf": "GGMF (pre-GGUF, big-endian)",
	"ggjt": "GGJT (pre-GGUF, big-endian)",
}

// Open reads the GGUF header of the file at path, which is opened read-only
// and closed before Open returns. See [Read].
func Open(path string, opts ...Option) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	f, err := Read(fd, fi.Size(), opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Read parses and validates the GGUF header of a file of size bytes read
// from r: magic, version, metadata, tensor infos and alignment. It reads the
// header only, sequentially and once, so r may be a local file, an mmap, a
// byte slice or an HTTP range reader.
//
// Every rule of the format is enforced (see the package documentation and
// the Err... sentinels): a failure is a [*FormatError] naming the absolute
// offset and the key or tensor at fault. Memory use is proportional to the
// header's size, never to a count or length the file merely claims.
//
// Besides ggml's own checks, Read requires tensor data ranges to be inside
// the file and not to overlap, but not to be contiguous in file order as
// llama.cpp does; see [File.CheckContiguous].
func Read(r io.ReaderAt, size int64, opts ...Option) (*File, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("gguf: negative file size %d", size)
	}
	rd := newReader(r, size, o)
	f := &File{Size: size, Alignment: defaultAlignment}
	nKV, nTensors, err := rd.header(f)
	if err != nil {
		return nil, withField(err, "header")
	}
	if err := rd.kvs(f, nKV); err != nil {
		return nil, err
	}
	if err := rd.tensorInfos(f, nTensors); err != nil {
		return nil, err
	}
	return f, nil
}

// header reads the magic, version and counts.
func (rd *reader) header(f *File) (nKV, nTensors int64, err error) {
	magic, err := rd.next(4, "magic")
	if err != nil {
		return 0, 0, err
	}
	switch m := string(magic); {
	case m == ggufMagic:
	case m == "FUGG":
		return 0, 0, errAt(0, "magic %q: %w: byte-swapped GGUF magic", m, ErrByteOrder)
	case oldMagics[m] != "":
		return 0, 0, errAt(0, "magic %q: %w: obsolete %s format; convert it to GGUF", m, ErrNotGGUF, oldMagics[m])
	default:
		return 0, 0, errAt(0, "magic %q: %w: want %q", m, ErrNotGGUF, ggufMagic)
	}

	v, err := rd.u32("version")
	if err != nil {
		return 0, 0, err
	}
	switch {
	case v == 0:
		return 0, 0, errAt(4, "%w: version 0", ErrUnsupportedVersion)
	case v&0xFFFF == 0:
		return 0, 0, errAt(4, "%w: version %#08x reads as %d byte-swapped", ErrByteOrder, v, bits.ReverseBytes32(v))
	case v == 1:
		return 0, 0, errAt(4, "%w: version 1 (GGUF v1 used 32-bit counts and is no longer supported; want 2 or 3)", ErrUnsupportedVersion)
	case v > 3:
		return 0, 0, errAt(4, "%w: version %d, want 2 or 3", ErrUnsupportedVersion, v)
	}
	f.Version = v

	tOff := rd.off
	nt, err := rd.u64("tensor count")
	if err != nil {
		return 0, 0, err
	}
	kOff := rd.off
	nk, err := rd.u64("kv count")
	if err != nil {
		return 0, 0, err
	}
	rem := uint64(rd.remaining())
	switch {
	case nk > rem/minKVSize:
		cut := rd.short(func(left int64) bool { return nk <= uint64(left)/minKVSize })
		return 0, 0, errAt(kOff, "kv count: %w: %d pairs need at least %d bytes each, %s", cut, nk, minKVSize, rd.left())
	case nk > uint64(rd.o.maxKVs):
		return 0, 0, errAt(kOff, "kv count: %w: %d pairs, at most %d allowed", ErrLimit, nk, rd.o.maxKVs)
	case nt > (rem-nk*minKVSize)/minTensorSize:
		cut := rd.short(func(left int64) bool { return nt <= (uint64(left)-nk*minKVSize)/minTensorSize })
		return 0, 0, errAt(tOff, "tensor count: %w: %d tensors need at least %d bytes each, %d bytes left after the metadata", cut, nt, minTensorSize, rem-nk*minKVSize)
	case nt > uint64(rd.o.maxTensors):
		return 0, 0, errAt(tOff, "tensor count: %w: %d tensors, at most %d allowed", ErrLimit, nt, rd.o.maxTensors)
	}
	return int64(nk), int64(nt), nil
}

// kvs reads the metadata and sets f.Alignment.
func (rd *reader) kvs(f *File, n int64) error {
	f.KVs = make([]KV, 0, min(n, 1024))
	f.kvIndex = make(map[string]int, min(n, 1024))
	alignTypeOff := int64(-1)
	for i := range n {
		keyOff := rd.off
		key, err := rd.name("key")
		if err != nil {
			return withField(err, fmt.Sprintf("kv #%d", i))
		}
		switch j, dup := f.kvIndex[key]; {
		case key == "":
			return &FormatError{keyOff, fmt.Sprintf("kv #%d", i), fmt.Errorf("key: %w: empty key", ErrInvalid)}
		case !utf8.ValidString(key):
			return &FormatError{keyOff, keyField(key), fmt.Errorf("key: %w: not valid UTF-8", ErrInvalid)}
		case dup:
			return &FormatError{keyOff, keyField(key), fmt.Errorf("key: %w: also kv #%d", ErrDuplicate, j)}
		}
		typeOff := rd.off
		t, err := rd.u32("value type")
		if err != nil {
			return withField(err, keyField(key))
		}
		v, err := rd.value(ValueType(t), typeOff, 1)
		if err != nil {
			return withField(prefix(err, "value"), keyField(key))
		}
		if key == keyAlignment {
			alignTypeOff = typeOff
		}
		f.kvIndex[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{Key: key, Value: v})
	}
	if alignTypeOff >= 0 {
		a, err := alignmentOf(f.KVs[f.kvIndex[keyAlignment]].Value)
		if err != nil {
			return &FormatError{alignTypeOff, keyField(keyAlignment), err}
		}
		f.Alignment = a
	}
	return nil
}

// keyAlignment is the key holding the data alignment; defaultAlignment
// applies when it is absent.
const (
	keyAlignment     = "general.alignment"
	defaultAlignment = 32
)

// alignmentOf validates a general.alignment value.
func alignmentOf(v Value) (int64, error) {
	if v.Type() != ValueUint32 {
		return 0, fmt.Errorf("%w: is %v, want u32", ErrAlignment, v.Type())
	}
	a := int64(v.bits)
	if a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("%w: %d is not a power of two", ErrAlignment, a)
	}
	return a, nil
}

// value reads a value of type t, whose type field is at typeOff; depth is the
// array nesting level the value would have if it were an array.
func (rd *reader) value(t ValueType, typeOff int64, depth int) (Value, error) {
	switch {
	case t == ValueString:
		s, err := rd.str("string", rd.o.maxStringLen)
		return Value{typ: ValueString, str: s}, err
	case t == ValueArray:
		return rd.array(depth)
	case !t.valid():
		return Value{}, errAt(typeOff, "%w: value type %d", ErrUnknownType, uint32(t))
	}
	off := rd.off
	b, err := rd.next(int(t.fixedSize()), t.String())
	if err != nil {
		return Value{}, err
	}
	if t == ValueBool && b[0] > 1 {
		return Value{}, errAt(off, "%w: bool byte %d, want 0 or 1", ErrInvalid, b[0])
	}
	return decodeFixed(t, b), nil
}

// array reads an array's element type, count and elements.
func (rd *reader) array(depth int) (Value, error) {
	elemOff := rd.off
	et, err := rd.u32("array type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		return Value{}, errAt(elemOff, "array: %w: element type %d", ErrUnknownType, et)
	}
	if elem == ValueArray && depth >= rd.o.maxArrayDepth {
		return Value{}, errAt(elemOff, "array: %w: arrays nested more than %d deep", ErrLimit, rd.o.maxArrayDepth)
	}
	countOff := rd.off
	n, err := rd.u64("array count")
	if err != nil {
		return Value{}, err
	}
	if rem := uint64(rd.remaining()); n > rem/uint64(elem.minSize()) {
		cut := rd.short(func(left int64) bool { return n <= uint64(left)/uint64(elem.minSize()) })
		return Value{}, errAt(countOff, "array: %w: %d %v elements need at least %d bytes each, %s", cut, n, elem, elem.minSize(), rd.left())
	}
	if n > uint64(rd.o.maxArrayLen) {
		return Value{}, errAt(countOff, "array: %w: %d elements, at most %d allowed", ErrLimit, n, rd.o.maxArrayLen)
	}
	a := &array{elem: elem, n: int(n)}
	// An array of arrays is kept whole.
	keep := elem == ValueArray || depth > 1 || rd.o.keptArrayLen < 0 || n <= uint64(rd.o.keptArrayLen)
	switch {
	case !keep:
		err = rd.dropElems(a)
	case elem == ValueString:
		err = rd.stringElems(a, false, nil)
	case elem == ValueArray:
		if rd.nested += int64(n); rd.nested > maxNestedArrays {
			return Value{}, errAt(countOff, "array: %w: more than %d arrays inside arrays in the header", ErrLimit, maxNestedArrays)
		}
		a.vals = make([]Value, 0, min(n, 1024))
		for i := range a.n {
			v, err := rd.array(depth + 1)
			if err != nil {
				return Value{}, prefix(err, "element %d", i)
			}
			a.vals = append(a.vals, v)
		}
	default:
		start := rd.off
		a.raw, err = rd.bytes(int64(n)*elem.fixedSize(), "array")
		if err == nil && elem == ValueBool {
			err = checkBools(a.raw, start, 0)
		}
	}
	if err != nil {
		return Value{}, err
	}
	return Value{typ: ValueArray, arr: a}, nil
}

// preallocMax bounds what is allocated for an array before its bytes have
// been read: a count can be as large as the (declared) file allows, so
// larger arrays grow as their bytes arrive.
const preallocMax = 1 << 20

// bytes reads the next n bytes (n <= rd.remaining()) into a new slice.
func (rd *reader) bytes(n int64, what string) ([]byte, error) {
	b := make([]byte, min(n, preallocMax))
	if err := rd.full(b, what); err != nil {
		return nil, err
	}
	for int64(len(b)) < n {
		k := int(min(n-int64(len(b)), preallocMax))
		b = slices.Grow(b, k)
		if err := rd.full(b[len(b):len(b)+k], what); err != nil {
			return nil, err
		}
		b = b[:len(b)+k]
	}
	return b, nil
}

// checkBools checks that the bool array elements b, the first of which is
// element first at offset start, are 0 or 1.
func checkBools(b []byte, start int64, first int) error {
	for i, c := range b {
		if c > 1 {
			return errAt(start+int64(i), "element %d: %w: bool byte %d, want 0 or 1", first+i, ErrInvalid, c)
		}
	}
	return nil
}

// dropSeed seeds the hashes of the arrays Read does not keep: one seed for
// the process, so that arrays of two files compare (see Value.Equal).
var dropSeed = maphash.MakeSeed()

// dropElems reads and checks the a.n elements of a, an array of strings or
// of fixed-size values, keeping only a hash of their encoding (or nothing,
// under WithoutDroppedHash).
func (rd *reader) dropElems(a *array) error {
	a.dropped = true
	var h *maphash.Hash
	if !rd.o.unhashed {
		h = new(maphash.Hash)
		h.SetSeed(dropSeed)
		defer func() { a.sum, a.hashed = h.Sum64(), true }()
	}
	if a.elem == ValueString {
		return rd.stringElems(a, true, h)
	}
	size := int(a.elem.fixedSize())
	for i := 0; i < a.n; {
		// Whole elements, as many as the buffer holds.
		k := min(a.n-i, max(rd.bufSize/size, 1))
		start := rd.off
		b, err := rd.next(k*size, "array")
		if err != nil {
			return err
		}
		if a.elem == ValueBool {
			if err := checkBools(b, start, i); err != nil {
				return err
			}
		}
		if h != nil {
			h.Write(b)
		}
		i += k
	}
	return nil
}

// stringElems reads a.n strings into one blob, or, with drop, reads and
// checks them keeping only their encoding's hash in h (lengths and bytes;
// nothing when h is nil). It parses whole windows of the read buffer at a
// time, so a typical token costs no call and no allocation.
func (rd *reader) stringElems(a *array, drop bool, h *maphash.Hash) error {
	var sb strings.Builder
	if !drop {
		a.ends = make([]uint32, 0, min(a.n, preallocMax))
		// Room for 16 bytes a string, as the bytes left allow: more than
		// a vocabulary's tokens and merges take (7 to 11 on average), so
		// the blob is not copied as it grows; the room it does not use is
		// address space, never touched.
		sb.Grow(int(min(int64(min(a.n, preallocMax))*16, rd.remaining()-8*int64(a.n))))
	}
	maxLen := uint64(rd.o.maxStringLen)
	for i := 0; i < a.n; {
		if rd.remaining() < 8 {
			return prefix(rd.truncated("length", 8), "element %d", i)
		}
		w, err := rd.window(8, "string")
		if err != nil {
			return err
		}
		p := 0
		for i < a.n && len(w)-p >= 8 {
			n := binary.LittleEndian.Uint64(w[p:])
			if n > uint64(len(w)-p-8) {
				break // not (wholly) buffered: checked below
			}
			if n > maxLen {
				rd.consume(p)
				return errAt(rd.off, "element %d: %w: length %d, at most %d allowed", i, ErrLimit, n, maxLen)
			}
			if !drop {
				sb.Write(w[p+8 : p+8+int(n)])
				a.addEnd(sb.Len())
			}
			p += 8 + int(n)
			i++
		}
		if h != nil {
			h.Write(w[:p])
		}
		rd.consume(p)
		if i == a.n || rd.br.Buffered() < 8 {
			continue
		}
		// String i is longer than what is buffered.
		n, err := rd.strLen("string", rd.o.maxStringLen)
		if err != nil {
			return prefix(err, "element %d", i)
		}
		var to io.Writer = &sb
		switch {
		case drop && h != nil:
			to = h
			h.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
		case drop:
			to = io.Discard
		}
		if err := rd.copyTo(to, n, "string"); err != nil {
			return prefix(err, "element %d", i)
		}
		if !drop {
			a.addEnd(sb.Len())
		}
		i++
	}
	a.blob = sb.String()
	return nil
}

// tensorInfos reads the tensor infos and validates their data ranges.
func (rd *reader) tensorInfos(f *File, n int64) error {
	// n is within the caps and the header holds at least n infos of
	// minTensorSize bytes, so these are sized for it at once: growing them
	// would allocate several times as much.
	f.Tensors = make([]TensorInfo, 0, n)
	f.tensorIndex = make(map[string]int, n)
	offOffs := make([]int64, 0, n) // where each tensor's offset field is
	// The dims of all tensors, in chunks: a full chunk is left as it is
	// (the tensors' Dims point into it) and a new one started.
	dims := make([]int64, 0, min(4*n, dimsChunk))
	for i := range n {
		nameOff := rd.off
		name, err := rd.name("name")
		if err != nil {
			return withField(err, fmt.Sprintf("tensor #%d", i))
		}
		if name == "" {
			return &FormatError{nameOff, fmt.Sprintf("tensor #%d", i), fmt.Errorf("name: %w: empty name", ErrInvalid)}
		}
		field := func() string { return tensorField(name) } // for errors only: not built per tensor
		if j, dup := f.tensorIndex[name]; dup {
			return &FormatError{nameOff, field(), fmt.Errorf("name: %w: also tensor #%d", ErrDuplicate, j)}
		}
		ndOff := rd.off
		nd, err := rd.u32("n_dims")
		if err != nil {
			return withField(err, field())
		}
		if nd > maxDims {
			return &FormatError{ndOff, field(), fmt.Errorf("n_dims: %w: %d dimensions, at most %d", ErrInvalid, nd, maxDims)}
		}
		if cap(dims)-len(dims) < int(nd) {
			dims = make([]int64, 0, min(4*n, dimsChunk))
		}
		start := len(dims)
		for j := range int(nd) {
			neOff := rd.off
			ne, err := rd.u64("dims")
			if err != nil {
				return withField(err, field())
			}
			if ne > math.MaxInt64 {
				return &FormatError{neOff, field(), fmt.Errorf("dims: %w: ne[%d] = %d is negative as an int64", ErrInvalid, j, ne)}
			}
			dims = append(dims, int64(ne))
		}
		td := dims[start:len(dims):len(dims)]
		typeOff := rd.off
		tt, err := rd.u32("type")
		if err != nil {
			return withField(err, field())
		}
		typ := Type(tt)
		if !typ.Known() {
			return &FormatError{typeOff, field(), fmt.Errorf("type: %w", typ.unknownTypeError())}
		}
		size, err := typ.Bytes(td)
		if err != nil {
			return &FormatError{ndOff, field(), fmt.Errorf("dims %v: %w", td, err)}
		}
		offOff := rd.off
		off, err := rd.u64("offset")
		if err != nil {
			return withField(err, field())
		}
		if off > math.MaxInt64 {
			return &FormatError{offOff, field(), fmt.Errorf("offset: %w: %d", ErrBounds, off)}
		}
		f.tensorIndex[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, TensorInfo{Name: name, Dims: td, Type: typ, Offset: int64(off), Size: size})
		offOffs = append(offOffs, offOff)
	}

	dataOff, ok := checked.AlignUp(rd.off, f.Alignment)
	if !ok {
		return &FormatError{rd.off, "header", fmt.Errorf("data section: %w", ErrOverflow)}
	}
	f.DataOffset = dataOff
	return checkRanges(f, offOffs, rd.o.partial)
}

// maxDims is GGML_MAX_DIMS.
const maxDims = 4

// dimsChunk is how many dims tensorInfos allocates at a time.
const dimsChunk = 1 << 14

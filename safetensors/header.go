package safetensors

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/weightaudit/weightaudit/internal/checked"
)

// metadataKey is the header key that holds the string→string metadata.
const metadataKey = "__metadata__"

// minEntryLen is the length of the shortest tensor entry,
// `"":{"dtype":"U8","shape":[],"data_offsets":[0,0]}`.
const minEntryLen = 49

// headerDecoder decodes a safetensors JSON header into a File in one pass.
type headerDecoder struct {
	sc         scanner
	dataSize   int64 // bytes after the header
	partial    bool  // accept data ending early (WithPartialData)
	maxTensors int   // the cap WithMaxTensors sets
	missing    int64 // bytes declared past the end of the file

	tensors []TensorInfo
	keyPos  []int   // parallel to tensors: the position of each key in the header
	dims    []int64 // every shape, back to back
	names   map[string]struct{}
	meta    map[string]string
	hasMeta bool
}

// decodeHeader decodes and validates the JSON header s of f, whose Size and
// HeaderLen are set, and fills in f.Metadata and f.Tensors.
func decodeHeader(f *File, s string, o options) error {
	d := &headerDecoder{
		sc:         scanner{s: s, base: 8},
		dataSize:   f.Size - 8 - f.HeaderLen,
		partial:    o.partial,
		maxTensors: o.maxTensors,
	}
	if err := d.sc.validUTF8(); err != nil {
		err.Field = "header"
		return err
	}
	scr := scratchPool.Get().(*scratch)
	defer scr.put()
	// Size the slices from a cheap hint: every entry has two arrays, so two
	// ']' (counting one byte is vectorized), and takes at least
	// minEntryLen bytes, which bounds the hint by the header size whatever
	// the header holds.
	est := min(strings.Count(s, "]")/2, len(s)/minEntryLen, d.maxTensors)
	if est > scr.size {
		scr.names, scr.size = make(map[string]struct{}, est), est
	}
	d.names, d.keyPos = scr.names, slices.Grow(scr.keyPos[:0], est)
	if est > 0 {
		d.tensors = make([]TensorInfo, 0, est)
		d.dims = make([]int64, 0, 2*est)
	} else {
		d.dims = []int64{}
	}
	defer func() { scr.keyPos = d.keyPos }() // before put: defers run last first
	if err := d.object(); err != nil {
		return err
	}
	if err := d.layout(); err != nil {
		return err
	}
	if o.detach {
		d.detach(o.names)
	}
	f.Metadata = d.meta
	f.Missing = d.missing
	if len(d.tensors) > 0 {
		f.Tensors = d.tensors
	}
	return nil
}

// detach copies the tensor names and the metadata out of the header into
// one block, so that nothing decoded refers to the header's bytes; names
// that ix (if not nil) holds are shared with it instead.
func (d *headerDecoder) detach(ix *Index) {
	n := 0
	shared := 0
	for i := range d.tensors {
		t := &d.tensors[i]
		if s, ok := ix.name(t.Name); ok {
			t.Name = s
			shared++
		} else {
			n += len(t.Name)
		}
	}
	for k, v := range d.meta {
		n += len(k) + len(v)
	}
	block := make([]byte, 0, n)
	clone := func(s string) string {
		if s == "" {
			return ""
		}
		start := len(block)
		block = append(block, s...) // within capacity: never moves
		return unsafe.String(&block[start], len(s))
	}
	for i := range d.tensors {
		if shared == 0 || d.inHeader(d.tensors[i].Name) {
			d.tensors[i].Name = clone(d.tensors[i].Name)
		}
	}
	if d.meta != nil {
		meta := make(map[string]string, len(d.meta))
		for k, v := range d.meta {
			meta[clone(k)] = clone(v)
		}
		d.meta = meta
	}
}

// inHeader reports whether s, not empty, points into the header's bytes.
func (d *headerDecoder) inHeader(s string) bool {
	if s == "" {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(d.sc.s)))
	return p >= lo && p < lo+uintptr(len(d.sc.s))
}

// scratch is what decoding a header uses and drops: the set of names seen
// (to find a duplicate) and where each key is (for errors). Decoding the
// headers of a sharded checkpoint one after the other reuses them instead
// of taking fresh memory for each, which costs more than the work when a
// process starts.
type scratch struct {
	names  map[string]struct{}
	size   int // the names names was made for
	keyPos []int
}

var scratchPool = sync.Pool{New: func() any { return &scratch{names: map[string]struct{}{}} }}

// put empties s and returns it to the pool, unless it was made for more
// names than a large shard holds: a hostile header's scratch is not kept.
func (s *scratch) put() {
	if s.size > 1<<14 || len(s.names) > 1<<14 {
		return
	}
	clear(s.names)
	s.keyPos = s.keyPos[:0]
	scratchPool.Put(s)
}

// object decodes the top-level object.
func (d *headerDecoder) object() error {
	sc := &d.sc
	sc.ws()
	if sc.peek() != '{' {
		err := sc.wrongType("header", "an object")
		err.Field = "header"
		return err
	}
	sc.i++
	sc.ws()
	if sc.peek() == '}' {
		sc.i++
	} else {
		for {
			if err := d.member(); err != nil {
				if err.Field == "" {
					err.Field = "header"
				}
				return err
			}
			done, err := sc.next('}')
			if err != nil {
				err.Field = "header"
				return err
			}
			if done {
				break
			}
		}
	}
	sc.ws()
	if sc.i != len(sc.s) {
		return &FormatError{Offset: sc.base + int64(sc.i), Field: "header",
			Err: fmt.Errorf("data after the top-level object: %w", ErrSyntax)}
	}
	return nil
}

// member decodes one key and value of the top-level object.
func (d *headerDecoder) member() *FormatError {
	sc := &d.sc
	keyPos := sc.i
	if sc.peek() != '"' {
		return sc.unexpected(sc.i, "a string key")
	}
	name, err := sc.str()
	if err != nil {
		return err
	}
	sc.ws()
	if err := sc.expect(':', "':'"); err != nil {
		return err
	}
	if name == metadataKey {
		if d.hasMeta {
			return d.fail(keyPos, `key "__metadata__"`, ErrSchema, "duplicate key")
		}
		d.hasMeta = true
		return d.metadata()
	}
	if len(d.tensors) >= d.maxTensors {
		return d.fail(keyPos, tensorField(name), ErrLimit, "the header has more than %d tensors", d.maxTensors)
	}
	// One hash per name: the map grows unless the name is already there.
	n := len(d.names)
	d.names[name] = struct{}{}
	if len(d.names) == n {
		return d.fail(keyPos, tensorField(name), ErrSchema, "duplicate tensor name")
	}
	if err := d.tensor(name, keyPos); err != nil {
		if err.Field == "" {
			err.Field = tensorField(name)
		}
		return err
	}
	return nil
}

func (d *headerDecoder) fail(pos int, field string, sentinel error, format string, args ...any) *FormatError {
	err := d.sc.errf(pos, sentinel, format, args...)
	err.Field = field
	return err
}

// metadata decodes the "__metadata__" object.
func (d *headerDecoder) metadata() *FormatError {
	sc := &d.sc
	if sc.peek() != '{' {
		err := sc.wrongType("__metadata__", "an object")
		err.Field = `key "__metadata__"`
		return err
	}
	sc.i++
	sc.ws()
	d.meta = map[string]string{}
	if sc.peek() == '}' {
		sc.i++
		return nil
	}
	for {
		keyPos := sc.i
		if sc.peek() != '"' {
			return sc.unexpected(sc.i, "a string key")
		}
		k, err := sc.str()
		if err != nil {
			return err
		}
		if _, dup := d.meta[k]; dup {
			return d.fail(keyPos, metaField(k), ErrSchema, "duplicate key")
		}
		if len(d.meta) >= maxMetadataEntries {
			return d.fail(keyPos, metaField(k), ErrLimit, "__metadata__ has more than %d entries", maxMetadataEntries)
		}
		sc.ws()
		if err := sc.expect(':', "':'"); err != nil {
			return err
		}
		if sc.peek() != '"' {
			err := sc.wrongType("value", "a string")
			err.Field = metaField(k)
			return err
		}
		v, err := sc.str()
		if err != nil {
			err.Field = metaField(k)
			return err
		}
		d.meta[k] = v
		done, err := sc.next('}')
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// metaField is the FormatError.Field for a metadata entry.
func metaField(key string) string { return fmt.Sprintf("metadata %q", key) }

// The keys of a tensor entry, as bits.
const (
	haveDType = 1 << iota
	haveShape
	haveOffsets
)

// tensor decodes the entry of the tensor called name and checks its size.
func (d *headerDecoder) tensor(name string, keyPos int) *FormatError {
	sc := &d.sc
	entryPos := sc.i
	if sc.peek() != '{' {
		return sc.wrongType("entry", "an object")
	}
	sc.i++
	sc.ws()
	t := TensorInfo{Name: name}
	dimLo := len(d.dims)
	var have int
	var shapePos, offPos int
	if sc.peek() == '}' {
		sc.i++
	} else {
		for {
			kpos := sc.i
			if sc.peek() != '"' {
				return sc.unexpected(sc.i, "a string key")
			}
			k, err := sc.str()
			if err != nil {
				return err
			}
			sc.ws()
			if err := sc.expect(':', "':'"); err != nil {
				return err
			}
			var bit int
			switch k {
			case "dtype":
				bit = haveDType
			case "shape":
				bit = haveShape
			case "data_offsets":
				bit = haveOffsets
			default:
				return sc.errf(kpos, ErrSchema, "unknown key %q", k)
			}
			if have&bit != 0 {
				return sc.errf(kpos, ErrSchema, "duplicate key %q", k)
			}
			have |= bit
			switch bit {
			case haveDType:
				vpos := sc.i
				if sc.peek() != '"' {
					return sc.wrongType("dtype", "a string")
				}
				v, err := sc.str()
				if err != nil {
					return err
				}
				dt, ok := ParseDType(v)
				if !ok {
					return sc.errf(vpos, ErrSchema, "unknown dtype %q", clip(v))
				}
				t.DType = dt
			case haveShape:
				shapePos = sc.i
				if err := d.shape(); err != nil {
					return err
				}
			case haveOffsets:
				offPos = sc.i
				var err *FormatError
				if t.Begin, t.End, err = d.offsets(); err != nil {
					return err
				}
			}
			done, err := sc.next('}')
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	for _, m := range [...]struct {
		bit int
		key string
	}{{haveDType, "dtype"}, {haveShape, "shape"}, {haveOffsets, "data_offsets"}} {
		if have&m.bit == 0 {
			return sc.errf(entryPos, ErrSchema, "missing key %q", m.key)
		}
	}
	// When appending to d.dims reallocated it, earlier shapes stay in the
	// old array, which is still valid and never written again.
	t.Shape = d.dims[dimLo:len(d.dims):len(d.dims)]
	if err := d.checkSize(&t, shapePos, offPos); err != nil {
		return err
	}
	d.tensors = append(d.tensors, t)
	d.keyPos = append(d.keyPos, keyPos)
	return nil
}

// shape decodes a shape array onto d.dims.
func (d *headerDecoder) shape() *FormatError {
	sc := &d.sc
	if sc.peek() != '[' {
		return sc.wrongType("shape", "an array")
	}
	sc.i++
	sc.ws()
	if sc.peek() == ']' {
		sc.i++
		return nil
	}
	for k := 0; ; k++ {
		if k == maxDims {
			return sc.errf(sc.i, ErrLimit, "shape has more than %d dimensions", maxDims)
		}
		v, err := sc.uint63("shape", k)
		if err != nil {
			return err
		}
		d.dims = append(d.dims, v)
		done, err := sc.next(']')
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// offsets decodes a data_offsets array of exactly two integers.
func (d *headerDecoder) offsets() (begin, end int64, _ *FormatError) {
	sc := &d.sc
	start := sc.i
	if sc.peek() != '[' {
		return 0, 0, sc.wrongType("data_offsets", "an array")
	}
	sc.i++
	sc.ws()
	var v [2]int64
	n := 0
	if sc.peek() == ']' {
		sc.i++
	} else {
		for {
			if n == 2 {
				return 0, 0, sc.errf(sc.i, ErrSchema, "data_offsets has more than 2 elements")
			}
			x, err := sc.uint63("data_offsets", n)
			if err != nil {
				return 0, 0, err
			}
			v[n] = x
			n++
			done, err := sc.next(']')
			if err != nil {
				return 0, 0, err
			}
			if done {
				break
			}
		}
	}
	if n != 2 {
		return 0, 0, sc.errf(start, ErrSchema, "data_offsets has %d elements, want 2", n)
	}
	return v[0], v[1], nil
}

// checkSize checks that t's byte range fits its dtype and shape.
func (d *headerDecoder) checkSize(t *TensorInfo, shapePos, offPos int) *FormatError {
	sc, shape := &d.sc, t.Shape
	elems, ok := checked.Product(shape)
	if !ok {
		return sc.errf(shapePos, ErrOverflow, "shape %v has more elements than an int64 holds", clipDims(shape))
	}
	bits, ok := checked.Mul(elems, int64(t.DType.Bits()))
	if !ok {
		return sc.errf(shapePos, ErrOverflow, "%d elements of %v overflow an int64 bit count", elems, t.DType)
	}
	if bits%8 != 0 {
		return sc.errf(shapePos, ErrSize, "%d elements of %v are %d bits, not a whole number of bytes", elems, t.DType, bits)
	}
	if t.Begin > t.End {
		return sc.errf(offPos, ErrLayout, "data_offsets begin %d is after end %d", t.Begin, t.End)
	}
	if got := t.End - t.Begin; got != bits/8 {
		return sc.errf(offPos, ErrSize, "data_offsets span %d bytes, want %d for %v %v", got, bits/8, t.DType, clipDims(shape))
	}
	return nil
}

// clipDims shortens a shape for an error message.
func clipDims(shape []int64) []int64 {
	if len(shape) > 8 {
		return shape[:8]
	}
	return shape
}

// compareTensors orders tensors by Begin, then End, then Name.
func compareTensors(a, b *TensorInfo) int {
	if c := cmp.Compare(a.Begin, b.Begin); c != 0 {
		return c
	}
	if c := cmp.Compare(a.End, b.End); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// layout sorts the tensors by offset and checks that they tile the data
// section exactly.
func (d *headerDecoder) layout() *FormatError {
	ts, keyPos := d.tensors, d.keyPos
	sorted := true
	for k := 1; k < len(ts); k++ {
		if compareTensors(&ts[k-1], &ts[k]) > 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		perm := make([]int, len(ts))
		for k := range perm {
			perm[k] = k
		}
		slices.SortFunc(perm, func(x, y int) int { return compareTensors(&ts[x], &ts[y]) })
		ts2 := make([]TensorInfo, len(ts))
		keyPos2 := make([]int, len(ts))
		for k, p := range perm {
			ts2[k], keyPos2[k] = ts[p], keyPos[p]
		}
		ts, keyPos = ts2, keyPos2
		d.tensors, d.keyPos = ts, keyPos
	}
	var end int64
	for k := range ts {
		t := &ts[k]
		field := func() string { return tensorField(t.Name) }
		switch {
		case t.Begin < end:
			return d.fail(keyPos[k], field(), ErrLayout,
				"data_offsets [%d, %d] overlap tensor %q, which ends at %d", t.Begin, t.End, ts[k-1].Name, end)
		case t.Begin > end && k == 0:
			return d.fail(keyPos[k], field(), ErrLayout,
				"data starts at %d, want 0: %d unused bytes", t.Begin, t.Begin)
		case t.Begin > end:
			return d.fail(keyPos[k], field(), ErrLayout,
				"gap of %d bytes after tensor %q, which ends at %d", t.Begin-end, ts[k-1].Name, end)
		case t.End > d.dataSize && !d.partial:
			return d.fail(keyPos[k], field(), ErrTruncated,
				"data_offsets [%d, %d] reach past the end of the %d-byte data section", t.Begin, t.End, d.dataSize)
		}
		end = t.End
	}
	if end > d.dataSize && d.partial {
		d.missing = end - d.dataSize
		return nil
	}
	if end != d.dataSize {
		if len(ts) == 0 {
			return d.fail(0, "header", ErrLayout, "no tensors, but %d bytes of data", d.dataSize)
		}
		k := len(ts) - 1
		return d.fail(keyPos[k], tensorField(ts[k].Name), ErrLayout,
			"the last tensor ends at %d, %d bytes before the end of the file", end, d.dataSize-end)
	}
	return nil
}

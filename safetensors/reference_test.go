package safetensors

// A plain reference decoder built on encoding/json, kept independent of the
// fast scanner so that FuzzDecodeDifferential can compare the two and the
// benchmarks have a baseline. It enforces the same rules with the simplest
// code: validate the whole document with encoding/json, then walk its tokens.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// readReference is Read built on encoding/json.
func readReference(r io.ReaderAt, size int64, maxHeaderLen int64) (*File, error) {
	if size < 8 {
		return nil, &FormatError{Offset: 0, Field: "header length", Err: ErrTruncated}
	}
	p := make([]byte, 8)
	if _, err := r.ReadAt(p, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(p)
	if n > uint64(maxHeaderLen) {
		return nil, &FormatError{Offset: 0, Field: "header length", Err: ErrLimit}
	}
	if n > uint64(size-8) {
		return nil, &FormatError{Offset: 0, Field: "header length", Err: ErrTruncated}
	}
	h := make([]byte, n)
	if m, err := r.ReadAt(h, 8); m != len(h) {
		return nil, &FormatError{Offset: 8 + int64(m), Field: "header", Err: fmt.Errorf("%v: %w", err, ErrTruncated)}
	}
	f := &File{Size: size, HeaderLen: int64(n)}
	if err := decodeReference(f, h); err != nil {
		return nil, err
	}
	return f, nil
}

// refTensor is a tensor entry as the reference decodes it.
type refTensor struct {
	info     TensorInfo
	keyPos   int64
	shapePos int64
	offPos   int64
}

// refDecoder walks the tokens of a header already known to be valid JSON.
type refDecoder struct {
	h   []byte
	dec *json.Decoder
}

// token returns the next token and the absolute file offset where it starts.
func (d *refDecoder) token() (json.Token, int64) {
	pos := d.dec.InputOffset()
	for pos < int64(len(d.h)) && strings.IndexByte(" \t\r\n,:", d.h[pos]) >= 0 {
		pos++
	}
	tok, err := d.dec.Token()
	if err != nil {
		panic(err) // the header was validated by json.Valid
	}
	if s, ok := tok.(string); ok {
		// encoding/json replaces unpaired surrogates with U+FFFD; the
		// format rejects them.
		if bad := unpairedSurrogate(d.h[pos:d.dec.InputOffset()]); bad >= 0 {
			panic(&FormatError{Offset: 8 + pos + int64(bad), Err: ErrSyntax})
		}
		return s, 8 + pos
	}
	return tok, 8 + pos
}

// unpairedSurrogate returns the index of the first \u escape in the raw JSON
// string raw that is half of a surrogate pair without its other half, or -1.
func unpairedSurrogate(raw []byte) int {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // skip the escaped byte
			continue
		}
		r, _ := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if i+12 > len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return i
			}
			r2, _ := strconv.ParseUint(string(raw[i+8:i+12]), 16, 32)
			if r2 < 0xdc00 || r2 >= 0xe000 {
				return i
			}
			i += 11
		case r >= 0xdc00 && r < 0xe000:
			return i
		default:
			i += 5
		}
	}
	return -1
}

func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('{') {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

// skip consumes the rest of a value whose first token was tok.
func (d *refDecoder) skip(tok json.Token) {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return
	}
	for depth := 1; depth > 0; {
		t, _ := d.token()
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func refErr(off int64, field string, sentinel error, msg string) *FormatError {
	return &FormatError{Offset: off, Field: field, Err: fmt.Errorf("%s: %w", msg, sentinel)}
}

// refUint classifies a number token as the format's non-negative integer.
func refUint(tok json.Token, pos int64, field string) (int64, *FormatError) {
	num, ok := tok.(json.Number)
	if !ok {
		return 0, refErr(pos, field, ErrSchema, "not a number: "+kindOf(tok))
	}
	s := string(num)
	switch {
	case strings.HasPrefix(s, "-"):
		return 0, refErr(pos, field, ErrSchema, "negative")
	case strings.ContainsAny(s, ".eE"):
		return 0, refErr(pos, field, ErrSchema, "not an integer")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, refErr(pos, field, ErrOverflow, "too large")
	}
	return v, nil
}

func decodeReference(f *File, h []byte) (err error) {
	if !utf8.Valid(h) {
		return refErr(8, "header", ErrSyntax, "invalid UTF-8")
	}
	if !json.Valid(h) {
		return refErr(8, "header", ErrSyntax, "invalid JSON")
	}
	defer func() {
		if e := recover(); e != nil {
			fe, ok := e.(*FormatError)
			if !ok {
				panic(e)
			}
			err = fe
		}
	}()
	d := &refDecoder{h: h, dec: json.NewDecoder(bytes.NewReader(h))}
	d.dec.UseNumber()
	tok, pos := d.token()
	if tok != json.Delim('{') {
		return refErr(pos, "header", ErrSchema, "not an object")
	}
	var tensors []refTensor
	seen := map[string]bool{}
	for d.dec.More() {
		tok, keyPos := d.token()
		name := tok.(string)
		if name != metadataKey && len(tensors) >= DefaultMaxTensors {
			return refErr(keyPos, tensorField(name), ErrLimit, "too many tensors")
		}
		if seen[name] {
			field := tensorField(name)
			if name == metadataKey {
				field = `key "__metadata__"`
			}
			return refErr(keyPos, field, ErrSchema, "duplicate")
		}
		seen[name] = true
		if name == metadataKey {
			m, err := d.refMetadata()
			if err != nil {
				return err
			}
			f.Metadata = m
			continue
		}
		t, err := d.refTensor(name, keyPos)
		if err != nil {
			return err
		}
		tensors = append(tensors, t)
	}

	// Layout, on a sorted copy.
	sort.SliceStable(tensors, func(a, b int) bool {
		x, y := tensors[a].info, tensors[b].info
		if x.Begin != y.Begin {
			return x.Begin < y.Begin
		}
		if x.End != y.End {
			return x.End < y.End
		}
		return x.Name < y.Name
	})
	dataSize := f.Size - 8 - f.HeaderLen
	var end int64
	for _, t := range tensors {
		field := tensorField(t.info.Name)
		if t.info.Begin != end {
			return refErr(t.keyPos, field, ErrLayout, "not contiguous")
		}
		if t.info.End > dataSize {
			return refErr(t.keyPos, field, ErrTruncated, "past the end")
		}
		end = t.info.End
	}
	if end != dataSize {
		if len(tensors) == 0 {
			return refErr(8, "header", ErrLayout, "data without tensors")
		}
		last := tensors[len(tensors)-1]
		return refErr(last.keyPos, tensorField(last.info.Name), ErrLayout, "trailing data")
	}
	for _, t := range tensors {
		f.Tensors = append(f.Tensors, t.info)
	}
	return nil
}

func (d *refDecoder) refMetadata() (map[string]string, *FormatError) {
	tok, pos := d.token()
	if tok != json.Delim('{') {
		return nil, refErr(pos, `key "__metadata__"`, ErrSchema, "not an object")
	}
	m := map[string]string{}
	for d.dec.More() {
		k, kpos := d.token()
		key := k.(string)
		field := fmt.Sprintf("metadata %q", key)
		if _, dup := m[key]; dup {
			return nil, refErr(kpos, field, ErrSchema, "duplicate")
		}
		if len(m) >= maxMetadataEntries {
			return nil, refErr(kpos, field, ErrLimit, "too many entries")
		}
		v, vpos := d.token()
		s, ok := v.(string)
		if !ok {
			return nil, refErr(vpos, field, ErrSchema, "not a string")
		}
		m[key] = s
	}
	d.token() // '}'
	return m, nil
}

func (d *refDecoder) refTensor(name string, keyPos int64) (refTensor, *FormatError) {
	field := tensorField(name)
	t := refTensor{info: TensorInfo{Name: name, Shape: []int64{}}, keyPos: keyPos}
	tok, entryPos := d.token()
	if tok != json.Delim('{') {
		return t, refErr(entryPos, field, ErrSchema, "entry is not an object")
	}
	have := map[string]bool{}
	for d.dec.More() {
		k, kpos := d.token()
		key := k.(string)
		if key != "dtype" && key != "shape" && key != "data_offsets" {
			return t, refErr(kpos, field, ErrSchema, "unknown key")
		}
		if have[key] {
			return t, refErr(kpos, field, ErrSchema, "duplicate key")
		}
		have[key] = true
		v, vpos := d.token()
		switch key {
		case "dtype":
			s, ok := v.(string)
			if !ok {
				return t, refErr(vpos, field, ErrSchema, "dtype is not a string")
			}
			dt, ok := ParseDType(s)
			if !ok {
				return t, refErr(vpos, field, ErrSchema, "unknown dtype")
			}
			t.info.DType = dt
		case "shape":
			t.shapePos = vpos
			if v != json.Delim('[') {
				return t, refErr(vpos, field, ErrSchema, "shape is not an array")
			}
			for d.dec.More() {
				e, epos := d.token()
				if len(t.info.Shape) == maxDims {
					return t, refErr(epos, field, ErrLimit, "too many dimensions")
				}
				n, err := refUint(e, epos, field)
				if err != nil {
					return t, err
				}
				t.info.Shape = append(t.info.Shape, n)
			}
			d.token() // ']'
		case "data_offsets":
			t.offPos = vpos
			if v != json.Delim('[') {
				return t, refErr(vpos, field, ErrSchema, "data_offsets is not an array")
			}
			var offs []int64
			for d.dec.More() {
				e, epos := d.token()
				if len(offs) == 2 {
					return t, refErr(epos, field, ErrSchema, "too many offsets")
				}
				n, err := refUint(e, epos, field)
				if err != nil {
					return t, err
				}
				offs = append(offs, n)
			}
			d.token() // ']'
			if len(offs) != 2 {
				return t, refErr(vpos, field, ErrSchema, "want 2 offsets")
			}
			t.info.Begin, t.info.End = offs[0], offs[1]
		}
	}
	d.token() // '}'
	for _, key := range []string{"dtype", "shape", "data_offsets"} {
		if !have[key] {
			return t, refErr(entryPos, field, ErrSchema, "missing "+key)
		}
	}
	// Size, with math/big-free overflow checks done in float64 first and
	// exact int64 arithmetic after.
	elems := int64(1)
	zero := false
	for _, dim := range t.info.Shape {
		if dim == 0 {
			zero = true
		}
	}
	if zero {
		elems = 0
	} else {
		for _, dim := range t.info.Shape {
			if elems > math.MaxInt64/dim {
				return t, refErr(t.shapePos, field, ErrOverflow, "elements overflow")
			}
			elems *= dim
		}
	}
	bits := int64(t.info.DType.Bits())
	if elems > math.MaxInt64/bits {
		return t, refErr(t.shapePos, field, ErrOverflow, "bits overflow")
	}
	if elems*bits%8 != 0 {
		return t, refErr(t.shapePos, field, ErrSize, "not whole bytes")
	}
	if t.info.Begin > t.info.End {
		return t, refErr(t.offPos, field, ErrLayout, "begin after end")
	}
	if t.info.End-t.info.Begin != elems*bits/8 {
		return t, refErr(t.offPos, field, ErrSize, "size mismatch")
	}
	return t, nil
}

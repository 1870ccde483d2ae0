package safetensors

//go:generate go run golang.org/x/tools/cmd/stringer@v0.38.0 -type=MismatchKind

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strconv"
	"strings"
)

// Index is a parsed model.safetensors.index.json, the map from tensor names
// to shard files of a sharded checkpoint.
type Index struct {
	// TotalSize is metadata.total_size, the sum of every tensor's bytes as
	// the writer counted it; -1 when absent.
	TotalSize int64
	// Metadata is the whole "metadata" object, decoded as encoding/json
	// decodes into an any (numbers are float64); nil when absent.
	Metadata map[string]any

	// The weight_map, from each tensor name to the file name of its shard
	// ([Index.Shard], [Index.All]; see index_table.go).
	entries []indexEntry
	shards  []string // the shard file names, each once, as first named
	slots   []uint32
	seed    maphash.Seed
}

// Caps on an index, from the largest real ones: the trillion-parameter
// mixtures of experts that store every expert's projections as tensors of
// their own. DeepSeek-V3's index names about 92,000 tensors in about 10 MB
// (a weight and its FP8 weight_scale_inv per projection); Kimi-K2's 60 MoE
// layers of 384 experts make 138,240 expert tensors in FP8 and, with
// compressed-tensors' weight_packed, weight_scale and weight_shape per
// projection, 207,360 in its int4 releases: about 21 MB at 100 bytes an
// entry (counted from the config, not from the file). The caps leave
// room above those, and keep what an index at both caps costs downstream
// (a mismatch and a finding per tensor when a shard lacks them all) under
// 256 MiB.
const (
	// MaxIndexLen caps the length of an index: 32 MiB.
	MaxIndexLen = 32 << 20
	// MaxIndexEntries caps the tensors of a weight_map: 262,144.
	MaxIndexEntries = 1 << 18
	// maxIndexUnit caps each piece the index is read in: a weight_map
	// entry, a key, the "metadata" object (decoded as generic values:
	// real ones hold total_size and perhaps total_parameters) and any
	// other top-level value (skipped). So the window an index is read
	// through stays small whatever the document holds.
	maxIndexUnit = 1 << 20
)

// ParseIndex parses a model.safetensors.index.json held in data; see
// [ReadIndex].
func ParseIndex(data []byte) (*Index, error) {
	return ReadIndex(bytes.NewReader(data), int64(len(data)))
}

// ReadIndex reads and parses the model.safetensors.index.json of size
// bytes that r holds. The document must be one JSON object with a
// "weight_map" object of string values and, optionally, a "metadata"
// object whose "total_size", if present, is a non-negative integer; other
// top-level keys are skipped, their values checked for syntax but not
// decoded. "metadata" and "weight_map" may not appear twice, nor a key
// inside them.
//
// Every shard name must be a plain file name in the index's directory: a
// name that is empty or contains "/", "\\", "..", "://", ":" or a control
// character fails with [ErrUnsafePath]. An index over [MaxIndexLen] bytes,
// a weight_map of more than [MaxIndexEntries] tensors, or a weight_map
// entry, the metadata object or another key's value over 1 MiB fails with
// [ErrLimit]. Errors are [*FormatError] values whose Offset is the
// position in the document; an error from r is returned wrapped.
//
// The document is read sequentially, in windows of 64 KiB (up to 2 MiB for
// an entry or value that does not fit), and never held whole: the tensor
// names are copied into shared blocks and each shard name is stored once.
// ReadIndex is safe for concurrent use if r is.
func ReadIndex(r io.ReaderAt, size int64) (*Index, error) {
	return readIndex(r, size, indexWindow)
}

// readIndex is ReadIndex with windows of at least window bytes.
func readIndex(r io.ReaderAt, size int64, window int) (*Index, error) {
	switch {
	case size < 0:
		return nil, fmt.Errorf("safetensors: index size %d is negative", size)
	case size > MaxIndexLen:
		return nil, &FormatError{Offset: MaxIndexLen, Field: "index",
			Err: fmt.Errorf("%d bytes is over the %d-byte cap: %w", size, MaxIndexLen, ErrLimit)}
	}
	p := &indexParser{
		st:     newStream(io.NewSectionReader(r, 0, size), size, window, "index"),
		ix:     &Index{TotalSize: -1},
		shards: map[string]uint32{},
	}
	if size >= prefaultIndexLen {
		stop := make(chan struct{})
		defer close(stop)
		p.names.prefault(stop)
	}
	if err := p.parse(); err != nil {
		return nil, withField(err, "index")
	}
	return p.ix, nil
}

// prefaultIndexLen is the length from which an index's name blocks are
// faulted in ahead of the parse (see arena.prefault): about 10,000
// entries, a megabyte of names.
const prefaultIndexLen = 1 << 20

// withField sets the Field of a *FormatError that has none.
func withField(err error, field string) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Field == "" {
		fe.Field = field
	}
	return err
}

// indexParser decodes an index from a stream, one unit at a time: the
// opening brace, each key, each value, each separator.
type indexParser struct {
	st     *stream
	ix     *Index
	names  arena             // the tensor names
	shards map[string]uint32 // the validated shard names: their numbers
	haveWM bool              // the weight_map was read
}

func (p *indexParser) parse() error {
	st, sc := p.st, &p.st.sc
	if st.size > 0 {
		if err := st.fill(0); err != nil {
			return err
		}
	}
	done, err := p.open("index")
	if err != nil {
		return err
	}
	var haveMeta bool
	for !done {
		var key string
		var keyPos int
		err := st.unit("a key", maxIndexUnit, func() *FormatError {
			sc.ws() // what the last unit left, when the window ended in it
			keyPos = sc.i
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
			key = k
			return nil
		})
		if err != nil {
			return err
		}
		if key == "metadata" && haveMeta || key == "weight_map" && p.haveWM {
			return sc.errf(keyPos, ErrSchema, "duplicate key %q", key)
		}
		switch key {
		case "metadata":
			haveMeta = true
			err = st.unit(`the "metadata" object`, maxIndexUnit, func() *FormatError {
				sc.ws()
				return indexMetadata(sc, p.ix)
			})
			if err == nil {
				// Its strings are in the window: copy them out.
				p.ix.Metadata = cloneStrings(p.ix.Metadata).(map[string]any)
			}
			err = withField(err, `key "metadata"`)
		case "weight_map":
			err = withField(p.weightMap(), `key "weight_map"`)
		default:
			err = st.unit("the value of key "+strconv.Quote(clip(key)), maxIndexUnit, func() *FormatError {
				sc.ws()
				return sc.skip(1)
			})
		}
		if err != nil {
			return err
		}
		if done, err = p.next(); err != nil {
			return err
		}
	}
	for { // only whitespace after the object
		sc.ws()
		if sc.i < len(sc.s) && (sc.i < st.valid || st.done()) {
			return st.first(sc.errf(sc.i, ErrSyntax, "data after the top-level object"))
		}
		if st.done() {
			break
		}
		if err := st.fill(sc.i); err != nil {
			return err
		}
	}
	if st.bad != nil {
		return st.bad
	}
	if !p.haveWM {
		return &FormatError{Offset: 0, Err: fmt.Errorf(`missing key "weight_map": %w`, ErrSchema)}
	}
	return nil
}

// open consumes the opening brace of an object called what and reports
// whether the object is empty, its closing brace consumed too.
func (p *indexParser) open(what string) (empty bool, _ error) {
	sc := &p.st.sc
	err := p.st.unit("the start of "+what, maxIndexUnit, func() *FormatError {
		sc.ws()
		if sc.peek() != '{' {
			return sc.wrongType(what, "an object")
		}
		sc.i++
		sc.ws()
		if sc.i == len(sc.s) {
			return sc.eof() // '}' or not: the window cannot tell
		}
		if empty = sc.peek() == '}'; empty {
			sc.i++
		}
		return nil
	})
	return empty, err
}

// next consumes the separator after a member and reports whether it closed
// the object.
func (p *indexParser) next() (done bool, _ error) {
	sc := &p.st.sc
	err := p.st.unit("a separator", maxIndexUnit, func() *FormatError {
		var err *FormatError
		done, err = sc.next('}')
		return err
	})
	return done, err
}

// weightMap decodes the "weight_map" object.
func (p *indexParser) weightMap() error {
	st, sc := p.st, &p.st.sc
	done, err := p.open("weight_map")
	if err != nil {
		return err
	}
	// Each entry takes at least 8 bytes ("a":"b",) and real ones about
	// 100, which bounds the size hint by the document whatever it claims.
	p.haveWM = true
	ix := p.ix
	ix.init(int(min(st.size/64, MaxIndexEntries)))
	// The last shard named, once there is one. (Not a sentinel name: JSON
	// can spell any string, "\u0000" too, and a shard name equal to it
	// skipped the checks and the table.)
	var lastName string
	var last uint32
	haveLast := false
	for !done {
		var name, shard string
		var keyPos, valPos int
		err := st.unit("a weight_map entry", maxIndexUnit, func() *FormatError {
			sc.ws()
			keyPos = sc.i
			if sc.peek() != '"' {
				return sc.unexpected(sc.i, "a string key")
			}
			n, err := sc.str()
			if err != nil {
				return err
			}
			sc.ws()
			if err := sc.expect(':', "':'"); err != nil {
				return err
			}
			valPos = sc.i
			if sc.peek() != '"' {
				err = sc.wrongType("shard name", "a string")
			} else {
				shard, err = sc.str()
			}
			if err != nil {
				err.Field = tensorField(n)
				return err
			}
			name = n
			return nil
		})
		if err != nil {
			return err
		}
		fail := func(pos int, sentinel error, format string, args ...any) error {
			err := sc.errf(pos, sentinel, format, args...)
			err.Field = tensorField(name)
			return err
		}
		if ix.Len() >= MaxIndexEntries {
			return fail(keyPos, ErrLimit, "weight_map has more than %d tensors", MaxIndexEntries)
		}
		if !haveLast || shard != lastName { // runs of entries name one shard
			n, ok := p.shards[shard]
			if !ok {
				if why := unsafeShardName(shard); why != "" {
					return fail(valPos, ErrUnsafePath, "shard name %q %s", clip(shard), why)
				}
				stored := strings.Clone(shard)
				n = ix.addShard(stored)
				p.shards[stored] = n
			}
			lastName, last, haveLast = ix.shards[n], n, true
		}
		// One hash per entry: the table takes the name unless it is there.
		if !ix.add(p.names.copy(name), last) {
			return fail(keyPos, ErrSchema, "duplicate key in weight_map")
		}
		if done, err = p.next(); err != nil {
			return err
		}
	}
	return nil
}

// cloneStrings returns v, a value decoded by scanner.value, with every
// string (and object key) copied.
func cloneStrings(v any) any {
	switch v := v.(type) {
	case string:
		return strings.Clone(v)
	case []any:
		for i := range v {
			v[i] = cloneStrings(v[i])
		}
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[strings.Clone(k)] = cloneStrings(x)
		}
		return m
	}
	return v
}

// indexMetadata decodes the "metadata" object and its total_size.
func indexMetadata(sc *scanner, ix *Index) *FormatError {
	if sc.peek() != '{' {
		return sc.wrongType("metadata", "an object")
	}
	sc.i++
	sc.ws()
	m := map[string]any{}
	ix.Metadata = m
	done := sc.peek() == '}'
	if done {
		sc.i++
	}
	for !done {
		keyPos := sc.i
		if sc.peek() != '"' {
			return sc.unexpected(sc.i, "a string key")
		}
		k, err := sc.str()
		if err != nil {
			return err
		}
		if _, dup := m[k]; dup {
			return sc.errf(keyPos, ErrSchema, "duplicate key %q", k)
		}
		sc.ws()
		if err := sc.expect(':', "':'"); err != nil {
			return err
		}
		if k == "total_size" {
			start := sc.i
			n, err := totalSize(sc)
			if err != nil {
				err.Field = `key "metadata.total_size"`
				return err
			}
			ix.TotalSize = n
			m[k], _ = strconv.ParseFloat(sc.s[start:sc.i], 64)
		} else {
			if m[k], err = sc.value(2); err != nil {
				return err
			}
		}
		if done, err = sc.next('}'); err != nil {
			return err
		}
	}
	return nil
}

// totalSize decodes total_size: a non-negative integer, written plainly or
// in a float form that is exactly integral (as some writers produce).
func totalSize(sc *scanner) (int64, *FormatError) {
	start := sc.i
	c := sc.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, sc.wrongType("total_size", "a non-negative integer")
	}
	v, neg, nonInt, overflow, err := sc.number()
	if err != nil {
		return 0, err
	}
	lit := sc.s[start:sc.i]
	if !nonInt && !neg && !overflow {
		return v, nil
	}
	f, perr := strconv.ParseFloat(lit, 64)
	switch {
	case neg && f != 0 || f < 0:
		return 0, sc.errf(start, ErrSchema, "total_size is negative: %s", clip(lit))
	case perr != nil || f >= math.MaxInt64:
		return 0, sc.errf(start, ErrOverflow, "total_size does not fit in an int64: %s", clip(lit))
	case f != math.Trunc(f):
		return 0, sc.errf(start, ErrSchema, "total_size is not an integer: %s", clip(lit))
	}
	return int64(f), nil
}

// unsafeShardName says why name is not a plain file name, or returns "".
func unsafeShardName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case name == ".":
		return `is "."`
	case strings.Contains(name, "://"):
		return `contains "://"`
	case strings.Contains(name, ".."):
		return `contains ".."`
	case strings.HasPrefix(name, "/"):
		return "is an absolute path"
	case strings.ContainsAny(name, `/\`):
		return "contains a path separator"
	case strings.Contains(name, ":"):
		return `contains ":"`
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

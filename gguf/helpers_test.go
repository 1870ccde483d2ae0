package gguf_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// raw writes GGUF fields one by one, so tests can build malformed files.
type raw struct{ b []byte }

func (w *raw) off() int64 { return int64(len(w.b)) }

func (w *raw) bytes(s string) *raw { w.b = append(w.b, s...); return w }
func (w *raw) u8(x uint8) *raw     { w.b = append(w.b, x); return w }
func (w *raw) u32(x uint32) *raw   { w.b = binary.LittleEndian.AppendUint32(w.b, x); return w }
func (w *raw) u64(x uint64) *raw   { w.b = binary.LittleEndian.AppendUint64(w.b, x); return w }
func (w *raw) str(s string) *raw   { return w.u64(uint64(len(s))).bytes(s) }
func (w *raw) zeros(n int) *raw    { w.b = append(w.b, make([]byte, n)...); return w }

// header writes magic "GGUF", the version and the counts.
func (w *raw) header(version uint32, nTensors, nKV uint64) *raw {
	return w.bytes("GGUF").u32(version).u64(nTensors).u64(nKV)
}

// kvU32 writes a u32 key-value pair.
func (w *raw) kvU32(key string, x uint32) *raw {
	return w.str(key).u32(uint32(gguf.ValueUint32)).u32(x)
}

// tensor writes a tensor info.
func (w *raw) tensor(name string, dims []uint64, typ gguf.Type, offset uint64) *raw {
	w.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		w.u64(d)
	}
	return w.u32(uint32(typ)).u64(offset)
}

// pad pads with zeros to a multiple of align.
func (w *raw) pad(align int) *raw {
	for len(w.b)%align != 0 {
		w.b = append(w.b, 0)
	}
	return w
}

// buildFile encodes a header and appends dataSize bytes of data, byte i of
// the data section being byte(i*7+1).
func buildFile(tb testing.TB, version uint32, kvs []gguf.KV, tensors []gguf.TensorInfo) []byte {
	tb.Helper()
	h, dataSize, err := gguf.EncodeHeader(version, kvs, tensors)
	if err != nil {
		tb.Fatalf("EncodeHeader: %v", err)
	}
	out := make([]byte, len(h)+int(dataSize))
	copy(out, h)
	for i := range int(dataSize) {
		out[len(h)+i] = byte(i*7 + 1)
	}
	return out
}

// readBytes reads a file held in memory.
func readBytes(b []byte, opts ...gguf.Option) (*gguf.File, error) {
	return gguf.Read(bytes.NewReader(b), int64(len(b)), opts...)
}

// shortReader serves only the first n bytes of b and then io.EOF, though the
// file is declared larger: a reader that breaks its promise.
type shortReader struct {
	b []byte
	n int
}

func (s shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(s.n) {
		return 0, io.EOF
	}
	k := copy(p, s.b[off:s.n])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// errReader fails every read.
type errReader struct{ err error }

func (e errReader) ReadAt([]byte, int64) (int, error) { return 0, e.err }

// sentinels lists every category sentinel, to check that an error wraps
// exactly one.
var sentinels = []error{
	gguf.ErrNotGGUF, gguf.ErrUnsupportedVersion, gguf.ErrByteOrder, gguf.ErrTruncated,
	gguf.ErrLimit, gguf.ErrOverflow, gguf.ErrInvalid, gguf.ErrUnknownType, gguf.ErrDuplicate,
	gguf.ErrAlignment, gguf.ErrBounds, gguf.ErrOverlap, gguf.ErrNotFound, gguf.ErrWrongType,
	gguf.ErrSplit,
}

// checkFormatError checks that err is a *FormatError within a file of size
// bytes, with a Field, wrapping exactly one sentinel.
func checkFormatError(err error, size int64) error {
	var fe *gguf.FormatError
	if !errors.As(err, &fe) {
		return fmt.Errorf("error %v (%T) is not a *FormatError", err, err)
	}
	if fe.Offset < 0 || fe.Offset > size {
		return fmt.Errorf("error %v: offset %d outside the file of %d bytes", err, fe.Offset, size)
	}
	if fe.Field == "" {
		return fmt.Errorf("error %v: empty Field", err)
	}
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("error %v wraps %d sentinels, want 1", err, n)
	}
	return nil
}

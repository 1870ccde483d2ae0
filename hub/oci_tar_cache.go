package hub

import (
	"encoding/binary"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A compressed tar layer can only be read from its start, so what a
// listing keeps of it (the front of each file: see streamTar) is cached
// whole, as one entry of the header cache under the layer's digest: a
// later listing of the same layer then streams nothing.
//
// The entry's body: the number of files (uint32), then per file the
// length of its name (uint32), the name, its size (uint64), the length of
// its front (uint64) and the front; little-endian.

// tarCacheID names the cache entry of the compressed tar layer l.
func (s *OCISource) tarCacheID(l v1.Descriptor) string {
	return s.ref.Context().RegistryStr() + "/" + l.Digest.String() + "#tar-fronts"
}

// encodeTarFronts encodes the files kept of a tar layer, or returns false
// when they are too large for one cache entry.
func encodeTarFronts(pfs []*prefixFile, limit int64) ([]byte, bool) {
	n := int64(4)
	for _, pf := range pfs {
		n += 4 + int64(len(pf.name)) + 16 + int64(len(pf.data))
	}
	if n > limit {
		return nil, false
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pfs)))
	for _, pf := range pfs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pf.name)))
		b = append(b, pf.name...)
		b = binary.LittleEndian.AppendUint64(b, uint64(pf.size))
		b = binary.LittleEndian.AppendUint64(b, uint64(len(pf.data)))
		b = append(b, pf.data...)
	}
	return b, true
}

var errTarFronts = errors.New("malformed cached tar layer")

// decodeTarFronts decodes what encodeTarFronts wrote for layer l, checking
// every count and length against the bytes there are and the limits a
// listing keeps to. The slices it returns alias b.
func decodeTarFronts(b []byte, l v1.Descriptor) ([]*prefixFile, error) {
	off := 0
	fail := func(what string) ([]*prefixFile, error) {
		return nil, fmt.Errorf("offset %d: %s: %w", off, what, errTarFronts)
	}
	u32 := func() (uint32, bool) {
		if len(b)-off < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b[off:])
		off += 4
		return v, true
	}
	u64 := func() (uint64, bool) {
		if len(b)-off < 8 {
			return 0, false
		}
		v := binary.LittleEndian.Uint64(b[off:])
		off += 8
		return v, true
	}
	count, ok := u32()
	if !ok || count > maxTarMembers {
		return fail("file count")
	}
	out := make([]*prefixFile, 0, min(int(count), len(b)/20+1))
	var kept uint64
	for range count {
		nl, ok := u32()
		if !ok || uint64(nl) > uint64(len(b)-off) {
			return fail("name length")
		}
		name := string(b[off : off+int(nl)])
		off += int(nl)
		if cleanName(name) != name || name == "" {
			return fail(fmt.Sprintf("file name %q", name))
		}
		size, ok := u64()
		if !ok || size > 1<<62 {
			return fail(fmt.Sprintf("file %q: size", name))
		}
		dl, ok := u64()
		if !ok || dl > size || dl > maxMemberPrefix || dl > uint64(len(b)-off) {
			return fail(fmt.Sprintf("file %q: front length", name))
		}
		if kept += dl; kept > maxTarPrefix {
			return fail("fronts over the limit")
		}
		out = append(out, &prefixFile{name: name, size: int64(size), data: b[off : off+int(dl)], layer: l.Digest})
		off += int(dl)
	}
	if off != len(b) {
		return fail("trailing bytes")
	}
	return out, nil
}

// cachedTarFronts returns what an earlier listing kept of the compressed
// tar layer l, or nil.
func (s *OCISource) cachedTarFronts(l v1.Descriptor) []*prefixFile {
	c := s.opts.HeaderCache
	if c == nil {
		return nil
	}
	b := c.load(s.tarCacheID(l), l.Size)
	if b == nil {
		return nil
	}
	pfs, err := decodeTarFronts(b, l)
	if err != nil {
		return nil // damaged or foreign: stream the layer again
	}
	s.cnt.cached.Add(int64(len(b)))
	return pfs
}

// storeTarFronts keeps what a listing kept of the compressed tar layer l.
// A failure to store is not an error: the cache is an optimization.
func (s *OCISource) storeTarFronts(l v1.Descriptor, pfs []*prefixFile) {
	c := s.opts.HeaderCache
	if c == nil {
		return
	}
	if b, ok := encodeTarFronts(pfs, c.max); ok {
		_ = c.store(s.tarCacheID(l), l.Size, b)
	}
}

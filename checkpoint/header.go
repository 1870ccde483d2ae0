package checkpoint

import (
	"encoding/binary"
	"io"
	"path"
	"strings"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// ReadHeader reads through r as much of the file name (of size bytes) as
// its format's header needs: a GGUF file's header and tensor infos, a
// safetensors file's length prefix and JSON header, any other file whole.
// It is the [hub.HeaderFunc] of sources that keep only the front of some
// files (those inside a compressed tar layer): the hub knows no format. A
// header that does not parse fails again, with its error, when the file is
// loaded.
func ReadHeader(name string, r io.ReaderAt, size int64) {
	switch strings.ToLower(path.Ext(name)) {
	case ".gguf":
		gguf.Read(r, size)
	case ".safetensors":
		safetensors.Read(r, size)
	default:
		// In the reads io.Copy makes, not one buffer of the size the
		// archive claims; a read past what the source keeps ends it.
		io.Copy(io.Discard, io.NewSectionReader(r, 0, size))
	}
}

// ggufSkim walks the front of a GGUF file, as its bytes arrive, far
// enough to tell where the header (the magic through the last tensor info)
// ends, or to estimate it: what a remote read of the header is sized by
// (see readGGUF). It checks nothing but what it needs to walk on; the
// parser checks the header. Walking stops at anything it does not follow
// (an array of arrays, a value type it does not know, a count over the
// parser's caps): the parser then reads the rest as it would any file.
//
// The layout walked is gguf.md's:
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
type ggufSkim struct {
	pos     int64 // the bytes walked
	stage   uint8 // skimPreamble, skimKVs, skimTensors, skimDone or skimLost
	kvs     int64 // key-value pairs left, the one being walked included
	tensors int64 // tensor infos left
	pending int64 // where the value being walked ends when known, else 0

	// The array of strings being walked: elements left, where its first
	// one began and how many have been walked; where the strings walked
	// by the last call to walk began, and how many there were before.
	strLeft, strFrom, strSeen int64
	lastFrom, lastSeen        int64

	// Where the tensor infos began and how many have been walked.
	infoFrom, infoSeen int64
}

const (
	skimPreamble = iota
	skimKVs
	skimTensors
	skimDone // the whole header is walked: pos is its length
	skimLost // walking stopped at something it does not follow
)

// ggufFixedSize is the encoded size of each fixed-size GGUF value type
// (gguf.md's gguf_metadata_value_type), 0 for strings and arrays.
var ggufFixedSize = [...]int64{1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8}

// Sizes assumed before any are seen: a scalar key-value pair, a tensor
// info (a 27-byte name and three dims), a string in an array.
const (
	ggufStrSlack  = 8  // of a guess at strings left, added: 1/8
	ggufInfoSlack = 16 // of a guess at tensor infos left, added: 1/16
	skimKVGuess   = 48
	skimInfoGuess = 8 + 27 + 4 + 3*8 + 4 + 8
	skimStrGuess  = 8 + 8
)

// walk walks b, the file's first len(b) bytes (more of them at each call),
// as far as they go.
func (s *ggufSkim) walk(b []byte) {
	n := int64(len(b))
	u32 := func(at int64) uint32 { return binary.LittleEndian.Uint32(b[at:]) }
	u64 := func(at int64) uint64 { return binary.LittleEndian.Uint64(b[at:]) }
	s.lastFrom, s.lastSeen = s.pos, s.strSeen
	for {
		switch s.stage {
		case skimPreamble:
			if n < 24 {
				return
			}
			if string(b[:4]) != "GGUF" || (u32(4) != 2 && u32(4) != 3) ||
				u64(8) > gguf.DefaultMaxTensors || u64(16) > 1<<16 {
				s.stage = skimLost
				return
			}
			s.tensors, s.kvs, s.pos, s.stage = int64(u64(8)), int64(u64(16)), 24, skimKVs
		case skimKVs:
			if s.strLeft > 0 {
				for s.strLeft > 0 {
					if s.pos+8 > n {
						return
					}
					l := u64(s.pos)
					if l > uint64(n-s.pos-8) {
						s.pending = 0
						if l < 1<<40 {
							s.pending = s.pos + 8 + int64(l)
						}
						return
					}
					s.pos += 8 + int64(l)
					s.strLeft--
					s.strSeen++
				}
				s.pending = 0
				s.kvs--
				continue
			}
			if s.kvs == 0 {
				s.stage, s.infoFrom = skimTensors, s.pos
				continue
			}
			// A key, its value type, and what the type says of the value.
			if s.pos+8 > n {
				return
			}
			kl := u64(s.pos)
			if kl > 1<<16 {
				s.stage = skimLost
				return
			}
			p := s.pos + 8 + int64(kl) + 4
			if p > n {
				return
			}
			t := u32(p - 4)
			switch {
			case t == 8: // string
				if p+8 > n {
					return
				}
				l := u64(p)
				if l > 1<<30 {
					s.stage = skimLost
					return
				}
				if s.pending = p + 8 + int64(l); s.pending > n {
					return
				}
				s.pos, s.pending = s.pending, 0
				s.kvs--
			case t == 9: // array
				if p+12 > n {
					return
				}
				et, count := u32(p), u64(p+4)
				if count > 1<<22 {
					s.stage = skimLost
					return
				}
				switch {
				case et == 8:
					s.pos, s.strLeft, s.strFrom, s.strSeen = p+12, int64(count), p+12, 0
					s.lastFrom, s.lastSeen = s.pos, 0
				case int(et) < len(ggufFixedSize) && ggufFixedSize[et] > 0:
					if s.pending = p + 12 + int64(count)*ggufFixedSize[et]; s.pending > n {
						return
					}
					s.pos, s.pending = s.pending, 0
					s.kvs--
				default:
					s.stage = skimLost
					return
				}
			case int(t) < len(ggufFixedSize) && ggufFixedSize[t] > 0:
				if p+ggufFixedSize[t] > n {
					return
				}
				s.pos = p + ggufFixedSize[t]
				s.kvs--
			default:
				s.stage = skimLost
				return
			}
		case skimTensors:
			if s.tensors == 0 {
				s.stage = skimDone
				return
			}
			if s.pos+8 > n {
				return
			}
			l := u64(s.pos)
			if l > 1<<16 {
				s.stage = skimLost
				return
			}
			p := s.pos + 8 + int64(l) + 4
			if p > n {
				return
			}
			dims := int64(u32(p - 4))
			if dims > 4 {
				s.stage = skimLost
				return
			}
			if p += dims*8 + 4 + 8; p > n {
				return
			}
			s.pos = p
			s.tensors--
			s.infoSeen++
		default:
			return
		}
	}
}

// estimate returns where the header is thought to end, past what walk has
// walked: exactly where the value being walked ends when that is known,
// the rest of an array of strings at the mean length of its strings so
// far, and what is left after it at the sizes assumed (skimKVGuess, and
// the tensor infos at their mean size so far). It errs short: the
// tokenizer's arrays, of which only the count is known ahead, are not
// guessed before their turn; fetching short costs a request, fetching
// long the bytes past the header.
func (s *ggufSkim) estimate() int64 {
	info := int64(skimInfoGuess)
	if s.infoSeen >= 8 {
		info = (s.pos - s.infoFrom) / s.infoSeen
	}
	switch s.stage {
	case skimPreamble:
		return 24
	case skimKVs:
		cur, after := s.pos+skimKVGuess, s.kvs-1 // the pair at pos, at a guess
		switch {
		case s.strLeft > 0:
			// The strings left at the mean length of those walked so far,
			// or of those the last call walked when longer: a
			// vocabulary's strings grow longer towards its end.
			str := int64(skimStrGuess)
			if s.strSeen >= 16 {
				str = (s.pos - s.strFrom) / s.strSeen
			}
			if n := s.strSeen - s.lastSeen; n >= 64 {
				str = max(str, (s.pos-s.lastFrom)/n)
			}
			rest := (s.strLeft - 1) * str
			cur = s.pos + max(s.pending-s.pos, str) + rest + rest/ggufStrSlack
		case s.pending > s.pos:
			cur = s.pending
		}
		return cur + after*skimKVGuess + s.tensors*info
	case skimTensors:
		rest := s.tensors * info
		return s.pos + rest + rest/ggufInfoSlack
	}
	return s.pos
}

// frontReader reads a file whose first bytes are held in front: from
// there, and the rest from r.
type frontReader struct {
	front []byte
	r     io.ReaderAt
}

func (f *frontReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(f.front)) {
		n = copy(p, f.front[off:])
	}
	if n == len(p) {
		return n, nil
	}
	m, err := f.r.ReadAt(p[n:], off+int64(n))
	return n + m, err
}

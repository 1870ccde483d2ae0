package checkpoint

import (
	"encoding/binary"
	"slices"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// Reading headers with as few bytes and requests as their formats allow:
// the read plans a remote file is given before it is parsed.

// planSafetensors reads the length prefix of a remote safetensors file's
// header and tells the file where the header ends (see hub.ReadPlanner),
// so that what its first fetch did not bring is fetched in one request
// and nothing past it. A local file is not read here. A length the
// reader will refuse plans nothing.
func planSafetensors(f hub.File) error {
	if f.Size() < 8 || !hub.PlanHeader(f, 8) {
		return nil
	}
	var p [8]byte
	if n, err := f.ReadAt(p[:], 0); n < len(p) {
		return err
	}
	if n := binary.LittleEndian.Uint64(p[:]); n <= uint64(f.Size()-8) && n <= safetensors.DefaultMaxHeaderLen {
		// From 0: the reader reads the prefix again, which the file
		// holds when its first fetch brought more, and otherwise comes
		// again with the header, 8 bytes more in the same request.
		hub.PlanRead(f, 0, 8+int64(n))
	}
	return nil
}

// A remote GGUF header is read by plan (see readGGUF).
const (
	// ggufFirstRead is the first read: a split part's header (its tensor
	// infos) whole, the first key-value pairs of a first part's.
	ggufFirstRead = 16 << 10
	// ggufMinStep is the least a read after the first asks for.
	ggufMinStep = 4 << 10
	// ggufPlanned caps the bytes read by plan, and held at once; a larger
	// header is read on by the parser, in growing chunks.
	ggufPlanned = 16 << 20
	// ggufRounds caps the reads made by plan after the first.
	ggufRounds = 16
)

// readGGUF reads the header of the GGUF file f. A file read where it is
// is parsed as it is. A remote one (a hub.ReadPlanner) is read by plan,
// each read one request sized by what the format says: ggufFirstRead
// bytes, then, as often as needed, up to where ggufSkim puts the end of
// the header from the counts and lengths read so far; the parser then
// parses those bytes, the header capped at them. A header that does not
// end where the walk said (or that it could not follow) is parsed again
// with nothing capped, reading on from the file: what the walk says never
// changes what the parser finds, only what is fetched.
func readGGUF(f hub.File, opts ...gguf.Option) (*gguf.File, error) {
	size := f.Size()
	end := min(ggufFirstRead, size)
	if !hub.PlanRead(f, 0, end) {
		return gguf.Read(f, size, opts...)
	}
	var (
		front []byte
		skim  ggufSkim
	)
	for round := 0; ; round++ {
		front = slices.Grow(front, int(end)-len(front))
		chunk := front[len(front):end]
		hub.PlanRead(f, int64(len(front)), end)
		if n, err := f.ReadAt(chunk, int64(len(front))); n < len(chunk) {
			return nil, err
		}
		front = front[:end]
		skim.walk(front)
		if skim.stage >= skimDone || round == ggufRounds {
			break
		}
		next := min(max(skim.estimate(), end+ggufMinStep), size, ggufPlanned)
		if next <= end {
			break
		}
		end = next
	}
	hub.PlanRead(f, 0, 0)
	r := &frontReader{front: front, r: f}
	if skim.stage == skimDone {
		if gf, err := gguf.Read(r, size, append(opts, gguf.WithMaxHeaderLen(skim.pos))...); err == nil {
			return gf, nil
		}
	}
	return gguf.Read(r, size, opts...)
}

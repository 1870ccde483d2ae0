package hub

import "sync/atomic"

// Stats counts the network traffic of a remote source: every HTTP request
// sent (each redirect hop and each retry counts) and every byte of response
// body received (file bytes, listings, redirect and error bodies).
type Stats struct {
	Requests int64
	Bytes    int64
	// Cached counts the bytes read from a local copy instead: the header
	// cache (see [HeaderCache]) or the blob store (see [BlobStore]).
	Cached int64
}

// SourceStats returns the traffic counters of src when it is a remote
// source, and false for a local or in-memory one.
func SourceStats(src Source) (Stats, bool) {
	if s, ok := src.(interface{ Stats() Stats }); ok {
		return s.Stats(), true
	}
	return Stats{}, false
}

// counters are the atomic counters behind [Stats]; one set is shared by a
// source and every file it opens.
type counters struct {
	requests atomic.Int64
	bytes    atomic.Int64
	cached   atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{Requests: c.requests.Load(), Bytes: c.bytes.Load(), Cached: c.cached.Load()}
}

// countingBody counts the bytes read through it into c.
type countingBody struct {
	r interface {
		Read([]byte) (int, error)
		Close() error
	}
	c *counters
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.c.bytes.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.r.Close() }

package audit

import (
	"fmt"

	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// FetchJSON says what reading a remote source cost: requests made, bytes
// fetched, and their ratio to the header bytes the audit needed; and the
// bytes read from the local cache (headers, stored blobs) instead.
type FetchJSON struct {
	Requests    int64   `json:"requests"`
	Bytes       int64   `json:"bytes"`
	HeaderBytes int64   `json:"header_bytes"`
	Ratio       float64 `json:"ratio"`
	CachedBytes int64   `json:"cached_bytes"`
}

// NewFetch builds a FetchJSON.
func NewFetch(requests, bytes, headerBytes int64) *FetchJSON {
	f := &FetchJSON{Requests: requests, Bytes: bytes, HeaderBytes: headerBytes}
	if headerBytes > 0 {
		f.Ratio = float64(bytes) / float64(headerBytes)
	}
	return f
}

// String renders the line the text reports print.
func (f *FetchJSON) String() string {
	s := fmt.Sprintf("fetched %s in %d requests for %s of headers (%.2f×)", textfmt.Bytes(f.Bytes), f.Requests, textfmt.Bytes(f.HeaderBytes), f.Ratio)
	if f.CachedBytes > 0 {
		s += fmt.Sprintf("; %s read from the local cache", textfmt.Bytes(f.CachedBytes))
	}
	return s
}

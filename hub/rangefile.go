package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// readAhead sizes the first fetch of a file: the one a read at offset 0
// makes when it asks for less than first, such as the 8-byte length read
// that starts a safetensors header. That fetch is first bytes until the
// source has learned how far into files of the same kind (extension) their
// readers go: when a file is closed after at least two reads running
// sequentially from offset 0 and stopping short of its end, its extent is
// kept (the largest one per kind). The shards of one checkpoint have
// headers of about one size, so from then on a first fetch is that extent
// plus a sixteenth, rounded up to 1 KiB, and never more than first. A
// header that outgrows it costs one more request for exactly the rest: a
// read running past the last fetch in one piece gets no read-ahead.
//
// So that a batch of files opened at once does not fetch first bytes each,
// the first file of a kind read before anything is learned is a probe: the
// others wait for it until it is closed, until it needs a second fetch (its
// header is larger than a first fetch: there is nothing to learn soon, and
// no more probes are made for the kind), or for at most wait.
//
// A reader that plans its reads (see [ReadPlanner]) is sized by its plans
// instead: no probe, no wait; only the first read of a planned header
// grows to what the kind has taught (see readAhead.learnedFetch).
//
// It is safe for concurrent use.
type readAhead struct {
	first, max int64
	wait       time.Duration
	mu         sync.Mutex
	kinds      map[string]*kindState
}

type kindState struct {
	learned int64      // the largest extent seen, 0 for none
	probe   *rangeFile // the file making its first fetch alone, or nil
	done    chan struct{}
	noProbe bool // a probe's header outgrew its first fetch
}

func (r *readAhead) kind(k string) *kindState {
	if r.kinds == nil {
		r.kinds = map[string]*kindState{}
	}
	ks := r.kinds[k]
	if ks == nil {
		ks = &kindState{}
		r.kinds[k] = ks
	}
	return ks
}

// firstFetch returns how much f's first fetch reads, waiting for the kind's
// probe when there is one; probe reports whether f became the probe.
func (r *readAhead) firstFetch(ctx context.Context, kind string, f *rangeFile) (n int64, probe bool) {
	r.mu.Lock()
	k := r.kind(kind)
	if k.learned == 0 && k.probe != nil && k.probe != f {
		done := k.done
		r.mu.Unlock()
		t := time.NewTimer(r.wait)
		select {
		case <-done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	if v := k.learned; v > 0 {
		v += v / 16            // margin: sibling headers differ a little
		v = (v + 1023) &^ 1023 // whole KiB
		return min(max(v, minLearned), r.first), false
	}
	if k.probe == nil && !k.noProbe {
		k.probe, k.done = f, make(chan struct{})
		return r.first, true
	}
	return r.first, false
}

// learnedFetch returns what the first fetch of a planned header of the
// kind reads at least: the largest extent learned plus a sixty-fourth
// (sibling shards' headers differ by a few hundred bytes; one that
// outgrows it costs a request for exactly the rest, not a read-ahead),
// never more than first; 0 when nothing is learned. It never waits.
func (r *readAhead) learnedFetch(kind string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.kind(kind).learned
	if v == 0 {
		return 0
	}
	return min(v+v/64, r.first)
}

// release ends f's turn as the probe of its kind, recording the extent its
// reader reached when it is worth learning (extent > 0).
func (r *readAhead) release(kind string, f *rangeFile, extent int64, outgrown bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.kind(kind)
	k.learned = max(k.learned, extent)
	if k.probe == f {
		close(k.done)
		k.probe, k.done = nil, nil
		k.noProbe = k.noProbe || outgrown
	}
}

// rangeFile is a remote file read through HTTP Range requests. It keeps a
// few fetched blocks and reads ahead in growing chunks while its reader
// reads sequentially, so parsing a header costs a handful of requests.
type rangeFile struct {
	c        *httpClient
	ctx      context.Context
	url      *url.URL // the URL asked for the bytes (the Hub's resolve URL)
	name     string
	size     int64
	ra       *readAhead
	classify func(*http.Response) *HTTPError
	// onRedirect checks a redirect from the origin (e.g. X-Linked-Size).
	onRedirect func(*http.Response) error

	mu      sync.Mutex
	blocks  []block // oldest first
	cached  int64
	next    int64 // where the last fetch ended: a fetch starting here reads on sequentially
	chunk   int64 // the size of the last fetch
	target  *url.URL
	until   time.Time
	seq     headerRun
	lastEnd int64 // where the last ReadAt call ended
	closed  bool
	probe   bool // f is its kind's probe (see readAhead)
	// planOff and planEnd are the bytes the reader said it reads next
	// (see PlanRead); planEnd is 0 for no plan. planHeader says they start
	// a header (see PlanHeader).
	planOff, planEnd int64
	planHeader       bool
}

type block struct {
	off  int64
	data []byte
}

func (f *rangeFile) Size() int64 { return f.size }

// Close drops the cached blocks and, if the file's reader read a header
// (sequentially from offset 0, stopping short of the end), tells the read
// ahead how far it went. Close is idempotent; ReadAt after Close still
// works but caches nothing.
func (f *rangeFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.ra.release(path.Ext(f.name), f, f.seq.extent(f.size), false)
	f.probe = false
	f.blocks, f.cached = nil, 0
	return nil
}

// ReadAt reads len(p) bytes at off. It follows the io.ReaderAt contract:
// fewer bytes come only with an error (io.EOF at the end of the file). It is
// safe for concurrent use. Requests run under the context given to Open.
func (f *rangeFile) ReadAt(p []byte, off int64) (int, error) {
	return f.read(p, off, false)
}

// readExact reads as ReadAt does, fetching what the cache does not hold
// with no read-ahead (see [ReadExact]).
func (f *rangeFile) readExact(p []byte, off int64) (int, error) {
	return f.read(p, off, true)
}

func (f *rangeFile) read(p []byte, off int64, exact bool) (int, error) {
	want, eof, err := clipRead(f.name, p, off, f.size)
	if err != nil {
		return 0, err
	}
	done := 0
	for done < len(want) {
		n, err := f.readSome(want[done:], off+int64(done), exact)
		done += n
		if err != nil {
			return done, err
		}
	}
	f.track(off, int64(len(want)))
	return len(want), eof
}

// track follows how far the reads run sequentially from offset 0, and
// where the last one ended.
func (f *rangeFile) track(off, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastEnd = off + n
	f.seq.track(off, n)
}

// headerRun follows the reads of a file that run sequentially from offset
// 0, as a header parser's do, to tell the read ahead how far they went.
type headerRun struct {
	end   int64 // where they ended; -1 once a read skipped ahead
	reads int
}

func (h *headerRun) track(off, n int64) {
	if h.end < 0 {
		return
	}
	if off > h.end {
		h.end = -1
		return
	}
	h.end = max(h.end, off+n)
	h.reads++
}

// extent returns how far into a file of size bytes a header read went: at
// least two reads from offset 0, stopping short of the end; else 0.
func (h *headerRun) extent(size int64) int64 {
	if h.reads >= 2 && h.end > 0 && h.end < size {
		return h.end
	}
	return 0
}

// readSome fills the front of dst (bytes at pos) from the cache or, when
// the cache does not hold pos, with one fetch: of exactly what dst wants
// up to the next bytes held with exact set, else perhaps more (a plan, a
// first fetch, a read-ahead). It returns how many bytes it filled, at
// least one unless it fails.
func (f *rangeFile) readSome(dst []byte, pos int64, exact bool) (int, error) {
	kind := path.Ext(f.name)
	f.mu.Lock()
	held := f.size // where the next block held after pos starts
	for i := len(f.blocks) - 1; i >= 0; i-- {
		b := f.blocks[i]
		if pos >= b.off && pos < b.off+int64(len(b.data)) {
			n := copy(dst, b.data[pos-b.off:])
			f.mu.Unlock()
			return n, nil
		}
		if b.off > pos && b.off < held {
			held = b.off
		}
	}
	need := min(pos+int64(len(dst)), held) - pos
	var ahead int64 // how much a fetch reads: need, or more to read ahead
	first := false
	switch {
	case exact:
		// The reader wants these bytes and no others (see ReadExact).
	case pos >= f.planOff && pos < f.planEnd:
		// Planned: through to the plan's end, and not a byte past it; a
		// header's start as far as the kind's headers went.
		end := f.planEnd
		if f.planHeader && pos == 0 {
			end = max(end, f.ra.learnedFetch(kind))
		}
		ahead = min(end, held) - pos
	case pos == 0 && need < f.ra.first && !f.probe:
		// A first fetch: sized by what files of the kind needed, and
		// perhaps waiting for the kind's probe. Not under f.mu.
		f.mu.Unlock()
		a, probe := f.ra.firstFetch(f.ctx, kind, f)
		f.mu.Lock()
		ahead, first = a, true
		f.probe = f.probe || probe
	case pos == f.next && f.chunk > 0 && f.lastEnd >= f.next-f.chunk/2:
		// Reading on from the last fetch, having consumed most of it in
		// earlier calls: a reader going in small steps (gguf's 64 KiB)
		// that will want more. A call that runs past the last fetch in
		// one piece (safetensors' header read) gets just what it asks.
		ahead = min(max(2*f.chunk, minRead), f.ra.max)
	}
	if f.probe && !first {
		// The probe needs a second fetch: its header outgrew the first.
		f.ra.release(kind, f, 0, true)
		f.probe = false
	}
	direct := need >= ahead // read straight into dst: no read-ahead, no caching
	n := need
	if direct {
		n = min(need, f.ra.max)
	} else {
		n = min(ahead, f.size-pos, f.ra.max)
	}
	f.next, f.chunk = pos+n, n
	f.mu.Unlock()

	var buf []byte
	if direct {
		buf = dst[:n]
	} else {
		buf = make([]byte, n)
	}
	if err := f.fetch(buf, pos); err != nil {
		f.mu.Lock()
		if f.probe { // do not keep the others waiting
			f.ra.release(kind, f, 0, false)
			f.probe = false
		}
		f.mu.Unlock()
		return 0, err
	}
	if direct {
		return int(n), nil
	}
	f.insert(block{off: pos, data: buf})
	return copy(dst, buf), nil
}

// insert adds a block to the cache and evicts the oldest ones while the
// cache holds more than twice the largest fetch. The newest block always
// stays.
func (f *rangeFile) insert(b block) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.blocks = append(f.blocks, b)
	f.cached += int64(len(b.data))
	for len(f.blocks) > 1 && f.cached > 2*f.ra.max {
		f.cached -= int64(len(f.blocks[0].data))
		f.blocks[0] = block{}
		f.blocks = f.blocks[1:]
	}
}

// targetURL returns where to ask for bytes: the storage URL a recent
// redirect led to, or the resolve URL.
func (f *rangeFile) targetURL() (u *url.URL, cached bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.target != nil && f.c.now().Before(f.until) {
		return f.target, true
	}
	return f.url, false
}

func (f *rangeFile) setTarget(u *url.URL) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u == nil || *u == *f.url {
		f.target = nil
		return
	}
	f.target, f.until = u, f.c.now().Add(redirectTTL)
}

// fetch fills dst with the bytes at off, retrying transient failures and
// continuing a body cut short from where it stopped.
func (f *rangeFile) fetch(dst []byte, off int64) error {
	got := 0
	reresolved := false
	err := f.c.retry(f.ctx, func(ctx context.Context) error {
		for got < len(dst) {
			u, cached := f.targetURL()
			start, end := off+int64(got), off+int64(len(dst)) // end exclusive
			hdr := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", start, end-1)}}
			resp, err := f.c.send(ctx, u, hdr, f.onRedirect)
			if err != nil {
				return err
			}
			switch resp.StatusCode {
			case http.StatusPartialContent:
				if err := checkContentRange(resp.Header.Get("Content-Range"), start, end, f.size); err != nil {
					drainClose(resp.Body)
					return fmt.Errorf("GET %s: %w", redact(resp.Request.URL), err)
				}
				if !cached {
					f.setTarget(resp.Request.URL)
				}
				n, err := io.ReadFull(resp.Body, dst[got:])
				got += n
				if err != nil {
					resp.Body.Close()
					return bodyError(resp.Request.URL, fmt.Sprintf("after %d of %d bytes", n, end-start), err)
				}
				drainClose(resp.Body)
			case http.StatusOK:
				// The server ignores Range and sends the whole file. Take
				// what is needed from the front of the stream, then hang up.
				if start > f.ra.max {
					resp.Body.Close()
					return fmt.Errorf("GET %s: %w: it sent the whole file for bytes %d-%d (of %d); reading that far in would mean downloading it",
						redact(resp.Request.URL), ErrRangeIgnored, start, end-1, f.size)
				}
				if resp.ContentLength >= 0 && resp.ContentLength != f.size {
					resp.Body.Close()
					return fmt.Errorf("GET %s: %d bytes, but the listing says %d: %w",
						redact(resp.Request.URL), resp.ContentLength, f.size, ErrBadResponse)
				}
				if !cached {
					f.setTarget(resp.Request.URL)
				}
				if _, err := io.CopyN(io.Discard, resp.Body, start); err != nil {
					resp.Body.Close()
					return bodyError(resp.Request.URL, "", err)
				}
				n, err := io.ReadFull(resp.Body, dst[got:])
				got += n
				resp.Body.Close()
				if err != nil {
					return bodyError(resp.Request.URL, "", err)
				}
			case http.StatusForbidden, http.StatusGone:
				if cached && !reresolved {
					// The signed URL has likely expired: resolve again, once.
					drainClose(resp.Body)
					f.setTarget(nil)
					reresolved = true
					continue
				}
				return f.c.statusError(resp, f.classify)
			case http.StatusRequestedRangeNotSatisfiable:
				drainClose(resp.Body)
				return fmt.Errorf("GET %s: range %d-%d not satisfiable: the file is shorter than the listed %d bytes: %w",
					redact(resp.Request.URL), start, end-1, f.size, ErrBadResponse)
			default:
				return f.c.statusError(resp, f.classify)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading bytes %d-%d of %s: %w", off, off+int64(len(dst))-1, f.name, err)
	}
	return nil
}

// bodyError is the transient error of a response body that failed while
// read, after what (how much arrived; "" when not known), with err. An end
// of stream is told, not wrapped: a format reader would take io.EOF or
// io.ErrUnexpectedEOF from a ReadAt for a file that ends early, which the
// file does not.
func bodyError(u *url.URL, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New(err.Error())
	}
	msg := "body cut short"
	switch {
	case errors.Is(err, ErrStalled):
		msg = "body stalled"
	case errors.Is(err, context.DeadlineExceeded):
		msg = "body unfinished"
	}
	if what != "" {
		msg += " " + what
	}
	return &transientError{err: fmt.Errorf("GET %s: %s: %w", redact(u), msg, err), url: redact(u)}
}

// checkContentRange checks a Content-Range header against the range asked
// for ([start, end) of a file of size bytes).
func checkContentRange(h string, start, end, size int64) error {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return fmt.Errorf("Content-Range %q, want bytes %d-%d/%d: %w", h, start, end-1, size, ErrBadResponse)
	}
	rng, total, ok := strings.Cut(rest, "/")
	a, b, ok2 := strings.Cut(rng, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || first != start || last != end-1 ||
		(total != "*" && total != strconv.FormatInt(size, 10)) {
		return fmt.Errorf("Content-Range %q, want bytes %d-%d/%d: %w", h, start, end-1, size, ErrBadResponse)
	}
	return nil
}

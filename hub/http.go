package hub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors of remote sources. Each is returned wrapped; test with errors.Is.
var (
	// ErrAuth is returned when a server refuses access (HTTP 401 or 403):
	// a gated or private repository without a token, or a token that has
	// no access to it.
	ErrAuth = errors.New("access denied")

	// ErrNotFound is returned when a repository or a revision does not
	// exist, or is not visible with the credentials in use. A file missing
	// from a repository and revision that exist is [ErrNotExist] instead,
	// as it is for every other source.
	ErrNotFound = errors.New("not found")

	// ErrRangeIgnored is returned by a remote file's ReadAt when the server
	// answers a Range request with the whole file (200 instead of 206) and
	// the bytes asked for start too far in for reading the stream from its
	// start to be reasonable. Reads near the start of the file still work:
	// they take what they need from the front of the stream and hang up.
	ErrRangeIgnored = errors.New("server ignores Range requests")

	// ErrBadResponse is returned when a server's answer breaks the protocol:
	// a Content-Range other than the one asked for, a size that disagrees
	// with the listing, a listing that is not the expected JSON, a redirect
	// without a Location.
	ErrBadResponse = errors.New("bad response")

	// ErrUnavailable is returned when a server keeps answering 429 (rate
	// limited) or 5xx after every retry, or asks with Retry-After for a
	// longer wait than a source makes (HFOptions.MaxWait).
	ErrUnavailable = errors.New("server unavailable")

	// ErrOffline is returned when offline mode (HF_HUB_OFFLINE, or
	// HFOptions.Offline) forbids the network access a source needs.
	ErrOffline = errors.New("offline")
)

// HTTPError is an error status from a server: the Hub's API, its resolve
// endpoint or the storage host it redirects to. Err holds the category
// ([ErrAuth], [ErrNotFound], [ErrNotExist], [ErrUnavailable]) when there is
// one; Hint says in words what went wrong and what to do.
type HTTPError struct {
	URL        string // the request's URL without its query (signed URLs carry credentials there)
	StatusCode int
	Code       string // the X-Error-Code header, when the server sent one
	Message    string // the X-Error-Message header, when the server sent one
	Hint       string
	Err        error
}

var _ error = (*HTTPError)(nil)

// Error renders the hint, the request and the status, e.g.
// `gated repository "o/r": set HF_TOKEN: GET https://huggingface.co/o/r/resolve/main/x.gguf: 401 Unauthorized (GatedRepo: Access to model o/r is restricted.)`.
func (e *HTTPError) Error() string {
	var b strings.Builder
	hint := e.Hint
	if hint == "" && e.Err != nil {
		hint = e.Err.Error()
	}
	if hint != "" {
		b.WriteString(hint)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.Code != "" && e.Message != "":
		fmt.Fprintf(&b, " (%s: %s)", e.Code, e.Message)
	case e.Code != "" || e.Message != "":
		fmt.Fprintf(&b, " (%s)", e.Code+e.Message)
	}
	return b.String()
}

// Unwrap returns the category sentinel.
func (e *HTTPError) Unwrap() error { return e.Err }

// redact returns u as text without its query, fragment and user info.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment, c.User = "", false, "", "", nil
	return c.String()
}

// sameOrigin reports whether u has the scheme and host (with port) of o.
func sameOrigin(u, o *url.URL) bool {
	return strings.EqualFold(u.Scheme, o.Scheme) && strings.EqualFold(u.Host, o.Host)
}

// Defaults of the HTTP machinery.
const (
	defaultStall     = 20 * time.Second
	defaultRetries   = 5
	defaultBackoff   = time.Second
	maxBackoff       = 16 * time.Second
	defaultMaxWait   = 30 * time.Second
	defaultFirstRead = 256 << 10
	defaultMaxRead   = 16 << 20
	minRead          = 64 << 10        // the least a sequential read fetches ahead
	minLearned       = 16 << 10        // the least a learned first fetch is
	probeWait        = 2 * time.Second // the longest a first fetch waits for its kind's probe
	maxRedirects     = 10
	redirectTTL      = 2 * time.Minute
	drainLimit       = 64 << 10 // bytes read off a body we do not want, to keep its connection
	userAgent        = "weightaudit"
)

// httpClient sends GET requests with retries, follows redirects by hand so
// that the token goes to its origin only, and counts traffic. Its transport
// enforces the stall timeout and the deadline (see deadline.go).
type httpClient struct {
	client    *http.Client // redirects are not followed by it
	origin    *url.URL     // the only origin that is sent the token
	token     string
	metaStall time.Duration // the stall timeout of metadata requests (getJSON)
	deadline  time.Time     // zero for none
	limit     time.Duration // how long the source was allowed until deadline
	retries   int
	backoff   time.Duration
	maxWait   time.Duration
	onRetry   func(Retry)
	sleep     func(context.Context, time.Duration) error
	now       func() time.Time
	stats     *counters
	stalled   sync.Map // host → the *StallError that ended a request to it
}

// newHTTPClient returns a client sending requests with c (a client with a
// connection pool sized for o.Jobs when nil), its transport wrapped in one
// that enforces o's stall timeout and deadline.
func newHTTPClient(c *http.Client, origin *url.URL, token string, o *HFOptions) *httpClient {
	var hc http.Client
	if c != nil {
		hc = *c
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = max(o.Jobs, 16)
		hc.Transport = tr
	}
	hc.Transport = newWatchTransport(hc.Transport, o.StallTimeout, o.Deadline)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	sleep := o.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	return &httpClient{client: &hc, origin: origin, token: token, metaStall: o.MetadataStallTimeout,
		deadline: o.Deadline, limit: limitOf(o.Deadline),
		retries: o.Retries, backoff: o.Backoff, maxWait: o.MaxWait, onRetry: o.OnRetry, sleep: sleep, now: time.Now,
		stats: &counters{}}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// transientError marks a failure worth retrying: a 429 or 5xx status, a
// connection reset, a body cut short, a stall after the body had been
// arriving. wait, when positive, is what the server asked for in
// Retry-After; url is the failed request's (redacted), for the retry's
// message.
type transientError struct {
	err  error
	wait time.Duration
	url  string
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// send does one GET of u, following redirects itself: the Authorization
// header goes only to the client's origin, never to the host a redirect
// leads to. onRedirect, when not nil, sees each redirect response first and
// may refuse it. The response returned is not a redirect; its body counts
// into the stats and must be closed. Transport errors come back as
// *transientError.
func (c *httpClient) send(ctx context.Context, u *url.URL, hdr http.Header, onRedirect func(*http.Response) error) (*http.Response, error) {
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", userAgent)
		if c.token != "" && sameOrigin(u, c.origin) {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if se, ok := c.stalled.Load(u.Host); ok {
			return nil, fmt.Errorf("GET %s: not sent: earlier in this run, %w", redact(u), se.(*StallError))
		}
		c.stats.requests.Add(1)
		resp, err := c.client.Do(req)
		if err != nil {
			err = fmt.Errorf("GET %s: %w", redact(u), unwrapURLError(err))
			if permanent(err) {
				return nil, err
			}
			return nil, &transientError{err: err, url: redact(u)}
		}
		resp.Body = &countingBody{r: resp.Body, c: c.stats}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		if onRedirect != nil {
			if err := onRedirect(resp); err != nil {
				drainClose(resp.Body)
				return nil, err
			}
		}
		drainClose(resp.Body)
		if loc == "" {
			return nil, fmt.Errorf("GET %s: %d without a Location: %w", redact(u), resp.StatusCode, ErrBadResponse)
		}
		if hop == maxRedirects {
			return nil, fmt.Errorf("GET %s: more than %d redirects: %w", redact(u), maxRedirects, ErrBadResponse)
		}
		next, err := u.Parse(loc)
		if err != nil || (next.Scheme != "http" && next.Scheme != "https") || next.Host == "" {
			return nil, fmt.Errorf("GET %s: redirect to %q: %w", redact(u), loc, ErrBadResponse)
		}
		u = next
	}
}

// permanent reports transport errors that retrying will not cure: a host
// name that does not resolve, a certificate that does not verify, the
// deadline passed.
func permanent(err error) bool {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var dl *DeadlineError
	return (errors.As(err, &dns) && dns.IsNotFound) || errors.As(err, &cert) || errors.As(err, &unknown) ||
		errors.As(err, &host) || errors.As(err, &dl)
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the URL
// with its query (which may hold a signature).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func drainClose(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	body.Close()
}

// retry runs op until it succeeds, fails with an error that is not
// transient, or the retries are spent, all under the client's deadline.
// Between attempts it waits as the server asked in Retry-After, or backs
// off exponentially with jitter; each retry is told to onRetry first. It
// makes no retry whose wait would end past the deadline, and none when
// the server asks for a wait longer than maxWait. A stall is retried once,
// and only when the body had been arriving before it stopped; a host that
// stalled otherwise is sent no more requests.
func (c *httpClient) retry(ctx context.Context, op func(ctx context.Context) error) error {
	if !c.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, c.deadline, &DeadlineError{Deadline: c.deadline, Limit: c.limit})
		defer cancel()
	}
	stalled := false
	for attempt := 0; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			cause := context.Cause(ctx)
			if errors.Is(err, cause) {
				return err
			}
			return fmt.Errorf("%w (%v)", cause, err)
		}
		var t *transientError
		if !errors.As(err, &t) {
			return err
		}
		var se *StallError
		if errors.As(t.err, &se) {
			if !se.progressed || stalled {
				c.stalled.LoadOrStore(se.Host, se)
				return t.err
			}
			stalled = true
		}
		if attempt >= c.retries {
			if attempt == 0 {
				return t.err
			}
			return fmt.Errorf("after %d retries: %w", attempt, t.err)
		}
		wait := t.wait
		if wait > c.maxWait {
			return fmt.Errorf("%w; not retried: the server asks for a wait of %v (Retry-After), more than the %v allowed", t.err, wait.Round(time.Second), c.maxWait)
		}
		if wait <= 0 {
			d := min(c.backoff<<attempt, maxBackoff)
			if d <= 0 { // the shift overflowed
				d = maxBackoff
			}
			wait = d/2 + rand.N(d/2+1)
		}
		if !c.deadline.IsZero() && c.now().Add(wait).After(c.deadline) {
			return fmt.Errorf("%w; not retried: a retry in %s would come after the deadline (%v allowed for network work)", t.err, fmtWait(wait), c.limit)
		}
		if c.onRetry != nil {
			c.onRetry(Retry{URL: t.url, Wait: wait, Attempt: attempt + 2, Attempts: c.retries + 1, Err: t.err})
		}
		if err := c.sleep(ctx, wait); err != nil {
			if ctx.Err() != nil {
				err = context.Cause(ctx)
			}
			return fmt.Errorf("%w (%v)", err, t.err)
		}
	}
}

// maxRetryAfter bounds what retryAfter returns, so that the arithmetic on
// it cannot overflow: far above any wait a source makes.
const maxRetryAfter = 1000 * time.Hour

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// statusError turns a response that is neither a success nor a redirect
// into an error: classify names the category, and 429 and 5xx statuses
// become transient. The body is drained and closed.
func (c *httpClient) statusError(resp *http.Response, classify func(*http.Response) *HTTPError) error {
	drainClose(resp.Body)
	e := classify(resp)
	if resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusHTTPVersionNotSupported) {
		if e.Err == nil {
			e.Err = ErrUnavailable
		}
		return &transientError{err: e, wait: retryAfter(resp.Header.Get("Retry-After"), c.now()), url: e.URL}
	}
	return e
}

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
	want, eof, err := clipRead(f.name, p, off, f.size)
	if err != nil {
		return 0, err
	}
	done := 0
	for done < len(want) {
		n, err := f.readSome(want[done:], off+int64(done))
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
// the cache does not hold pos, with one fetch. It returns how many bytes it
// filled, at least one unless it fails.
func (f *rangeFile) readSome(dst []byte, pos int64) (int, error) {
	kind := path.Ext(f.name)
	f.mu.Lock()
	gapEnd := pos + int64(len(dst))
	for i := len(f.blocks) - 1; i >= 0; i-- {
		b := f.blocks[i]
		if pos >= b.off && pos < b.off+int64(len(b.data)) {
			n := copy(dst, b.data[pos-b.off:])
			f.mu.Unlock()
			return n, nil
		}
		if b.off > pos && b.off < gapEnd {
			gapEnd = b.off
		}
	}
	need := gapEnd - pos
	var ahead int64 // how much a fetch reads: need, or more to read ahead
	first := false
	switch {
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
		n = min(ahead, f.size-pos)
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

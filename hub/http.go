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
// name that does not resolve, a certificate that does not verify, a
// server that does not speak TLS (go-containerregistry's ping tries https
// first, then plain http for an insecure registry), the deadline passed.
func permanent(err error) bool {
	var dns *net.DNSError
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var dl *DeadlineError
	return (errors.As(err, &dns) && dns.IsNotFound) || errors.As(err, &rec) || errors.As(err, &cert) || errors.As(err, &unknown) ||
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

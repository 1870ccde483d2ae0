package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// How a remote source bounds its time on the network. Three limits apply
// to every request of a remote source ([HFSource], [OCISource]):
//
//   - a stall timeout, measured on progress, not on the whole request: a
//     request fails when no response has begun within the timeout of
//     being sent, or when, while its body is read, less than [StallBytes]
//     arrive in a timeout's worth of waiting for them (time the caller
//     spends not reading does not count). A large body read at any useful
//     speed never stalls; a host that accepts the connection and never
//     answers, or trickles a byte at a time, does. The error is a
//     *[StallError] naming the host;
//   - retries: a 429, a 5xx, a connection reset or a body cut short is
//     retried a bounded number of times, after a wait that doubles (with
//     jitter) or the one the server asks for in Retry-After, which is
//     honoured only up to a cap: a server asking for more fails the
//     request at once instead of holding the run. A stall is retried once
//     when the body had been arriving before it stopped (a connection
//     lost on the way), never when the host sent no response or trickled
//     from the start: that host had its chance, and is not asked again
//     for the rest of the run;
//   - an optional deadline for all of the source's network work
//     (HFOptions.Deadline, OCIOptions.Deadline, [WithDeadline]): past it
//     every request, wait and body read fails with a *[DeadlineError],
//     and no retry is made whose wait would end after it.

// StallBytes is the least a response body must deliver per stall timeout
// of waiting to count as progress: 1 KiB, so that at the default timeout
// of 20 s anything slower than about 50 bytes a second stalls.
const StallBytes = 1 << 10

// ErrStalled is returned (wrapped, in a *[StallError]) when a server stops
// making progress on a request: no response within the stall timeout, or a
// body arriving slower than [StallBytes] per stall timeout.
var ErrStalled = errors.New("stalled")

// StallError is a request a server stopped making progress on. It wraps
// [ErrStalled].
type StallError struct {
	Host    string        // the host (and port) that stalled
	Timeout time.Duration // the stall timeout
	// Body is true when the response had begun and its body stalled,
	// false when no response came at all.
	Body bool
	Got  int64 // body bytes received in the last Timeout of waiting (Body only)
	// progressed is true when the body had been arriving, StallBytes at a
	// time, before it stopped: the connection rather than the host may
	// have failed, and a retry may cure it.
	progressed bool
}

var _ error = (*StallError)(nil)

// Error says what stalled, e.g. "no response from 127.0.0.1:8080 in 20s
// (stall timeout)".
func (e *StallError) Error() string {
	if !e.Body {
		return fmt.Sprintf("no response from %s in %v (stall timeout)", e.Host, e.Timeout)
	}
	return fmt.Sprintf("%s stalled: %d bytes in %v of waiting, less than 1 KiB (stall timeout)", e.Host, e.Got, e.Timeout)
}

// Unwrap returns [ErrStalled].
func (e *StallError) Unwrap() error { return ErrStalled }

// DeadlineError is returned by a remote source's network work once the
// deadline its options set has passed. It wraps context.DeadlineExceeded.
type DeadlineError struct {
	Deadline time.Time
	// Limit is how long after the source was made the deadline fell: the
	// time the source was allowed.
	Limit time.Duration
}

var _ error = (*DeadlineError)(nil)

// Error says that the time allowed ran out, e.g. "deadline exceeded: the
// 5m0s allowed for network work ran out".
func (e *DeadlineError) Error() string {
	if e.Limit > 0 {
		return fmt.Sprintf("deadline exceeded: the %v allowed for network work ran out", e.Limit)
	}
	return fmt.Sprintf("deadline exceeded: network work allowed until %s", e.Deadline.Format(time.TimeOnly))
}

// Unwrap returns context.DeadlineExceeded.
func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// Retry describes a retry a remote source is about to make; the function
// HFOptions.OnRetry, OCIOptions.OnRetry or [WithRetryNotify] names is given
// one before each wait.
type Retry struct {
	URL      string        // the failed request's URL without its query, fragment and user info
	Wait     time.Duration // how long the source waits before the attempt
	Attempt  int           // the attempt about to be made: 2 for the first retry
	Attempts int           // the most attempts the request gets: the retries plus one
	Err      error         // what failed
}

// String renders the retry as a line for a log, e.g. "retrying GET
// https://huggingface.co/api/models/o/r/revision/main in 4 s (attempt
// 2/6): 503 Service Unavailable". The URL has no query: signed storage
// URLs carry their credentials there.
func (r Retry) String() string {
	return fmt.Sprintf("retrying GET %s in %s (attempt %d/%d): %s", r.URL, fmtWait(r.Wait), r.Attempt, r.Attempts, reason(r.Err, r.URL))
}

// fmtWait renders a wait in seconds with at most one decimal ("4 s",
// "0.5 s"), or in milliseconds below a tenth of a second.
func fmtWait(d time.Duration) string {
	if d < 100*time.Millisecond {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + " s"
}

// reason is what a failed request's error says without the "GET URL: "
// that starts it: the status of an *HTTPError, else the cause.
func reason(err error, u string) string {
	if err == nil {
		return ""
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return strconv.Itoa(he.StatusCode) + " " + http.StatusText(he.StatusCode)
	}
	s := err.Error()
	if _, after, ok := strings.Cut(s, "GET "+u+": "); ok && u != "" {
		return after
	}
	return s
}

// Context values: the stall timeout of one request, set by the caller
// (metadata requests have their own), and the mark of a request already
// watched by an outer watchTransport.
type (
	stallKey   struct{}
	watchedKey struct{}
)

// withStall makes the requests under ctx use d as their stall timeout.
func withStall(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, stallKey{}, d)
}

// watchTransport enforces the stall timeout and the deadline on every
// request it sends (see the top of this file). When transports that watch
// are stacked (the OCI source's blob client over the registry's), the
// outermost one watches and the others pass the request on.
type watchTransport struct {
	next     http.RoundTripper
	stall    time.Duration // the default stall timeout; a request's context may set its own
	deadline time.Time     // zero for none
	limit    time.Duration // for the DeadlineError: how long the source was allowed
}

func newWatchTransport(next http.RoundTripper, stall time.Duration, deadline time.Time) *watchTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &watchTransport{next: next, stall: stall, deadline: deadline, limit: limitOf(deadline)}
}

// limitOf returns how long from now until the deadline, rounded for
// messages; 0 for no deadline.
func limitOf(deadline time.Time) time.Duration {
	if deadline.IsZero() {
		return 0
	}
	d := time.Until(deadline)
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return max(d.Round(time.Millisecond), 0)
}

func (t *watchTransport) deadlineError() error {
	return &DeadlineError{Deadline: t.deadline, Limit: t.limit}
}

func (t *watchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if ctx.Value(watchedKey{}) != nil {
		return t.next.RoundTrip(req)
	}
	stall := t.stall
	if d, ok := ctx.Value(stallKey{}).(time.Duration); ok && d > 0 {
		stall = d
	}
	ctx = context.WithValue(ctx, watchedKey{}, true)
	ctx, cancel := context.WithCancelCause(ctx)
	stopDeadline := func() {}
	if !t.deadline.IsZero() {
		ctx, stopDeadline = context.WithDeadlineCause(ctx, t.deadline, t.deadlineError())
	}
	done := func() {
		cancel(nil)
		stopDeadline()
	}
	w := &watch{cancel: cancel, stall: stall, host: req.URL.Host}
	w.timer = time.AfterFunc(stall, w.fire)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	w.timer.Stop()
	if err != nil {
		err = w.cause(ctx, err)
		done()
		return nil, err
	}
	w.mu.Lock()
	w.body = true
	w.mu.Unlock()
	resp.Body = &watchedBody{r: resp.Body, w: w, ctx: ctx, done: done}
	return resp, nil
}

// watch is the stall timer of one request.
type watch struct {
	cancel context.CancelCauseFunc
	stall  time.Duration
	host   string
	timer  *time.Timer

	mu         sync.Mutex
	body       bool          // the response has begun
	got        int64         // body bytes since the last mark
	waited     time.Duration // time spent waiting in Read since the last mark
	progressed bool          // a mark was made: StallBytes arrived in time
}

// fire cancels the request as stalled.
func (w *watch) fire() {
	w.mu.Lock()
	e := &StallError{Host: w.host, Timeout: w.stall, Body: w.body, Got: w.got, progressed: w.progressed}
	w.mu.Unlock()
	w.cancel(e)
}

// cause returns why the request under ctx failed with err: the stall or
// the deadline that canceled it, or err itself.
func (w *watch) cause(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	var se *StallError
	var de *DeadlineError
	if c := context.Cause(ctx); errors.As(c, &se) || errors.As(c, &de) {
		return c
	}
	return err
}

// watchedBody is a response body whose reads are timed: a stall timeout of
// waiting inside Read that brings less than StallBytes cancels the request.
// Time between reads does not count: a slow reader is not a slow server.
type watchedBody struct {
	r    io.ReadCloser
	w    *watch
	ctx  context.Context
	done func()
	once sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	w := b.w
	w.mu.Lock()
	left := w.stall - w.waited
	w.mu.Unlock()
	start := time.Now()
	w.timer.Reset(max(left, 0))
	n, err := b.r.Read(p)
	w.timer.Stop()
	w.mu.Lock()
	w.waited += time.Since(start)
	w.got += int64(n)
	if w.got >= StallBytes {
		w.got, w.waited, w.progressed = 0, 0, true
	}
	w.mu.Unlock()
	if err != nil && err != io.EOF {
		err = w.cause(b.ctx, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.r.Close()
	b.once.Do(func() {
		b.w.timer.Stop()
		b.done()
	})
	return err
}

package hub_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/hub"
)

// Hostile servers, each test bounded to a few seconds by small stall
// timeouts and deadlines.

// silentListener accepts connections and never answers on them. It returns
// the listener's host:port.
func silentListener(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or written
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// trickleFault answers a range request (or any request, with 200) and
// then sends its body one byte every interval, as a server sending one
// byte a second does.
func trickleFault(size int, interval time.Duration) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		var a, b int64 = 0, int64(size) - 1
		status := http.StatusOK
		if rng := r.Header.Get("Range"); rng != "" {
			fmt.Sscanf(rng, "bytes=%d-%d", &a, &b)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, size))
			status = http.StatusPartialContent
		}
		w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
		w.WriteHeader(status)
		rc := http.NewResponseController(w)
		for i := a; i <= b; i++ {
			if _, err := w.Write([]byte{'x'}); err != nil {
				return
			}
			rc.Flush()
			select {
			case <-time.After(interval):
			case <-r.Context().Done():
				return
			}
		}
	}
}

// steadyFault answers a range request with its bytes from data, chunk
// bytes every interval: slow, but never a stall.
func steadyFault(data []byte, chunk int, interval time.Duration) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		var a, b int64
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
		w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		rc := http.NewResponseController(w)
		for i := a; i <= b; i += int64(chunk) {
			if _, err := w.Write(data[i:min(i+int64(chunk), b+1)]); err != nil {
				return
			}
			rc.Flush()
			select {
			case <-time.After(interval):
			case <-r.Context().Done():
				return
			}
		}
	}
}

// stallAfterFault answers a range request with the first half of its
// bytes from data, then sends nothing more until the client gives up: a
// connection lost on the way.
func stallAfterFault(data []byte) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		var a, b int64
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
		w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[a : a+(b-a+1)/2])
		http.NewResponseController(w).Flush()
		stallFault(w, r)
	}
}

// hostOf returns the host:port of a test server's URL.
func hostOf(tb testing.TB, raw string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Host
}

// TestStall checks that a host that stops making progress fails the
// request within about one stall timeout, not retried, with an error
// naming the host and the stage.
func TestStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	contents, files := testRepo()
	const name = "model-00001-of-00002.safetensors"
	t.Run("accepts and never answers", func(t *testing.T) {
		host := silentListener(t)
		var waits []time.Duration
		opts := hub.HFOptions{Endpoint: "http://" + host, StallTimeout: stall}
		hub.SetSleepForTest(&opts, func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil })
		src, _, err := hub.OpenHF("hf://o/r", opts)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = src.List(context.Background())
		checkStall(t, err, time.Since(start), stall, host, false, "listing")
		if len(waits) != 0 {
			t.Errorf("List against a silent host retried (waits %v), want no retry", waits)
		}
	})
	t.Run("one byte at a time, listing", func(t *testing.T) {
		fh := newFakeHub(t, files)
		fh.addFault("api", trickleFault(1000, 100*time.Millisecond))
		var waits []time.Duration
		src := newSource(t, fh, "", hub.HFOptions{StallTimeout: stall}, &waits)
		start := time.Now()
		_, err := src.List(context.Background())
		checkStall(t, err, time.Since(start), stall, hostOf(t, fh.hub.URL), true, "listing")
		if len(waits) != 0 {
			t.Errorf("waits %v, want no retry", waits)
		}
	})
	t.Run("one byte at a time, range read", func(t *testing.T) {
		fh := newFakeHub(t, files)
		fh.addFault("storage", trickleFault(len(contents[name]), 100*time.Millisecond))
		var waits []time.Duration
		src := newSource(t, fh, "", hub.HFOptions{StallTimeout: stall}, &waits)
		f, err := src.Open(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		start := time.Now()
		_, err = f.ReadAt(make([]byte, 8), 0)
		checkStall(t, err, time.Since(start), stall, hostOf(t, fh.storage.URL), true, "reading bytes 0-")
		if len(waits) != 0 {
			t.Errorf("waits %v, want no retry", waits)
		}
		// The host had its chance: the next read fails at once.
		start = time.Now()
		_, err = f.ReadAt(make([]byte, 8), 200_000)
		if el := time.Since(start); !errors.Is(err, hub.ErrStalled) || el > stall/2 || !strings.Contains(err.Error(), "not sent") {
			t.Errorf("ReadAt from a host that stalled before = %v after %v, want ErrStalled at once", err, el)
		}
	})
	t.Run("slow but steady", func(t *testing.T) {
		// 2 KiB every 100 ms: each stall timeout of waiting brings more than
		// StallBytes, so a body taking several timeouts does not stall.
		fh := newFakeHub(t, files)
		data := contents[name]
		fh.addFault("storage", steadyFault(data, 2<<10, 100*time.Millisecond))
		src := newSource(t, fh, "", hub.HFOptions{StallTimeout: stall, FirstRead: 32 << 10}, nil)
		f, err := src.Open(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		p := make([]byte, 32<<10)
		start := time.Now()
		if _, err := f.ReadAt(p, 0); err != nil || string(p) != string(data[:len(p)]) {
			t.Fatalf("ReadAt(32 KiB at 2 KiB per 100 ms) = %v (or wrong bytes)", err)
		}
		if el := time.Since(start); el < 3*stall {
			t.Errorf("the read took %v; the test wants it to outlast several stall timeouts", el)
		}
	})
}

// checkStall checks a stall's error and how long it took.
func checkStall(tb testing.TB, err error, elapsed, stall time.Duration, host string, body bool, stage string) {
	tb.Helper()
	var se *hub.StallError
	if !errors.Is(err, hub.ErrStalled) || !errors.As(err, &se) {
		tb.Fatalf("err = %v, want a *StallError", err)
	}
	if se.Host != host || se.Body != body || se.Timeout != stall {
		tb.Errorf("StallError = %+v, want host %s, body %v, timeout %v", se, host, body, stall)
	}
	for _, want := range []string{host, stage, "stall timeout"} {
		if !strings.Contains(err.Error(), want) {
			tb.Errorf("err = %q, want it to name %q", err, want)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		tb.Errorf("err = %v wraps a context error, want the stall alone", err)
	}
	if elapsed < stall || elapsed > stall+time.Second {
		tb.Errorf("failed after %v, want about the stall timeout %v", elapsed, stall)
	}
}

// TestRetryAfterTooLong checks that a Retry-After beyond MaxWait fails the
// request at once instead of sleeping, and that one within it but past the
// deadline does too.
func TestRetryAfterTooLong(t *testing.T) {
	_, files := testRepo()
	tests := []struct {
		name       string
		retryAfter string
		opts       hub.HFOptions
		wantText   []string
	}{
		{name: "huge", retryAfter: "999999", wantText: []string{"429", "277h46m39s (Retry-After)", "more than the 30s allowed", "not retried"}},
		{name: "HTTP date a day ahead", retryAfter: time.Now().Add(24 * time.Hour).UTC().Format(http.TimeFormat), wantText: []string{"Retry-After", "more than the 30s allowed"}},
		{name: "over MaxWait", retryAfter: "5", opts: hub.HFOptions{MaxWait: 2 * time.Second}, wantText: []string{"5s (Retry-After), more than the 2s allowed"}},
		{name: "past the deadline", retryAfter: "20", opts: hub.HFOptions{Deadline: time.Now().Add(time.Minute / 6)},
			wantText: []string{"a retry in 20 s would come after the deadline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := newFakeHub(t, files)
			fh.addFault("api", statusFault(http.StatusTooManyRequests, tt.retryAfter))
			var waits []time.Duration
			var retries []hub.Retry
			tt.opts.OnRetry = func(r hub.Retry) { retries = append(retries, r) }
			src := newSource(t, fh, "", tt.opts, &waits)
			start := time.Now()
			_, err := src.List(context.Background())
			if el := time.Since(start); el > time.Second {
				t.Errorf("List took %v, want a prompt failure", el)
			}
			if !errors.Is(err, hub.ErrUnavailable) {
				t.Fatalf("List = %v, want ErrUnavailable", err)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("List = %q, want it to say %q", err, want)
				}
			}
			if len(waits) != 0 || len(retries) != 0 || len(fh.requests("hub")) != 1 {
				t.Errorf("waits %v, retries %v, %d requests; want one request and no wait", waits, retries, len(fh.requests("hub")))
			}
		})
	}
}

// TestListingPages checks that the tree API's pagination ends: a next link
// already followed is an error naming it, and so is a listing of more
// than 1,000 pages.
func TestListingPages(t *testing.T) {
	_, files := testRepo()
	loop := func(link func(r *http.Request) string) fault {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, link(r)))
			w.Write([]byte("[]"))
		}
	}
	self := func(r *http.Request) string { return r.URL.RequestURI() }
	toggle := func(r *http.Request) string { // the first page and A link to B, B to A
		if r.URL.Query().Get("cursor") == "b" {
			return r.URL.Path + "?cursor=a"
		}
		return r.URL.Path + "?cursor=b"
	}
	var n int
	var mu sync.Mutex
	endless := func(r *http.Request) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return r.URL.Path + "?cursor=" + strconv.Itoa(n)
	}
	tests := []struct {
		name     string
		link     func(*http.Request) string
		faults   int
		wantText string
		wantReqs int // tree API requests
	}{
		{name: "next is itself", link: self, faults: 2, wantText: "page 2: the next link http://%s/api/models/owner/repo/tree/" + fakeCommit + "?recursive=true was listed before", wantReqs: 1},
		{name: "two pages in a loop", link: toggle, faults: 3, wantText: "page 4: the next link http://%s/api/models/owner/repo/tree/" + fakeCommit + "?cursor=b was listed before", wantReqs: 3},
		{name: "endless", link: endless, faults: 1001, wantText: "more than 1000 pages", wantReqs: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := newFakeHub(t, files)
			fh.noSizes = true
			for range tt.faults {
				fh.addFault("tree", loop(tt.link))
			}
			src := newSource(t, fh, "", hub.HFOptions{}, nil)
			_, err := src.List(context.Background())
			want := tt.wantText
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, hostOf(t, fh.hub.URL))
			}
			if !errors.Is(err, hub.ErrBadResponse) || !strings.Contains(err.Error(), want) {
				t.Errorf("List = %v, want ErrBadResponse saying %q", err, want)
			}
			tree := 0
			for _, r := range fh.requests("hub") {
				if strings.Contains(r.path, "/tree/") {
					tree++
				}
			}
			if tree != tt.wantReqs {
				t.Errorf("%d tree requests, want %d", tree, tt.wantReqs)
			}
		})
	}
}

// TestRetryNotify checks what each retry is said as: the attempt and the
// most attempts, the URL without its query (where the storage host's
// signature is), never the token.
func TestRetryNotify(t *testing.T) {
	_, files := testRepo()
	const name = "model-00001-of-00002.safetensors"
	tests := []struct {
		name    string
		retries int
		want    []string // the retries' lines, host written as HOST
		wantErr string
	}{
		{name: "three retries", retries: 3, want: []string{
			"retrying GET http://HOST/blobs/SHA in 1 ms (attempt 2/4): 503 Service Unavailable",
			"retrying GET http://HOST/blobs/SHA in 1 ms (attempt 3/4): 502 Bad Gateway",
		}},
		{name: "no retries", retries: -1, wantErr: "503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := newFakeHub(t, files)
			fh.addFault("storage", statusFault(503, ""), statusFault(502, ""))
			var mu sync.Mutex
			var lines []string
			opts := hub.HFOptions{Token: goodToken, Retries: tt.retries, Backoff: time.Nanosecond,
				OnRetry: func(r hub.Retry) {
					mu.Lock()
					defer mu.Unlock()
					r.Wait = time.Millisecond // jittered: fix it for the comparison
					lines = append(lines, r.String())
				}}
			src := newSource(t, fh, "", opts, nil)
			f, err := src.Open(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = f.ReadAt(make([]byte, 10), 0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "after") {
					t.Errorf("ReadAt = %v, want %q at the first attempt", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			sha := files[name].sha
			host := hostOf(t, fh.storage.URL)
			var want []string
			for _, l := range tt.want {
				want = append(want, strings.NewReplacer("HOST", host, "SHA", sha).Replace(l))
			}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("retries said\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			for _, l := range lines {
				if strings.Contains(l, "X-Signature") || strings.Contains(l, goodToken) {
					t.Errorf("retry line %q holds a credential", l)
				}
			}
			if n, want := len(fh.requests("storage")), min(3, max(tt.retries, 0)+1); n != want {
				t.Errorf("%d storage requests, want %d", n, want)
			}
		})
	}
}

// TestDeadline checks that the deadline ends a read that makes progress
// but would take longer, and that the error wraps
// context.DeadlineExceeded.
func TestDeadline(t *testing.T) {
	contents, files := testRepo()
	const name = "model-00001-of-00002.safetensors"
	data := contents[name]
	fh := newFakeHub(t, files)
	fh.addFault("storage", steadyFault(data, 1<<10, 50*time.Millisecond)) // 20 KiB/s: 15 s for the file
	const limit = 500 * time.Millisecond
	src := newSource(t, fh, "", hub.HFOptions{Deadline: time.Now().Add(limit)}, nil)
	f, err := src.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	_, err = f.ReadAt(make([]byte, len(data)), 0)
	el := time.Since(start)
	var de *hub.DeadlineError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &de) || !strings.Contains(err.Error(), "allowed for network work ran out") {
		t.Fatalf("ReadAt = %v, want a *DeadlineError", err)
	}
	if el > limit+500*time.Millisecond {
		t.Errorf("ReadAt failed after %v, want about %v", el, limit)
	}
	// Past the deadline nothing is sent.
	n := len(fh.requests(""))
	if _, err := f.ReadAt(make([]byte, 10), 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadAt past the deadline = %v, want DeadlineExceeded", err)
	}
	if m := len(fh.requests("")); m != n {
		t.Errorf("ReadAt past the deadline made %d requests", m-n)
	}
}

func TestHFOptionsFromEnvTimeouts(t *testing.T) {
	tests := []struct {
		name, download, etag string
		wantStall, wantMeta  time.Duration
		wantErr              string
	}{
		{name: "unset"},
		{name: "both", download: "7", etag: "3", wantStall: 7 * time.Second, wantMeta: 3 * time.Second},
		{name: "zero is the default", download: "0", wantStall: 0},
		{name: "spaces", etag: " 12 ", wantMeta: 12 * time.Second},
		{name: "not a number", download: "ten", wantErr: `HF_HUB_DOWNLOAD_TIMEOUT="ten": expected a whole number of seconds`},
		{name: "fraction", etag: "2.5", wantErr: `HF_HUB_ETAG_TIMEOUT="2.5"`},
		{name: "negative", download: "-1", wantErr: "HF_HUB_DOWNLOAD_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HF_HUB_DOWNLOAD_TIMEOUT": tt.download, "HF_HUB_ETAG_TIMEOUT": tt.etag, "HOME": t.TempDir()}
			o, err := hub.HFOptionsFromEnv(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("HFOptionsFromEnv = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || o.StallTimeout != tt.wantStall || o.MetadataStallTimeout != tt.wantMeta {
				t.Errorf("HFOptionsFromEnv = %v, %v, %v; want %v, %v", o.StallTimeout, o.MetadataStallTimeout, err, tt.wantStall, tt.wantMeta)
			}
		})
	}
}

// TestMetadataStallTimeout checks that the listing has its own stall
// timeout (HF_HUB_ETAG_TIMEOUT) and range reads theirs
// (HF_HUB_DOWNLOAD_TIMEOUT).
func TestMetadataStallTimeout(t *testing.T) {
	_, files := testRepo()
	fh := newFakeHub(t, files)
	slow := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(400 * time.Millisecond)
		statusFault(503, "")(w, r)
	}
	fh.addFault("api", slow)
	src := newSource(t, fh, "", hub.HFOptions{StallTimeout: time.Second, MetadataStallTimeout: 200 * time.Millisecond}, nil)
	start := time.Now()
	_, err := src.List(context.Background())
	checkStall(t, err, time.Since(start), 200*time.Millisecond, hostOf(t, fh.hub.URL), false, "listing")
}

// TestOCIStall checks that a registry that accepts connections and never
// answers fails an OCI source within a few stall timeouts, naming it.
func TestOCIStall(t *testing.T) {
	host := silentListener(t)
	const stall = 300 * time.Millisecond
	src, err := hub.NewOCI("oci://"+host+"/models/m:v1", hub.OCIOptions{StallTimeout: stall, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.List(context.Background())
	el := time.Since(start)
	if !errors.Is(err, hub.ErrStalled) || !strings.Contains(err.Error(), host) {
		t.Errorf("List = %v, want ErrStalled naming %s", err, host)
	}
	if el > 4*stall {
		t.Errorf("List failed after %v, want within a few stall timeouts (%v)", el, stall)
	}
}

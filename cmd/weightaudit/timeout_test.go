package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "5m", want: 5 * time.Minute},
		{in: "90s", want: 90 * time.Second},
		{in: "300", want: 300 * time.Second},
		{in: " 1h30m ", want: 90 * time.Minute},
		{in: "0", want: 0},
		{in: "-1s", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "soon", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseTimeout(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The time limit a command gets: --timeout, else $WEIGHTAUDIT_TIMEOUT,
// else 5m for the commands that read headers only and 6h for those that
// read tensor data.
func TestRunTimeout(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want time.Duration
	}{
		{name: "inspect", args: []string{"inspect", "x"}, want: 5 * time.Minute},
		{name: "audit", args: []string{"audit", "x"}, want: 5 * time.Minute},
		{name: "audit --spotcheck", args: []string{"audit", "x", "--spotcheck"}, want: 6 * time.Hour},
		{name: "verify", args: []string{"verify", "x"}, want: 6 * time.Hour},
		{name: "diff", args: []string{"diff", "x", "y"}, want: 6 * time.Hour},
		{name: "flag", args: []string{"verify", "x", "--timeout", "90s"}, want: 90 * time.Second},
		{name: "flag in seconds", args: []string{"inspect", "--timeout", "30", "x"}, want: 30 * time.Second},
		{name: "flag 0 is none", args: []string{"inspect", "x", "--timeout", "0"}, want: 0},
		{name: "env", args: []string{"inspect", "x"}, env: "2m", want: 2 * time.Minute},
		{name: "env in seconds", args: []string{"verify", "x"}, env: "45", want: 45 * time.Second},
		{name: "flag over env", args: []string{"inspect", "x", "--timeout", "1m"}, env: "2m", want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(timeoutEnv, tt.env)
			root := &cobra.Command{Use: "weightaudit"}
			addNetworkFlags(root)
			root.AddCommand(newInspectCmd(), newAuditCmd(), newVerifyCmd(), newDiffCmd())
			c, args, err := root.Find(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.ParseFlags(args); err != nil {
				t.Fatal(err)
			}
			got, err := runTimeout(c)
			if err != nil || got != tt.want {
				t.Errorf("runTimeout(%v) = %v, %v; want %v", tt.args, got, err, tt.want)
			}
		})
	}
}

// hubEnv points the Hub client at endpoint with no token, cache or
// offline mode of the machine running the tests.
func hubEnv(t *testing.T, endpoint string) {
	t.Setenv("HF_ENDPOINT", endpoint)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_HUB_DOWNLOAD_TIMEOUT", "")
	t.Setenv("HF_HUB_ETAG_TIMEOUT", "")
	t.Setenv(timeoutEnv, "")
}

// silentHost accepts connections and never answers; it returns its
// host:port.
func silentHost(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
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
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// trickleHub lists one safetensors file of 1 MiB and sends its bytes one a
// second.
func trickleHub(t *testing.T) *httptest.Server {
	const size = 1 << 20
	sum := sha256.Sum256(nil)
	listing, _ := json.Marshal(map[string]any{"sha": strings.Repeat("a", 40), "siblings": []any{
		map[string]any{"rfilename": "model.safetensors", "size": size, "lfs": map[string]any{"sha256": hex.EncodeToString(sum[:]), "size": size}},
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/models/") {
			w.Write(listing)
			return
		}
		var a, b int64
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, size))
		w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		rc := http.NewResponseController(w)
		for range b - a + 1 {
			if _, err := w.Write([]byte{0}); err != nil {
				return
			}
			rc.Flush()
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A host that stops making progress fails the run (exit 2) within the
// stall timeout, with a message naming the host and what was being done.
// The timeouts are huggingface_hub's variables, set to 1 s.
func TestRemoteStall(t *testing.T) {
	t.Run("accepts and never answers", func(t *testing.T) {
		host := silentHost(t)
		hubEnv(t, "http://"+host)
		t.Setenv("HF_HUB_ETAG_TIMEOUT", "1")
		start := time.Now()
		_, stderr, code := cli(t, "inspect", "hf://acme/tiny")
		el := time.Since(start)
		if code != exitRetry || !strings.Contains(stderr, "listing") || !strings.Contains(stderr, "no response from "+host+" in 1s") {
			t.Errorf("exit %d, stderr %q; want 2 naming the host and the listing", code, stderr)
		}
		if el < time.Second || el > 3*time.Second {
			t.Errorf("the run took %v, want about the 1 s stall timeout", el)
		}
	})
	t.Run("one byte a second", func(t *testing.T) {
		srv := trickleHub(t)
		hubEnv(t, srv.URL)
		t.Setenv("HF_HUB_DOWNLOAD_TIMEOUT", "1")
		start := time.Now()
		_, stderr, code := cli(t, "inspect", "hf://acme/tiny")
		el := time.Since(start)
		host := strings.TrimPrefix(srv.URL, "http://")
		if code != exitRetry || !strings.Contains(stderr, "reading bytes 0-") || !strings.Contains(stderr, host+" stalled") {
			t.Errorf("exit %d, stderr %q; want 2 naming the host and the read", code, stderr)
		}
		if strings.Contains(stderr, "retrying") {
			t.Errorf("a host that trickles from the start was retried: %q", stderr)
		}
		if el < time.Second || el > 3*time.Second {
			t.Errorf("the run took %v, want about the 1 s stall timeout", el)
		}
	})
}

// Retries are said on stderr with their attempt counts and without the
// query or the token; --retries 0 makes none.
func TestRemoteRetries(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	hubEnv(t, srv.URL)
	const token = "hf_secretsecretsecret"
	t.Setenv("HF_TOKEN", token)
	tests := []struct {
		retries  string
		wantReqs int64
		want     []string
	}{
		{retries: "1", wantReqs: 2, want: []string{
			"retrying GET " + srv.URL + "/api/models/acme/tiny/revision/main in ",
			" s (attempt 2/2): 503 Service Unavailable\n",
			"after 1 retries",
		}},
		{retries: "0", wantReqs: 1},
	}
	for _, tt := range tests {
		t.Run("--retries "+tt.retries, func(t *testing.T) {
			requests.Store(0)
			_, stderr, code := cli(t, "inspect", "hf://acme/tiny", "--retries", tt.retries)
			if code != exitRetry || requests.Load() != tt.wantReqs {
				t.Errorf("exit %d after %d requests, want 2 after %d", code, requests.Load(), tt.wantReqs)
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q, want %q", stderr, want)
				}
			}
			if n := strings.Count(stderr, "retrying"); n != int(tt.wantReqs-1) {
				t.Errorf("stderr says %d retries, want %d:\n%s", n, tt.wantReqs-1, stderr)
			}
			if strings.Contains(stderr, token) || strings.Contains(stderr, "blobs=true") {
				t.Errorf("stderr holds the token or a query: %q", stderr)
			}
		})
	}
	if _, stderr, code := cli(t, "inspect", "hf://acme/tiny", "--retries", "-1"); code != exitUsage {
		t.Errorf("--retries -1: exit %d (%s), want %d", code, stderr, exitUsage)
	}
}

// --timeout (or $WEIGHTAUDIT_TIMEOUT) ends a run whose network work takes
// longer, with exit 2; a local source is never timed.
func TestRemoteTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // slower than the limit, quicker than a stall
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	host := func() string { u, _ := url.Parse(srv.URL); return u.Host }()
	tests := []struct {
		name  string
		args  []string
		env   string
		limit time.Duration
	}{
		{name: "flag", args: []string{"inspect", "hf://acme/tiny", "--timeout", "500ms"}, limit: 500 * time.Millisecond},
		{name: "env, seconds", args: []string{"inspect", "hf://acme/tiny"}, env: "1", limit: time.Second},
		{name: "verify", args: []string{"verify", "hf://acme/tiny", "--timeout", "500ms"}, limit: 500 * time.Millisecond},
		{name: "json", args: []string{"inspect", "hf://acme/tiny", "--json", "--timeout", "500ms"}, limit: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hubEnv(t, srv.URL)
			t.Setenv(timeoutEnv, tt.env)
			start := time.Now()
			stdout, stderr, code := cli(t, tt.args...)
			el := time.Since(start)
			if code != exitRetry || !strings.Contains(stderr, "deadline exceeded") || !strings.Contains(stderr, host) || !strings.Contains(stderr, "listing") {
				t.Errorf("exit %d, stderr %q; want 2, the deadline, the host and the listing", code, stderr)
			}
			if el < tt.limit || el > tt.limit+2*time.Second {
				t.Errorf("the run took %v, want about %v", el, tt.limit)
			}
			if strings.Contains(strings.Join(tt.args, " "), "--json") && !strings.Contains(stdout, `"verdict": "incomplete"`) {
				t.Errorf("--json: stdout %q, want a document with verdict incomplete", stdout)
			}
		})
	}
	t.Run("bad env", func(t *testing.T) {
		hubEnv(t, srv.URL)
		t.Setenv(timeoutEnv, "soon")
		if _, stderr, code := cli(t, "inspect", "hf://acme/tiny"); code != exitUsage || !strings.Contains(stderr, timeoutEnv) {
			t.Errorf("exit %d, stderr %q; want %d naming %s", code, stderr, exitUsage, timeoutEnv)
		}
	})
	t.Run("local sources are not timed", func(t *testing.T) {
		t.Setenv(timeoutEnv, "")
		for _, cmd := range []string{"inspect", "verify"} {
			if _, stderr, code := cli(t, cmd, "../../testdata/tiny/hf-bf16", "--timeout", "1ns"); code != 0 {
				t.Errorf("%s of a local folder with --timeout 1ns: exit %d (%s), want 0", cmd, code, stderr)
			}
		}
	})
}

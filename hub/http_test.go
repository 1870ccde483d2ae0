package hub_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/hub"
)

// TestRangeFileConcurrent reads one remote file from many goroutines at
// random offsets, with a small MaxRead so that blocks are evicted while
// others read them. Run it with -race.
func TestRangeFileConcurrent(t *testing.T) {
	data := randomBytes(3<<20, 11)
	fh := newFakeHub(t, memFiles(map[string][]byte{"f.gguf": data}))
	src := newSource(t, fh, "", hub.HFOptions{FirstRead: 16 << 10, MaxRead: 64 << 10}, nil)
	f, err := src.Open(context.Background(), "f.gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 2))
			off := int64(0)
			for range 40 {
				n := 1 + r.IntN(100_000)
				if r.IntN(3) == 0 { // mostly sequential runs, sometimes a jump
					off = r.Int64N(int64(len(data)))
				}
				p := make([]byte, n)
				got, err := f.ReadAt(p, off)
				end := min(off+int64(n), int64(len(data)))
				if want := int(end - off); got != want || (err != nil && !(end == int64(len(data)) && got == want)) {
					errs <- fmt.Errorf("ReadAt(%d bytes at %d) = %d, %v; want %d", n, off, got, err, want)
					return
				}
				if string(p[:got]) != string(data[off:end]) {
					errs <- fmt.Errorf("ReadAt(%d bytes at %d): wrong bytes", n, off)
					return
				}
				off = end % int64(len(data))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestResolveHF(t *testing.T) {
	contents, files := testRepo()
	fh := newFakeHub(t, files)
	t.Setenv("HF_ENDPOINT", fh.hub.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	tests := []struct {
		name, spec, wantSrc, wantFocus string
		wantErr                        error
	}{
		{name: "hf", spec: "hf://owner/repo", wantSrc: "hf://owner/repo@main"},
		{name: "hf folder", spec: "hf://owner/repo@" + fakeCommit + "/gguf", wantSrc: "hf://owner/repo@" + fakeCommit + "/gguf"},
		{name: "resolve URL", spec: fh.hub.URL + "/owner/repo/resolve/main/gguf/model-Q4_K_M.gguf",
			wantSrc: "hf://owner/repo@main/gguf", wantFocus: "model-Q4_K_M.gguf"},
		{name: "tree URL", spec: fh.hub.URL + "/owner/repo/tree/refs%2Fpr%2F1", wantSrc: "hf://owner/repo@refs%2Fpr%2F1"},
		{name: "other host", spec: "https://example.com/owner/repo", wantErr: hub.ErrBadSource},
		{name: "oci", spec: "oci://registry/repo:tag", wantErr: hub.ErrBadSource},
		{name: "ollama", spec: "ollama://qwen3", wantSrc: "ollama://qwen3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, focus, err := hub.Resolve(tt.spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || src != nil {
					t.Fatalf("Resolve(%q) = %v, %v; want a nil source and %v", tt.spec, src, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.String() != tt.wantSrc || focus != tt.wantFocus {
				t.Errorf("Resolve(%q) = %s, focus %q; want %s, focus %q", tt.spec, src, focus, tt.wantSrc, tt.wantFocus)
			}
			if focus != "" {
				b, err := hub.ReadFile(context.Background(), src, focus, 1<<20)
				if err != nil || string(b) != string(contents["gguf/"+focus]) {
					t.Errorf("ReadFile(%s) = %v (or wrong bytes)", hub.Path(src, focus), err)
				}
			}
		})
	}
	t.Run("offline", func(t *testing.T) {
		t.Setenv("HF_HUB_OFFLINE", "1")
		fh.resetRequests()
		_, _, err := hub.Resolve("hf://owner/repo")
		if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), "offline") {
			t.Errorf("Resolve offline = %v, want ErrOffline", err)
		}
		if n := len(fh.requests("")); n != 0 {
			t.Errorf("offline Resolve made %d requests", n)
		}
	})
}

func TestSourceStats(t *testing.T) {
	_, files := testRepo()
	fh := newFakeHub(t, files)
	src := newSource(t, fh, "", hub.HFOptions{}, nil)
	if _, err := hub.ReadFile(context.Background(), src, "config.json", 1<<20); err != nil {
		t.Fatal(err)
	}
	st, ok := hub.SourceStats(src)
	if !ok || st.Requests != int64(len(fh.requests(""))) || st.Bytes < 26 {
		t.Errorf("SourceStats = %+v, %v; want %d requests and at least the 26 bytes of config.json", st, ok, len(fh.requests("")))
	}
	if _, ok := hub.SourceStats(hub.NewMem("m")); ok {
		t.Error("SourceStats(Mem) = ok, want false")
	}
}

// TestTransportErrors checks which failures to connect are retried: a
// refused connection is, a host name that does not resolve is not.
func TestTransportErrors(t *testing.T) {
	tests := []struct {
		name      string
		dialErr   error
		wantWaits int
	}{
		{name: "no such host", dialErr: &net.DNSError{Err: "no such host", Name: "hub.invalid", IsNotFound: true}, wantWaits: 0},
		{name: "connection refused", dialErr: syscall.ECONNREFUSED, wantWaits: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: network, Err: tt.dialErr}
			}}
			var waits []time.Duration
			opts := hub.HFOptions{Endpoint: "https://hub.invalid", Client: &http.Client{Transport: tr}, Retries: 2, Backoff: time.Millisecond}
			hub.SetSleepForTest(&opts, func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil })
			src, _, err := hub.OpenHF("hf://o/r", opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(context.Background())
			if !errors.Is(err, tt.dialErr) && !strings.Contains(err.Error(), tt.dialErr.Error()) {
				t.Errorf("List = %v, want the dial error", err)
			}
			if len(waits) != tt.wantWaits {
				t.Errorf("List retried %d times, want %d", len(waits), tt.wantWaits)
			}
		})
	}
}

package hub_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/hub"
)

// TestOCIRetriesMetadata checks that the requests go-containerregistry
// sends itself, the registry's ping and the manifest, are retried after a
// 503 or 429 as blob reads are: each retry told to OnRetry, the run
// succeeding when the registry recovers; a registry that stays down fails
// with ErrUnavailable after exactly Retries retries; a Retry-After past
// the allowed wait is not waited for.
func TestOCIRetriesMetadata(t *testing.T) {
	a := artifact(t, "modelpack-safetensors-tar-zstd")
	type failure struct {
		path       string // the request path's suffix that fails
		times      int    // how many times, -1 for always
		status     int
		retryAfter string
	}
	tests := []struct {
		name        string
		fail        []failure
		wantRetries int
		wantErr     error
		wantMsg     string
	}{
		{name: "ping and manifest recover",
			fail:        []failure{{"/v2/", 2, 503, ""}, {"/manifests/v1", 1, 429, "0"}},
			wantRetries: 3},
		{name: "manifest stays down",
			fail:        []failure{{"/manifests/v1", -1, 502, ""}},
			wantRetries: 2, wantErr: hub.ErrUnavailable, wantMsg: "after 2 retries"},
		{name: "Retry-After too long",
			fail:        []failure{{"/manifests/v1", -1, 429, "999999"}},
			wantRetries: 0, wantErr: hub.ErrUnavailable, wantMsg: "Retry-After"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			left := make([]int, len(tt.fail))
			for i, f := range tt.fail {
				left[i] = f.times
			}
			var hits atomic.Int64
			host, tr := newRegistry(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodGet || r.Method == http.MethodHead {
						mu.Lock()
						for i, f := range tt.fail {
							if strings.HasSuffix(r.URL.Path, f.path) && left[i] != 0 {
								left[i]--
								mu.Unlock()
								hits.Add(1)
								if f.retryAfter != "" {
									w.Header().Set("Retry-After", f.retryAfter)
								}
								w.WriteHeader(f.status)
								return
							}
						}
						mu.Unlock()
					}
					next.ServeHTTP(w, r)
				})
			})
			mu.Lock()
			saved := left
			left = make([]int, len(tt.fail)) // the push below is not failed
			mu.Unlock()
			pushImage(t, host, tr, "models/m:v1", a.image(t))
			mu.Lock()
			left = saved
			mu.Unlock()

			var retries []hub.Retry
			src, err := hub.NewOCI("oci://"+host+"/models/m:v1", hub.OCIOptions{
				Transport: tr, Keychain: anonymous, Retries: 2, Backoff: time.Millisecond,
				OnRetry: func(r hub.Retry) { retries = append(retries, r) },
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(context.Background())
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("List() = %v, want success after the retries", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("List() = %v, want %v", err, tt.wantErr)
			case tt.wantErr != nil && !strings.Contains(err.Error(), tt.wantMsg):
				t.Errorf("List() error %q does not say %q", err, tt.wantMsg)
			}
			if err != nil {
				t.Logf("%v", err)
			}
			if len(retries) != tt.wantRetries {
				t.Errorf("OnRetry called %d times (%v), want %d", len(retries), retries, tt.wantRetries)
			}
			for _, r := range retries {
				if r.Attempts != 3 || !strings.Contains(r.URL, host) {
					t.Errorf("retry %+v: want 3 attempts in all and the registry's URL", r)
				}
			}
			if tt.wantErr == nil && int(hits.Load()) != tt.wantRetries {
				t.Errorf("the registry failed %d requests, want %d (each retried once)", hits.Load(), tt.wantRetries)
			}
		})
	}
}

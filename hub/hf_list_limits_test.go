package hub_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
)

// modelsListing returns the models API's answer for a repository of n LFS
// files under data/ (as large datasets-like model repositories hold them)
// beside a config.json, with keys the client skips around the siblings.
func modelsListing(n int) []byte {
	var b bytes.Buffer
	b.Grow(256 * n)
	fmt.Fprintf(&b, `{"_id":"x","id":%q,"sha":%q,"cardData":{"tags":["a","b"],"nested":[{"x":1.5}]},"siblings":[`, fakeRepo, fakeCommit)
	b.WriteString(`{"rfilename":"config.json","size":2,"blobId":"0123456789abcdef0123456789abcdef01234567"}`)
	var sum [32]byte
	for i := range n - 1 {
		binary.LittleEndian.PutUint64(sum[:], uint64(i)*0x9e3779b97f4a7c15)
		h := hex.EncodeToString(sum[:])
		fmt.Fprintf(&b, `,{"rfilename":"data/part-%07d.parquet","blobId":"%s","size":123456789,"lfs":{"sha256":"%s","size":123456789,"pointerSize":134}}`, i, h[:40], h)
	}
	b.WriteString(`],"spaces":["a/b","c/d"],"safetensors":null}`)
	return b.Bytes()
}

// serveListing serves body as the models API's answer and returns a
// source on it.
func serveListing(tb testing.TB, body []byte) *hub.HFSource {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/models/") {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	src, _, err := hub.OpenHF("hf://"+fakeRepo, hub.HFOptions{Endpoint: srv.URL, Retries: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// TestListLimits checks the caps of a listing: at the cap on files it is
// read; one file more, or one byte over the cap on bytes, fails naming the
// URL and the cap.
func TestListLimits(t *testing.T) {
	const maxFiles = 1 << 18
	t.Run("files at the cap", func(t *testing.T) {
		files, err := serveListing(t, modelsListing(maxFiles)).List(context.Background())
		if err != nil || len(files) != maxFiles {
			t.Fatalf("List() = %d files, %v; want %d", len(files), err, maxFiles)
		}
	})
	t.Run("one file over", func(t *testing.T) {
		_, err := serveListing(t, modelsListing(maxFiles+1)).List(context.Background())
		if !errors.Is(err, hub.ErrBadResponse) || !strings.Contains(err.Error(), "more than 262144 files") || !strings.Contains(err.Error(), "GET http://") {
			t.Errorf("List() = %v, want ErrBadResponse naming the URL and the cap", err)
		}
	})
	t.Run("one byte over", func(t *testing.T) {
		body := []byte(`{"sha":"x","pad":"` + strings.Repeat(" ", 64<<20) + `"}`)
		_, err := serveListing(t, body).List(context.Background())
		if !errors.Is(err, hub.ErrBadResponse) || !strings.Contains(err.Error(), "listing over 67108864 bytes") || !strings.Contains(err.Error(), "GET http://") {
			t.Errorf("List() = %v, want ErrBadResponse naming the URL and the cap", err)
		}
	})
}

// TestListMemory lists a repository of 100,000 files, the most the Hub
// advises, and bounds what that keeps: less than the listing's JSON, which
// is decoded entry by entry and never held whole.
func TestListMemory(t *testing.T) {
	body := modelsListing(100_000)
	src := serveListing(t, body)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	files, err := src.List(context.Background())
	if err != nil || len(files) != 100_000 {
		t.Fatalf("List() = %d files, %v", len(files), err)
	}
	files = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d-byte listing, 100,000 files: %d bytes kept (%.2f× the JSON)", len(body), kept, float64(kept)/float64(len(body)))
	if kept > int64(len(body)) {
		t.Errorf("List kept %d bytes for a %d-byte listing, want less than the listing", kept, len(body))
	}
	runtime.KeepAlive(src)
}

//go:build unix

package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/safefs"
)

// inTime runs f and fails the test when it has not returned within a few
// seconds: opening a named pipe with no writer blocks forever.
func inTime(tb testing.TB, what string, f func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		tb.Fatalf("%s blocked", what)
	}
}

// mkfifo makes a named pipe at p, replacing what is there.
func mkfifo(tb testing.TB, p string) {
	tb.Helper()
	os.Remove(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		tb.Skipf("no named pipes: %v", err)
	}
}

// Named pipes where files are read are refused, naming their path, and
// never block: a local model file, a blob store entry, and the Ollama
// store's manifest and blobs (a damaged store, not a missing model: the
// registry is not asked, see noNetwork).
func TestFIFOsRefused(t *testing.T) {
	t.Run("Dir.Open", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "model.gguf")
		mkfifo(t, p)
		inTime(t, "Dir.Open of a named pipe", func() {
			f, err := hub.NewDir(dir).Open(context.Background(), "model.gguf")
			if f != nil || !errors.Is(err, safefs.ErrNotRegular) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "named pipe") {
				t.Errorf("Open = %v, %v; want ErrNotRegular naming %s as a named pipe", f, err, p)
			}
		})
	})
	t.Run("Local", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "model.gguf")
		mkfifo(t, p)
		inTime(t, "Local of a named pipe", func() {
			if src, _, err := hub.Local(p); src != nil || err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("Local(%s) = %v, %v; want an error naming it", p, src, err)
			}
		})
	})
	t.Run("blob store", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "blobs")
		d := "sha256:" + sum256([]byte("blob"))
		p := filepath.Join(dir, "sha256", d[7:])
		mkfifo(t, p)
		bs := hub.NewBlobStore(dir)
		inTime(t, "BlobStore.Open of a named pipe", func() {
			if f, err := bs.Open(d, 4); f != nil || !errors.Is(err, safefs.ErrNotRegular) || !strings.Contains(err.Error(), p) {
				t.Errorf("Open = %v, %v; want ErrNotRegular naming %s", f, err, p)
			}
		})
		// Create stores the blob in the pipe's place.
		putBlob(t, bs, []byte("blob"))
		if info, err := os.Lstat(p); err != nil || !info.Mode().IsRegular() {
			t.Errorf("after Create and Commit, %s is %v, %v; want the blob", p, info, err)
		}
	})

	a := artifact(t, "ollama")
	img := a.image(t)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	modelDigest, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		fifo func(dir, manifest string) string
	}{
		{name: "Ollama manifest", fifo: func(_, manifest string) string { return manifest }},
		{name: "Ollama model blob", fifo: func(dir, _ string) string { return blobPath(dir, modelDigest) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mp := storeModel(t, dir, hub.OllamaRegistry, "library", "tiny", "latest", img)
			p := tt.fifo(dir, mp)
			mkfifo(t, p)
			src, err := hub.NewOllama("ollama://tiny", hub.OCIOptions{Transport: noNetwork{t}, Keychain: anonymous, OllamaModels: dir})
			if err != nil {
				t.Fatal(err)
			}
			inTime(t, "List with a named pipe in the store", func() {
				_, err := src.List(context.Background())
				if !errors.Is(err, hub.ErrBadStore) || !errors.Is(err, safefs.ErrNotRegular) || !strings.Contains(err.Error(), p) {
					t.Errorf("List() = %v, want ErrBadStore and ErrNotRegular naming %s", err, p)
				}
			})
		})
	}
}

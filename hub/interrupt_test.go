package hub_test

import (
	"context"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/interrupt"
)

// TestCreateArmsInterrupts: the caches catch SIGINT and SIGTERM before
// they create a temporary file (see package interrupt), so that a signal
// cancels the run instead of ending it with the file behind.
func TestCreateArmsInterrupts(t *testing.T) {
	creates := map[string]func(dir string) error{
		"blob store": func(dir string) error {
			b, err := hub.NewBlobStore(dir).Create("sha256:"+sha256Hex([]byte("x")), 1)
			if err == nil {
				b.Abort()
			}
			return err
		},
		"hf cache": func(dir string) error {
			w, err := hub.NewHFCacheWriter(dir, hub.HFRef{Repo: "acme/tiny", Revision: "main"}, cacheCommit)
			if err != nil {
				return err
			}
			f, err := w.Create("config.json", 1, "")
			if err == nil {
				f.Abort()
			}
			return err
		},
	}
	for name, create := range creates {
		t.Run(name, func(t *testing.T) {
			_, stop := interrupt.Context(context.Background())
			defer stop()
			if interrupt.Armed() {
				t.Fatal("armed before anything was created")
			}
			if err := create(t.TempDir()); err != nil {
				t.Fatal(err)
			}
			if !interrupt.Armed() {
				t.Error("a temporary file was created with signals not caught")
			}
		})
	}
}

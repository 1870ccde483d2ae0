//go:build unix

package hub

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/internal/safefs"
)

// A named pipe in an entry's place is refused without blocking (no writer
// ever opens it), and replaced by the entry once the file is read.
func TestHeaderCacheFIFOEntry(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 5000)
	const id = "sha256:fifo"
	c := NewHeaderCache(filepath.Join(t.TempDir(), "headers"))
	p := c.path(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip(err)
	}
	done := make(chan struct{})
	var got []byte
	var err error
	go func() {
		defer close(done)
		got, err = c.read(id, int64(len(data)))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("read of a named pipe entry blocked")
	}
	if got != nil || !errors.Is(err, safefs.ErrNotRegular) || !strings.Contains(err.Error(), p) {
		t.Errorf("read of a named pipe entry = %d bytes, %v; want ErrNotRegular naming %s", len(got), err, p)
	}
	var cnt counters
	fx := wrapForTest(c, id, data, &cnt)
	parsed := RecordHeader(fx.f)
	parseHeader(t, fx.f, 100)
	parsed(100)
	fx.f.Close()
	if got, err := c.read(id, int64(len(data))); err != nil || !bytes.Equal(got, data[:100]) {
		t.Errorf("after a run, read = %d bytes, %v; want the entry in the pipe's place", len(got), err)
	}
}

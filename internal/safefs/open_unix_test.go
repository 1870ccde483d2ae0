//go:build unix

package safefs_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/internal/safefs"
)

// within runs f and fails the test if it does not return within a few
// seconds: a call that blocks is a failure, not a hung test.
func within(tb testing.TB, what string, f func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		tb.Fatalf("%s blocked", what)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, tt := range []struct {
		name   string
		open   func(string) (*os.File, fs.FileInfo, error)
		path   string
		want   string // content, or
		err    error  // the error wrapped
		saying string // and a phrase of its message
	}{
		{name: "Open file", open: safefs.Open, path: file, want: "data"},
		{name: "Open link", open: safefs.Open, path: link, want: "data"},
		{name: "OpenNoFollow file", open: safefs.OpenNoFollow, path: file, want: "data"},
		{name: "OpenNoFollow link", open: safefs.OpenNoFollow, path: link, err: safefs.ErrNotRegular, saying: "a symbolic link"},
		{name: "Open fifo", open: safefs.Open, path: fifo, err: safefs.ErrNotRegular, saying: "a named pipe"},
		{name: "OpenNoFollow fifo", open: safefs.OpenNoFollow, path: fifo, err: safefs.ErrNotRegular, saying: "a named pipe"},
		{name: "Open folder", open: safefs.Open, path: dir, err: safefs.ErrNotRegular, saying: "a folder"},
		{name: "Open missing", open: safefs.Open, path: filepath.Join(dir, "none"), err: fs.ErrNotExist},
	} {
		t.Run(tt.name, func(t *testing.T) {
			within(t, tt.name, func() {
				f, info, err := tt.open(tt.path)
				if tt.err != nil {
					if f != nil || !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.saying) {
						t.Errorf("open(%s) = %v, %v; want %v naming the path and saying %q", tt.path, f, err, tt.err, tt.saying)
					}
					if f != nil {
						f.Close()
					}
					return
				}
				if err != nil {
					t.Errorf("open(%s) = %v", tt.path, err)
					return
				}
				defer f.Close()
				b, err := io.ReadAll(f)
				if string(b) != tt.want || err != nil || info.Size() != int64(len(tt.want)) {
					t.Errorf("open(%s) reads %q, %v (size %d); want %q", tt.path, b, err, info.Size(), tt.want)
				}
			})
		})
	}
}

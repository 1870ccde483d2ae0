//go:build unix

package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
)

// TestWriteTarget checks the paths a user names for an output: /dev/null
// and a named pipe are written in place (the pipe's reader gets the
// bytes, /dev/null stays a device), a symbolic link is followed (the file
// it names is replaced, the link stays a link), a dangling link and a
// folder are refused, and a new path is created.
func TestWriteTarget(t *testing.T) {
	put := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := atomicfile.WriteTarget(os.DevNull, 0o644, put("gone")); err != nil {
		t.Errorf("WriteTarget(/dev/null) = %v", err)
	}
	if info, err := os.Lstat(os.DevNull); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is %v after WriteTarget (%v), want a character device", info.Mode(), err)
	}

	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	if err := atomicfile.WriteTarget(fifo, 0o644, put("through the pipe")); err != nil {
		t.Fatalf("WriteTarget(fifo) = %v", err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("the pipe's reader got %q", s)
	}

	real := filepath.Join(dir, "real.json")
	if err := os.WriteFile(real, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteTarget(link, 0o644, put("new")); err != nil {
		t.Fatalf("WriteTarget(link) = %v", err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Errorf("the link's target holds %q, want new", b)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is %v after WriteTarget (%v), want still a link", info.Mode(), err)
	}

	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere", "x"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteTarget(dangling, 0o644, put("x")); err == nil {
		t.Errorf("WriteTarget(dangling link) = nil, want an error")
	}
	if err := atomicfile.WriteTarget(dir, 0o644, put("x")); !errors.Is(err, atomicfile.ErrNotRegular) {
		t.Errorf("WriteTarget(folder) = %v, want ErrNotRegular", err)
	}
	fresh := filepath.Join(dir, "fresh.json")
	if err := atomicfile.WriteTarget(fresh, 0o640, put("made")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fresh); string(b) != "made" {
		t.Errorf("a new path holds %q, want made", b)
	}
}

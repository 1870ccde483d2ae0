//go:build unix

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOutputToSpecialFiles checks that -o and --report write through a
// target that is not a regular file instead of renaming a new file over
// it (run as root, -o /dev/null used to replace the machine's /dev/null):
// a named pipe stands in for the device (a regression here must not break
// the machine running the test), and its reader gets the report; a
// symbolic link is followed and stays a link.
func TestOutputToSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no named pipes here:", err)
	}
	real := filepath.Join(dir, "report.json")
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, nil, 0o644); err != nil {
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
	_, stderr, code := cli(t, "inspect", "--builtin", "30b-gguf", "-o", fifo, "--report", "json="+link)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if s := <-got; !strings.Contains(s, "tensors") {
		t.Errorf("the pipe's reader got %q, want the table report", s)
	}
	for path, want := range map[string]os.FileMode{fifo: os.ModeNamedPipe, link: os.ModeSymlink} {
		if info, err := os.Lstat(path); err != nil || info.Mode()&want == 0 {
			t.Errorf("%s is %v after the run (%v), want %v", path, info.Mode(), err, want)
		}
	}
	if b, _ := os.ReadFile(real); !strings.Contains(string(b), `"schema_version"`) {
		t.Errorf("the link's target holds %.80q, want the JSON report", b)
	}
}

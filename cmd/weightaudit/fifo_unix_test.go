//go:build unix

package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A named pipe given where a manifest is expected is refused at once,
// never opened for reading (which would block the run forever).
func TestFIFOArguments(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "manifest.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	for _, args := range [][]string{
		{"verify", "../../testdata/tiny/hf-f32", "--manifest", fifo},
		{"verify", "--merge", fifo},
		{"diff", fifo, "../../testdata/tiny/hf-f32"},
	} {
		done := make(chan int, 1)
		go func() {
			_, _, code := cli(t, args...)
			done <- code
		}()
		select {
		case code := <-done:
			if code == exitOK {
				t.Errorf("%v: exit 0, want a refusal", args)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: blocked on the named pipe", args)
		}
	}
}

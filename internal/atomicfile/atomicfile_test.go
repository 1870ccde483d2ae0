package atomicfile_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/interrupt"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want boom", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q, want the old content", b)
	}
	if err := atomicfile.Write(path, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file holds %q, want new", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the target (no temporary files left)", len(entries))
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}

// TestWriteArmsInterrupts: Write catches SIGINT and SIGTERM before it
// creates the temporary file (see package interrupt).
func TestWriteArmsInterrupts(t *testing.T) {
	_, stop := interrupt.Context(context.Background())
	defer stop()
	if interrupt.Armed() {
		t.Fatal("armed before anything was written")
	}
	if err := atomicfile.Write(filepath.Join(t.TempDir(), "f"), 0o644, func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !interrupt.Armed() {
		t.Error("the temporary file was created with signals not caught")
	}
}

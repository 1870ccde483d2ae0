package htmlreport_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// tinyDir is the folder of one of the committed tiny checkpoints
// (testdata/tiny/MANIFEST lists their tensors).
func tinyDir(name string) string { return filepath.Join("..", "..", "testdata", "tiny", name) }

// loadDir loads the checkpoint in dir.
func loadDir(t *testing.T, dir string) *checkpoint.Checkpoint {
	t.Helper()
	ck, err := checkpoint.Load(context.Background(), hub.NewDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// plantTiny copies the tiny checkpoint name into a temporary folder and
// returns the folder, with defects planted: for each tensor patch names,
// the bytes its function returns, given the tensor's bytes as stored,
// overwrite the tensor's from its start.
func plantTiny(t *testing.T, name string, patch map[string]func(old []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(tinyDir(name))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(tinyDir(name), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	done := 0
	for _, tn := range loadDir(t, dir).Inventory().Tensors {
		f, ok := patch[tn.Name]
		if !ok {
			continue
		}
		file := filepath.Join(dir, tn.File)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		newBytes := f(b[tn.Offset : tn.Offset+tn.Bytes])
		if int64(len(newBytes)) > tn.Bytes {
			t.Fatalf("patch of %s: %d bytes for a tensor of %d", tn.Name, len(newBytes), tn.Bytes)
		}
		copy(b[tn.Offset:], newBytes)
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		done++
	}
	if done != len(patch) {
		t.Fatalf("%d of the %d tensors to patch found in %s", done, len(patch), name)
	}
	return dir
}

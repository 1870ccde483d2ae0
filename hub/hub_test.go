package hub_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/hub"
)

func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config.json":        "{}",
		"model.safetensors":  "12345",
		"sub/extra.txt":      "x",
		".cache/hidden.json": "h",
		".hidden":            "h",
	})
	src := hub.NewDir(dir)
	got, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.FileInfo{{"config.json", 2}, {"model.safetensors", 5}, {"sub/extra.txt", 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	f, err := src.Open(context.Background(), "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != 5 {
		t.Errorf("Size() = %d, want 5", f.Size())
	}
	if err := iotest.TestReader(io.NewSectionReader(f, 0, f.Size()), []byte("12345")); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "nope.gguf"} {
		if _, err := src.Open(context.Background(), bad); !errors.Is(err, hub.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want ErrNotExist", bad, err)
		}
	}
}

func TestLocal(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.gguf": "GGUF", "b.gguf": "GGUF", "deep/c.gguf": "x"})
	src, focus, err := hub.Local(filepath.Join(dir, "a.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if focus != "a.gguf" {
		t.Errorf("focus = %q, want a.gguf", focus)
	}
	got, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []hub.FileInfo{{"a.gguf", 4}, {"b.gguf", 4}}; !cmp.Equal(want, got) {
		t.Errorf("List() = %v, want the file's folder, top level only: %v", got, want)
	}
	if p := hub.Path(src, "b.gguf"); p != filepath.Join(dir, "b.gguf") {
		t.Errorf("Path = %q", p)
	}
	if _, focus, err := hub.Local(dir); err != nil || focus != "" {
		t.Errorf("Local(dir) = focus %q, %v; want no focus", focus, err)
	}
	if _, _, err := hub.Local(filepath.Join(dir, "missing")); err == nil {
		t.Error("Local(missing) succeeded")
	}
}

func TestVirtual(t *testing.T) {
	v := &hub.Virtual{Head: []byte("HEAD"), Len: 10}
	want := []byte("HEAD\x00\x00\x00\x00\x00\x00")
	if err := iotest.TestReader(io.NewSectionReader(v, 0, v.Len), want); err != nil {
		t.Error(err)
	}
	// A read across the end returns what there is and io.EOF, as io.ReaderAt requires.
	p := bytes.Repeat([]byte{0xff}, 8)
	n, err := v.ReadAt(p, 6)
	if n != 4 || err != io.EOF || !bytes.Equal(p[:4], make([]byte, 4)) {
		t.Errorf("ReadAt(8 bytes at 6) = %d, %v, %v; want 4 zero bytes and io.EOF", n, err, p[:n])
	}
	if _, err := v.ReadAt(p, -1); err == nil {
		t.Error("ReadAt at a negative offset succeeded")
	}
}

func TestMemAndReadFile(t *testing.T) {
	m := hub.NewMem("mem")
	m.Add("b.json", bytes.NewReader([]byte(`{"x":1}`)), 7)
	m.Add("a.bin", &hub.Virtual{Len: 1 << 40}, 1<<40)
	files, _ := m.List(context.Background())
	if want := []hub.FileInfo{{"a.bin", 1 << 40}, {"b.json", 7}}; !cmp.Equal(want, files) {
		t.Errorf("List() = %v, want %v", files, want)
	}
	b, err := hub.ReadFile(context.Background(), m, "b.json", 100)
	if err != nil || string(b) != `{"x":1}` {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	var le *hub.LimitError
	if _, err := hub.ReadFile(context.Background(), m, "a.bin", 1<<20); !errors.As(err, &le) {
		t.Errorf("ReadFile(1 TiB file) = %v, want a *LimitError", err)
	}
	m.Remove("b.json")
	if _, err := m.Open(context.Background(), "b.json"); !errors.Is(err, hub.ErrNotExist) {
		t.Errorf("Open(removed) = %v, want ErrNotExist", err)
	}
}

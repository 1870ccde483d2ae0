package hub_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/safefs"
)

// A blob store whose own folder is a symbolic link (as
// $WEIGHTAUDIT_CACHE/blobs could be) is neither written nor read: the
// errors name the link, and nothing is made where it leads.
func TestBlobStoreLinkedFolder(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "blobs")
	outside := t.TempDir()
	data := []byte("planted")
	d := "sha256:" + sum256(data)
	if err := os.MkdirAll(filepath.Join(outside, "sha256"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "sha256", d[7:]), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dir); err != nil {
		t.Skip(err)
	}
	bs := hub.NewBlobStore(dir)
	if f, err := bs.Open(d, int64(len(data))); f != nil || !errors.Is(err, safefs.ErrNotFolder) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open through a linked store folder = %v, %v; want ErrNotFolder naming %s", f, err, dir)
	}
	other := []byte("new")
	if w, err := bs.Create("sha256:"+sum256(other), 3); w != nil || !errors.Is(err, safefs.ErrNotFolder) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Create through a linked store folder = %v, %v; want ErrNotFolder naming %s", w, err, dir)
	}
	if got := storeEntries(t, outside); len(got) != 1 {
		t.Errorf("where the link leads: %q, want only the planted blob", got)
	}
}

// A blob store entry that is not the blob its name says is not trusted: a
// truncated one is refused on Open, naming its path; one of the right
// size but other bytes fails, when read through, with ErrDigestMismatch
// and is removed, so that a later Create stores the blob again.
func TestBlobStoreDamagedEntry(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	bs := hub.NewBlobStore(dir)
	data := bytes.Repeat([]byte("layer bytes "), 10000)
	d := putBlob(t, bs, data)
	p := filepath.Join(dir, "sha256", d[7:])

	// Truncated.
	if err := os.Truncate(p, int64(len(data))-1); err != nil {
		t.Fatal(err)
	}
	f, err := bs.Open(d, int64(len(data)))
	if f != nil || !errors.Is(err, hub.ErrNotExist) || !strings.Contains(err.Error(), p) {
		t.Errorf("Open of a truncated entry = %v, %v; want ErrNotExist naming %s", f, err, p)
	}
	putBlob(t, bs, data) // Create does not take the truncated file for the blob

	// The right size, other bytes.
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(p, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = bs.Open(d, int64(len(data)))
	if err != nil {
		t.Fatalf("Open of a same-size entry = %v; its bytes are checked as they are read", err)
	}
	// Reads that do not cover the blob from its start are served.
	head := make([]byte, 16)
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, data[:16]) {
		t.Errorf("ReadAt(0) = %q, %v; want %q", head, err, data[:16])
	}
	_, err = io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if !errors.Is(err, hub.ErrDigestMismatch) || !strings.Contains(err.Error(), p) {
		t.Errorf("reading a same-size entry of other bytes through = %v, want ErrDigestMismatch naming %s", err, p)
	}
	if _, err := f.ReadAt(head, 0); !errors.Is(err, hub.ErrDigestMismatch) {
		t.Errorf("ReadAt after the mismatch = %v, want ErrDigestMismatch", err)
	}
	f.Close()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the mismatched entry is still there: %v", err)
	}
	putBlob(t, bs, data)

	// The whole blob, read out of order, then through: no error.
	f, err = bs.Open(d, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tail := make([]byte, 100)
	if _, err := f.ReadAt(tail, f.Size()-100); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size())); err != nil || !bytes.Equal(b, data) {
		t.Errorf("reading a whole blob through = %d bytes, %v; want the blob", len(b), err)
	}
}

// The HF cache writer makes nothing through a linked folder, however deep
// the folder it needs below the link.
func TestHFCacheWriterLinkedFolders(t *testing.T) {
	dir := t.TempDir()
	w, err := hub.NewHFCacheWriter(dir, hub.HFRef{Repo: "acme/tiny", Revision: cacheCommit}, cacheCommit)
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	snap := filepath.Join(dir, "models--acme--tiny", "snapshots", cacheCommit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(snap, "sub")
	if err := os.Symlink(outside, link); err != nil {
		t.Skip(err)
	}
	err = store(t, w, "sub/deep/er/model.gguf", []byte("x"), "")
	if !errors.Is(err, safefs.ErrNotFolder) || !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "outside the cache folder") {
		t.Errorf("storing below a link = %v, want ErrNotFolder naming %s", err, link)
	}
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("made where the link leads: %q", got)
	}

	// blobs/ a link: refused before any temporary file is made.
	blobs := filepath.Join(dir, "models--acme--tiny", "blobs")
	if err := os.RemoveAll(blobs); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, blobs); err != nil {
		t.Fatal(err)
	}
	if f, err := w.Create("model.gguf", 1, ""); f != nil || !errors.Is(err, safefs.ErrNotFolder) || !strings.Contains(err.Error(), blobs) {
		t.Errorf("Create with blobs/ a link = %v, %v; want ErrNotFolder naming %s", f, err, blobs)
	}
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("made where the link leads: %q", got)
	}
}

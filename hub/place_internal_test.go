package hub

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/internal/safefs"
)

// A header cache whose folder, or one of its sub-folders, is a symbolic
// link neither writes nor reads through it: store fails naming the link,
// an entry planted where the link leads is not served (the file is read
// from its source), and nothing is written where the link leads.
func TestHeaderCacheLinkedFolder(t *testing.T) {
	data := bytes.Repeat([]byte("header bytes "), 400)
	const id = "sha256:" + "ab"
	for _, tt := range []struct {
		name string
		link func(c *HeaderCache) string // the folder to make a link
	}{
		{name: "headers", link: func(c *HeaderCache) string { return c.Dir() }},
		{name: "sub-folder", link: func(c *HeaderCache) string { return filepath.Dir(c.path(id)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewHeaderCache(filepath.Join(t.TempDir(), "headers"))
			outside := t.TempDir()
			link := tt.link(c)
			if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, link); err != nil {
				t.Skip(err)
			}
			// A valid entry planted where the link leads, at the place
			// the cache would read it from.
			planted := filepath.Join(outside, strings.TrimPrefix(c.path(id), link))
			other := NewHeaderCache(t.TempDir())
			if err := other.store(id, int64(len(data)), data[:100]); err != nil {
				t.Fatal(err)
			}
			entry, err := os.ReadFile(other.path(id))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(planted), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(planted, entry, 0o600); err != nil {
				t.Fatal(err)
			}

			err = c.store(id, int64(len(data)), data[:200])
			if !errors.Is(err, safefs.ErrNotFolder) || !strings.Contains(err.Error(), link) {
				t.Errorf("store through %s = %v, want ErrNotFolder naming it", link, err)
			}
			got, err := c.read(id, int64(len(data)))
			if got != nil || !errors.Is(err, safefs.ErrNotFolder) || !strings.Contains(err.Error(), link) {
				t.Errorf("read through %s = %d bytes, %v; want nothing and ErrNotFolder naming it", link, len(got), err)
			}

			// A run reads the header from the source, and its Close
			// writes nothing through the link.
			var cnt counters
			fx := wrapForTest(c, id, data, &cnt)
			parsed := RecordHeader(fx.f)
			if got := parseHeader(t, fx.f, 300); !bytes.Equal(got, data[:300]) {
				t.Fatal("wrong bytes")
			}
			parsed(300)
			fx.f.Close()
			if fx.opens != 1 || cnt.cached.Load() != 0 {
				t.Errorf("source opened %d times, %d bytes from the cache; want 1 and 0", fx.opens, cnt.cached.Load())
			}
			if b, _ := os.ReadFile(planted); !bytes.Equal(b, entry) {
				t.Error("the planted entry was rewritten through the link")
			}
			var files []string
			filepath.WalkDir(outside, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, p)
				}
				return nil
			})
			if len(files) != 1 || files[0] != planted {
				t.Errorf("where the link leads: %q, want only the planted entry", files)
			}
		})
	}
}

// An entry copied over another identity's file is rejected, naming the
// file, and ignored: the file is read from its source and the entry
// rewritten.
func TestHeaderCacheCopiedEntry(t *testing.T) {
	a := bytes.Repeat([]byte("file A "), 2000)
	b := bytes.Repeat([]byte("file B "), 2000) // the same size: only the identity differs
	const idA, idB = "hf.example/sha256:aaaa", "hf.example/sha256:bbbb"
	c := NewHeaderCache(t.TempDir())
	if err := c.store(idA, int64(len(a)), a[:1000]); err != nil {
		t.Fatal(err)
	}
	if err := c.store(idB, int64(len(b)), b[:1000]); err != nil {
		t.Fatal(err)
	}
	entryA, err := os.ReadFile(c.path(idA))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path(idB), entryA, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := c.read(idB, int64(len(b)))
	if got != nil || !errors.Is(err, errBadEntry) || !strings.Contains(err.Error(), c.path(idB)) || !strings.Contains(err.Error(), "another identity") {
		t.Fatalf("read(%s) of %s's entry = %d bytes, %v; want errBadEntry naming the file and the identity", idB, idA, len(got), err)
	}

	var cnt counters
	fx := wrapForTest(c, idB, b, &cnt)
	parsed := RecordHeader(fx.f)
	if got := parseHeader(t, fx.f, 1000); !bytes.Equal(got, b[:1000]) {
		t.Fatalf("file %s read %q..., want its own bytes %q...", idB, got[:14], b[:14])
	}
	parsed(1000)
	fx.f.Close()
	if fx.opens != 1 || cnt.cached.Load() != 0 {
		t.Errorf("source opened %d times, %d bytes from the cache; want 1 and 0", fx.opens, cnt.cached.Load())
	}
	if got, err := c.read(idB, int64(len(b))); err != nil || !bytes.Equal(got, b[:1000]) {
		t.Errorf("after the run, read(%s) = %d bytes, %v; want its header rewritten", idB, len(got), err)
	}
	if got, err := c.read(idA, int64(len(a))); err != nil || !bytes.Equal(got, a[:1000]) {
		t.Errorf("read(%s) = %d bytes, %v; want its own entry untouched", idA, len(got), err)
	}
}

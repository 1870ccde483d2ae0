package hub

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// memFileForCache is a File over bytes that counts its reads.
type memFileForCache struct {
	r     *bytes.Reader
	mu    sync.Mutex
	reads [][2]int64 // offset, length
}

func (m *memFileForCache) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	m.reads = append(m.reads, [2]int64{off, int64(len(p))})
	m.mu.Unlock()
	return m.r.ReadAt(p, off)
}
func (m *memFileForCache) Size() int64  { return m.r.Size() }
func (m *memFileForCache) Close() error { return nil }

// cacheFixture wraps data (identity id) in the cache c, and returns the
// file, the inner file once opened and how many times it was opened.
type cacheFixture struct {
	f     File
	inner *memFileForCache
	opens int
}

func wrapForTest(c *HeaderCache, id string, data []byte, cnt *counters) *cacheFixture {
	fx := &cacheFixture{}
	fx.f = c.wrap(id, int64(len(data)), cnt, func() (File, error) {
		fx.opens++
		fx.inner = &memFileForCache{r: bytes.NewReader(data)}
		return fx.inner, nil
	})
	return fx
}

// parseHeader reads a header the way a parser does: a small read, then
// the rest in one piece.
func parseHeader(t *testing.T, f File, n int64) []byte {
	t.Helper()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf[:8], 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(buf[8:], 8); err != nil {
		t.Fatal(err)
	}
	return buf
}

func TestHeaderCache(t *testing.T) {
	data := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	const id, header = "sha256:aa", 5000
	c := NewHeaderCache(t.TempDir())

	// First run: nothing cached; the parsed header is stored on Close.
	var cnt counters
	fx := wrapForTest(c, id, data, &cnt)
	parsed := RecordHeader(fx.f)
	if got := parseHeader(t, fx.f, header); !bytes.Equal(got, data[:header]) {
		t.Fatal("first read: wrong bytes")
	}
	parsed(header)
	// A data read after the header was parsed is not recorded.
	if _, err := fx.f.ReadAt(make([]byte, 100), header); err != nil {
		t.Fatal(err)
	}
	fx.f.Close()
	if fx.opens != 1 || cnt.cached.Load() != 0 {
		t.Fatalf("first run: %d opens, %d cached bytes; want 1, 0", fx.opens, cnt.cached.Load())
	}
	if got := c.load(id, int64(len(data))); !bytes.Equal(got, data[:header]) {
		t.Fatalf("stored entry holds %d bytes, want the %d of the header", len(got), header)
	}

	// Second run: the header comes from the cache, the remote file is
	// never opened.
	var cnt2 counters
	fx = wrapForTest(c, id, data, &cnt2)
	parsed = RecordHeader(fx.f)
	if got := parseHeader(t, fx.f, header); !bytes.Equal(got, data[:header]) {
		t.Fatal("second read: wrong bytes")
	}
	parsed(header)
	if fx.opens != 0 || cnt2.cached.Load() != header {
		t.Fatalf("second run: %d opens, %d cached bytes; want 0, %d", fx.opens, cnt2.cached.Load(), header)
	}
	// A read straddling the cached header fetches only what lies past it.
	buf := make([]byte, 200)
	if _, err := fx.f.ReadAt(buf, header-100); err != nil || !bytes.Equal(buf, data[header-100:header+100]) {
		t.Fatalf("straddling read: %v", err)
	}
	if fx.opens != 1 || len(fx.inner.reads) != 1 || fx.inner.reads[0] != [2]int64{header, 100} {
		t.Fatalf("straddling read: %d opens, remote reads %v; want 1 read of [%d, +100)", fx.opens, fx.inner.reads, header)
	}
	fx.f.Close()

	// Another file, another size or another identity: no entry.
	if c.load(id, int64(len(data))+1) != nil || c.load("sha256:bb", int64(len(data))) != nil {
		t.Error("an entry served a file of another size or identity")
	}
}

func TestHeaderCacheDamagedEntry(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	const id = "gitblob:0123"
	dir := t.TempDir()
	c := NewHeaderCache(dir)
	if err := c.store(id, int64(len(data)), data[:4000]); err != nil {
		t.Fatal(err)
	}
	p := c.path(id)
	entry, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"empty", func([]byte) []byte { return nil }},
		{"another identity's entry", func([]byte) []byte {
			other := NewHeaderCache(t.TempDir())
			other.store("gitblob:9999", int64(len(data)), data[:4000])
			b, _ := os.ReadFile(other.path("gitblob:9999"))
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(p, tc.edit(bytes.Clone(entry)), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := c.load(id, int64(len(data))); got != nil {
				t.Fatalf("a damaged entry served %d bytes", len(got))
			}
			// The file reads right from the remote, and the entry is rewritten.
			var cnt counters
			fx := wrapForTest(c, id, data, &cnt)
			parsed := RecordHeader(fx.f)
			if got := parseHeader(t, fx.f, 4000); !bytes.Equal(got, data[:4000]) {
				t.Fatal("wrong bytes")
			}
			parsed(4000)
			fx.f.Close()
			if got := c.load(id, int64(len(data))); !bytes.Equal(got, data[:4000]) {
				t.Fatal("the damaged entry was not rewritten")
			}
		})
	}
}

// Reading a file whole without RecordHeader (verify, dump) stores nothing.
func TestHeaderCacheDataReadsNotKept(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 1<<16)
	dir := t.TempDir()
	c := NewHeaderCache(dir)
	var cnt counters
	fx := wrapForTest(c, "sha256:cc", data, &cnt)
	for off := int64(0); off < int64(len(data)); off += 4096 {
		if _, err := fx.f.ReadAt(make([]byte, 4096), off); err != nil {
			t.Fatal(err)
		}
	}
	fx.f.Close()
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("cache holds %v after data reads, want nothing", files)
	}
}

// Concurrent reads of one cached file (run with -race).
func TestHeaderCacheConcurrent(t *testing.T) {
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(i * 7)
	}
	c := NewHeaderCache(t.TempDir())
	var cnt counters
	fx := wrapForTest(c, "sha256:dd", data, &cnt)
	parsed := RecordHeader(fx.f)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			buf := make([]byte, 1000)
			for off := int64(g * 10); off+1000 < int64(len(data)); off += 3000 {
				if _, err := fx.f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, data[off:off+1000]) {
					t.Errorf("ReadAt(%d): %v or wrong bytes", off, err)
					return
				}
			}
		})
	}
	wg.Wait()
	parsed(100)
	fx.f.Close()
	if got := c.load("sha256:dd", int64(len(data))); got != nil && !bytes.Equal(got, data[:len(got)]) {
		t.Error("stored entry is not a prefix of the file")
	}
	if _, err := io.ReadAll(io.NewSectionReader(fx.f, 0, 10)); err != nil {
		t.Errorf("ReadAt after Close: %v", err)
	}
}

// FuzzHeaderCacheEntry: an entry on disk is never trusted. Loading any
// bytes never panics, and serves a header only when the entry is a whole,
// checksummed entry of that identity and size.
func FuzzHeaderCacheEntry(f *testing.F) {
	dir := f.TempDir()
	c := NewHeaderCache(dir)
	const id, size = "host/sha256:ab", 1 << 20
	if err := c.store(id, size, []byte("a header")); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(c.path(id))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, entry []byte) {
		if err := os.WriteFile(c.path(id), entry, 0o600); err != nil {
			t.Fatal(err)
		}
		got := c.load(id, size)
		if got == nil {
			return
		}
		// Accepted: it must re-encode to the very same entry.
		if err := c.store(id, size, got); err != nil {
			t.Fatal(err)
		}
		again, err := os.ReadFile(c.path(id))
		if err != nil || !bytes.Equal(again, entry) {
			t.Fatalf("accepted an entry that does not re-encode to itself (%d bytes)", len(entry))
		}
	})
}

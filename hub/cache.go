package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/safefs"
)

// HeaderCache is a folder of the leading bytes of remote files: the
// headers a reader parsed, each kept under the content identity of its
// file (an LFS sha256, a Git blob id, an OCI blob digest) scoped to the
// host that published it, never under a URL: every revision, repository
// or tag of one host holding the same file shares its entry, and a host
// cannot plant entries under another's digests. Content with one identity
// never changes, so an entry never goes stale: a second audit of the same
// files reads their headers from the cache and makes no requests for them.
// Nothing checks a cached header against its digest (that takes the whole
// file): a command that must see what the host serves now, such as
// verify, does not use the cache. Entries are written atomically
// and checked when read: each holds the identity it was stored under and
// a SHA-256 of that identity and the header, so a damaged entry, or one
// copied from another identity's file, is ignored (the file is read from
// its host) and rewritten. Nothing is written or read outside the cache's
// folder: the folder and its sub-folders must be real folders, not
// symbolic links (nor may an entry be one, or a named pipe or device), or
// the cache neither reads nor writes there. It is safe for concurrent use,
// by several processes too.
type HeaderCache struct {
	dir string
	max int64
}

// DefaultHeaderCacheMax is the most bytes a [HeaderCache] keeps per file:
// more than the largest headers seen in practice (a GGUF file with a
// 150k-token vocabulary has a 6 MB header).
const DefaultHeaderCacheMax = 64 << 20

// NewHeaderCache returns the cache in folder dir, created on first write.
func NewHeaderCache(dir string) *HeaderCache {
	return &HeaderCache{dir: dir, max: DefaultHeaderCacheMax}
}

// DefaultHeaderCacheDir returns the folder weightaudit keeps its header
// cache in: headers in weightaudit's cache folder, which is
// $WEIGHTAUDIT_CACHE when set, else weightaudit under the user's cache
// folder (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux).
func DefaultHeaderCacheDir(getenv func(string) string) (string, error) {
	d, err := cacheDir(getenv, "headers")
	if err != nil {
		return "", fmt.Errorf("header cache: %w", err)
	}
	return d, nil
}

// cacheDir returns the folder sub of weightaudit's cache folder:
// $WEIGHTAUDIT_CACHE when set, else weightaudit under the user's cache
// folder. getenv reads the environment (nil: os.Getenv).
func cacheDir(getenv func(string) string, sub string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("WEIGHTAUDIT_CACHE"); d != "" {
		return filepath.Join(d, sub), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "weightaudit", sub), nil
}

// ownedRoot returns the folder that holds dir, a folder of weightaudit's
// own (the header cache's or the blob store's, in weightaudit's cache
// folder), as the root under which dir and its sub-folders must be real
// folders: a symbolic link at dir itself is refused too. Set
// $WEIGHTAUDIT_CACHE to keep the cache elsewhere.
func ownedRoot(dir string) safefs.Root {
	return safefs.Root{Dir: filepath.Dir(dir), Name: "the cache folder"}
}

// Dir returns the cache's folder.
func (c *HeaderCache) Dir() string { return c.dir }

// headerRecorder is implemented by files that can keep their header.
type headerRecorder interface {
	recordHeader() func(n int64)
}

// RecordHeader asks f to keep its header for the next run, when it can:
// call it before parsing the header, and the returned function once the
// header is parsed, with its length n > 0. When the file is closed it
// stores what the parser read in between, sequentially from offset 0 (the
// header and whatever the parser read past it). Only those reads are kept,
// so reading tensor data never fills the cache. For files that keep
// nothing the function does nothing.
func RecordHeader(f File) (parsed func(n int64)) {
	if r, ok := f.(headerRecorder); ok {
		return r.recordHeader()
	}
	return func(int64) {}
}

// Entry layout: magic, the identity's length and bytes, the file's size,
// the header's length, the header, and the SHA-256 of all that precedes it.
const cacheMagic = "WACH\x01\x00\x00\x00"

// path returns the entry file of identity id.
func (c *HeaderCache) path(id string) string {
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, h[:2], h)
}

// errBadEntry is wrapped by the errors of [HeaderCache.read] for an entry
// that is not the header of the file asked for.
var errBadEntry = errors.New("damaged entry, or one of another file")

// load returns the cached header of the file with identity id and size,
// or nil when there is none or the entry cannot be used (see read).
func (c *HeaderCache) load(id string, size int64) []byte {
	b, _ := c.read(id, size)
	return b
}

// read returns the cached header of the file with identity id and size:
// nil and no error when there is no entry; nil and an error naming the
// entry's path when the entry is damaged or belongs to another file
// (errBadEntry), is not a regular file, or lies under a folder of the
// cache that is a symbolic link (a [safefs.NotFolderError]).
func (c *HeaderCache) read(id string, size int64) ([]byte, error) {
	p := c.path(id)
	if err := ownedRoot(c.dir).Check(filepath.Dir(p)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("header cache: %w", err)
	}
	f, st, err := safefs.OpenNoFollow(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("header cache: %w", err)
	}
	defer f.Close()
	bad := func(why string) ([]byte, error) {
		return nil, fmt.Errorf("header cache: %s: %w: %s", p, errBadEntry, why)
	}
	overhead := int64(len(cacheMagic) + 4 + len(id) + 8 + 8 + sha256.Size)
	if st.Size() < overhead || st.Size() > overhead+c.max {
		return bad(fmt.Sprintf("%d bytes", st.Size()))
	}
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("header cache: %s: %w", p, err)
	}
	body, sum := buf[:len(buf)-sha256.Size], buf[len(buf)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return bad("checksum mismatch")
	}
	rest, ok := bytes.CutPrefix(body, []byte(cacheMagic))
	if !ok || len(rest) < 4 {
		return bad("no entry header")
	}
	n := binary.LittleEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(n) != uint64(len(id)) || len(rest) < len(id)+16 || string(rest[:n]) != id {
		return bad("stored under another identity than " + id)
	}
	rest = rest[n:]
	if int64(binary.LittleEndian.Uint64(rest)) != size || binary.LittleEndian.Uint64(rest[8:]) != uint64(len(rest)-16) {
		return bad(fmt.Sprintf("not the header of a file of %d bytes", size))
	}
	return rest[16:], nil
}

// store writes the header of the file with identity id and size. It
// creates the entry's folders (mode 0700) and refuses, naming the path,
// to write through a folder of the cache that is a symbolic link.
func (c *HeaderCache) store(id string, size int64, header []byte) error {
	p := c.path(id)
	if err := ownedRoot(c.dir).MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("header cache: %w", err)
	}
	return atomicfile.Write(p, 0o600, func(w io.Writer) error {
		h := sha256.New()
		mw := io.MultiWriter(w, h) // the header is not copied to be hashed
		var fields []byte
		fields = append(fields, cacheMagic...)
		fields = binary.LittleEndian.AppendUint32(fields, uint32(len(id)))
		fields = append(fields, id...)
		fields = binary.LittleEndian.AppendUint64(fields, uint64(size))
		fields = binary.LittleEndian.AppendUint64(fields, uint64(len(header)))
		if _, err := mw.Write(fields); err != nil {
			return err
		}
		if _, err := mw.Write(header); err != nil {
			return err
		}
		_, err := w.Write(h.Sum(nil))
		return err
	})
}

// wrap returns the file with identity id and size, its header served from
// the cache when there, everything else read through open (called at most
// once, on the first read the cache cannot serve). cnt counts the bytes
// served from the cache.
func (c *HeaderCache) wrap(id string, size int64, cnt *counters, open func() (File, error)) File {
	f := &cachedFile{c: c, id: id, size: size, cnt: cnt, open: open}
	f.cached = c.load(id, size)
	f.rec = f.cached
	return f
}

// cachedFile is a remote file whose header may be in a [HeaderCache].
// Asked to (see [RecordHeader]), it records the bytes its reader reads
// sequentially from offset 0, so that the header can be stored when the
// file is closed.
type cachedFile struct {
	c      *HeaderCache
	id     string
	size   int64
	cnt    *counters
	cached []byte // the header from the cache, read-only

	openOnce sync.Once
	open     func() (File, error)
	inner    File
	openErr  error

	mu        sync.Mutex
	recording bool
	rec       []byte // bytes [0, len(rec)) as read; shares cached's array until it grows
	mark      int64  // the header's length, once parsed
	closed    bool
}

func (f *cachedFile) Size() int64 { return f.size }

func (f *cachedFile) recordHeader() func(n int64) {
	f.mu.Lock()
	f.recording = true
	f.mu.Unlock()
	return func(n int64) {
		f.mu.Lock()
		f.recording, f.mark = false, max(f.mark, n)
		f.mu.Unlock()
	}
}

func (f *cachedFile) ReadAt(p []byte, off int64) (int, error) {
	return f.read(p, off, false)
}

// readExact reads as ReadAt does; the remote file fetches what the cached
// header does not hold with no read-ahead (see [ReadExact]).
func (f *cachedFile) readExact(p []byte, off int64) (int, error) {
	return f.read(p, off, true)
}

func (f *cachedFile) read(p []byte, off int64, exact bool) (int, error) {
	want, eof, err := clipRead(f.id, p, off, f.size)
	if err != nil {
		return 0, err
	}
	done := 0
	if off < int64(len(f.cached)) {
		done = copy(want, f.cached[off:])
		f.cnt.cached.Add(int64(done))
	}
	if done < len(want) {
		f.openOnce.Do(func() { f.inner, f.openErr = f.open() })
		if f.openErr != nil {
			return done, f.openErr
		}
		var n int
		if exact {
			n, err = ReadExact(f.inner, want[done:], off+int64(done))
		} else {
			n, err = f.inner.ReadAt(want[done:], off+int64(done))
		}
		done += n
		if err != nil && !(errors.Is(err, io.EOF) && done == len(want)) {
			return done, err
		}
	}
	f.record(want, off)
	return done, eof
}

// record keeps the bytes of a read that continues the run from offset 0,
// up to the cache's limit.
func (f *cachedFile) record(p []byte, off int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	have := int64(len(f.rec))
	end := off + int64(len(p))
	if !f.recording || off > have || end <= have || end > f.c.max {
		return
	}
	if len(f.rec) == len(f.cached) { // copy before growing: cached is shared
		f.rec = append(make([]byte, 0, end), f.cached...)
	}
	f.rec = append(f.rec, p[have-off:]...)
}

// Close stores the parsed header when this file read more of it than the
// cache held, and closes the remote file. A failure to store is not an
// error of the file: the cache is an optimization.
func (f *cachedFile) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed, f.recording = true, false
	// Keep all the parser read, which may run past the header: a second
	// parse reads the same bytes and finds them all here.
	var header []byte
	if f.mark > 0 && len(f.rec) > len(f.cached) {
		header = f.rec
	}
	f.rec = nil
	f.mu.Unlock()
	if header != nil {
		_ = f.c.store(f.id, f.size, header)
	}
	f.openOnce.Do(func() { f.openErr = errors.New("closed") })
	if f.inner != nil {
		return f.inner.Close()
	}
	return nil
}

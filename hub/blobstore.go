package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/safefs"
)

// ErrBadDigest is returned by [BlobStore.Create] and [BlobStore.Open] for
// a digest that is not "sha256:" followed by 64 hex digits: nothing else
// can name a file of the store.
var ErrBadDigest = errors.New("not a sha256 digest")

// BlobStore is a content-addressed folder of whole OCI blobs (registry
// layers), each stored as sha256/HEX under the store's folder, HEX being
// the lower-case hex digits of the blob's sha256 digest. A blob is written
// to a temporary file beside its place and renamed into place only once
// its size and sha256 are the ones it was created with (see
// [BlobStore.Create]), so a file of the store is a whole, checked blob
// unless something else put it there. A blob is checked again when read:
// a file of another size than the one asked for is not used, and a reader
// that reads the blob through from its start (as verify does) gets an
// error wrapping [ErrDigestMismatch] at its end when the bytes are not the
// digest's, and the file is removed from the store. Nothing is read from
// or written outside the store's folder: the folder and its sha256
// sub-folder must be real folders, not symbolic links, and a blob's file
// must be a regular file, not a link, a named pipe or a device. It is
// safe for concurrent use, by several processes too.
//
// [OCISource] reads a layer's blob from a store, when OCIOptions.BlobStore
// names one, instead of from the registry; `weightaudit verify --cache`
// fills it.
type BlobStore struct {
	dir string
}

// NewBlobStore returns the store in folder dir, created on the first
// [BlobStore.Create].
func NewBlobStore(dir string) *BlobStore {
	return &BlobStore{dir: dir}
}

// DefaultBlobStoreDir returns the folder weightaudit keeps its blob store
// in: blobs in weightaudit's cache folder, beside the header cache's
// headers (see [DefaultHeaderCacheDir]): $WEIGHTAUDIT_CACHE/blobs when
// that is set, else weightaudit/blobs under the user's cache folder
// (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux). getenv reads
// the environment (nil: os.Getenv).
func DefaultBlobStoreDir(getenv func(string) string) (string, error) {
	d, err := cacheDir(getenv, "blobs")
	if err != nil {
		return "", fmt.Errorf("blob store: %w", err)
	}
	return d, nil
}

// Dir returns the store's folder.
func (s *BlobStore) Dir() string { return s.dir }

// blobHex returns the lower-case hex digits of digest, "sha256:HEX", or an
// error wrapping ErrBadDigest.
func blobHex(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || !isHex(h, 64) {
		return "", fmt.Errorf("blob store: digest %q: %w: want sha256: and 64 hex digits", digest, ErrBadDigest)
	}
	return strings.ToLower(h), nil
}

// sub returns the folder the blobs are in.
func (s *BlobStore) sub() string { return filepath.Join(s.dir, "sha256") }

// folder checks that the store's folder and its sha256 sub-folder are
// real folders, not symbolic links that could lead out of the store
// (see [ownedRoot]), creating them when create is set.
func (s *BlobStore) folder(create bool) error {
	root := ownedRoot(s.dir)
	var err error
	if create {
		err = root.MkdirAll(s.sub(), 0o700)
	} else {
		err = root.Check(s.sub())
	}
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}

// present reports whether the blob's file p is there as a regular file
// (not a link) of size bytes.
func (s *BlobStore) present(p string, size int64) bool {
	info, err := os.Lstat(p)
	return err == nil && info.Mode().IsRegular() && info.Size() == size
}

// Open returns the blob of the given digest ("sha256:HEX"), opened
// read-only, when the store holds it with size bytes. A missing blob, or
// a file of another size in its place (which is not trusted), is an
// error wrapping [ErrNotExist]; a malformed digest one wrapping
// [ErrBadDigest]; a folder of the store that is a symbolic link, or a
// blob's file that is one or is not a regular file, another error naming
// the path. Reading the file through from its start checks its sha256
// (see [BlobStore]). The caller closes the file.
func (s *BlobStore) Open(digest string, size int64) (File, error) {
	h, err := blobHex(digest)
	if err != nil {
		return nil, err
	}
	if err := s.folder(false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blob store: %s of %d bytes: %w", digest, size, ErrNotExist)
		}
		return nil, err
	}
	p := filepath.Join(s.sub(), h)
	f, info, err := safefs.OpenNoFollow(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("blob store: %s of %d bytes: %w", digest, size, ErrNotExist)
	case err != nil:
		return nil, fmt.Errorf("blob store: %w", err)
	case info.Size() != size:
		f.Close()
		return nil, fmt.Errorf("blob store: %s holds %d bytes, not the %d of %s, and is not used: %w", p, info.Size(), size, digest, ErrNotExist)
	}
	return &storeFile{f: f, size: size, path: p, info: info, hex: h, h: sha256.New()}, nil
}

// storeFile is a blob of a [BlobStore], opened. The bytes read from
// offset 0 on, in order (reads may repeat or overlap what was read), are
// hashed; once the last byte is, the sha256 must be the blob's digest,
// else that read and every later one fail with [ErrDigestMismatch] and
// the file is removed from the store. It is safe for concurrent use.
type storeFile struct {
	f    *os.File // only ReadAt of it is used: every read goes through the hash
	size int64
	path string
	info fs.FileInfo // the file as opened
	hex  string      // the digest's hex digits

	mu     sync.Mutex
	h      hash.Hash // nil once the whole blob was hashed
	hashed int64     // bytes [0, hashed) were hashed
	bad    error     // set when the sha256 is not the digest
}

func (f *storeFile) Size() int64  { return f.size }
func (f *storeFile) Close() error { return f.f.Close() }

func (f *storeFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bad != nil {
		return 0, f.bad
	}
	if f.h == nil || off > f.hashed || off+int64(n) <= f.hashed {
		return n, err
	}
	f.h.Write(p[f.hashed-off : n])
	f.hashed = off + int64(n)
	if f.hashed < f.size {
		return n, err
	}
	sum := hex.EncodeToString(f.h.Sum(nil))
	f.h = nil
	if sum == f.hex {
		return n, err
	}
	// Remove the file only if it is still the one that was read.
	removed := ""
	if now, lerr := os.Lstat(f.path); lerr == nil && os.SameFile(now, f.info) && os.Remove(f.path) == nil {
		removed = " (removed from the store)"
	}
	f.bad = fmt.Errorf("blob store: %s has sha256 %s, not its name's%s: %w", f.path, sum, removed, ErrDigestMismatch)
	return 0, f.bad
}

// Create starts storing the blob of the given digest ("sha256:HEX") and
// size. It returns nil and no error when the store holds that blob
// already, with that size: there is nothing to store. Otherwise the
// caller writes the whole blob to the returned writer, then calls Commit
// or Abort. Several writers of one digest may run at once, in one
// process or several: each writes its own temporary file, and the store
// ends up with one whole blob.
func (s *BlobStore) Create(digest string, size int64) (*BlobWriter, error) {
	h, err := blobHex(digest)
	if err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("blob store: %s: negative size %d", digest, size)
	}
	if err := s.folder(true); err != nil {
		return nil, err
	}
	if s.present(filepath.Join(s.sub(), h), size) {
		return nil, nil
	}
	tmp, err := atomicfile.CreateTemp(s.sub(), ".tmp-"+h[:12]+"-*")
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return &BlobWriter{tempBlob: tempBlob{what: "blob store: " + digest, tmp: tmp, h: sha256.New(), size: size}, s: s, digest: digest, hex: h}, nil
}

// BlobWriter is a blob being stored by a [BlobStore]: Write its bytes
// (bytes past the size given to Create are refused, and Commit fails),
// then Commit or Abort (which may follow Commit, and then does nothing).
// It is not safe for concurrent use.
type BlobWriter struct {
	tempBlob
	s      *BlobStore
	digest string
	hex    string
}

// Commit checks what was written and stores it: the temporary file is
// renamed to the blob's place only when it holds exactly the size given
// to Create and its sha256 is the digest. Otherwise (and on any other
// failure) the temporary file is removed, nothing is stored, and for a
// wrong size or sha256 the error wraps [ErrDigestMismatch]. The store's
// folders stay: removing them when empty would race with another writer
// about to create its file in them.
func (w *BlobWriter) Commit() (err error) {
	sum, err := w.begin()
	defer func() {
		if err != nil {
			w.discard()
		}
	}()
	switch {
	case err != nil:
		return err
	case sum != w.hex:
		return fmt.Errorf("%s: the bytes written have sha256 %s: %w", w.what, sum, ErrDigestMismatch)
	}
	if err := w.seal(0o600); err != nil {
		return err
	}
	if err := w.s.folder(false); err != nil {
		return err
	}
	if err := os.Rename(w.tmp.Name(), filepath.Join(w.s.sub(), w.hex)); err != nil {
		return fmt.Errorf("%s: %w", w.what, err)
	}
	return nil
}

// storedBlob returns the blob b from the blob store of the options, when
// there is one and it holds the blob; nil otherwise (a store that cannot
// be read is no error: the registry serves the blob).
func (s *OCISource) storedBlob(b ociBlob) File {
	bs := s.opts.BlobStore
	if bs == nil || b.digest.Algorithm != "sha256" {
		return nil
	}
	f, err := bs.Open(b.digest.String(), b.size)
	if err != nil {
		return nil
	}
	return &countedFile{File: f, cnt: s.cnt}
}

// countedFile counts the bytes read from a local copy of a remote file
// into its source's Stats.Cached.
type countedFile struct {
	File
	cnt *counters
}

func (f *countedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.cnt.cached.Add(int64(n))
	return n, err
}

// FromLocalStore reports whether the source's listing came from the local
// Ollama store (see [NewOllama]): its files are then local blob files, not
// the registry's. It returns false before the source is listed.
func (s *OCISource) FromLocalStore() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.local
}

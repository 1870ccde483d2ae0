package hub

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
// [BlobStore.Create]), so a file of the store is always a whole, checked
// blob; its content is not checked again when read. Nothing is read from
// or written outside the store's folder. It is safe for concurrent use,
// by several processes too.
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

// inside checks that dir, symbolic links resolved, lies inside the
// store's folder, so that no read or write leaves it.
func (s *BlobStore) inside(dir string) error {
	real, ok, err := insideRoot(s.dir, dir, false)
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	if !ok {
		return fmt.Errorf("blob store: %s leads outside the store's folder %s (to %s)", dir, s.dir, real)
	}
	return nil
}

// present returns the blob's file when it is there as a regular file
// (not a link) of size bytes, and whether it is.
func (s *BlobStore) present(p string, size int64) (fs.FileInfo, bool) {
	info, err := os.Lstat(p)
	if err != nil || !info.Mode().IsRegular() || info.Size() != size {
		return nil, false
	}
	return info, true
}

// Open returns the blob of the given digest ("sha256:HEX"), opened
// read-only, when the store holds it with size bytes. A missing blob, or
// a file of another size in its place (which is not trusted), is an
// error wrapping [ErrNotExist]; a malformed digest one wrapping
// [ErrBadDigest]. The caller closes the file.
func (s *BlobStore) Open(digest string, size int64) (File, error) {
	h, err := blobHex(digest)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(s.sub(), h)
	info, ok := s.present(p, size)
	if !ok {
		return nil, fmt.Errorf("blob store: %s of %d bytes: %w", digest, size, ErrNotExist)
	}
	if err := s.inside(s.sub()); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	// The file opened must be the one looked at: not a link put there since.
	if got, err := f.Stat(); err != nil || !os.SameFile(info, got) || got.Size() != size {
		f.Close()
		return nil, fmt.Errorf("blob store: %s changed while opened: %w", p, ErrNotExist)
	}
	return &osFile{File: f, size: size}, nil
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
	if _, ok := s.present(filepath.Join(s.sub(), h), size); ok {
		return nil, nil
	}
	if err := os.MkdirAll(s.sub(), 0o700); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	if err := s.inside(s.sub()); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(s.sub(), ".tmp-"+h[:12]+"-*")
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
	if err := w.s.inside(w.s.sub()); err != nil {
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

package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/safefs"
)

// ErrDigestMismatch is returned by [HFCacheFile.Commit] and
// [BlobWriter.Commit] when the bytes written are not the file listed:
// another size, or a sha256 other than its LFS digest or layer digest.
// Nothing is stored then.
var ErrDigestMismatch = errors.New("content does not match the listed digest")

// HFCacheWriter stores files of one revision of a Hub repository in a
// Hugging Face cache folder, in the layout huggingface_hub writes and
// [HFSource] reads (see HFOptions.CacheDir and Offline):
//
//	models--OWNER--NAME/blobs/BLOB                 the content
//	models--OWNER--NAME/snapshots/COMMIT/PATH      a relative symbolic link to the blob
//	models--OWNER--NAME/refs/REVISION              the commit, when the revision is a branch or tag
//
// BLOB is what the Hub's ETag names the content: the sha256 of a file
// stored with Git LFS, the Git blob hash (sha1 over "blob SIZE\x00" and the
// content) of any other. Content is written to a temporary file in blobs/
// and renamed into place only once its size and, for LFS files, its sha256
// are the listed ones. Nothing is written outside the cache folder: a
// folder under it that is a symbolic link is refused. It is safe for
// concurrent use; each [HFCacheFile] is used by one goroutine.
type HFCacheWriter struct {
	root     string // the cache folder
	repo     string // root/models--OWNER--NAME
	commit   string
	revision string // "" when it is the commit itself
	sub      string // the folder of the repository the names are in

	mu     sync.Mutex
	stored int // files committed
}

// NewHFCacheWriter returns a writer of files of ref.Repo at commit (the 40
// hex digits ref.Revision resolved to, see [HFSource.Commit]) into the
// cache folder dir, which need not exist yet. Names given to Create are
// relative to ref.Subfolder, as [HFSource] lists them.
func NewHFCacheWriter(dir string, ref HFRef, commit string) (*HFCacheWriter, error) {
	if dir == "" {
		return nil, errors.New("hf cache: no cache folder (set HF_HUB_CACHE or HF_HOME)")
	}
	owner, name, ok := strings.Cut(ref.Repo, "/")
	if !ok {
		return nil, fmt.Errorf("hf cache: repository %q: expected OWNER/NAME", ref.Repo)
	}
	if err := checkRepo(owner, name); err != nil {
		return nil, fmt.Errorf("hf cache: %v", err)
	}
	if !isHex(commit, 40) {
		return nil, fmt.Errorf("hf cache: commit %q is not 40 hex digits", commit)
	}
	commit = strings.ToLower(commit)
	w := &HFCacheWriter{root: dir, repo: filepath.Join(dir, "models--"+owner+"--"+name), commit: commit, sub: ref.Subfolder}
	rev := ref.Revision
	if rev == "" {
		rev = "main"
	}
	if !strings.EqualFold(rev, commit) {
		if !cacheRelPath(rev) {
			return nil, fmt.Errorf("hf cache: revision %q cannot name a file under refs/", rev)
		}
		w.revision = rev
	}
	if w.sub != "" && !cacheRelPath(w.sub) {
		return nil, fmt.Errorf("hf cache: subfolder %q is not a relative path", w.sub)
	}
	return w, nil
}

// cacheRelPath reports whether p is a slash-separated relative path of
// plain names, none hidden: one that stays inside the folder it is joined
// to.
func cacheRelPath(p string) bool {
	if !fs.ValidPath(p) || p == "." || strings.Contains(p, `\`) {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// Snapshot returns the snapshot folder the writer fills:
// models--OWNER--NAME/snapshots/COMMIT (and the subfolder).
func (w *HFCacheWriter) Snapshot() string {
	return filepath.Join(w.repo, "snapshots", w.commit, filepath.FromSlash(w.sub))
}

// Create starts storing the named file (relative to the subfolder), of
// size bytes. sha256 is its LFS digest (64 hex digits), or "" for a file
// not stored with LFS. It returns nil and no error when the snapshot has
// the file already, with that size: there is nothing to store. Otherwise
// the caller writes the whole content to the returned file, then calls
// Commit or Abort.
func (w *HFCacheWriter) Create(name string, size int64, sha256sum string) (*HFCacheFile, error) {
	if !cacheRelPath(name) {
		return nil, fmt.Errorf("hf cache: file name %q is not a relative path", name)
	}
	if size < 0 {
		return nil, fmt.Errorf("hf cache: %s: negative size %d", name, size)
	}
	if sha256sum != "" && !isHex(sha256sum, 64) {
		return nil, fmt.Errorf("hf cache: %s: sha256 %q is not 64 hex digits", name, sha256sum)
	}
	pointer := filepath.Join(w.Snapshot(), filepath.FromSlash(name))
	if info, err := os.Stat(pointer); err == nil && info.Mode().IsRegular() && info.Size() == size {
		return nil, nil
	}
	blobs := filepath.Join(w.repo, "blobs")
	if err := w.mkdirInside(blobs); err != nil {
		return nil, err
	}
	tmp, err := atomicfile.CreateTemp(blobs, ".weightaudit-*.incomplete")
	if err != nil {
		return nil, fmt.Errorf("hf cache: %w", err)
	}
	f := &HFCacheFile{tempBlob: tempBlob{what: "hf cache: " + name, tmp: tmp, size: size}, w: w, name: name, want: strings.ToLower(sha256sum), pointer: pointer}
	if f.want != "" {
		f.h = sha256.New()
	} else {
		f.h = sha1.New()
		fmt.Fprintf(f.h, "blob %d\x00", size)
	}
	return f, nil
}

// mkdirInside creates the folder dir (and its parents, mode 0755) inside
// the cache folder, refusing, before anything is created through it, a
// folder on the way that is a symbolic link (it could lead outside the
// cache folder; huggingface_hub links files, never folders). The cache
// folder itself may be a link.
func (w *HFCacheWriter) mkdirInside(dir string) error {
	root := safefs.Root{Dir: w.root, Name: "the cache folder"}
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("hf cache: %w", err)
	}
	return nil
}

// Finish ends a run of the writer: when the revision is a branch or tag
// name and the snapshot exists, it records the commit in
// refs/REVISION (replaced atomically), so that an offline reader finds the
// snapshot from the revision's name. When nothing was stored and the
// snapshot does not exist, it removes the folders Create made if they are
// empty, so a run that stored nothing leaves nothing behind.
func (w *HFCacheWriter) Finish() error {
	w.mu.Lock()
	stored := w.stored
	w.mu.Unlock()
	snap := filepath.Join(w.repo, "snapshots", w.commit)
	if info, err := os.Stat(snap); err != nil || !info.IsDir() {
		if stored == 0 {
			os.Remove(filepath.Join(w.repo, "blobs")) // only if empty
			os.Remove(w.repo)
		}
		return nil
	}
	if w.revision == "" {
		return nil
	}
	ref := filepath.Join(w.repo, "refs", filepath.FromSlash(w.revision))
	if err := w.mkdirInside(filepath.Dir(ref)); err != nil {
		return err
	}
	err := atomicfile.Write(ref, 0o600, func(f io.Writer) error {
		_, err := io.WriteString(f, w.commit)
		return err
	})
	if err != nil {
		return fmt.Errorf("hf cache: refs/%s: %w", w.revision, err)
	}
	return nil
}

// HFCacheFile is a file being stored by an [HFCacheWriter]: Write its
// content (bytes past the size given to Create are refused, and Commit
// fails), then Commit or Abort (which may follow Commit, and then does
// nothing). It is not safe for concurrent use.
type HFCacheFile struct {
	tempBlob
	w       *HFCacheWriter
	name    string
	want    string // the LFS sha256, "" for a Git file
	blob    string // for a Git file, the blob id listed (see ExpectGitBlob), or ""
	pointer string
}

// ExpectGitBlob makes Commit store a file not stored with LFS only when
// its Git blob id is id (40 hex digits, as the Hub lists it; see
// HFSource.BlobID). It does nothing for an LFS file, whose sha256 decides.
func (f *HFCacheFile) ExpectGitBlob(id string) {
	if f.want == "" {
		f.blob = strings.ToLower(id)
	}
}

// Commit checks what was written and stores it: the blob renamed into
// place under its name, and the snapshot's link to it. If the size is not
// the one given to Create, or an LFS file's sha256 is not its digest, the
// temporary file is removed, nothing is stored and the error wraps
// [ErrDigestMismatch].
func (f *HFCacheFile) Commit() (err error) {
	sum, err := f.begin()
	stored := false
	defer func() {
		if !stored {
			f.discard()
		}
	}()
	switch {
	case err != nil:
		return err
	case f.want != "" && sum != f.want:
		return fmt.Errorf("%s: sha256 %s, the LFS digest is %s: %w", f.what, sum, f.want, ErrDigestMismatch)
	case f.want == "" && f.blob != "" && sum != f.blob:
		return fmt.Errorf("%s: Git blob id %s, the Hub lists %s: %w", f.what, sum, f.blob, ErrDigestMismatch)
	}
	if err := f.seal(0o644); err != nil {
		return err
	}
	blob := filepath.Join(f.w.repo, "blobs", sum)
	if err := f.w.mkdirInside(filepath.Dir(blob)); err != nil {
		return err
	}
	dir := filepath.Dir(f.pointer)
	if err := f.w.mkdirInside(dir); err != nil {
		return err
	}
	if err := os.Rename(f.tmp.Name(), blob); err != nil {
		return fmt.Errorf("hf cache: %s: %w", f.name, err)
	}
	stored = true
	target, err := filepath.Rel(dir, blob)
	if err != nil {
		return fmt.Errorf("hf cache: %s: %w", f.name, err)
	}
	// Link under a temporary name, then rename over the pointer: a reader
	// sees the old link or the new one.
	link := filepath.Join(dir, "."+path.Base(f.name)+".weightaudit-link-"+strconv.Itoa(os.Getpid()))
	os.Remove(link)
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("hf cache: %s: %w", f.name, err)
	}
	if err := os.Rename(link, f.pointer); err != nil {
		os.Remove(link)
		return fmt.Errorf("hf cache: %s: %w", f.name, err)
	}
	f.w.mu.Lock()
	f.w.stored++
	f.w.mu.Unlock()
	return nil
}

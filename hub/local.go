package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/weightaudit/weightaudit/internal/safefs"
)

// Dir is a local folder as a source. Files are opened read-only; nothing is
// ever written to the folder.
type Dir struct {
	root string
}

// NewDir returns the folder at root as a source.
func NewDir(root string) *Dir { return &Dir{root: root} }

func (d *Dir) String() string { return d.root }

// List returns the regular files in the folder and its subfolders, sorted by
// slash-separated name. Hidden entries (names starting with '.') are
// skipped, as are symbolic links to folders.
func (d *Dir) List(ctx context.Context) ([]FileInfo, error) {
	var out []FileInfo
	err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if path != d.root && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		info, err := os.Stat(path) // follows a symlink to a file (the HF cache's layout)
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.root, path)
		if err != nil {
			return err
		}
		out = append(out, FileInfo{Name: filepath.ToSlash(rel), Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Open opens the named file read-only. Names that leave the folder are
// rejected, and so is anything but a regular file (a symbolic link to
// one counts): a named pipe, a device or a folder is refused without
// being opened, or waited on, with an error naming its path.
func (d *Dir) Open(ctx context.Context, name string) (File, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("open %q in %s: invalid name: %w", name, d.root, ErrNotExist)
	}
	path := filepath.Join(d.root, filepath.FromSlash(name))
	f, info, err := safefs.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", path, ErrNotExist)
		}
		return nil, err
	}
	return &osFile{File: f, size: info.Size()}, nil
}

type osFile struct {
	*os.File
	size int64
}

func (f *osFile) Size() int64 { return f.size }

// Local resolves a path given on the command line: a folder becomes a
// [Dir]; a file becomes the [Dir] holding it, with focus set to the file's
// name so that a reader can tell which file the user meant (and find its
// siblings, such as the other parts of a split GGUF).
func Local(path string) (src Source, focus string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if info.IsDir() {
		return NewDir(path), "", nil
	}
	if !info.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s: not a regular file or folder", path)
	}
	return &fileDir{Dir: NewDir(filepath.Dir(path)), path: path}, filepath.Base(path), nil
}

// fileDir is the folder around a file the user named; it lists only that
// folder's top level, so a file in a large tree does not make us walk it.
type fileDir struct {
	*Dir
	path string
}

func (d *fileDir) String() string { return d.path }

func (d *fileDir) List(ctx context.Context) ([]FileInfo, error) {
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.root, err)
	}
	var out []FileInfo
	for _, e := range entries {
		info, err := os.Stat(filepath.Join(d.root, e.Name()))
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out = append(out, FileInfo{Name: e.Name(), Size: info.Size()})
	}
	return out, nil
}

// Path returns the local path of the named file.
func (d *Dir) Path(name string) string { return filepath.Join(d.root, filepath.FromSlash(name)) }

// Digest returns the sha256 of the named file when the file is a link
// into a Hugging Face cache's blobs folder named by its sha256 (as Git
// LFS files are stored there: snapshots/REV/NAME → ../../blobs/SHA256),
// and false otherwise. Verifying a cached download against it catches
// bytes changed since the Hub served them, with no network.
func (d *Dir) Digest(name string) (string, bool) {
	id, ok := d.blobName(name)
	return id, ok && len(id) == 64
}

// DigestSource returns "Hugging Face cache blob name".
func (d *Dir) DigestSource() string { return "Hugging Face cache blob name" }

// DigestNote returns "".
func (d *Dir) DigestNote(name string) string { return "" }

// BlobID returns the Git blob id of the named file when it is a link into
// a Hugging Face cache's blobs folder named by one (as files not stored
// with Git LFS are: a 40-digit SHA-1), and false otherwise.
func (d *Dir) BlobID(name string) (string, bool) {
	id, ok := d.blobName(name)
	return id, ok && len(id) == 40
}

// blobName returns the name of the blob a file links to in a Hugging Face
// cache, when its target is in a folder called blobs and its name is a
// hex digest.
func (d *Dir) blobName(name string) (string, bool) {
	target, err := filepath.EvalSymlinks(d.Path(name))
	if err != nil || target == filepath.Clean(d.Path(name)) {
		return "", false
	}
	base := filepath.Base(target)
	if filepath.Base(filepath.Dir(target)) != "blobs" || (len(base) != 64 && len(base) != 40) {
		return "", false
	}
	for _, c := range base {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return base, true
}

package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Errors, matched with errors.Is.
var (
	// ErrNotFolder means that an entry on the way from a [Root] down to a
	// folder is a symbolic link or something else that is not a folder.
	ErrNotFolder = errors.New("not a folder")
	// ErrNotRegular means that a file given to [Open] is not a regular
	// file: a folder, a named pipe, a device, a socket.
	ErrNotRegular = errors.New("not a regular file")
)

// Root is a folder a program owns everything below. The zero value is
// not usable: Dir must be set. A Root is a value, safe for concurrent use.
type Root struct {
	// Dir is the folder. It may be a symbolic link; what lies below it
	// may not.
	Dir string
	// Name says what the folder is, for messages ("the cache folder");
	// "" for "the folder".
	Name string
}

// NotFolderError is the error of [Root.MkdirAll] and [Root.Check] for an
// entry on the way down from the root that is not a folder. It wraps
// [ErrNotFolder].
type NotFolderError struct {
	Root Root
	// Path is the entry that is no folder.
	Path string
	// Link is where Path leads when it is a symbolic link, else "".
	Link string
	// Mode is the entry's type.
	Mode fs.FileMode
}

var _ error = (*NotFolderError)(nil)

func (e *NotFolderError) Error() string {
	name := e.Root.Name
	if name == "" {
		name = "the folder"
	}
	if e.Mode&fs.ModeSymlink != 0 {
		return fmt.Sprintf("%s is a symbolic link (to %s), which may lead outside %s %s", e.Path, e.Link, name, e.Root.Dir)
	}
	return fmt.Sprintf("%s is %s, %s, in %s %s", e.Path, Kind(e.Mode), ErrNotFolder, name, e.Root.Dir)
}

func (e *NotFolderError) Unwrap() error { return ErrNotFolder }

// rel returns the names of the folders from r.Dir down to dir, which must
// lie lexically inside r.Dir (or be it: no names).
func (r Root) rel(dir string) ([]string, error) {
	if r.Dir == "" {
		return nil, errors.New("safefs: no root folder")
	}
	rel, err := filepath.Rel(r.Dir, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if rel == "." {
		return nil, nil
	}
	if !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("%s is not inside %s", dir, r.Dir)
	}
	return strings.Split(rel, string(filepath.Separator)), nil
}

// MkdirAll creates the folder dir, which lies inside r.Dir, with the
// folders on the way that are missing (r.Dir too), each with mode perm
// (before umask). It fails with a *[NotFolderError] when an entry on the
// way below r.Dir, or dir itself, is a symbolic link or not a folder:
// then nothing is created at or beyond that entry.
func (r Root) MkdirAll(dir string, perm fs.FileMode) error {
	names, err := r.rel(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.Dir, perm); err != nil {
		return err
	}
	return r.walk(names, func(p string) error {
		if err := os.Mkdir(p, perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	})
}

// Check checks that dir, which lies inside r.Dir, exists and that no entry
// on the way down from r.Dir to it (dir included) is a symbolic link or
// anything but a folder. It creates nothing. A missing folder is an error
// wrapping fs.ErrNotExist; a link or another file a *[NotFolderError].
func (r Root) Check(dir string) error {
	names, err := r.rel(dir)
	if err != nil {
		return err
	}
	if info, err := os.Stat(r.Dir); err != nil {
		return err
	} else if !info.IsDir() {
		return &NotFolderError{Root: r, Path: r.Dir, Mode: info.Mode().Type()}
	}
	return r.walk(names, nil)
}

// walk visits the entries from r.Dir down through names: before looking
// at each (with Lstat), it calls before, when not nil.
func (r Root) walk(names []string, before func(p string) error) error {
	p := r.Dir
	for _, n := range names {
		p = filepath.Join(p, n)
		if before != nil {
			if err := before(p); err != nil {
				return err
			}
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			e := &NotFolderError{Root: r, Path: p, Mode: info.Mode().Type()}
			if info.Mode()&fs.ModeSymlink != 0 {
				e.Link, _ = os.Readlink(p)
			}
			return e
		}
	}
	return nil
}

// Open opens the regular file at path for reading, following a symbolic
// link at path (see [OpenNoFollow] for one that does not), and returns it
// with what it is. Anything but a regular file is refused, before it is
// opened and again once opened (a file swapped in between), with an error
// naming the path and wrapping [ErrNotRegular]. The file is opened without
// blocking where the system allows it (O_NONBLOCK), so that a named pipe
// swapped in between the two looks cannot block; a regular file is then
// read as usual. A missing file is an error wrapping fs.ErrNotExist. The
// caller closes the file.
func Open(path string) (*os.File, fs.FileInfo, error) {
	return open(path, true)
}

// OpenNoFollow is [Open] for a file that must not be a symbolic link: a
// link at path is refused as not a regular file.
func OpenNoFollow(path string) (*os.File, fs.FileInfo, error) {
	return open(path, false)
}

func open(path string, follow bool) (*os.File, fs.FileInfo, error) {
	stat := os.Lstat
	flag := os.O_RDONLY | nonBlock
	if follow {
		stat = os.Stat
	} else {
		flag |= noFollow
	}
	info, err := stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, notRegular(path, info.Mode())
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, nil, err
	}
	got, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !got.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(path, got.Mode())
	}
	if err := setBlocking(f); err != nil {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return f, got, nil
}

// notRegular is the error of Open for a file of mode m at path.
func notRegular(path string, m fs.FileMode) error {
	return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(m))}
}

// Kind names the type of a file of mode m, for messages: "a named pipe",
// "a folder", "a regular file".
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}

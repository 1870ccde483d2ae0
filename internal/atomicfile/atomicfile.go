// Package atomicfile writes files so that readers see either the old
// content or the new, never a partial file: the data goes to a temporary
// file in the same folder, is synced, and is renamed over the target.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/weightaudit/weightaudit/internal/interrupt"
)

// ErrNotRegular is returned by [WriteTarget] for a folder.
var ErrNotRegular = errors.New("not a regular file")

// Write creates or replaces the file at path with what fill writes. On any
// error the target is left as it was and the temporary file is removed.
// Whatever is at path is replaced, a symbolic link or a named pipe too,
// never followed or opened (a cache's entries stay in its folder): a path
// a user named for an output goes through [WriteTarget] instead.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) (err error) {
	tmp, err := CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// CreateTemp is os.CreateTemp for a temporary file the program removes or
// renames when done (Write's, a cache's incomplete entry): it first makes
// SIGINT and SIGTERM cancel the run instead of ending the process with the
// file behind (interrupt.Arm; nothing unless the program catches them).
func CreateTemp(dir, pattern string) (*os.File, error) {
	interrupt.Arm()
	return os.CreateTemp(dir, pattern)
}

// WriteTarget writes what fill writes to a path the user named for an
// output (a report, a manifest, a dump). A regular file is replaced
// atomically as [Write] does; a symbolic link is followed, so the file it
// names is replaced and the link stays (-o /dev/stdout, a link kept in a
// CI workspace); a target that is a device, a named pipe or a socket
// (/dev/null, a terminal, a shell's process substitution) is written in
// place, since renaming over it would replace it. A folder is refused.
func WriteTarget(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	info, err := os.Stat(path) // follows links
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: a symbolic link to a missing file", path)
		}
		return Write(path, perm, fill)
	case err != nil:
		return err
	case info.IsDir():
		return fmt.Errorf("%s: a folder: %w", path, ErrNotRegular)
	case !info.Mode().IsRegular():
		return writeInPlace(path, fill)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	return Write(real, perm, fill)
}

// writeInPlace writes to the existing non-regular file at path (a device,
// a pipe) without creating, truncating or renaming anything.
func writeInPlace(path string, fill func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := fill(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

package synth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weightaudit/weightaudit/hub"
)

// File is one synthesized file: Head holds its first bytes (a header, or a
// whole small file such as config.json); the rest, up to Size, is tensor
// data that reads as zero unless a writer fills it.
type File struct {
	Name string
	Head []byte
	Size int64
}

// Placed says where one tensor's data lies in a layout.
type Placed struct {
	Name   string
	File   string
	Offset int64 // absolute offset of the data in File
	Bytes  int64
	DType  string  // the format's own type name
	Shape  []int64 // the format's own order
}

// Layout is a synthesized checkpoint: its files and where each tensor's data
// sits in them.
type Layout struct {
	Name    string
	Files   []File
	Tensors []Placed
}

// Source serves the layout from memory: each file reads as its head
// followed by zeros.
func (l *Layout) Source() *hub.Mem {
	m := hub.NewMem(l.Name)
	for _, f := range l.Files {
		m.Add(f.Name, &hub.Virtual{Head: f.Head, Len: f.Size}, f.Size)
	}
	return m
}

// WriteDir writes the layout into dir (which must exist) as sparse files:
// each file's head, then a truncate to its full size, so a 470 GB layout
// takes a few megabytes of disk. Data, when non-nil, is called for every
// tensor and what it returns (at most the tensor's byte count) is written
// at the tensor's offset; nil leaves all data as holes.
func (l *Layout) WriteDir(ctx context.Context, dir string, data func(Placed) ([]byte, error)) error {
	byFile := map[string][]Placed{}
	for _, t := range l.Tensors {
		byFile[t.File] = append(byFile[t.File], t)
	}
	for _, f := range l.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := writeFile(path, f, byFile[f.Name], data); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, f File, tensors []Placed, data func(Placed) ([]byte, error)) (err error) {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := out.Write(f.Head); err != nil {
		return err
	}
	if data != nil {
		for _, t := range tensors {
			b, err := data(t)
			if err != nil {
				return fmt.Errorf("%s: tensor %s: %w", f.Name, t.Name, err)
			}
			if int64(len(b)) > t.Bytes {
				return fmt.Errorf("%s: tensor %s: %d bytes of data for a %d-byte tensor", f.Name, t.Name, len(b), t.Bytes)
			}
			if _, err := out.WriteAt(b, t.Offset); err != nil {
				return err
			}
		}
	}
	return out.Truncate(f.Size)
}

// errConfig reports a config the synthesizer cannot lay out.
var errConfig = errors.New("synth: unusable config")

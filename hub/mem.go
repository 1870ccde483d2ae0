package hub

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
)

// Mem is an in-memory source. Each file is an io.ReaderAt with a size, so a
// file can be virtual: the synthesized reference layouts serve real headers
// followed by gigabytes of zeros without holding them. Mem is safe for
// concurrent use.
type Mem struct {
	name  string
	mu    sync.RWMutex
	files map[string]memFile
}

type memFile struct {
	r    io.ReaderAt
	size int64
}

// NewMem returns an empty in-memory source called name.
func NewMem(name string) *Mem { return &Mem{name: name, files: map[string]memFile{}} }

// Add adds (or replaces) a file whose bytes r serves. r must be safe for
// concurrent use.
func (m *Mem) Add(name string, r io.ReaderAt, size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[name] = memFile{r: r, size: size}
}

// Remove removes a file; removing a file that is not there does nothing.
func (m *Mem) Remove(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, name)
}

func (m *Mem) String() string { return m.name }

// List returns the files sorted by name.
func (m *Mem) List(ctx context.Context) ([]FileInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]FileInfo, 0, len(m.files))
	for n, f := range m.files {
		out = append(out, FileInfo{Name: n, Size: f.size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Open returns the named file.
func (m *Mem) Open(ctx context.Context, name string) (File, error) {
	m.mu.RLock()
	f, ok := m.files[name]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("open %s in %s: %w", name, m.name, ErrNotExist)
	}
	return &sectionFile{SectionReader: io.NewSectionReader(f.r, 0, f.size)}, nil
}

type sectionFile struct{ *io.SectionReader }

func (sectionFile) Close() error { return nil }

// Virtual is an io.ReaderAt of the given size that serves head at offset 0
// and zeros after it: a file whose header is real and whose data is not
// stored anywhere. It is safe for concurrent use.
type Virtual struct {
	Head []byte
	Len  int64
}

// ReadAt implements io.ReaderAt.
func (v *Virtual) ReadAt(p []byte, off int64) (int, error) {
	want, eof, err := clipRead("virtual file", p, off, v.Len)
	if err != nil {
		return 0, err
	}
	c := 0
	if off < int64(len(v.Head)) {
		c = copy(want, v.Head[off:])
	}
	clear(want[c:])
	return len(want), eof
}

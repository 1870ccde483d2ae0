package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// maxConfigBytes caps config.json, which is read whole. (An index is
// streamed, under the caps of safetensors.ReadIndex.)
const maxConfigBytes = 16 << 20

// maxTensors caps the tensors of all the headers read for one checkpoint
// together: as many as a safetensors index may name, above the largest
// real checkpoints (Kimi-K2's int4 release, about 210,000; see
// safetensors.MaxIndexEntries). Each format caps one file; this keeps a
// set of files from adding up to more, and with it what the inventory and
// the checks cost.
const maxTensors = safetensors.MaxIndexEntries

// ErrNoModel is returned by [Load] when a source holds no file of a
// supported format, or holds several models and nothing says which.
var ErrNoModel = errors.New("no model found")

// Checkpoint is a parsed set of files of one format: every header read,
// no tensor data.
type Checkpoint struct {
	Source string // what the user named
	Format Format
	Files  []FileEntry // the model files, in order (shard or split order)

	// Config is the raw config.json next to the model files, nil when absent.
	Config []byte

	// Safetensors, set when Format is FormatSafetensors.
	Index      *safetensors.Index // nil without an index file
	IndexName  string
	Shards     map[string]*safetensors.File // keyed by file name
	Mismatches []safetensors.Mismatch       // index against shards

	// GGUF, set when Format is FormatGGUF: the parts of a split set in
	// order, or one file.
	GGUF []*gguf.File

	src hub.Source // where the files are, for reading tensor data

	invOnce sync.Once
	inv     *Inventory
}

// Origin returns the source ck was loaded from, to read tensor data and
// files through; nil for a checkpoint built without one.
func (ck *Checkpoint) Origin() hub.Source { return ck.src }

type loadOptions struct {
	jobs     int
	focus    string
	partial  bool
	listing  bool
	progress func(read, planned int)
	index    func(size int64)
	// alongside: WithIndexAlongside's maxLen, 0 for none
	alongside int64
}

// LoadOption configures [Load].
type LoadOption func(*loadOptions) error

// WithJobs sets how many files' headers are read at once. It rejects n ≤ 0.
// The default is the number of CPUs.
func WithJobs(n int) LoadOption {
	return func(o *loadOptions) error {
		if n <= 0 {
			return fmt.Errorf("jobs must be at least 1, got %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithFocus names the one file of the source the user pointed at: a GGUF
// file (a split set is found from any of its parts), a safetensors file, or
// an index. The default is to find the model in the source's top level.
func WithFocus(name string) LoadOption {
	return func(o *loadOptions) error {
		o.focus = name
		return nil
	}
}

// WithPartialFiles lets files whose tensor data is cut short (a download
// interrupted, a shard truncated) load with their header intact, the bytes
// missing recorded in FileEntry.Missing for the checks to report, instead
// of failing Load. The default is to fail.
func WithPartialFiles() LoadOption {
	return func(o *loadOptions) error {
		o.partial = true
		return nil
	}
}

// keptArrayLen is the longest GGUF metadata array whose elements
// [WithListing] keeps: far above the arrays per layer some architectures
// store (a few hundred), far below a tokenizer's (tens of thousands).
const keptArrayLen = 4096

// WithListing loads for a reader that needs of the long metadata arrays
// their lengths only (a listing of the checkpoint, a plan, a comparison,
// which read the vocabulary's size from them): the GGUF metadata
// arrays of more than 4,096 elements (a tokenizer's vocabulary, merges
// and token types) are read and checked as always but only their types
// and lengths are kept (see gguf.WithKeptArrayLen), which is what
// [Checkpoint.Metadata] shows of them; their elements take most of such a
// header's memory. The default keeps every array.
func WithListing() LoadOption {
	return func(o *loadOptions) error {
		o.listing = true
		return nil
	}
}

// WithProgress makes Load call f with how many file headers it has read
// and how many it plans to read so far: when it plans more (before the
// reads; the plan grows when a safetensors index names more shards than
// guessed) and after each header is read, from as many goroutines as
// WithJobs allows; a CLI draws its progress with it. The default, nil,
// calls nothing.
func WithProgress(f func(read, planned int)) LoadOption {
	return func(o *loadOptions) error {
		o.progress = f
		return nil
	}
}

// WithIndexSize makes Load call f with the size of the safetensors index
// it chose, before it reads it (never for a checkpoint without one): a CLI
// sizes its heap for the load by it. The default, nil, calls nothing.
func WithIndexSize(f func(size int64)) LoadOption {
	return func(o *loadOptions) error {
		o.index = f
		return nil
	}
}

// WithIndexAlongside has Load read a local safetensors index of at most
// maxLen bytes alongside the shards' headers, as it always reads a remote
// one, instead of before them. The shards read before the index is
// parsed then copy their tensor names instead of sharing the index's,
// which costs memory and, where page faults are dear, time; in return the
// index's parse (single-threaded) overlaps the shards' on another core. A
// CLI whose heap is prepared for the load in huge pages gains (inspect of
// the 235B layout's 118 shards and 3.2 MB index: 37.5 -> 34.8 ms;
// DeepSeek-V3's 163 shards and 8.8 MB index: 58.5 -> 50.5 ms), up to the
// index sizes its preparation covers: at the caps (a 32 MB index of
// 262,144 tensors), 394 -> 517 ms and 21 MB more. With WithJobs(1), one
// file at a time, the index is read first all the same. It rejects
// maxLen < 0; the default, 0, reads every local index first.
func WithIndexAlongside(maxLen int64) LoadOption {
	return func(o *loadOptions) error {
		if maxLen < 0 {
			return fmt.Errorf("checkpoint: WithIndexAlongside(%d): the length is negative", maxLen)
		}
		o.alongside = maxLen
		return nil
	}
}

// Load finds the model files of src, reads every header concurrently and
// validates each file and the set (index against shards, split parts
// against each other). It never reads tensor data. A malformed file is an
// error naming it; disagreements between a safetensors index and its
// shards are kept in Checkpoint.Mismatches for the checks to report.
func Load(ctx context.Context, src hub.Source, opts ...LoadOption) (*Checkpoint, error) {
	o := loadOptions{jobs: runtime.NumCPU()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	files, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	l := &loader{src: src, jobs: o.jobs, partial: o.partial, listing: o.listing, progress: o.progress, indexSize: o.index, alongside: o.alongside, sizes: map[string]int64{}}
	for _, f := range files {
		l.sizes[f.Name] = f.Size
		if !strings.Contains(f.Name, "/") {
			l.top = append(l.top, f.Name)
		}
	}
	ck := &Checkpoint{Source: src.String(), src: src}
	// config.json is read alongside the model files: on a remote source
	// that saves its round trips.
	var config errgroup.Group
	if _, ok := l.sizes["config.json"]; ok {
		config.Go(func() error {
			data, err := hub.ReadFile(ctx, src, "config.json", maxConfigBytes)
			if err != nil {
				return fmt.Errorf("%s: %w", hub.Path(src, "config.json"), err)
			}
			ck.Config = data
			return nil
		})
	}
	err = l.pick(ctx, ck, o.focus)
	if cerr := config.Wait(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return ck, nil
}

type loader struct {
	src     hub.Source
	jobs    int
	partial bool
	listing bool // WithListing
	sizes   map[string]int64
	top     []string // names at the top level, sorted

	tensors atomic.Int64 // in the headers read so far, against maxTensors

	// names is the safetensors index once read: the shards' headers read
	// after it share its tensor names instead of copying them.
	names atomic.Pointer[safetensors.Index]

	progress      func(read, planned int)
	indexSize     func(size int64) // WithIndexSize
	alongside     int64            // WithIndexAlongside
	read, planned atomic.Int64     // headers, for progress
}

// plan adds n headers to those the loader will read and tells progress.
func (l *loader) plan(n int) {
	planned := l.planned.Add(int64(n))
	if l.progress != nil {
		l.progress(int(l.read.Load()), int(planned))
	}
}

// done counts a header read (or failed) and tells progress.
func (l *loader) done() {
	read := l.read.Add(1)
	if l.progress != nil {
		l.progress(int(read), int(l.planned.Load()))
	}
}

// left returns how many tensors the next header may hold: what the
// headers read so far (before of them) leave of maxTensors, at least 1.
// (Headers read at once may each take it all; count catches their sum.)
func (l *loader) left() (left int, before int64) {
	before = l.tensors.Load()
	return int(max(maxTensors-before, 1)), before
}

// count adds a header's n tensors to the checkpoint's and reports the new
// total and whether it is within maxTensors.
func (l *loader) count(n int) (int64, bool) {
	total := l.tensors.Add(int64(n))
	return total, total <= maxTensors
}

// overBudget adds to an ErrLimit of a header read with its tensor cap
// lowered to left (see loader.left) why the cap was lower.
func overBudget(path string, left int, before int64, err error) error {
	return fmt.Errorf("%s (its tensor cap lowered to %d: a checkpoint's files may hold %d tensors in all, and those read before it hold %d): %w",
		path, left, maxTensors, before, err)
}

// pick decides which files form the model and reads them.
func (l *loader) pick(ctx context.Context, ck *Checkpoint, focus string) error {
	if focus != "" {
		switch {
		case strings.HasSuffix(focus, ".json"):
			return l.loadIndexed(ctx, ck, focus)
		case strings.HasSuffix(focus, ".safetensors"):
			return l.loadSafetensors(ctx, ck, []string{focus})
		case strings.HasSuffix(focus, ".gguf"):
			return l.loadGGUF(ctx, ck, focus)
		}
		isGGUF, err := l.sniffGGUF(ctx, focus)
		if err != nil {
			return err
		}
		if isGGUF {
			return l.loadGGUF(ctx, ck, focus)
		}
		return l.loadSafetensors(ctx, ck, []string{focus})
	}
	var indexes, shards, ggufs []string
	for _, n := range l.top {
		switch {
		case strings.HasSuffix(n, ".safetensors.index.json"):
			indexes = append(indexes, n)
		case strings.HasSuffix(n, ".safetensors"):
			shards = append(shards, n)
		case strings.HasSuffix(n, ".gguf"):
			ggufs = append(ggufs, n)
		}
	}
	switch {
	case len(indexes) > 0:
		name := indexes[0]
		if len(indexes) > 1 {
			if _, ok := l.sizes["model.safetensors.index.json"]; !ok {
				return fmt.Errorf("%s: %d safetensors indexes (%s): name one: %w", l.src, len(indexes), strings.Join(indexes, ", "), ErrNoModel)
			}
			name = "model.safetensors.index.json"
		}
		return l.loadIndexed(ctx, ck, name)
	case len(shards) > 0:
		return l.loadSafetensors(ctx, ck, shards)
	case len(ggufs) > 0:
		sets := map[string]bool{}
		for _, n := range ggufs {
			if prefix, _, count, ok := gguf.ParseSplitName(n); ok {
				sets[fmt.Sprintf("%s (split in %d)", prefix, count)] = true
			} else {
				sets[n] = true
			}
		}
		if len(sets) > 1 {
			names := make([]string, 0, len(sets))
			for n := range sets {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("%s holds %d GGUF models (%s): name one file: %w", l.src, len(sets), strings.Join(names, ", "), ErrNoModel)
		}
		return l.loadGGUF(ctx, ck, ggufs[0])
	}
	var pickles []string
	for _, n := range l.top {
		switch strings.ToLower(path.Ext(n)) {
		case ".bin", ".pt", ".pth", ".ckpt", ".pkl":
			pickles = append(pickles, n)
		}
	}
	if len(pickles) > 0 {
		return fmt.Errorf("%s: no .safetensors, safetensors index or .gguf file, only %s: PyTorch pickle checkpoints are not read (loading one runs the code it holds; convert it to safetensors): %w",
			l.src, strings.Join(pickles, ", "), ErrNoModel)
	}
	return fmt.Errorf("%s: no .safetensors, safetensors index or .gguf file: %w", l.src, ErrNoModel)
}

func (l *loader) sniffGGUF(ctx context.Context, name string) (bool, error) {
	f, err := l.src.Open(ctx, name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	if f.Size() < 4 {
		return false, nil
	}
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return false, fmt.Errorf("%s: %w", hub.Path(l.src, name), err)
	}
	return string(magic[:]) == "GGUF", nil
}

// sniff says what a file that does not parse as safetensors starts like,
// when it is plainly no safetensors file: "" when it could be a damaged
// one (its length prefix followed by '{').
func sniff(r io.ReaderAt) string {
	var head [9]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "" // the file cannot be read: nothing to say of what it is
	}
	b := head[:n]
	switch {
	case n == 9 && b[8] == '{':
		return "" // a safetensors header, damaged
	case bytes.HasPrefix(b, []byte("GGUF")):
		return "it is a GGUF file (name it .gguf)"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "it is a zip archive, as PyTorch's torch.save writes: pickle checkpoints are not read"
	case len(b) > 0 && b[0] == 0x80:
		return "it is a Python pickle: pickle checkpoints are not read"
	}
	return "it is not a safetensors or GGUF file: the first bytes are neither a safetensors header length followed by '{' nor GGUF's magic"
}

package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// The safetensors side of Load: an index and its shards, or the
// shards alone, their headers read concurrently under the budget.

func (l *loader) loadIndexed(ctx context.Context, ck *Checkpoint, name string) error {
	dir := path.Dir(name)
	// The listing names the shards as well as the index does: read the
	// headers of the listed shards (on a remote source at once with the
	// index, whose round trips then cost nothing), then keep the shards the
	// index names. A shard the index does not name is read for
	// nothing, and its errors are dropped, as if it had not been read.
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	var guess []string
	for n := range l.sizes {
		if rel, ok := strings.CutPrefix(n, prefix); ok && strings.HasSuffix(rel, ".safetensors") {
			guess = append(guess, rel)
		}
	}
	sort.Strings(guess)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ix *safetensors.Index
	var ixErr error
	indexDone := make(chan struct{})
	if l.indexSize != nil {
		l.indexSize(l.sizes[name])
	}
	readIndex := func() {
		defer close(indexDone)
		if ix, ixErr = l.readIndex(ctx, name); ixErr != nil {
			cancel() // the shards' headers are of no use now
			return
		}
		l.names.Store(ix) // the shards read from now on share its names
	}
	alongside := l.jobs > 1 && l.alongside > 0 && l.sizes[name] <= l.alongside
	if _, remote := hub.SourceStats(l.src); remote || alongside {
		go readIndex() // its round trips, or its parse, overlap the shards'
	} else {
		// A local index is read first: every shard then shares its
		// names (see WithIndexAlongside).
		readIndex()
	}
	parsed, errs, _ := l.readShards(ctx, dir, guess, false)
	<-indexDone
	if ixErr != nil {
		return ixErr
	}
	ck.Index, ck.IndexName = ix, name
	read := make(map[string]int, len(guess))
	for i, n := range guess {
		read[n] = i
	}
	var present, unread []string
	for _, s := range ix.Shards() {
		if _, ok := l.sizes[path.Join(dir, s)]; ok {
			present = append(present, s)
			if _, ok := read[s]; !ok { // spelled otherwise in the index, e.g. "./x", or not named *.safetensors
				unread = append(unread, s)
			}
		}
	}
	if len(unread) > 0 {
		more, moreErrs, _ := l.readShards(ctx, dir, unread, true)
		for i, s := range unread {
			read[s] = len(parsed)
			parsed, errs = append(parsed, more[i]), append(errs, moreErrs[i])
		}
	}
	for _, s := range present {
		if err := errs[read[s]]; err != nil {
			return err
		}
	}
	shards := make([]*safetensors.File, len(present))
	for j, s := range present {
		shards[j] = parsed[read[s]]
	}
	ck.setShards(dir, present, shards)
	ck.Mismatches = safetensors.CheckIndex(ix, ck.Shards)
	return nil
}

// readIndex reads and parses the safetensors index name as it streams in:
// the document is never held whole (see safetensors.ReadIndex).
func (l *loader) readIndex(ctx context.Context, name string) (*safetensors.Index, error) {
	f, err := l.src.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hub.Path(l.src, name), err)
	}
	defer f.Close()
	parsed := hub.RecordHeader(f)
	// Streamed whole: a remote index is fetched in one request (or as few
	// as the source's largest fetch allows), not in growing chunks.
	hub.PlanRead(f, 0, min(f.Size(), safetensors.MaxIndexLen))
	ix, err := safetensors.ReadIndex(f, f.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hub.Path(l.src, name), err)
	}
	parsed(f.Size())
	return ix, nil
}

// loadSafetensors reads the headers of the named shards concurrently.
func (l *loader) loadSafetensors(ctx context.Context, ck *Checkpoint, names []string) error {
	parsed, _, err := l.readShards(ctx, ".", names, true)
	if err != nil {
		return err
	}
	ck.setShards(".", names, parsed)
	return nil
}

// setShards records the safetensors shards names (relative to dir, as
// Shards keys them), read as parsed, in order.
func (ck *Checkpoint) setShards(dir string, names []string, parsed []*safetensors.File) {
	ck.Format = FormatSafetensors
	ck.Shards = make(map[string]*safetensors.File, len(names))
	for i, n := range names {
		ck.Shards[n] = parsed[i]
		ck.Files = append(ck.Files, FileEntry{Name: path.Join(dir, n), Size: parsed[i].Size, HeaderBytes: parsed[i].DataOffset(), Missing: parsed[i].Missing})
	}
}

// ShardOf returns the header of the safetensors model file fe: Shards keys
// the files by their names relative to the index's folder (to the top
// without an index).
func (ck *Checkpoint) ShardOf(fe FileEntry) *safetensors.File {
	name := fe.Name
	if dir := path.Dir(ck.IndexName); ck.IndexName != "" && dir != "." {
		name = strings.TrimPrefix(name, dir+"/")
	}
	return ck.Shards[name]
}

// readShards reads the headers of the named shards (relative to dir), jobs
// at a time, and returns each one's header or error, and the first error
// to occur. With stop, that error stops the reads not yet done.
func (l *loader) readShards(ctx context.Context, dir string, names []string, stop bool) ([]*safetensors.File, []error, error) {
	parsed, errs := make([]*safetensors.File, len(names)), make([]error, len(names))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
	)
	var g errgroup.Group
	g.SetLimit(l.jobs)
	l.plan(len(names))
	for i, n := range names {
		g.Go(func() error {
			full := path.Join(dir, n)
			err := ctx.Err()
			if err == nil {
				parsed[i], err = l.readShard(ctx, full)
			}
			l.done()
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				if stop {
					cancel()
				}
			}
			errs[i] = err
			return nil
		})
	}
	g.Wait()
	return parsed, errs, first
}

// readShard reads the header of one safetensors file.
func (l *loader) readShard(ctx context.Context, name string) (*safetensors.File, error) {
	f, err := l.src.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	parsed := hub.RecordHeader(f)
	if err := planSafetensors(f); err != nil {
		return nil, fmt.Errorf("%s: %w", hub.Path(l.src, name), err)
	}
	left, before := l.left()
	st, err := safetensors.Read(f, f.Size(), safetensors.WithPartialData(l.partial), safetensors.WithMaxTensors(min(left, safetensors.DefaultMaxTensors)),
		safetensors.WithNamesFrom(l.names.Load()))
	if err != nil && left < safetensors.DefaultMaxTensors && errors.Is(err, safetensors.ErrLimit) {
		return nil, overBudget(hub.Path(l.src, name), left, before, err)
	}
	if err != nil {
		// What the file is, asked only of a file the reader rejected:
		// never after a read failed (a stalled network).
		if fe := (*safetensors.FormatError)(nil); errors.As(err, &fe) {
			if kind := sniff(f); kind != "" {
				return nil, fmt.Errorf("%s: not a safetensors file: %s (%w)", hub.Path(l.src, name), kind, err)
			}
		}
		return nil, fmt.Errorf("%s: %w", hub.Path(l.src, name), err)
	}
	if total, ok := l.count(len(st.Tensors)); !ok {
		return nil, fmt.Errorf("%s: %w", hub.Path(l.src, name), &safetensors.FormatError{Offset: 8, Field: "header",
			Err: fmt.Errorf("its %d tensors make %d in the checkpoint's files, over the cap of %d: %w", len(st.Tensors), total, maxTensors, safetensors.ErrLimit)})
	}
	parsed(st.DataOffset())
	return st, nil
}

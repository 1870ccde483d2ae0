package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
)

// The GGUF side of Load: one file, or every part of a split set.

// loadGGUF reads one GGUF file, or every part of the split set that name
// belongs to.
func (l *loader) loadGGUF(ctx context.Context, ck *Checkpoint, name string) error {
	ck.Format = FormatGGUF
	names := []string{name}
	if prefix, _, count, ok := gguf.ParseSplitName(name); ok {
		names = names[:0]
		// The names of the first few missing parts, and how many more: a
		// name declaring 99999 parts must not make a megabyte of error.
		const listed = 8
		var missing []string
		nmissing := 0
		for no := 1; no <= count; no++ {
			part := gguf.SplitName(prefix, no, count)
			if _, ok := l.sizes[part]; !ok {
				if nmissing++; nmissing <= listed {
					missing = append(missing, part)
				}
			}
			names = append(names, part)
		}
		if nmissing > 0 {
			list := strings.Join(missing, ", ")
			if more := nmissing - len(missing); more > 0 {
				list += fmt.Sprintf(" and %d more", more)
			}
			return fmt.Errorf("%s: %w: %d parts, missing %s", hub.Path(l.src, name), gguf.ErrSplit, count, list)
		}
	}
	parts := make([]*gguf.File, len(names))
	l.plan(len(names))
	read := func(ctx context.Context, i int) error {
		defer l.done()
		n := names[i]
		f, err := l.src.Open(ctx, n)
		if err != nil {
			return err
		}
		defer f.Close()
		parsed := hub.RecordHeader(f)
		left, before := l.left()
		opts := []gguf.Option{gguf.WithPartialData(l.partial), gguf.WithMaxTensors(int64(min(left, gguf.DefaultMaxTensors)))}
		if l.listing {
			opts = append(opts, gguf.WithKeptArrayLen(keptArrayLen))
			if len(names) == 1 {
				// No other part to compare metadata with.
				opts = append(opts, gguf.WithoutDroppedHash())
			}
		}
		gf, err := readGGUF(f, opts...)
		if err != nil && left < gguf.DefaultMaxTensors && errors.Is(err, gguf.ErrLimit) {
			return overBudget(hub.Path(l.src, n), left, before, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", hub.Path(l.src, n), err)
		}
		if total, ok := l.count(len(gf.Tensors)); !ok {
			return fmt.Errorf("%s: %w", hub.Path(l.src, n), &gguf.FormatError{Offset: 0, Field: "header",
				Err: fmt.Errorf("its %d tensors make %d in the checkpoint's files, over the cap of %d: %w", len(gf.Tensors), total, maxTensors, gguf.ErrLimit)})
		}
		parsed(gf.DataOffset)
		parts[i] = gf
		return nil
	}
	if len(names) == 1 {
		// One file is read here: a goroutine would cost a thread's
		// wake-up each way (0.5 ms of a 4 ms header on a small VM).
		if err := read(ctx, 0); err != nil {
			return err
		}
	} else {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(l.jobs)
		for i := range names {
			g.Go(func() error { return read(gctx, i) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	if len(parts) == 1 {
		// A part of a split set named otherwise (renamed, or the set
		// assembled by hand) is found by its split.* keys.
		if v, ok := parts[0].Get(gguf.KeySplitCount); ok {
			if count, _ := v.AsInt(); count > 1 {
				no := int64(0)
				if nv, ok := parts[0].Get(gguf.KeySplitNo); ok {
					no, _ = nv.AsInt()
				}
				var missing []string
				for i := int64(0); i < count && len(missing) < 8; i++ {
					if i != no {
						missing = append(missing, strconv.FormatInt(i+1, 10))
					}
				}
				return fmt.Errorf("%s: %w: its split.count says %d parts and it is part %d, given alone: missing part(s) %s of %d",
					hub.Path(l.src, name), gguf.ErrSplit, count, no+1, strings.Join(missing, ", "), count)
			}
		}
	}
	if err := gguf.CheckSplit(parts); err != nil {
		return fmt.Errorf("%s: %w", hub.Path(l.src, name), err)
	}
	ck.GGUF = parts
	for i, p := range parts {
		ck.Files = append(ck.Files, FileEntry{Name: names[i], Size: p.Size, HeaderBytes: p.DataOffset, Missing: p.Missing})
	}
	return nil
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/safefs"
	"github.com/weightaudit/weightaudit/internal/termui"
	"github.com/weightaudit/weightaudit/verify"
)

func newDiffCmd() *cobra.Command {
	var (
		rf   reportFlags
		jobs int
	)
	cmd := &cobra.Command{
		// diff compares the bytes the sources serve now: no header from
		// the cache may stand in for them.
		Annotations: map[string]string{noHeaderCache: "true"},
		Use:         "diff A B [--jobs N] [--format table|json|markdown|junit|html] [-o FILE] [--report FORMAT=PATH]...",
		Short:       "Compare the tensors of two checkpoints or manifests: added, removed, reshaped, retyped, changed bytes",
		Long: `diff compares the tensor sets of A and B by name. Each is a SOURCE (as for
inspect) or a manifest written by verify --record, told apart by content. For
a SOURCE every byte is read to compute each tensor's sha256 (both sides at
once when both are SOURCEs). Tensors are reported added (in B only), removed
(in A only), reshaped, retyped, or changed (same shape and dtype, other
bytes); files whose digests differ are listed for information.

It exits 1 when the tensors differ.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			started := time.Now()
			outs, err := outputs(cmd, &rf, lookupIn(verify.DiffFormats))
			if err != nil {
				return err
			}
			if jobs < 1 {
				return usageError(cmd, fmt.Sprintf("--jobs must be at least 1, got %d", jobs))
			}
			d, err := diffPublished(cmd, args, jobs)
			if err != nil {
				return err
			}
			if d != nil {
				return writeDiff(cmd, d, outs, started)
			}
			sides := make([]*verify.Manifest, 2)
			bar := termui.NewBar(cmd.ErrOrStderr(), "diff", termui.Bytes, 0)
			g, ctx := errgroup.WithContext(cmd.Context())
			for i, arg := range args {
				g.Go(func() error {
					m, err := diffSide(ctx, cmd, arg, jobs, bar, string(rune('a'+i))+":")
					sides[i] = m
					return err
				})
			}
			err = g.Wait()
			bar.Stop()
			if err != nil {
				return err
			}
			return writeDiff(cmd, verify.Diff(sides[0], sides[1]), outs, started)
		},
	}
	f := cmd.Flags()
	rf.add(cmd, verify.DiffFormats.Names())
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "files read at once, per side")
	return cmd
}

// writeDiff writes d, timed from started, and fails with the number of
// differences.
func writeDiff(cmd *cobra.Command, d *verify.DiffReport, outs []reportOut[*verify.DiffReport], started time.Time) error {
	d.Started, d.Seconds = started, time.Since(started).Seconds()
	if err := writeReports(cmd, outs, d); err != nil {
		return err
	}
	if !d.Identical {
		return &checkFailed{n: d.Differences()}
	}
	return nil
}

// diffPublished compares two SOURCEs that both publish their files'
// digests (Hub repositories, OCI registries) without reading a byte of a
// file whose digests agree ([verify.DiffCheckpoints]); nil, nil when a
// side is a manifest or publishes no digests (then every byte is read and
// hashed, as diff always did).
func diffPublished(cmd *cobra.Command, args []string, jobs int) (*verify.DiffReport, error) {
	var cks [2]*checkpoint.Checkpoint
	var digests [2]verify.DigestFunc
	headers := newHeadersBar(cmd)
	defer headers.Stop()
	for i, arg := range args {
		if looksLikeManifest(arg) {
			return nil, nil
		}
		src, focus, err := resolve(cmd, arg)
		if err != nil {
			return nil, err
		}
		ck, err := checkpoint.Load(cmd.Context(), src, append(headerProgress(headers), checkpoint.WithJobs(jobs), checkpoint.WithFocus(focus))...)
		if err != nil {
			return nil, err
		}
		dg, ok := ck.Origin().(hub.Digester)
		if !ok {
			return nil, nil
		}
		cks[i], digests[i] = ck, dg.Digest
	}
	headers.Stop()
	bar := termui.NewBar(cmd.ErrOrStderr(), "diff", termui.Bytes, 0)
	defer bar.Stop()
	return verify.DiffCheckpoints(cmd.Context(), cks[0], cks[1], digests[0], digests[1], jobs,
		verify.WithDiffProgress(func(done, total int64) { bar.SetTotal(total); bar.Set(done) }))
}

// diffSide returns the manifest arg names, or the manifest of the SOURCE
// it names, computed by reading every byte: counted on bar (nil for none)
// under its files' names prefixed with side.
func diffSide(ctx context.Context, cmd *cobra.Command, arg string, jobs int, bar *termui.Bar, side string) (*verify.Manifest, error) {
	if looksLikeManifest(arg) {
		m, err := readManifestFile(arg)
		if !errors.Is(err, verify.ErrNotManifest) {
			if m != nil {
				m.Source = arg
			}
			return m, err
		}
	}
	src, focus, err := resolve(cmd, arg)
	if err != nil {
		return nil, err
	}
	ck, err := checkpoint.Load(ctx, src, checkpoint.WithJobs(jobs), checkpoint.WithFocus(focus))
	if err != nil {
		return nil, err
	}
	r, err := verify.Run(ctx, ck, verify.Options{Jobs: jobs, TensorDigests: true, Progress: addFiles(bar, side, verify.ShardFiles(ck, verify.ShardSpec{}))})
	if err != nil {
		return nil, err
	}
	return verify.NewManifest(r)
}

// looksLikeManifest reports whether path is a local file, not too large,
// whose first non-blank byte opens a JSON object.
func looksLikeManifest(path string) bool {
	f, info, err := safefs.Open(path) // a regular file, never a FIFO
	if err != nil {
		return false
	}
	defer f.Close()
	if info.Size() > verify.MaxManifestBytes {
		return false
	}
	head := make([]byte, 512)
	n, _ := f.Read(head)
	head = bytes.TrimLeft(head[:n], " \t\r\n")
	return len(head) > 0 && head[0] == '{'
}

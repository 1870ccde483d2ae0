package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// noHeaderCache is the annotation of a command that never reads the
// header cache nor the blob store: one that must see what the source
// serves now.
const noHeaderCache = "no-header-cache"

// resolve resolves a SOURCE with the header cache and the blob store
// unless --no-cache or the command says otherwise (see hub.HeaderCache and
// hub.BlobStore): a remote source then reads the headers it read before
// from the cache, and a registry source the layers verify --cache stored
// from the store. A registry source keeps what checkpoint.ReadHeader reads of
// the files inside its compressed tar layers. A remote source's network
// work is bounded by --timeout and --retries (see networkOptions).
func resolve(cmd *cobra.Command, spec string) (hub.Source, string, error) {
	net, err := networkOptions(cmd)
	if err != nil {
		return nil, "", err
	}
	opts := append([]hub.ResolveOption{hub.WithReadHeader(checkpoint.ReadHeader)}, net...)
	if off, _ := cmd.Flags().GetBool("no-cache"); !off && cmd.Annotations[noHeaderCache] == "" {
		if dir, err := hub.DefaultHeaderCacheDir(nil); err == nil {
			opts = append(opts, hub.WithHeaderCache(hub.NewHeaderCache(dir)))
		}
		if dir, err := hub.DefaultBlobStoreDir(nil); err == nil {
			opts = append(opts, hub.WithBlobStore(hub.NewBlobStore(dir)))
		}
	}
	return hub.Resolve(spec, opts...)
}

// openSource resolves the SOURCE argument or a built-in layout name.
func openSource(cmd *cobra.Command, args []string, builtin string) (hub.Source, string, error) {
	if builtin != "" {
		l, err := synth.Builtin(builtin)
		if err != nil {
			return nil, "", usageError(cmd, "--builtin: "+err.Error())
		}
		return l.Source(), "", nil
	}
	return resolve(cmd, args[0])
}

// load opens the source (SOURCE or --builtin) and reads its headers. When
// --jobs was not given and the source suggests its own concurrency (a
// remote source, where round trips dominate), that is used.
func load(cmd *cobra.Command, args []string, builtin string, jobs int, opts ...checkpoint.LoadOption) (*checkpoint.Checkpoint, hub.Source, error) {
	if jobs < 1 {
		return nil, nil, usageError(cmd, fmt.Sprintf("--jobs must be at least 1, got %d", jobs))
	}
	src, focus, err := openSource(cmd, args, builtin)
	if err != nil {
		return nil, nil, err
	}
	if j, ok := src.(interface{ Jobs() int }); ok && !cmd.Flags().Changed("jobs") && j.Jobs() > 0 {
		jobs = j.Jobs()
	}
	bar := newHeadersBar(cmd)
	opts = append(opts, headerProgress(bar)...)
	if _, remote := hub.SourceStats(src); !remote && builtin == "" {
		opts = append(opts, localLoad()...)
	}
	ck, err := checkpoint.Load(cmd.Context(), src, append([]checkpoint.LoadOption{checkpoint.WithJobs(jobs), checkpoint.WithFocus(focus)}, opts...)...)
	bar.Stop()
	if err != nil {
		return nil, nil, err
	}
	return ck, src, nil
}

// fetchOf reports what a remote source fetched, nil for a local one,
// against the bytes the load needed: the model files' headers, and the
// safetensors index and config.json, which are read whole.
func fetchOf(src hub.Source, ck *checkpoint.Checkpoint) *audit.FetchJSON {
	st, ok := hub.SourceStats(src)
	if !ok {
		return nil
	}
	need := ck.Inventory().Totals().HeaderBytes + int64(len(ck.Config))
	if ck.IndexName != "" {
		// The listing the load made: no request.
		files, _ := src.List(context.Background())
		for _, f := range files {
			if f.Name == ck.IndexName {
				need += f.Size
			}
		}
	}
	f := audit.NewFetch(st.Requests, st.Bytes, need)
	f.CachedBytes = st.Cached
	return f
}

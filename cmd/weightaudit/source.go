package main

import (
	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/hub"
)

// openSource resolves the SOURCE argument or a built-in layout name.
func openSource(args []string, builtin string) (hub.Source, string, error) {
	if builtin != "" {
		l, err := synth.Builtin(builtin)
		if err != nil {
			return nil, "", err
		}
		return l.Source(), "", nil
	}
	return hub.Resolve(args[0])
}

// load opens the source (SOURCE or --builtin) and reads its headers. When
// --jobs was not given and the source suggests its own concurrency (a
// remote source, where round trips dominate), that is used.
func load(cmd *cobra.Command, args []string, builtin string, jobs int, opts ...audit.LoadOption) (*audit.Checkpoint, hub.Source, error) {
	src, focus, err := openSource(args, builtin)
	if err != nil {
		return nil, nil, err
	}
	if j, ok := src.(interface{ Jobs() int }); ok && !cmd.Flags().Changed("jobs") && j.Jobs() > 0 {
		jobs = j.Jobs()
	}
	ck, err := audit.Load(cmd.Context(), src, append([]audit.LoadOption{audit.WithJobs(jobs), audit.WithFocus(focus)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	return ck, src, nil
}

// fetchOf reports what a remote source fetched, nil for a local one.
func fetchOf(src hub.Source, ck *audit.Checkpoint) *audit.FetchJSON {
	st, ok := hub.SourceStats(src)
	if !ok {
		return nil
	}
	f := audit.NewFetch(st.Requests, st.Bytes, ck.Inventory().Totals().HeaderBytes)
	f.CachedBytes = st.Cached
	return f
}

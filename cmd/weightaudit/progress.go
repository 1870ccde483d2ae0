package main

import (
	"sync"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/termui"
)

// newFilesBar starts a progress bar on cmd's stderr for reading files,
// labelled label, or returns nil when stderr is not a terminal (a nil bar
// does nothing). Its AddFile is verify.Options.Progress.
func newFilesBar(cmd *cobra.Command, label string, files []hub.FileInfo) *termui.Bar {
	bar := termui.NewBar(cmd.ErrOrStderr(), label, termui.Bytes, 0)
	addFiles(bar, "", files)
	return bar
}

// addFiles adds files to what bar counts, their names prefixed with
// prefix (the side of a diff, whose two sides may hold files of the same
// name), and returns the verify.Options.Progress that counts them: nil
// for a nil bar.
func addFiles(bar *termui.Bar, prefix string, files []hub.FileInfo) func(file string, n int64) {
	if bar == nil {
		return nil
	}
	sizes := make(map[string]int64, len(files))
	for _, f := range files {
		sizes[prefix+f.Name] = f.Size
	}
	bar.AddFiles(sizes)
	return func(file string, n int64) { bar.AddFile(prefix+file, n) }
}

// newHeadersBar starts a bar on cmd's stderr counting the file headers
// checkpoint.Load reads (see headerProgress), or returns nil when stderr is
// not a terminal. Drawn from the first tick on, it shows only where the
// headers take a while: a remote listing of many files.
func newHeadersBar(cmd *cobra.Command) *termui.Bar {
	return termui.NewBar(cmd.ErrOrStderr(), "headers", "files", 0)
}

// headerProgress returns the load option that counts one Load's headers on
// bar, which several loads may share (the two sides of a diff): each
// call's growth of the plan and of the headers read is added to it.
// Nothing for a nil bar.
func headerProgress(bar *termui.Bar) []checkpoint.LoadOption {
	if bar == nil {
		return nil
	}
	var (
		mu            sync.Mutex
		read, planned int // what bar has been told of
	)
	return []checkpoint.LoadOption{checkpoint.WithProgress(func(r, p int) {
		mu.Lock()
		defer mu.Unlock()
		if p > planned {
			bar.AddTotal(int64(p - planned))
			planned = p
		}
		if r > read {
			bar.Add(int64(r - read))
			read = r
		}
	})}
}

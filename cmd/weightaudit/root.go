package main

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime/debug"
	"sync"

	"github.com/spf13/cobra"
	"github.com/weightaudit/weightaudit/internal/interrupt"
	"github.com/weightaudit/weightaudit/internal/termui"
)

// headerMemoryLimit is the Go heap's soft limit for the commands that read
// headers only (inspect, audit without --spotcheck): what the input caps
// admit then stays under 256 MiB of RSS (a 262,144-tensor header audited:
// 346 MiB without the limit, 231 MiB with it, for 0.3 s more of
// collection). GOMEMLIMIT overrides it. Commands that read tensor data
// hold buffers of their own size and keep Go's default.
const headerMemoryLimit = 192 << 20

// addTemplateFuncs gives cobra's templates versionText, once: the
// functions are global to cobra, and tests run the command line in
// parallel.
var addTemplateFuncs = sync.OnceFunc(func() { cobra.AddTemplateFunc("versionText", versionText) })

// run executes the command line args, writing results to stdout and
// messages to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:   "weightaudit",
		Short: "Audit LLM weight files (safetensors, GGUF) before anyone trusts them",
		Long: `weightaudit reads the headers of a checkpoint (safetensors shards with their
index, or GGUF files), lists every tensor and checks the set against what
the architecture predicts.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints versionText, read from the build information
		// only then (Version need only be set for cobra to add the flag).
		Version: "-",
	}
	addTemplateFuncs()
	root.SetVersionTemplate("{{versionText}}")
	root.PersistentFlags().Bool("no-cache", false,
		"remote sources neither read nor write the header cache nor read the blob store (in $WEIGHTAUDIT_CACHE, default weightaudit in the user cache folder)")
	addNetworkFlags(root)
	addTerminalFlags(root)
	root.SetArgs(args)
	out := &countingWriter{w: stdout}
	root.SetOut(out)
	root.SetErr(stderr)
	root.AddCommand(newInspectCmd(), newAuditCmd(), newSpotcheckCmd(), newDumpCmd(), newVerifyCmd(), newDiffCmd(), newCompareCmd(), newVersionCmd(), newPlanCmd())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError(cmd, suggestFlag(cmd, err)) })
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		// Only a shell asking for completions uses them: building them
		// walks every command's flags.
		registerCompletions(root)
	}
	prevLimit := debug.SetMemoryLimit(-1) // -1 reads the limit
	defer debug.SetMemoryLimit(prevLimit)
	var table *termui.Writer // the table's lines on a terminal, fitted and coloured
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		headers := headerOnly(cmd)
		if headers && os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(headerMemoryLimit)
		}
		if !headers && cmd.Name() != "version" {
			// A run that reads tensor data lasts long enough to be
			// interrupted on purpose: from here a signal cancels it
			// (header-only runs catch signals once they go to the
			// network or write a file; see package interrupt).
			interrupt.Arm()
		}
		var err error
		if table, err = decorateTable(cmd, out, stdout); table != nil {
			cmd.SetOut(table)
		}
		return err
	}
	for _, c := range append(root.Commands(), root) {
		c.Long += "\n\n" + exitTable
	}
	ctx, written := withReportsWritten(ctx)
	c, err := root.ExecuteContextC(ctx)
	err = tlsHint(err)
	if table != nil {
		err = errors.Join(err, table.Flush())
	}
	if err != nil && out.n == 0 && !*written {
		// A script that asked for JSON gets a document whatever happened:
		// what stopped the command, and whether to reject or retry.
		if werr := writeUnfinished(c, stdout, err); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

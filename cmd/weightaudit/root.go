package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

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
	}
	root.PersistentFlags().Bool("no-cache", false,
		"remote sources neither read nor write the header cache nor read the blob store (in $WEIGHTAUDIT_CACHE, default weightaudit in the user cache folder)")
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newInspectCmd(), newAuditCmd(), newSpotcheckCmd(), newDumpCmd(), newVerifyCmd(), newDiffCmd())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError(cmd, err.Error()) })
	for _, c := range append(root.Commands(), root) {
		c.Long += "\n\n" + exitTable
	}
	return root.ExecuteContext(ctx)
}

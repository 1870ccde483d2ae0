package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
)

func newInspectCmd() *cobra.Command {
	var (
		asJSON  bool
		tensors bool
		builtin string
		jobs    int
	)
	cmd := &cobra.Command{
		Use:   "inspect [SOURCE]",
		Short: "List every tensor of a checkpoint, reading headers only",
		Long: `inspect reads the headers of SOURCE (a safetensors file, a folder in the
Hugging Face layout with its index and config.json, or a GGUF file or split
set) and prints a summary, per-dtype totals and a per-layer table. It never
reads tensor data.

--builtin NAME inspects a built-in reference layout instead, synthesized in
memory: ` + fmt.Sprint(synth.BuiltinNames()) + `.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (builtin != "") {
				return usageError(cmd, "give either SOURCE or --builtin NAME")
			}
			defer headerGC(cmd)()
			ck, src, err := load(cmd, args, builtin, jobs)
			if err != nil {
				return err
			}
			r := audit.NewInspectReport(ck)
			r.Fetch = fetchOf(src, ck)
			if asJSON {
				err = r.WriteJSON(cmd.OutOrStdout())
			} else {
				err = r.WriteText(cmd.OutOrStdout(), tensors)
			}
			if err != nil {
				return err
			}
			if len(r.Problems) > 0 {
				return &checkFailed{n: len(r.Problems)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "write the report as JSON")
	f.BoolVar(&tensors, "tensors", false, "list every tensor (the JSON report always does)")
	f.StringVar(&builtin, "builtin", "", "inspect a built-in reference layout: "+strings.Join(synth.BuiltinNames(), ", "))
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "files whose headers are read at once")
	return cmd
}

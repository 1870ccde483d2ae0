package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
)

func newInspectCmd() *cobra.Command {
	var (
		rf      reportFlags
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
			started := time.Now()
			formats := append(audit.InspectFormats[:0:0], audit.InspectFormats...)
			formats[0].Write = func(r *audit.InspectReport, w io.Writer) error { return r.WriteText(w, tensors) }
			outs, err := outputs(cmd, &rf, lookupIn(formats))
			if err != nil {
				return err
			}
			if (len(args) == 1) == (builtin != "") {
				return usageError(cmd, "give either SOURCE or --builtin NAME")
			}
			defer headerGC(cmd)()
			ck, src, err := load(cmd, args, builtin, jobs, checkpoint.WithListing())
			if err != nil {
				return err
			}
			r := audit.NewInspectReport(ck)
			r.Fetch = fetchOf(src, ck)
			r.Started, r.Seconds = started, time.Since(started).Seconds()
			if err := writeReports(cmd, outs, r); err != nil {
				return err
			}
			if len(r.Problems) > 0 {
				return &checkFailed{n: len(r.Problems)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	rf.add(cmd, audit.InspectFormats.Names())
	f.BoolVar(&tensors, "tensors", false, "list every tensor in the table (the JSON report always does)")
	f.StringVar(&builtin, "builtin", "", "inspect a built-in reference layout: "+strings.Join(synth.BuiltinNames(), ", "))
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "files whose headers are read at once")
	return cmd
}

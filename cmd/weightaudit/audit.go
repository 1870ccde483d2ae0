package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// defaultBuiltin is what `weightaudit audit` with no SOURCE audits.
const defaultBuiltin = "safetensors"

func newAuditCmd() *cobra.Command {
	var (
		rf          reportFlags
		requireArch bool
		builtin     string
		jobs        int
		opts        audit.Options
		hw          []string
		bandwidth   float64
		compute     float64
		spot        bool
		spotLayer   int
		tokens      string
	)
	cmd := &cobra.Command{
		// audit writes an Unfinished report in every format itself.
		Annotations: map[string]string{ownUnfinished: "true"},
		Use:         "audit [SOURCE]",
		Short:       "Check a checkpoint against its architecture's contract (seven falsification tests per family, e.g. Qwen3-MoE's FALSIFY-QM3E-001…007, and its gate)",
		Long: `audit reads the headers of SOURCE, derives the architecture from config.json or
the GGUF metadata, and checks the files against it: every tensor present with
the right shape and dtype, index and shards agreeing, parameter counts equal to
the prediction and within the published profile's ranges, the seven
falsification tests of the Qwen3-MoE contract and its QA gate. It estimates
memory, FLOPs per token and roofline throughput on common hardware.

With no SOURCE it audits the built-in Qwen3-235B-A22B reference layout (118
BF16 safetensors shards, synthesized in memory: no download).

It exits 1 when a check failed; the report says which and why.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			started := time.Now()
			outs, err := outputs(cmd, &rf, lookupIn(audit.Formats))
			if err != nil {
				return err
			}
			opts.Hardware, opts.Bandwidth, opts.Compute = hw, bandwidth*1e9, compute*1e12
			if err := opts.Validate(); err != nil {
				return usageError(cmd, err.Error())
			}
			if len(args) == 1 && builtin != "" {
				return usageError(cmd, "give either SOURCE or --builtin NAME")
			}
			if len(args) == 0 && builtin == "" {
				builtin = defaultBuiltin
			}
			arch.WarmHarnesses() // while the headers load
			r, err := runAudit(cmd, args, builtin, jobs, opts, spot, spotLayer, tokens)
			if err != nil {
				// CI reporters expect a document whatever happened: the
				// machine-readable formats get one saying why there is no
				// report (a broken artifact, or a run that could not end).
				machine := slices.DeleteFunc(slices.Clone(outs), func(o reportOut[*audit.Report]) bool { return o.name == "table" })
				if code := classify(err); len(machine) > 0 && (code == exitProblems || code == exitRetry) {
					source := builtin
					if len(args) == 1 {
						source = args[0]
					}
					u := audit.Unfinished(source, err, code == exitProblems)
					u.Started, u.Seconds = started, time.Since(started).Seconds()
					if werr := writeReports(cmd, machine, u); werr != nil {
						return errors.Join(err, werr)
					}
				}
				return err
			}
			r.Started, r.Seconds = started, time.Since(started).Seconds()
			if err := writeReports(cmd, outs, r); err != nil {
				return err
			}
			if r.Verdict == audit.VerdictFail || (requireArch && r.Model.NotChecked != "") {
				return &checkFailed{n: len(r.Findings)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	rf.add(cmd, audit.Formats.Names())
	f.BoolVar(&requireArch, "require-arch", false, "fail (exit 1) when no family knows the architecture; without it such a checkpoint gets the format-level audit, exit 0")
	f.StringVar(&builtin, "builtin", "", "audit a built-in reference layout: "+strings.Join(synth.BuiltinNames(), ", ")+" (default safetensors when no SOURCE)")
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "files whose headers are read at once")
	f.Int64Var(&opts.Ctx, "ctx", 4096, "context length for the KV cache, attention FLOPs and throughput")
	f.Int64Var(&opts.Batch, "batch", 1, "sequences decoded together")
	f.StringVar(&opts.KVType, "kv-type", "f16", "KV cache element type: f16, bf16, f32, q8_0, q4_0, …")
	f.StringSliceVar(&hw, "hw", nil, "hardware presets for the roofline (default all): h100, h200, a100, mi300x, rtx4090, m3-ultra, …")
	f.Float64Var(&bandwidth, "bandwidth", 0, "custom machine's memory bandwidth in GB/s (with --compute)")
	f.Float64Var(&compute, "compute", 0, "custom machine's compute in TFLOP/s (with --bandwidth)")
	f.BoolVar(&spot, "spotcheck", false, "also run a decoder block on the weights (and the whole model when under 4 GiB) to verify FALSIFY-QM3E-006/007 empirically")
	f.IntVar(&spotLayer, "spot-layer", 0, "the layer --spotcheck runs")
	f.StringVar(&tokens, "tokens", "1,2,3", "token ids --spotcheck feeds")
	return cmd
}

// runAudit loads the checkpoint, runs the spot-checks --spotcheck asks for
// and audits it.
func runAudit(cmd *cobra.Command, args []string, builtin string, jobs int, opts audit.Options, spot bool, spotLayer int, tokens string) (*audit.Report, error) {
	var ids []int
	if spot {
		var err error
		if ids, err = parseTokens(tokens); err != nil {
			return nil, usageError(cmd, err.Error())
		}
	}
	ck, src, err := load(cmd, args, builtin, jobs, checkpoint.WithPartialFiles())
	if err != nil {
		return nil, err
	}
	fetch := fetchOf(src, ck) // header reads only, before any spot-check
	var res *spotcheck.Result
	if spot {
		var err error
		res, err = spotcheck.Run(cmd.Context(), ck, spotcheck.Options{Layer: spotLayer, Tokens: ids, Jobs: jobs})
		switch {
		case errors.Is(err, arch.ErrNotApplicable), errors.Is(err, arch.ErrUnsupportedArch):
			// The family has no forward pass yet (or no family knows the
			// architecture): the audit reports the shape obligations
			// structurally and says why.
			fmt.Fprintf(cmd.ErrOrStderr(), "note: --spotcheck: %v\n", err)
			spot = false
		case err != nil:
			return nil, err
		}
	}
	if spot {
		opts.Spot = append(opts.Spot, res)
		if ck.Inventory().Totals().Bytes <= spotcheck.MaxFullBytes {
			if res, err = spotcheck.Run(cmd.Context(), ck, spotcheck.Options{Full: true, Tokens: ids, Jobs: jobs}); err != nil {
				return nil, err
			}
			opts.Spot = append(opts.Spot, res)
		}
	}
	r, err := audit.Run(ck, opts)
	if err != nil {
		return nil, err
	}
	r.Fetch = fetch
	return r, nil
}

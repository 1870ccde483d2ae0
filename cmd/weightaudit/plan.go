package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/cost"
)

func newPlanCmd() *cobra.Command {
	var (
		rf      reportFlags
		builtin string
		jobs    int
		quant   string
		hw      []string
		o       cost.PlanOptions
	)
	cmd := &cobra.Command{
		Use:   "plan [SOURCE]",
		Short: "Plan the memory of a llama.cpp-style run: KV cache by K and V type, layers per device, host RAM",
		Long: `plan reads the headers of SOURCE and prints the memory a run needs and where
it goes, as llama.cpp places it: the weights layer by layer (the files' bytes,
or --quant's prediction), the KV cache of --parallel sequences of --ctx
positions each with keys stored as --cache-type-k and values as
--cache-type-v, the layers --gpu-layers offloads (the last ones; the token
embedding stays in host RAM), and for each machine the fewest of up to
--devices devices that hold the offloaded part, layers split whole across
devices as llama.cpp's layer split does. Sliding-window layers hold only
their window; multi-head latent attention caches its latent and rotary key.
Activations and compute buffers are not counted.

With no SOURCE it plans the built-in Qwen3-235B-A22B reference layout.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			outs, err := outputs(cmd, &rf, lookupIn(audit.PlanFormats))
			if err != nil {
				return err
			}
			var machines []cost.Hardware
			for _, h := range hw {
				m, err := cost.ParseMachine(h)
				if err != nil {
					return usageError(cmd, "--hw: "+strings.TrimPrefix(err.Error(), cost.ErrCostInput.Error()+": "))
				}
				machines = append(machines, m)
			}
			if len(hw) == 0 {
				machines = cost.HardwarePresets()
			}
			if o.Devices < 1 || o.Parallel < 1 || o.Batch < 0 {
				return usageError(cmd, fmt.Sprintf("--devices %d, --parallel %d, --batch %d: want at least 1, 1 and 0", o.Devices, o.Parallel, o.Batch))
			}
			if len(args) == 1 && builtin != "" {
				return usageError(cmd, "give either SOURCE or --builtin NAME")
			}
			if len(args) == 0 && builtin == "" {
				builtin = defaultBuiltin
			}
			for _, c := range []struct{ flag, v string }{{"cache-type-k", o.CacheK}, {"cache-type-v", o.CacheV}} {
				if _, err := cost.ParseKVType(c.v); err != nil {
					return usageError(cmd, fmt.Sprintf("--%s %q: want one of %s", c.flag, c.v, strings.Join(cost.KVTypes(), ", ")))
				}
			}
			// Of the metadata arrays a plan needs the vocabulary's length only.
			ck, _, err := load(cmd, args, builtin, jobs, checkpoint.WithListing())
			if err != nil {
				return err
			}
			spec, _, err := arch.FromCheckpoint(ck)
			if err != nil {
				return err
			}
			var w cost.LayerWeights
			if quant != "" {
				q, qerr := cost.ParseQuantization(quant)
				if qerr != nil {
					return usageError(cmd, "--quant: "+qerr.Error())
				}
				w, err = cost.PredictLayerWeights(spec, q)
			} else {
				w, err = cost.InventoryLayerWeights(spec, ck.Inventory())
			}
			if err != nil {
				return err
			}
			p, err := cost.NewPlan(spec, w, o, machines)
			switch {
			case errors.Is(err, arch.ErrNotApplicable):
				return usageError(cmd, fmt.Sprintf("plan needs an architecture a family knows, with its attention: %v", err))
			case errors.Is(err, cost.ErrCostInput):
				return usageError(cmd, err.Error())
			case err != nil:
				return err
			}
			p.Source = ck.Source
			return writeReports(cmd, outs, p)
		},
	}
	f := cmd.Flags()
	rf.add(cmd, audit.PlanFormats.Names())
	f.StringVar(&builtin, "builtin", "", "plan a built-in reference layout: "+strings.Join(synth.BuiltinNames(), ", ")+" (default safetensors when no SOURCE)")
	f.IntVar(&jobs, "jobs", 8, "files whose headers are read at once")
	f.StringVar(&quant, "quant", "", "weights as this quantization would store them (Q4_K_M, Q8_0, BF16, …) instead of the files' own bytes")
	f.Int64Var(&o.Ctx, "ctx", 0, "context of each sequence (default and maximum: the model's max_position_embeddings)")
	f.Int64Var(&o.Parallel, "parallel", 1, "sequences, each with its own KV cache of --ctx positions (llama.cpp: -np, with -c = ctx × parallel)")
	f.StringVar(&o.CacheK, "cache-type-k", "f16", "K cache type: "+strings.Join(cost.KVTypes(), ", "))
	f.StringVar(&o.CacheV, "cache-type-v", "f16", "V cache type: "+strings.Join(cost.KVTypes(), ", ")+" (llama.cpp needs flash attention for a quantized V cache)")
	f.Int64Var(&o.Batch, "batch", 512, "llama.cpp's micro-batch (-ub): a sliding-window layer caches its window of every sequence plus this many positions, rounded up to 256 (0: the window alone)")
	f.Int64Var(&o.GPULayers, "gpu-layers", -1, "layers offloaded, counted from the last as llama.cpp's -ngl (layers + 1 also offloads the output layer; -1: all)")
	f.Int64Var(&o.Devices, "devices", 8, "most devices per machine: the plan finds the fewest that hold the offloaded part")
	f.StringArrayVar(&hw, "hw", nil, "machines (repeatable; default every preset): a preset (h100, h200, a100, b200, mi300x, rtx4090, m3-ultra, …) or NAME=MEM[,bw=GB/s,flops=TFLOPS], e.g. box=96GiB")
	kvTypes := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return cost.KVTypes(), cobra.ShellCompDirectiveNoFileComp
	}
	for _, name := range []string{"cache-type-k", "cache-type-v"} {
		_ = cmd.RegisterFlagCompletionFunc(name, kvTypes) // fails only for an undefined flag
	}
	_ = cmd.RegisterFlagCompletionFunc("hw", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		for _, h := range cost.HardwarePresets() {
			names = append(names, strings.ReplaceAll(strings.ToLower(h.Name), " ", "-"))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

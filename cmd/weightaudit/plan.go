package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/textfmt"
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
			outs, err := outputs(cmd, &rf, func(name string) (func(*cost.Plan, io.Writer) error, bool) {
				switch name {
				case "table":
					return writePlanTable, true
				case "json":
					return func(p *cost.Plan, w io.Writer) error { return textfmt.WriteJSON(w, p) }, true
				case "markdown":
					return writePlanMarkdown, true
				}
				return nil, false
			})
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
			ck, _, err := load(cmd, args, builtin, jobs)
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
	rf.add(cmd, []string{"table", "json", "markdown"})
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

// writePlanTable writes p for a terminal.
func writePlanTable(p *cost.Plan, w io.Writer) error {
	pr := &textfmt.Printer{W: w}
	offload := fmt.Sprintf("--gpu-layers %d", p.GPULayers)
	switch {
	case p.GPULayers == 0:
		offload = "nothing offloaded (--gpu-layers 0)"
	case p.GPULayers > p.Layers:
		offload = fmt.Sprintf("every layer and the output offloaded (--gpu-layers %d)", p.GPULayers)
	}
	maxCtx := fmt.Sprintf("max %d", p.MaxCtx)
	if p.MaxCtx == 0 {
		maxCtx = "the config gives no maximum"
	}
	pr.F("plan: %d layers, ctx %d (%s), %d sequence(s), K %s, V %s; %s\n", p.Layers, p.Ctx, maxCtx, p.Parallel, p.CacheK, p.CacheV, offload)
	pr.F("  weights      %s\n", textfmt.Bytes(p.WeightBytes))
	pr.F("  KV cache     %s (K %s %s, V %s %s; %s per sequence)\n", textfmt.Bytes(p.KV.Total), textfmt.Bytes(p.KV.K), p.CacheK,
		textfmt.Bytes(p.KV.V), p.CacheV, textfmt.Bytes(p.KVPerSequence.Total))
	pr.F("  total        %s (activations and compute buffers not counted)\n", textfmt.Bytes(p.TotalBytes))
	pr.F("  host RAM     %s: %s\n", textfmt.Bytes(p.Host.Total), placeText(p.Host, true))
	pr.F("  offloaded    %s: %s\n", textfmt.Bytes(p.Offloaded.Total), placeText(p.Offloaded, false))
	for _, n := range p.Notes {
		pr.F("  note: %s\n", n)
	}
	if p.Offloaded.Total > 0 {
		for _, m := range p.Machines {
			pr.F("%s\n", fitText(m))
		}
	}
	return pr.Err
}

// writePlanMarkdown writes p for a CI step summary: the totals, then a
// row per machine.
func writePlanMarkdown(p *cost.Plan, w io.Writer) error {
	pr := &textfmt.Printer{W: w}
	pr.F("## Memory plan: %s\n\n", p.Source)
	pr.F("%d layers, ctx %d, %d sequence(s), K cache %s, V cache %s, --gpu-layers %d\n\n", p.Layers, p.Ctx, p.Parallel, p.CacheK, p.CacheV, p.GPULayers)
	pr.F("| | bytes |\n|---|---:|\n")
	pr.F("| weights | %s |\n| KV cache | %s |\n| total | %s |\n| host RAM | %s |\n| offloaded | %s |\n\n",
		textfmt.Bytes(p.WeightBytes), textfmt.Bytes(p.KV.Total), textfmt.Bytes(p.TotalBytes), textfmt.Bytes(p.Host.Total), textfmt.Bytes(p.Offloaded.Total))
	if p.Offloaded.Total > 0 {
		pr.F("| machine | fits | devices | least free | layers per device |\n|---|---|---:|---:|---|\n")
		for _, m := range p.Machines {
			fits := "no"
			if m.Fits {
				fits = "yes"
			}
			line := strings.TrimSpace(fitText(m))
			_, split, _ := strings.Cut(line, "layers ")
			pr.F("| %s | %s | %d | %s | %s |\n", m.Hardware.Name, fits, m.Devices, textfmt.Bytes(m.MinFree), split)
		}
	}
	for _, n := range p.Notes {
		pr.F("\n> %s\n", n)
	}
	return pr.Err
}

// placeText says which layers pl holds.
func placeText(pl cost.Placement, host bool) string {
	var parts []string
	if pl.Input && host {
		parts = append(parts, "input layer (token embedding)")
	}
	if pl.Layers > 0 {
		parts = append(parts, fmt.Sprintf("layers %d–%d", pl.FirstLayer, pl.LastLayer))
	}
	if pl.Output {
		parts = append(parts, "output layer")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// fitText is one machine's line: "fits on 2 × H200 with 43.10 GiB free
// each at least; layers 0–47 | 48–93 + output".
func fitText(f cost.Fit) string {
	var split []string
	for _, s := range f.Split {
		var t string
		switch {
		case s.Layers > 0 && s.Output:
			t = fmt.Sprintf("%d–%d + output", s.FirstLayer, s.LastLayer)
		case s.Layers > 0:
			t = fmt.Sprintf("%d–%d", s.FirstLayer, s.LastLayer)
		case s.Output:
			t = "output"
		default:
			t = "nothing"
		}
		split = append(split, t)
	}
	if f.Hardware.MemoryBytes == 0 {
		return fmt.Sprintf("  %-14s memory unknown; layers %s", f.Hardware.Name, strings.Join(split, " | "))
	}
	if f.Fits {
		each := " each at least"
		if f.Devices == 1 {
			each = ""
		}
		return fmt.Sprintf("  %-14s fits on %d × %s with %s free%s; layers %s", f.Hardware.Name, f.Devices, f.Hardware.Name,
			textfmt.Bytes(f.MinFree), each, strings.Join(split, " | "))
	}
	return fmt.Sprintf("  %-14s does not fit on %d × %s: the fullest is %s short", f.Hardware.Name, f.Devices, f.Hardware.Name, textfmt.Bytes(-f.MinFree))
}

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/spotcheck"
)

func newSpotcheckCmd() *cobra.Command {
	var (
		layer   int
		full    bool
		tokens  string
		dump    string
		rf      reportFlags
		jobs    int
		builtin string
	)
	cmd := &cobra.Command{
		Use:   "spotcheck SOURCE (--layer L | --full) --tokens 3,17,42 [--dump FILE] [--format table|json|markdown|junit|html] [-o FILE] [--report FORMAT=PATH]...",
		Short: "Run one decoder block (or the whole model) on the weights, reading only the experts the router picks",
		Long: `spotcheck feeds the embedding rows of the given tokens (positions 0..n-1, causal
attention) through decoder layer L as Hugging Face transformers computes that
family's layer (Qwen3 and Qwen3-MoE, Llama, Mistral, Mixtral, Qwen2, Gemma 3,
Phi-3, DeepSeek-V3 and Kimi K2, gpt-oss; a GGUF file's layout undone:
llama.cpp's Q/K permutation, its norms, kv_b split into k_b and v_b; the
releases' encodings decoded: FP8 with block scales, MXFP4, GPTQ, AWQ),
in float32 and in float64 on the same weights, and reports the
shapes in and out, whether every output is finite, the experts each token was
routed to, the bytes read and the largest relative difference between the two
precisions. Only the tensors of that layer, the embedding rows and the chosen
experts are read. --full runs every layer, the final norm and lm_head, giving
logits, for models small enough.

--dump FILE writes the float32 output as little-endian float32, row-major
[n_tokens, hidden] ([n_tokens, vocab] with --full).

It exits 1 when the output is not finite, the precisions disagree or the block
looks dead (zero embedding rows; an output that is zero, constant or the same
for every token; a layer that adds nothing; a router that ties every expert).`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			outs, err := outputs(cmd, &rf, lookupIn(spotcheck.Formats))
			if err != nil {
				return err
			}
			if (len(args) == 1) == (builtin != "") {
				return usageError(cmd, "give either SOURCE or --builtin NAME")
			}
			if cmd.Flags().Changed("layer") == full {
				return usageError(cmd, "give exactly one of --layer L and --full")
			}
			ids, err := parseTokens(tokens)
			if err != nil {
				return usageError(cmd, err.Error())
			}
			ck, _, err := load(cmd, args, builtin, jobs)
			if err != nil {
				return err
			}
			res, err := spotcheck.Run(cmd.Context(), ck, spotcheck.Options{Layer: layer, Full: full, Tokens: ids, Jobs: jobs})
			if err != nil {
				return err
			}
			if dump != "" {
				if err := atomicfile.WriteTarget(dump, 0o644, func(w io.Writer) error { return writeFloats(w, res.Output) }); err != nil {
					return err
				}
			}
			if err := writeReports(cmd, outs, res); err != nil {
				return err
			}
			if !res.Passes() {
				return &checkFailed{n: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&layer, "layer", 0, "decoder layer to run")
	f.BoolVar(&full, "full", false, "run the whole model (every layer, final norm, lm_head) and give logits")
	f.StringVar(&tokens, "tokens", "", "comma-separated token ids (required)")
	f.StringVar(&dump, "dump", "", "write the output as little-endian float32 to this file")
	rf.add(cmd, spotcheck.Formats.Names())
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "goroutines for matrix rows, experts and header reads")
	f.StringVar(&builtin, "builtin", "", "spot-check a built-in layout (its data reads as zeros)")
	return cmd
}

func parseTokens(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--tokens is required, e.g. --tokens 3,17,42")
	}
	var ids []int
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || id < 0 {
			return nil, fmt.Errorf("--tokens: %q is not a token id", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func writeFloats(w io.Writer, xs []float32) error {
	b := make([]byte, 4*len(xs))
	for i, v := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	_, err := w.Write(b)
	return err
}

package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/textfmt"
	"github.com/weightaudit/weightaudit/spotcheck"
)

func newSpotcheckCmd() *cobra.Command {
	var (
		layer   int
		full    bool
		tokens  string
		dump    string
		asJSON  bool
		jobs    int
		builtin string
	)
	cmd := &cobra.Command{
		Use:   "spotcheck SOURCE (--layer L | --full) --tokens 3,17,42",
		Short: "Run one decoder block (or the whole model) on the weights, reading only the experts the router picks",
		Long: `spotcheck feeds the embedding rows of the given tokens (positions 0..n-1, causal
attention) through decoder layer L as Hugging Face transformers computes that
family's layer (Qwen3 and Qwen3-MoE, Llama, Mistral, Mixtral, Qwen2, Gemma 3,
Phi-3; a GGUF file's layout undone: llama.cpp's Q/K permutation, its norms),
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
				if err := atomicfile.Write(dump, 0o644, func(w io.Writer) error { return writeFloats(w, res.Output) }); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(res)
			} else {
				err = writeSpot(out, res)
			}
			if err != nil {
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
	f.BoolVar(&asJSON, "json", false, "write the result as JSON")
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

func writeSpot(w io.Writer, r *spotcheck.Result) error {
	what := fmt.Sprintf("layer %d", r.Layer)
	if r.Full {
		what = "full model"
	}
	verdict := "PASS"
	if !r.Passes() {
		verdict = "FAIL"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "spot-check %s  %s\n", what, verdict)
	fmt.Fprintf(&b, "  tokens       %v\n", r.Tokens)
	fmt.Fprintf(&b, "  shape        %v -> %v\n", r.ShapeIn, r.ShapeOut)
	fmt.Fprintf(&b, "  finite       %v\n", r.Finite)
	fmt.Fprintf(&b, "  f32 vs f64   max relative difference %.3g (tolerance %.0e)\n", r.MaxRelErr, spotcheck.Tolerance)
	for i, ids := range r.Experts {
		ws := make([]string, len(ids))
		for j := range ids {
			ws[j] = fmt.Sprintf("%d (%.3f)", ids[j], r.ExpertWeights[i][j])
		}
		fmt.Fprintf(&b, "  token %-6d experts %s\n", r.Tokens[i], strings.Join(ws, ", "))
	}
	norms := make([]string, len(r.OutputNorms))
	for i, n := range r.OutputNorms {
		norms[i] = fmt.Sprintf("%.4g", n)
	}
	fmt.Fprintf(&b, "  output norms %s\n", strings.Join(norms, ", "))
	for i, d := range r.Dead {
		label := ""
		if i == 0 {
			label = "dead block"
		}
		fmt.Fprintf(&b, "  %-12s %s\n", label, d)
	}
	fmt.Fprintf(&b, "  read         %s of %s of tensor data (%.4f%%)\n", textfmt.Bytes(r.BytesRead), textfmt.Bytes(r.TensorBytes), 100*float64(r.BytesRead)/math.Max(1, float64(r.TensorBytes)))
	fmt.Fprintf(&b, "  time         %.3f s\n", r.Seconds)
	_, err := io.WriteString(w, b.String())
	return err
}

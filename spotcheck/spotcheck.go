package spotcheck

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/textfmt"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// ErrInvalid is wrapped by the errors of [Run] for a request it
// cannot run: a layer out of range, a token id past the vocabulary, a
// model too large for a full forward.
var ErrInvalid = errors.New("spot-check")

// MaxFullBytes bounds the tensor bytes of a model [Run] runs a full
// forward pass over (every layer, the final norm and lm_head): 4 GiB.
const MaxFullBytes = 4 << 30

// Options says what [Run] runs.
type Options struct {
	Layer  int   // the decoder layer to run, unless Full
	Full   bool  // run every layer, the final norm and lm_head, giving logits
	Tokens []int // token ids; their embedding rows are the input, at positions 0..n-1
	Jobs   int   // goroutines for matrix rows and experts; default 1
}

// Result is what a spot-check computed. Output holds the float32
// path's result: the block output [n, hidden], or the logits [n, vocab]
// with Full.
type Result struct {
	// SchemaVersion is [SchemaVersion] (schema/spotcheck.vN.json).
	SchemaVersion int `json:"schema_version"`
	// Pass and Verdict ("pass" or "fail") say whether every check passed
	// (see [Result.Passes]); the JSON encoding sets them from the checks.
	Pass    bool   `json:"pass"`
	Verdict string `json:"verdict"`
	// Source and Family name the checkpoint run and its architecture.
	Source        string      `json:"source"`
	Family        string      `json:"family"`
	Layer         int         `json:"layer"` // -1 with Full
	Full          bool        `json:"full"`
	Tokens        []int       `json:"tokens"`
	ShapeIn       []int       `json:"shape_in"`
	ShapeOut      []int       `json:"shape_out"`
	Finite        bool        `json:"finite"`
	Experts       [][]int     `json:"experts"`        // per token, the experts chosen (the first routed layer with Full), highest weight first
	ExpertWeights [][]float64 `json:"expert_weights"` // their routing weights
	BytesRead     int64       `json:"bytes_read"`
	TensorBytes   int64       `json:"tensor_bytes"` // all the tensor bytes of the checkpoint, for scale
	MaxRelErr     float64     `json:"max_rel_err"`  // float32 against float64, max over the compared tokens of max|Δ|/max|y64|
	// NotCompared counts the tokens whose float32 and float64 outputs
	// could not be compared: a row not finite on either path, or a
	// float64 row of zeros where the float32 one is not. SPOT-PRECISION
	// fails when any is: agreement was not shown for them.
	NotCompared int       `json:"not_compared"`
	OutputNorms []float64 `json:"output_norms"` // per token, the L2 norm of its output row
	Dead        []Dead    `json:"dead"`         // signs of a dead block, in the order Run met them; empty (not nil) when none
	Seconds     float64   `json:"seconds"`
	Started     time.Time `json:"started,omitzero"` // when Run began
	Output      []float32 `json:"-"`
}

// SchemaVersion is the version of the JSON Schema of [Result]
// (schema/spotcheck.vN.json): bumped whenever its JSON shape changes.
const SchemaVersion = 3

// Run runs the weights of ck: one decoder layer (or with Full the
// whole model) on the embedding rows of the given tokens, in float32 and in
// float64 on the same weights and the same routing, reading only the
// tensors it needs and, of the experts, only the ones the router picks.
func Run(ctx context.Context, ck *checkpoint.Checkpoint, opts Options) (*Result, error) {
	start := time.Now()
	spec, _, err := arch.FromCheckpoint(ck)
	if err != nil {
		return nil, err
	}
	fw, ok := spec.(arch.Forwarder)
	if !ok {
		return nil, fmt.Errorf("%w: %s: %w: the architecture gives no forward wiring", ErrInvalid, spec.Family(), arch.ErrNotApplicable)
	}
	dims := spec.Dims()
	if len(opts.Tokens) == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrInvalid)
	}
	for _, id := range opts.Tokens {
		if id < 0 || int64(id) >= dims.Vocab {
			return nil, fmt.Errorf("%w: token id %d is outside the vocabulary of %d", ErrInvalid, id, dims.Vocab)
		}
	}
	if !opts.Full && (opts.Layer < 0 || int64(opts.Layer) >= dims.Layers) {
		return nil, fmt.Errorf("%w: layer %d is outside 0..%d", ErrInvalid, opts.Layer, dims.Layers-1)
	}
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	w, err := newWeights(ck, spec)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	tot := w.inv.Totals()
	if opts.Full && tot.Bytes > MaxFullBytes {
		return nil, fmt.Errorf("%w: a full forward pass would read %s of weights (limit %s); check one layer with --layer", ErrInvalid, textfmt.Bytes(tot.Bytes), textfmt.Bytes(MaxFullBytes))
	}
	fc := fw.Forward(ck.Format)
	if err := unsupported(spec, fc); err != nil {
		return nil, err
	}
	perLayer, _ := fw.(arch.LayerForwarder)
	n, d := len(opts.Tokens), int(dims.Hidden)
	layers := []int{opts.Layer}
	if opts.Full {
		layers = layers[:0]
		for l := 0; l < int(dims.Layers); l++ {
			layers = append(layers, l)
		}
	}
	configs := make([]forward.Config, len(layers))
	for i, l := range layers {
		configs[i] = fc
		if perLayer != nil {
			configs[i] = perLayer.LayerForward(ck.Format, l)
		}
		if err := unsupported(spec, configs[i]); err != nil {
			return nil, err
		}
		configs[i].Jobs = opts.Jobs
	}

	// The input: the embedding rows of the tokens.
	emb, ok := w.tensor(-1, arch.CompEmbedding, -1)
	if !ok {
		return nil, fmt.Errorf("%w: no embedding tensor", ErrInvalid)
	}
	embRows, err := w.rows(ctx, emb)
	if err != nil {
		return nil, err
	}
	x32 := make([]float32, n*d)
	for i, id := range opts.Tokens {
		if err := embRows.Row(id, x32[i*d:(i+1)*d]); err != nil {
			return nil, err
		}
	}
	x := forward.NewPair(x32)
	dead := &deadCheck{tokens: opts.Tokens}
	dead.embedding(x32, d)
	if fc.EmbedScale != 0 { // Gemma: the rows times √hidden_size, in each precision
		s32, s64 := float32(fc.EmbedScale), fc.EmbedScale
		for i := range x.F32 {
			x.F32[i] *= s32
			x.F64[i] *= s64
		}
	}

	res := &Result{SchemaVersion: SchemaVersion, Source: ck.Source, Family: spec.Family(), Started: start, Layer: opts.Layer, Full: opts.Full, Tokens: opts.Tokens, ShapeIn: []int{n, d}, TensorBytes: tot.Bytes}
	if opts.Full {
		res.Layer = -1
	}
	for i, l := range layers {
		lw := &layerWeights{w: w, ctx: ctx, layer: l, sparse: fw.Sparse(l)}
		y, route, err := forward.Block(ctx, configs[i], lw, x)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		if lw.sparse && res.Experts == nil {
			res.Experts, res.ExpertWeights = route.IDs, route.Weights
		}
		if lw.sparse {
			dead.router(l, route.Logits)
		}
		dead.passThrough(l, x.F32, y.F32)
		x = y
	}
	width := d
	if opts.Full {
		if x, width, err = head(ctx, w, dims, fc, fw.NormEps(), x, opts.Jobs); err != nil {
			return nil, err
		}
	}
	dead.output(res.Layer, x.F32, width)
	res.Dead = dead.dead
	if res.Dead == nil {
		res.Dead = []Dead{}
	}
	x32, x64 := x.F32, x.F64
	res.ShapeOut = []int{n, width}
	res.Output = x32
	res.Finite = true
	for t := 0; t < n; t++ {
		a, b := x32[t*width:(t+1)*width], x64[t*width:(t+1)*width]
		var diff, scale, norm float64
		finite := true // both rows
		for i := range a {
			v := float64(a[i])
			if math.IsNaN(v) || math.IsInf(v, 0) {
				res.Finite, finite = false, false
			}
			if math.IsNaN(b[i]) || math.IsInf(b[i], 0) {
				finite = false
			}
			diff = math.Max(diff, math.Abs(v-b[i]))
			scale = math.Max(scale, math.Abs(b[i]))
			norm += v * v
		}
		switch {
		case !finite || (scale == 0 && diff > 0):
			res.NotCompared++
		case scale > 0:
			res.MaxRelErr = math.Max(res.MaxRelErr, diff/scale)
		} // both rows zero: they agree
		res.OutputNorms = append(res.OutputNorms, math.Sqrt(norm))
	}
	if res.Experts == nil {
		res.Experts, res.ExpertWeights = [][]int{}, [][]float64{}
	}
	res.BytesRead = w.BytesRead()
	res.Pass = res.Passes()
	res.Verdict = strings.ToLower(textfmt.Verdict(res.Pass))
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// unsupported returns the error that declines a model whose forward
// configuration names what the kernels do not compute, nil when they
// compute it all.
func unsupported(spec arch.Spec, fc forward.Config) error {
	switch {
	case fc.Scaling.Type == forward.RopeUnsupported:
		return fmt.Errorf("%w: %s: %w: the RoPE scaling %q has no forward pass", ErrInvalid, spec.Family(), arch.ErrNotApplicable, fc.Scaling.Name)
	case fc.Unsupported != "":
		return fmt.Errorf("%w: %s: %w: %s has no forward pass", ErrInvalid, spec.Family(), arch.ErrNotApplicable, fc.Unsupported)
	}
	return nil
}

// head applies the final norm (of 1 + weight when fc.NormPlusOne), lm_head
// (the embedding when tied) and the soft cap of fc.FinalSoftcap.
func head(ctx context.Context, w *weights, dims arch.Dims, fc forward.Config, eps float64, x forward.Pair, jobs int) (forward.Pair, int, error) {
	normT, ok := w.tensor(-1, arch.CompFinalNorm, -1)
	if !ok {
		return forward.Pair{}, 0, fmt.Errorf("%w: no final norm", ErrInvalid)
	}
	norm, err := w.vector(ctx, normT)
	if err != nil {
		return forward.Pair{}, 0, err
	}
	headT, ok := w.tensor(-1, arch.CompLMHead, -1)
	if !ok && dims.TiedEmbeddings {
		headT, ok = w.tensor(-1, arch.CompEmbedding, -1)
	}
	if !ok {
		return forward.Pair{}, 0, fmt.Errorf("%w: no lm_head", ErrInvalid)
	}
	rows, err := w.rows(ctx, headT)
	if err != nil {
		return forward.Pair{}, 0, err
	}
	n := len(x.F32) / int(dims.Hidden)
	h := forward.Pair{F32: make([]float32, len(x.F32)), F64: make([]float64, len(x.F64))}
	norm32, norm64 := forward.RMSNorm[float32], forward.RMSNorm[float64]
	if fc.NormPlusOne {
		norm32, norm64 = forward.RMSNormPlusOne[float32], forward.RMSNormPlusOne[float64]
	}
	if err := norm32(h.F32, x.F32, norm, eps); err != nil {
		return forward.Pair{}, 0, err
	}
	if err := norm64(h.F64, x.F64, norm, eps); err != nil {
		return forward.Pair{}, 0, err
	}
	v := rows.Rows()
	logits := forward.Pair{F32: make([]float32, n*v), F64: make([]float64, n*v)}
	if err := forward.MatMulPair(ctx, logits.F32, logits.F64, rows, h.F32, h.F64, jobs); err != nil {
		return forward.Pair{}, 0, fmt.Errorf("lm_head: %w", err)
	}
	if fc.FinalSoftcap != 0 {
		if err := forward.Softcap(logits.F32, fc.FinalSoftcap); err != nil {
			return forward.Pair{}, 0, fmt.Errorf("final_logit_softcapping: %w", err)
		}
		if err := forward.Softcap(logits.F64, fc.FinalSoftcap); err != nil {
			return forward.Pair{}, 0, fmt.Errorf("final_logit_softcapping: %w", err)
		}
	}
	return logits, v, nil
}

// Tolerance is the largest float32-against-float64 relative
// difference a spot-check passes with: float32 rounding over a model stays
// orders of magnitude below it.
const Tolerance = 1e-3

// Passes reports whether a spot-check's output is finite, has the shape
// its kind requires, agrees between the two precisions and shows no sign
// of a dead block (Dead is empty).
func (s *Result) Passes() bool {
	for _, c := range s.checks() {
		if !c.pass {
			return false
		}
	}
	return true
}

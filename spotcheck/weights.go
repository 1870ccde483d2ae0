package spotcheck

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// weights reads the tensors of a checkpoint by their role: whole vectors,
// or matrices row by row so that a quantized row is dequantized only when a
// kernel needs it. It is safe for concurrent use.
type weights struct {
	*checkpoint.Reader
	ck    *checkpoint.Checkpoint
	spec  arch.Spec
	inv   *checkpoint.Inventory
	byKey map[weightKey]*checkpoint.Tensor
	// scales maps the MXFP4 blocks of gpt-oss's Hugging Face experts to
	// their scales (the companion named *_scales).
	scales map[*checkpoint.Tensor]*checkpoint.Tensor
	// quant is how a pre-quantized Hugging Face checkpoint stores its
	// linear weights; companions maps the names of their companions
	// (weight_scale_inv, qzeros, scales, g_idx) to the tensors, and
	// packing the GPTQ and AWQ qweights to their packing.
	quant      arch.Quant
	companions map[string]*checkpoint.Tensor
	packing    map[*checkpoint.Tensor]arch.Packing
	names      map[string]bool // every tensor's name
}

type weightKey struct {
	layer  int
	comp   arch.Component
	expert int
}

func newWeights(ck *checkpoint.Checkpoint, spec arch.Spec) (*weights, error) {
	rd, err := ck.NewReader()
	if err != nil {
		return nil, err
	}
	inv := ck.Inventory()
	w := &weights{Reader: rd, ck: ck, spec: spec, inv: inv, byKey: map[weightKey]*checkpoint.Tensor{},
		scales: map[*checkpoint.Tensor]*checkpoint.Tensor{}, companions: map[string]*checkpoint.Tensor{},
		packing: map[*checkpoint.Tensor]arch.Packing{}}
	if q, ok := spec.(arch.Quantized); ok && ck.Format == checkpoint.FormatSafetensors {
		w.quant = q.Quant()
	}
	w.names = make(map[string]bool, len(inv.Tensors))
	for i := range inv.Tensors {
		w.names[inv.Tensors[i].Name] = true
	}
	roles := arch.Assign(spec, inv)
	isScales := func(r arch.Role, t *checkpoint.Tensor) bool {
		return r.Part == arch.PartCompanion && strings.HasSuffix(t.Name, "_scales")
	}
	for i, r := range roles {
		if r.Known && r.Part == arch.PartCompanion {
			w.companions[inv.Tensors[i].Name] = &inv.Tensors[i]
		}
	}
	for i, r := range roles {
		if !r.Known || isScales(r, &inv.Tensors[i]) || r.Part == arch.PartCompanion && quantCompanion(inv.Tensors[i].Name) {
			continue
		}
		t := &inv.Tensors[i]
		w.byKey[weightKey{r.Layer, r.Component, r.Expert}] = t
		if r.Packing == arch.PackGPTQ || r.Packing == arch.PackAWQ {
			w.packing[t] = r.Packing
		}
		if r.Packing == arch.PackMXFP4 {
			// A companion named …_scales is a scales tensor (isScales).
			if sc, ok := w.companions[strings.TrimSuffix(t.Name, "_blocks")+"_scales"]; ok {
				w.scales[t] = sc
			}
		}
	}
	return w, nil
}

// quantCompanion reports whether a companion tensor is one a
// pre-quantized weight reads its values with (arch.Quant's companions),
// not one read on its own (rope_freqs).
func quantCompanion(name string) bool {
	for _, suffix := range []string{".weight_scale_inv", ".qzeros", ".scales", ".g_idx"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// tensor finds a layer's tensor by component; for experts stored one
// tensor per expert it is that expert's, for stacked experts the stack.
func (w *weights) tensor(layer int, comp arch.Component, expert int) (*checkpoint.Tensor, bool) {
	if t, ok := w.byKey[weightKey{layer, comp, expert}]; ok {
		return t, true
	}
	t, ok := w.byKey[weightKey{layer, comp, -1}]
	return t, ok && expert >= 0 && (len(t.Logical) == 3 || w.scales[t] != nil)
}

// vector reads a whole 1-D tensor.
func (w *weights) vector(ctx context.Context, t *checkpoint.Tensor) ([]float32, error) {
	codec, err := w.ck.Codec(t)
	if err != nil {
		return nil, err
	}
	n := t.Params
	nb, err := codec.RowBytes(n)
	if err != nil || nb != t.Bytes {
		return nil, fmt.Errorf("tensor %s: %d elements do not fill %d bytes of %s", t.Name, n, t.Bytes, t.DType)
	}
	buf := make([]byte, nb)
	if err := w.ReadAt(ctx, t.File, buf, t.Offset); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	out := make([]float32, n)
	if err := codec.Decode(out, buf); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	return out, nil
}

// expertMatrix returns the [out, in] rows of one expert of a layer's
// stacked tensor of component comp: MXFP4 blocks through the shared
// decoder ([checkpoint.MXFP4Rows]), and a tensor the family stores
// [in, out] ([arch.Transposer]: gpt-oss's dequantized experts) read whole
// and transposed.
func (w *weights) expertMatrix(ctx context.Context, t *checkpoint.Tensor, comp arch.Component, expert int) (forward.RowSource, error) {
	if sc, ok := w.scales[t]; ok {
		m, err := checkpoint.NewMXFP4Rows(w.Reader, t, sc, expert)
		if err != nil {
			return nil, err
		}
		return &readRows{m: m, ctx: ctx}, nil
	}
	if q, ok, err := w.quantized(ctx, t); ok || err != nil {
		return q, err
	}
	rows, err := w.matrix(ctx, t, expert)
	if err != nil {
		return nil, err
	}
	if tr, ok := w.spec.(arch.Transposer); !ok || !tr.Transposed(w.ck.Format, comp) {
		return rows, nil
	}
	in, out := rows.rows, rows.cols
	if int64(in)*int64(out) > maxTransposed {
		return nil, fmt.Errorf("tensor %s: expert %d stored [in, out] as [%d, %d]: over %d elements to transpose", t.Name, expert, in, out, maxTransposed)
	}
	stored := make([]float32, in*out)
	for i := range in {
		if err := rows.Row(i, stored[i*out:(i+1)*out]); err != nil {
			return nil, err
		}
	}
	data := make([]float32, in*out)
	for i := range in {
		for j := range out {
			data[j*in+i] = stored[i*out+j]
		}
	}
	return forward.NewDense(out, in, data)
}

// maxTransposed bounds the elements of one expert matrix stored [in, out]
// that the spot-check reads whole to transpose (gpt-oss-120b's dequantized
// gate_up_proj is 2880 × 5760).
const maxTransposed = 1 << 25

// quantized returns the rows of a weight a pre-quantized Hugging Face
// checkpoint stores with companions, decoded by the checkpoint's shared
// decoders: a GPTQ or AWQ qweight ([checkpoint.IntRows]), or an FP8
// weight with its block scales ([checkpoint.FP8BlockRows]). ok is false
// for any other tensor.
func (w *weights) quantized(ctx context.Context, t *checkpoint.Tensor) (src forward.RowSource, ok bool, err error) {
	if p, packed := w.packing[t]; packed {
		base := strings.TrimSuffix(t.Name, ".qweight")
		it := checkpoint.IntTensors{QWeight: t, QZeros: w.companions[base+".qzeros"], Scales: w.companions[base+".scales"]}
		if p == arch.PackGPTQ {
			it.GIdx = w.companions[base+".g_idx"]
		}
		m, err := checkpoint.NewIntRows(w.Reader, it, w.quant.IntScheme())
		if err != nil {
			return nil, true, err
		}
		return &readRows{m: m, ctx: ctx}, true, nil
	}
	base, isWeight := strings.CutSuffix(t.Name, ".weight")
	sc, scaled := w.companions[base+".weight_scale_inv"]
	if w.quant.Scheme != arch.QuantFP8Block || !isWeight || !scaled {
		if strings.HasPrefix(t.DType, "F8_") && w.ck.Format == checkpoint.FormatSafetensors && w.names[base+".weight_scale_inv"] {
			return nil, true, fmt.Errorf("tensor %s: FP8 with block scales %s, but the config's quantization_config gives no FP8 weight_block_size to apply them with", t.Name, base+".weight_scale_inv")
		}
		return nil, false, nil
	}
	m, err := checkpoint.NewFP8BlockRows(w.Reader, t, sc, w.quant.Block)
	if err != nil {
		return nil, true, err
	}
	return &readRows{m: m, ctx: ctx}, true, nil
}

// rows returns the [out, in] rows of a 2-D tensor: through its
// pre-quantized encoding's decoder when it has one (see quantized), else
// through its codec.
func (w *weights) rows(ctx context.Context, t *checkpoint.Tensor) (forward.RowSource, error) {
	if q, ok, err := w.quantized(ctx, t); ok || err != nil {
		return q, err
	}
	return w.matrix(ctx, t, -1)
}

// checkpointRows is what the checkpoint's row readers of encoded weights
// ([checkpoint.MXFP4Rows], [checkpoint.IntRows],
// [checkpoint.FP8BlockRows]) have in common.
type checkpointRows interface {
	Rows() int
	Cols() int
	RowBytes() int64
	ReadRow(ctx context.Context, i int, dst []float32, buf []byte) error
}

// readRows serves a checkpoint row reader's rows as a
// [forward.RowSource], reading each row into a pooled buffer. It is safe
// for concurrent use.
type readRows struct {
	m    checkpointRows
	ctx  context.Context
	pool sync.Pool
}

func (r *readRows) Rows() int { return r.m.Rows() }
func (r *readRows) Cols() int { return r.m.Cols() }

// Row reads and decodes row i into dst, which must hold Cols elements.
func (r *readRows) Row(i int, dst []float32) error {
	bp, _ := r.pool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, r.m.RowBytes())
		bp = &b
	}
	defer r.pool.Put(bp)
	return r.m.ReadRow(r.ctx, i, dst, *bp)
}

// matrix returns the [out, in] rows of a 2-D tensor, or of one expert of
// a stacked 3-D one.
func (w *weights) matrix(ctx context.Context, t *checkpoint.Tensor, expert int) (*tensorRows, error) {
	codec, err := w.ck.Codec(t)
	if err != nil {
		return nil, err
	}
	s := t.Logical
	var rows, cols, off int64
	switch {
	case len(s) == 2:
		rows, cols = s[0], s[1]
	case len(s) == 3 && expert >= 0 && int64(expert) < s[0]:
		rows, cols = s[1], s[2]
	default:
		return nil, fmt.Errorf("tensor %s: shape %v is not a matrix (expert %d)", t.Name, s, expert)
	}
	rowBytes, err := codec.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	if len(s) == 3 {
		off = int64(expert) * rows * rowBytes
	}
	if off+rows*rowBytes > t.Bytes {
		return nil, fmt.Errorf("tensor %s: %d rows of %d bytes do not fit its %d bytes", t.Name, rows, rowBytes, t.Bytes)
	}
	return &tensorRows{w: w, ctx: ctx, t: t, off: t.Offset + off, rows: int(rows), cols: int(cols), rowBytes: rowBytes, decode: codec.Decode}, nil
}

// tensorRows serves a matrix's rows from the file, dequantizing each row
// as it is asked for. It is safe for concurrent use.
type tensorRows struct {
	w          *weights
	ctx        context.Context
	t          *checkpoint.Tensor
	off        int64
	rows, cols int
	rowBytes   int64
	decode     func(dst []float32, src []byte) error
	pool       sync.Pool
}

var _ forward.RowSource = (*tensorRows)(nil)

func (r *tensorRows) Rows() int { return r.rows }
func (r *tensorRows) Cols() int { return r.cols }

// Row reads and decodes row i into dst, which must hold Cols elements.
func (r *tensorRows) Row(i int, dst []float32) error {
	if i < 0 || i >= r.rows || len(dst) != r.cols {
		return fmt.Errorf("tensor %s: row %d of %d into %d elements: %w", r.t.Name, i, r.rows, len(dst), forward.ErrShape)
	}
	bp, _ := r.pool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, r.rowBytes)
		bp = &b
	}
	defer r.pool.Put(bp)
	if err := r.w.ReadAt(r.ctx, r.t.File, *bp, r.off+int64(i)*r.rowBytes); err != nil {
		return fmt.Errorf("tensor %s row %d: %w", r.t.Name, i, err)
	}
	return r.decode(dst, *bp)
}

// layerWeights adapts one decoder layer to forward.Layer.
type layerWeights struct {
	w      *weights
	ctx    context.Context
	layer  int
	sparse bool
}

// vectorComps maps forward.Layer's vector names to components: the
// layer's tensor of that component, or for an outer one (rope_freqs,
// rope_factors_short, stored once for every layer) the tensor outside the
// layers.
var vectorComps = map[string]struct {
	comp  arch.Component
	outer bool
}{
	"attn_norm": {comp: arch.CompAttnNorm}, "q_norm": {comp: arch.CompAttnQNorm}, "k_norm": {comp: arch.CompAttnKNorm},
	"ffn_norm": {comp: arch.CompFFNNorm}, "q_bias": {comp: arch.CompAttnQBias}, "k_bias": {comp: arch.CompAttnKBias},
	"v_bias": {comp: arch.CompAttnVBias}, "rope_freqs": {comp: arch.CompRopeFreqs, outer: true},
	"attn_post_norm": {comp: arch.CompAttnPostNorm}, "ffn_post_norm": {comp: arch.CompFFNPostNorm},
	"rope_factors_short": {comp: arch.CompRopeFactorsShort, outer: true},
	// gpt-oss's (arch/gptoss/layout.go).
	"o_bias": {comp: "attn_o_bias"}, "attn_sinks": {comp: "attn_sinks"}, "router_bias": {comp: "router_bias"},
	// DeepSeek's (arch/deepseek/layout.go).
	"q_a_norm": {comp: "attn_q_a_norm"}, "kv_a_norm": {comp: "attn_kv_a_norm"},
}

// expertVectorComps maps forward.ExpertVectors' names to the components
// of stacked [E, n] expert biases (gpt-oss's, arch/gptoss/layout.go).
var expertVectorComps = map[string]arch.Component{
	"gate_up_bias": "expert_gate_up_bias", "gate_bias": "expert_gate_bias", "up_bias": "expert_up_bias",
	"down_bias": "expert_down_bias",
}

var matrixComps = map[string][2]arch.Component{ // [dense or attention, expert]
	"q": {arch.CompAttnQ}, "k": {arch.CompAttnK}, "v": {arch.CompAttnV}, "o": {arch.CompAttnO}, "router": {arch.CompRouter},
	"gate": {arch.CompMLPGate, arch.CompExpertGate}, "up": {arch.CompMLPUp, arch.CompExpertUp}, "down": {arch.CompMLPDown, arch.CompExpertDown},
	"qkv": {arch.CompAttnQKV}, "gate_up": {arch.CompMLPGateUp, "expert_gate_up"},
	// DeepSeek's (arch/deepseek/layout.go); k_b and v_b are asked for per
	// head, the head as the expert index of their [heads, …] stacks.
	"q_a": {"attn_q_a"}, "q_b": {"attn_q_b"}, "kv_a": {"attn_kv_a_mqa"}, "kv_b": {"attn_kv_b"},
	"k_b": {"", "attn_k_b"}, "v_b": {"", "attn_v_b"},
	"shared_gate": {"shared_expert_gate"}, "shared_up": {"shared_expert_up"}, "shared_down": {"shared_expert_down"},
}

func (l *layerWeights) Sparse() bool { return l.sparse }

func (l *layerWeights) Vector(name string) ([]float32, error) {
	v, ok := vectorComps[name]
	if !ok {
		return nil, fmt.Errorf("layer %d: no vector %q", l.layer, name)
	}
	layer := l.layer
	if v.outer {
		layer = -1
	}
	t, ok := l.w.tensor(layer, v.comp, -1)
	if !ok {
		return nil, fmt.Errorf("layer %d: no %s tensor", l.layer, v.comp)
	}
	return l.w.vector(l.ctx, t)
}

func (l *layerWeights) Matrix(name string, expert int) (forward.RowSource, error) {
	comps, ok := matrixComps[name]
	if !ok {
		return nil, fmt.Errorf("layer %d: no matrix %q", l.layer, name)
	}
	comp := comps[0]
	if expert >= 0 {
		comp = comps[1]
	}
	t, ok := l.w.tensor(l.layer, comp, expert)
	if !ok || comp == "" {
		return nil, fmt.Errorf("layer %d: no %s tensor for expert %d", l.layer, comp, expert)
	}
	if expert >= 0 {
		return l.w.expertMatrix(l.ctx, t, comp, expert)
	}
	return l.w.rows(l.ctx, t)
}

var _ forward.ExpertVectors = (*layerWeights)(nil)

// ExpertVector reads expert's row of the layer's stacked [E, n] bias
// name, and only that row.
func (l *layerWeights) ExpertVector(name string, expert int) ([]float32, error) {
	comp, ok := expertVectorComps[name]
	if !ok {
		return nil, fmt.Errorf("layer %d: no expert vector %q", l.layer, name)
	}
	t, ok := l.w.byKey[weightKey{l.layer, comp, -1}]
	if !ok || len(t.Logical) != 2 {
		return nil, fmt.Errorf("layer %d: no stacked %s tensor", l.layer, comp)
	}
	rows, err := l.w.matrix(l.ctx, t, -1)
	if err != nil {
		return nil, err
	}
	out := make([]float32, rows.cols)
	return out, rows.Row(expert, out)
}

package cost

import (
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
)

// LayerWeights is a model's weight bytes by where llama.cpp places them:
// each decoder layer, the input layer (the token embedding, which
// llama.cpp always keeps in host memory) and the output layer (the final
// norm and lm_head, offloaded with the layers when --gpu-layers exceeds
// the layer count).
type LayerWeights struct {
	Layers []int64 `json:"layers"`
	Input  int64   `json:"input_bytes"`
	Output int64   `json:"output_bytes"`
	// Skipped is what llama.cpp does not load: multi-token-prediction
	// layers past the decoder's (TENSOR_SKIP in its loader).
	Skipped int64 `json:"skipped_bytes,omitempty"`
}

// Total returns the bytes the runtime holds: every layer, the input and
// the output layers (Skipped aside), saturating at math.MaxInt64.
func (w LayerWeights) Total() int64 {
	var b bound
	t := b.add(w.Input, w.Output)
	for _, n := range w.Layers {
		t = b.add(t, n)
	}
	if b.overflow {
		return 1<<63 - 1
	}
	return t
}

// place adds n bytes of a tensor of component c in layer to w. With
// tied embeddings the output layer holds a copy of the embedding, as
// llama.cpp loads token_embd a second time (TENSOR_DUPLICATED) as the
// output matrix on the output layer's device.
func (w *LayerWeights) place(layer int, c arch.Component, part arch.Part, n int64, tied bool, b *bound) {
	switch {
	case part == arch.PartMTP || layer >= len(w.Layers):
		w.Skipped = b.add(w.Skipped, n)
	case layer >= 0:
		w.Layers[layer] = b.add(w.Layers[layer], n)
	case c == arch.CompLMHead || c == arch.CompFinalNorm:
		w.Output = b.add(w.Output, n)
	case c == arch.CompEmbedding && tied:
		w.Input = b.add(w.Input, n)
		w.Output = b.add(w.Output, n)
	default:
		w.Input = b.add(w.Input, n)
	}
}

// PredictLayerWeights returns the weights of spec's GGUF layout under q,
// placed by layer: the tensors [PredictWeights] sums (with the embedding
// counted again on the output layer when the embeddings are tied). It
// fails like PredictWeights.
func PredictLayerWeights(spec arch.Spec, q Quantization) (LayerWeights, error) {
	if err := checkSpec(spec); err != nil {
		return LayerWeights{}, err
	}
	if q.typeOf == nil {
		return LayerWeights{}, fmt.Errorf("%w: zero Quantization", ErrCostInput)
	}
	d := spec.Dims()
	w := LayerWeights{Layers: make([]int64, d.Layers)}
	var b bound
	for _, e := range spec.Expected(checkpoint.FormatGGUF) {
		n, err := q.TypeOf(int(d.Layers), e).Bytes(e.Shape)
		if err != nil {
			cat := ErrCostInput
			if errors.Is(err, gguf.ErrOverflow) {
				cat = ErrCostOverflow
			}
			return LayerWeights{}, fmt.Errorf("%w: quantization %s: tensor %q: %w", cat, q.Name, e.Name, err)
		}
		w.place(e.Layer, e.Component, e.Part, n, d.TiedEmbeddings, &b)
	}
	if b.overflow {
		return LayerWeights{}, fmt.Errorf("%w: weight bytes by layer", ErrCostOverflow)
	}
	return w, nil
}

// InventoryLayerWeights returns the weights of an inventory as stored,
// placed by layer: the layer each tensor's name gives, and for the rest
// the component spec gives the tensor (the embedding to the input layer,
// the final norm and lm_head to the output layer; a tensor spec does not
// know to the input layer).
func InventoryLayerWeights(spec arch.Spec, inv *checkpoint.Inventory) (LayerWeights, error) {
	if err := checkSpec(spec); err != nil {
		return LayerWeights{}, err
	}
	if inv == nil {
		return LayerWeights{}, fmt.Errorf("%w: no inventory", ErrCostInput)
	}
	d := spec.Dims()
	w := LayerWeights{Layers: make([]int64, d.Layers)}
	var b bound
	for _, t := range inv.Tensors {
		layer, comp, part := t.Layer, arch.Component(""), arch.PartModel
		if e, _, ok := spec.Locate(inv.Format, t.Name); ok {
			layer, comp, part = e.Layer, e.Component, e.Part
		}
		w.place(layer, comp, part, t.Bytes, d.TiedEmbeddings, &b)
	}
	if b.overflow {
		return LayerWeights{}, fmt.Errorf("%w: weight bytes by layer", ErrCostOverflow)
	}
	return w, nil
}

// PlanOptions are the run a [Plan] is for, spelled as llama.cpp's flags.
type PlanOptions struct {
	// Ctx is the context of each sequence, 1 to the model's maximum
	// ([MaxContext]). The default (0) is the maximum.
	Ctx int64
	// Parallel is the number of sequences, each with a KV cache of Ctx
	// positions. The default (0) is 1.
	Parallel int64
	// CacheK and CacheV are the K and V cache types ([KVTypes]). The
	// default ("") is f16.
	CacheK, CacheV string
	// GPULayers is how many layers are offloaded, counted from the last
	// as llama.cpp's -ngl counts them: the last GPULayers decoder layers,
	// and the output layer too when GPULayers exceeds the layer count. A
	// negative value offloads everything. The default (0) offloads
	// nothing; use -1 for all.
	GPULayers int64
	// Batch is llama.cpp's micro-batch (-ub, 512 by default there): a
	// sliding-window layer's cache holds the window of every sequence plus
	// one micro-batch, rounded up to 256 positions. The default (0)
	// counts the windows alone.
	Batch int64
	// Devices is the most devices of one kind a machine has; the plan
	// looks for the fewest that hold the offloaded part. The default (0)
	// is 1.
	Devices int64
}

// MaxPlanDevices bounds [PlanOptions.Devices].
const MaxPlanDevices = 1024

// Placement is what one memory holds: a device's share of the offloaded
// layers, or the host's part.
type Placement struct {
	// FirstLayer and LastLayer are the decoder layers held, inclusive;
	// both -1 when Layers is 0.
	FirstLayer int64 `json:"first_layer"`
	LastLayer  int64 `json:"last_layer"`
	Layers     int64 `json:"layers"`
	// Input and Output say whether it holds the input (token embedding)
	// and output (final norm, lm_head) layers.
	Input       bool  `json:"input"`
	Output      bool  `json:"output"`
	WeightBytes int64 `json:"weight_bytes"`
	KVBytes     int64 `json:"kv_bytes"`
	Total       int64 `json:"total_bytes"`
	// Free is the memory left, capacity − Total; negative when it does
	// not fit. It is 0 for the host, whose capacity is not known.
	Free int64 `json:"free_bytes"`
}

// Fit is the plan on one kind of machine.
type Fit struct {
	Hardware Hardware `json:"hardware"`
	// Fits reports whether Devices devices hold the offloaded part;
	// Devices is then the fewest that do, else the most tried.
	Fits    bool  `json:"fits"`
	Devices int64 `json:"devices"`
	// Split is each device's share, layers split as llama.cpp's default
	// layer split does for equal devices.
	Split []Placement `json:"split"`
	// MinFree is the least Free of the devices.
	MinFree int64 `json:"min_free_bytes"`
}

// PlanSchemaVersion is the version of [Plan]'s JSON Schema: bumped
// whenever the plan's JSON shape changes.
const PlanSchemaVersion = 1

// Plan is the memory a llama.cpp-style run of a model needs and where it
// goes: the host's part, the offloaded part, and whether the offloaded
// part fits on each machine.
type Plan struct {
	// SchemaVersion names the JSON Schema the plan's JSON follows
	// (schema/plan.vN.json); Source is the checkpoint planned, set by the
	// caller.
	SchemaVersion int    `json:"schema_version"`
	Source        string `json:"source"`
	Layers        int64  `json:"layers"`
	MaxCtx        int64  `json:"max_ctx"`
	Ctx           int64  `json:"ctx"`
	Parallel      int64  `json:"parallel"`
	CacheK        string `json:"cache_type_k"`
	CacheV        string `json:"cache_type_v"`
	GPULayers     int64  `json:"gpu_layers"`
	WeightBytes   int64  `json:"weight_bytes"`
	// Batch is the micro-batch a sliding layer's cache makes room for.
	Batch int64 `json:"batch"`
	// KV is the whole cache; KVPerSequence one sequence's.
	KV            KVSize `json:"kv"`
	KVPerSequence KVSize `json:"kv_per_sequence"`
	// TotalBytes is WeightBytes + KV.Total.
	TotalBytes int64 `json:"total_bytes"`
	// Host is what stays in host memory: the input layer, the layers not
	// offloaded and their KV cache (llama.cpp keeps a layer's cache on
	// its device).
	Host Placement `json:"host"`
	// Offloaded is what the devices hold together.
	Offloaded Placement `json:"offloaded"`
	Machines  []Fit     `json:"machines"`
	// Notes say where the plan approximates.
	Notes []string `json:"notes,omitempty"`

	basis *planBasis // what NewPlan made it from, for AtContext; nil when decoded
}

// planBasis is what a plan was made from.
type planBasis struct {
	spec     arch.Spec
	w        LayerWeights
	o        PlanOptions
	machines []Hardware
}

// Basis reports whether p was made by [NewPlan] (rather than decoded from
// JSON), so that [Plan.AtContext] can plan its run again.
func (p *Plan) Basis() bool { return p.basis != nil }

// MaxDevices is the most devices per machine the plan tried
// ([PlanOptions.Devices]); 0 for a plan decoded from JSON, which does
// not say.
func (p *Plan) MaxDevices() int64 {
	if p.basis == nil {
		return 0
	}
	return max(p.basis.o.Devices, 1)
}

// AtContext returns the plan of the same run (model, weights, options,
// machines; the same Source) at context ctx instead of p.Ctx. It fails
// like [NewPlan], and with [ErrCostInput] for a plan decoded from JSON,
// which does not hold its model.
func (p *Plan) AtContext(ctx int64) (*Plan, error) {
	if p.basis == nil {
		return nil, fmt.Errorf("%w: the plan holds no model (decoded from JSON?): it cannot be planned at another context", ErrCostInput)
	}
	o := p.basis.o
	o.Ctx = ctx
	q, err := NewPlan(p.basis.spec, p.basis.w, o, p.basis.machines)
	if err != nil {
		return nil, err
	}
	q.Source = p.Source
	return q, nil
}

// NewPlan returns the memory plan of spec with weights w for run o on
// each of machines. Activations and the runtime's compute buffers are not
// counted. It fails with [ErrCostInput] when o is out of range: a Ctx
// above [MaxContext] (the error names the maximum), Parallel or Devices
// negative or above their bounds, an unknown cache type, weights for
// another number of layers; with [arch.ErrNotApplicable] for a spec
// without a KV cache model; and with [ErrCostOverflow] when a size does
// not fit in an int64.
func NewPlan(spec arch.Spec, w LayerWeights, o PlanOptions, machines []Hardware) (*Plan, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	L := spec.Dims().Layers
	if int64(len(w.Layers)) != L {
		return nil, fmt.Errorf("%w: weights of %d layers for a model of %d", ErrCostInput, len(w.Layers), L)
	}
	p := &Plan{SchemaVersion: PlanSchemaVersion, Layers: L, MaxCtx: MaxContext(spec), Ctx: o.Ctx, Parallel: max(o.Parallel, 1), Batch: o.Batch, CacheK: o.CacheK, CacheV: o.CacheV}
	if p.CacheK == "" {
		p.CacheK = "f16"
	}
	if p.CacheV == "" {
		p.CacheV = "f16"
	}
	if p.Ctx == 0 {
		p.Ctx = p.MaxCtx
	}
	devices := max(o.Devices, 1)
	switch {
	case p.Ctx < 1 && p.MaxCtx == 0:
		return nil, fmt.Errorf("%w: the config gives no maximum context: give a context of at least 1", ErrCostInput)
	case p.Ctx < 1:
		return nil, fmt.Errorf("%w: context %d, want 1 to %d", ErrCostInput, p.Ctx, p.MaxCtx)
	case p.MaxCtx > 0 && p.Ctx > p.MaxCtx:
		return nil, fmt.Errorf("%w: context %d exceeds the model's maximum %d (max_position_embeddings)", ErrCostInput, p.Ctx, p.MaxCtx)
	case o.Parallel < 0 || o.Parallel > 1<<16:
		return nil, fmt.Errorf("%w: %d parallel sequences, want 1 to %d", ErrCostInput, o.Parallel, 1<<16)
	case o.Batch < 0 || o.Batch > 1<<20:
		return nil, fmt.Errorf("%w: micro-batch %d, want 0 to %d", ErrCostInput, o.Batch, 1<<20)
	case o.Devices < 0 || o.Devices > MaxPlanDevices:
		return nil, fmt.Errorf("%w: %d devices, want 1 to %d", ErrCostInput, o.Devices, MaxPlanDevices)
	}
	var b bound
	one, _, err := LayerKV(spec, p.Ctx, 1, o.Batch, p.CacheK, p.CacheV)
	if err != nil {
		return nil, err
	}
	for _, l := range one {
		p.KVPerSequence = p.KVPerSequence.plus(l, &b)
	}
	kv, exact, err := LayerKV(spec, p.Ctx, p.Parallel, o.Batch, p.CacheK, p.CacheV)
	if err != nil {
		return nil, err
	}
	// The whole cache and one sequence's, as the layers hold them.
	p.KV = KVSize{}
	for _, l := range kv {
		p.KV = p.KV.plus(l, &b)
	}
	if p.Parallel == 1 {
		p.KVPerSequence = p.KV
	}
	if !exact {
		p.Notes = append(p.Notes, "the family does not say which layers slide: each device's KV cache is its share of layers times the average layer's")
	}
	p.WeightBytes = w.Total()
	p.TotalBytes = b.add(p.WeightBytes, p.KV.Total)

	// llama.cpp (llama-model.cpp, load_tensors): i_gpu_start = max(L −
	// ngl, 0), act_gpu_layers = min(ngl, L + 1); layer il (the output
	// layer is il = L) is offloaded when i_gpu_start ≤ il and il −
	// i_gpu_start < act_gpu_layers.
	ngl := o.GPULayers
	if ngl < 0 || ngl > L+1 {
		ngl = L + 1
	}
	p.GPULayers = ngl
	start := max(L-ngl, 0)
	act := min(ngl, L+1)
	p.Host = placement(w, kv, 0, start, false, &b)
	p.Host.Input = true
	p.Host.WeightBytes = b.add(p.Host.WeightBytes, w.Input)
	outputOnGPU := L-start < act
	if !outputOnGPU {
		p.Host.Output = true
		p.Host.WeightBytes = b.add(p.Host.WeightBytes, w.Output)
	}
	p.Host.Total = b.add(p.Host.WeightBytes, p.Host.KVBytes)
	p.Offloaded = placement(w, kv, start, L, outputOnGPU, &b)

	for _, hw := range machines {
		f := Fit{Hardware: hw}
		for n := int64(1); n <= devices; n++ {
			f.Devices, f.Split = n, splitLayers(w, kv, start, act, L, n, hw.MemoryBytes, &b)
			f.Fits, f.MinFree = true, 0
			for i, d := range f.Split {
				if i == 0 || d.Free < f.MinFree {
					f.MinFree = d.Free
				}
				f.Fits = f.Fits && d.Free >= 0
			}
			if f.Fits {
				break
			}
		}
		p.Machines = append(p.Machines, f)
	}
	if b.overflow {
		return nil, fmt.Errorf("%w: memory plan", ErrCostOverflow)
	}
	p.basis = &planBasis{spec: spec, w: w, o: o, machines: machines}
	return p, nil
}

// placement returns the weights and KV cache of layers [from, to), and of
// the output layer when output.
func placement(w LayerWeights, kv []KVSize, from, to int64, output bool, b *bound) Placement {
	p := Placement{FirstLayer: -1, LastLayer: -1}
	for i := from; i < to; i++ {
		if p.Layers == 0 {
			p.FirstLayer = i
		}
		p.LastLayer, p.Layers = i, p.Layers+1
		p.WeightBytes = b.add(p.WeightBytes, w.Layers[i])
		p.KVBytes = b.add(p.KVBytes, kv[i].Total)
	}
	if output {
		p.Output = true
		p.WeightBytes = b.add(p.WeightBytes, w.Output)
	}
	p.Total = b.add(p.WeightBytes, p.KVBytes)
	return p
}

// splitLayers splits the offloaded layers start … L (L being the output
// layer) over n equal devices of capacity bytes each as llama.cpp's
// layer split does: the split points are the cumulative shares of the
// devices (i+1)/n when every device has the same free memory, and layer
// il goes to the first device whose split point exceeds (il −
// start)/act (std::upper_bound), that is device ⌊(il − start)·n/act⌋.
func splitLayers(w LayerWeights, kv []KVSize, start, act, L, n, capacity int64, b *bound) []Placement {
	if act == 0 {
		return []Placement{{FirstLayer: -1, LastLayer: -1, Free: capacity}}
	}
	out := make([]Placement, n)
	lo := start
	for d := range n {
		hi := lo
		for hi <= L && hi-start < act && (hi-start)*n/act == d {
			hi++
		}
		output := hi > L // the output layer, il = L, went to this device
		p := placement(w, kv, lo, min(hi, L), output, b)
		p.Free = capacity - p.Total
		out[d] = p
		lo = hi
	}
	return out
}

package cost

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/internal/checked"
)

// Category sentinels of the cost model. Test with [errors.Is].
var (
	// ErrCostInput means an input of the cost model is out of range: a
	// config dimension that is zero or negative where a formula needs it
	// positive, more layers than the cost model's limit (4096), top-k
	// outside [1, num_experts], a context or batch below 1, an unknown KV
	// cache type, a head_dim or tensor row that is not a multiple of the
	// chosen type's block size, the zero Quantization, or a hardware figure
	// that is not a positive finite number.
	ErrCostInput = errors.New("invalid cost model input")

	// ErrCostOverflow means a parameter, byte or FLOP count of the cost
	// model does not fit in an int64.
	ErrCostOverflow = errors.New("cost model overflow")
)

// checkSpec reports whether spec can be fed to the cost model. A spec
// validated its dimensions when it was made (see [arch.ErrConfig]), so
// only its absence is left to refuse.
func checkSpec(spec arch.Spec) error {
	if spec == nil {
		return fmt.Errorf("%w: no architecture", ErrCostInput)
	}
	return nil
}

// bound accumulates checked arithmetic, remembering any overflow.
type bound struct{ overflow bool }

func (b *bound) mul(xs ...int64) int64 {
	p := int64(1)
	for _, x := range xs {
		n, ok := checked.Mul(p, x)
		if !ok {
			b.overflow = true
			return 0
		}
		p = n
	}
	return p
}

func (b *bound) add(xs ...int64) int64 {
	var s int64
	for _, x := range xs {
		n, ok := checked.Add(s, x)
		if !ok {
			b.overflow = true
			return 0
		}
		s = n
	}
	return s
}

// WeightMemory is the predicted size of a model's weights under one
// quantization.
type WeightMemory struct {
	// Quant is the quantization's name: a ggml type name ("Q4_K") or
	// "Q4_K_M".
	Quant string `json:"quant"`
	// Bytes is the tensor data size, 0 when Err is set.
	Bytes int64 `json:"bytes"`
	// Err says why the quantization cannot store the model, e.g. a row
	// length that is not a multiple of its block size; it wraps
	// [ErrCostInput] or [ErrCostOverflow].
	Err error `json:"-"`
}

// PredictWeights returns the tensor data bytes of spec's GGUF layout under
// quantization q: the sum over spec.Expected(checkpoint.FormatGGUF) of
// q.TypeOf(L, e).Bytes(e.Shape), so that type sizes come only from
// ggml's type table in package gguf. Headers, metadata and alignment
// padding are not counted. Weights count all experts, as the seed's
// memory_breakdown requires (all experts resident).
//
// It fails with [ErrCostInput] for an invalid config (see [ErrCostInput]),
// the zero Quantization, or a tensor q cannot store (the error names the
// tensor and wraps gguf.ErrInvalid), and with [ErrCostOverflow] when the
// sum does not fit in an int64.
func PredictWeights(spec arch.Spec, q Quantization) (int64, error) {
	return predictBytes(spec, q, func(arch.Expected) bool { return true })
}

// PredictExpertWeights returns the part of [PredictWeights] taken by the
// routed experts' tensors (ffn_gate_exps, ffn_up_exps, ffn_down_exps): the
// bytes of which a decode step reads only the routed share. It is 0 for a
// dense model and fails like PredictWeights.
func PredictExpertWeights(spec arch.Spec, q Quantization) (int64, error) {
	return predictBytes(spec, q, func(e arch.Expected) bool { return e.Component.Expert() })
}

func predictBytes(spec arch.Spec, q Quantization, keep func(arch.Expected) bool) (int64, error) {
	if err := checkSpec(spec); err != nil {
		return 0, err
	}
	return sumBytes(int(spec.Dims().Layers), spec.Expected(checkpoint.FormatGGUF), q, keep)
}

// sumBytes adds up the bytes of the entries of exp that keep accepts, typed
// by q.
func sumBytes(layers int, exp []arch.Expected, q Quantization, keep func(arch.Expected) bool) (int64, error) {
	if q.typeOf == nil {
		return 0, fmt.Errorf("%w: zero Quantization", ErrCostInput)
	}
	type key struct {
		t    gguf.Type
		n    int
		dims [4]int64
	}
	memo := map[key]int64{} // one model repeats a few shapes thousands of times
	var total int64
	for _, e := range exp {
		if !keep(e) {
			continue
		}
		t := q.TypeOf(layers, e)
		k := key{t: t, n: len(e.Shape)}
		copy(k.dims[:], e.Shape)
		n, ok := memo[k]
		if !ok || len(e.Shape) > len(k.dims) {
			var err error
			n, err = t.Bytes(e.Shape)
			if err != nil {
				cat := ErrCostInput
				if errors.Is(err, gguf.ErrOverflow) {
					cat = ErrCostOverflow
				}
				return 0, fmt.Errorf("%w: quantization %s: tensor %q: %w", cat, q.Name, e.Name, err)
			}
			memo[k] = n
		}
		s, ok := checked.Add(total, n)
		if !ok {
			return 0, fmt.Errorf("%w: quantization %s: weight bytes at tensor %q", ErrCostOverflow, q.Name, e.Name)
		}
		total = s
	}
	return total, nil
}

// WeightTable returns [PredictWeights] of spec for F32, F16, BF16, Q8_0,
// Q6_K, Q5_K, Q4_K, Q4_0 and the stock Q4_K_M mixture, in that order; norms
// and the router stay F32 under every uniform type ([Uniform]). A
// quantization that cannot store the model (say a K-quant when hidden_size
// is not a multiple of 256) gets its row's Err set rather than failing the
// table. The error is for a config the cost model rejects.
func WeightTable(spec arch.Spec) ([]WeightMemory, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	layers := int(spec.Dims().Layers)
	quants := []Quantization{
		Uniform(gguf.TypeF32), Uniform(gguf.TypeF16), Uniform(gguf.TypeBF16),
		Uniform(gguf.TypeQ8_0), Uniform(gguf.TypeQ6_K), Uniform(gguf.TypeQ5_K),
		Uniform(gguf.TypeQ4_K), Uniform(gguf.TypeQ4_0), Q4KM,
	}
	// Group the tensors that every quantization here types alike: same
	// component and shape, and the same Q4_K_M type (the only one that
	// varies by layer). Each row then sums a few groups, not every tensor.
	type key struct {
		comp arch.Component
		n    int
		dims [4]int64
		t    gguf.Type
	}
	var reps []arch.Expected
	var counts []int64
	index := map[key]int{}
	for _, e := range spec.Expected(checkpoint.FormatGGUF) {
		k := key{comp: e.Component, n: len(e.Shape), t: Q4KM.TypeOf(layers, e)}
		copy(k.dims[:], e.Shape)
		i, ok := index[k]
		if !ok || len(e.Shape) > len(k.dims) {
			i = len(reps)
			index[k] = i
			reps = append(reps, e)
			counts = append(counts, 0)
		}
		counts[i]++
	}
	rows := make([]WeightMemory, 0, len(quants))
	for _, q := range quants {
		n, err := sumGroups(layers, reps, counts, q)
		rows = append(rows, WeightMemory{Quant: q.Name, Bytes: n, Err: err})
	}
	return rows, nil
}

// sumGroups adds up counts[i] tensors like reps[i], typed by q.
func sumGroups(layers int, reps []arch.Expected, counts []int64, q Quantization) (int64, error) {
	var total int64
	for i, e := range reps {
		n, err := q.TypeOf(layers, e).Bytes(e.Shape)
		if err != nil {
			cat := ErrCostInput
			if errors.Is(err, gguf.ErrOverflow) {
				cat = ErrCostOverflow
			}
			return 0, fmt.Errorf("%w: quantization %s: tensor %q: %w", cat, q.Name, e.Name, err)
		}
		m, ok1 := checked.Mul(n, counts[i])
		s, ok2 := checked.Add(total, m)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("%w: quantization %s: weight bytes at tensor %q", ErrCostOverflow, q.Name, e.Name)
		}
		total = s
	}
	return total, nil
}

// kvTypes are the KV cache types llama.cpp accepts (--cache-type-k/-v),
// in the order [KVTypes] lists them.
var kvTypes = []gguf.Type{
	gguf.TypeF16, gguf.TypeBF16, gguf.TypeF32, gguf.TypeQ8_0, gguf.TypeQ4_0,
	gguf.TypeQ4_1, gguf.TypeIQ4_NL, gguf.TypeQ5_0, gguf.TypeQ5_1,
}

// KVTypes returns the names [KVCacheBytes] accepts, in lower case: f16,
// bf16, f32, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1 (llama.cpp's cache types).
func KVTypes() []string {
	names := make([]string, len(kvTypes))
	for i, t := range kvTypes {
		names[i] = lower(t)
	}
	return names
}

// lower returns t's name as llama.cpp's --cache-type flags spell it.
func lower(t gguf.Type) string { return strings.ToLower(t.String()) }

// ParseKVType returns the ggml type of a KV cache type name (see
// [KVTypes]; case is ignored), or an error wrapping [ErrCostInput].
func ParseKVType(name string) (gguf.Type, error) {
	if t, ok := gguf.ParseType(name); ok {
		for _, k := range kvTypes {
			if t == k {
				return t, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: KV cache type %q, want one of %s", ErrCostInput, name, strings.Join(KVTypes(), ", "))
}

// KVCacheBytes returns the size of the KV cache of batch sequences of ctx
// tokens each, stored as kvType (see [KVTypes]; case is ignored): for
// every part of the cache the spec's [arch.Coster] lists,
//
//	KV = Σ rows · min(ctx, window) · batch · rowBytes(width)
//	rowBytes(width) = (width / BlockSize) · TypeSize
//
// which for a Qwen3 decoder (rows 2·L·n_kv of width d_k, no window) is the
// seed's 2 · L · n_kv · d_k · seq · bytes per element, with the bytes of a
// quantized type taken exactly from ggml's type table (2 for f16 and bf16,
// 4 for f32, 34 per 32 elements for q8_0, 18 per 32 for q4_0). Without a
// window it is exactly linear in ctx and in batch.
//
// It fails with [arch.ErrNotApplicable] for a spec without an [arch.Coster], with
// [ErrCostInput] for an unknown kvType, ctx or batch below 1, or a row
// width that is not a multiple of kvType's block size, and with
// [ErrCostOverflow] when the size does not fit in an int64.
func KVCacheBytes(spec arch.Spec, ctx, batch int64, kvType string) (int64, error) {
	s, err := KVCacheSplit(spec, ctx, batch, kvType, kvType)
	return s.Total, err
}

// ActivationBytes returns the seed's bound on the activations,
// batch · seq · d float32 values. It returns 0 for a nil spec, ctx < 1 or
// batch < 1, and saturates at math.MaxInt64.
func ActivationBytes(spec arch.Spec, ctx, batch int64) int64 {
	if spec == nil || ctx < 1 || batch < 1 {
		return 0
	}
	return checked.SatMul(batch, ctx, spec.Dims().Hidden, 4)
}

// FLOPs is the compute of one token's forward pass.
type FLOPs struct {
	// Dense is 2·A, two FLOPs (a multiply and an add) per active parameter
	// ([Prediction.Active]): the seed's F ≈ 2A. As in the seed's count, the
	// embedding and the router are included.
	Dense int64 `json:"dense"`
	// Attention is 2·2·L·n_h·d_k·ctx: per layer and query head, q·Kᵀ over
	// ctx keys and the weighted sum over ctx values, d_k multiply-adds each.
	Attention int64 `json:"attention"`
	// Total is Dense + Attention.
	Total int64 `json:"total"`
}

// FLOPsPerToken returns the FLOPs of one token at context ctx (the number
// of positions it attends to, itself included):
//
//	Total = 2·A + attention(ctx)
//
// with A the active parameters of the spec's prediction and the attention
// term its [arch.Coster] gives (4·L·n_h·d_k·ctx for Qwen3, DESIGN.md's
// FALSIFY-QM3E-003). ctx ≤ 0 gives Attention 0. Counts that do not fit in
// an int64 saturate at math.MaxInt64. A nil spec gives the zero FLOPs; a
// spec without a Coster gives Attention 0 and ok false.
func FLOPsPerToken(spec arch.Spec, ctx int64) (f FLOPs, ok bool) {
	if spec == nil {
		return FLOPs{}, false
	}
	f.Dense = checked.SatMul(2, spec.Predict().Active)
	c, ok := spec.(arch.Coster)
	if ok && ctx > 0 {
		f.Attention = c.AttentionFLOPs(ctx)
	}
	f.Total = checked.SatAdd(f.Dense, f.Attention)
	return f, ok
}

// Traffic is a model of the weight bytes one decode step reads.
type Traffic int

// The traffic models of the roofline.
const (
	// TrafficAllWeights reads every weight byte once per decode step, shared
	// by the batch: the seed's conservative throughput_model ("must load
	// ALL weights").
	TrafficAllWeights Traffic = iota
	// TrafficActiveWeights reads the non-expert weights plus the experts
	// the step's tokens are routed to: k of E per layer at batch 1, and
	// E·(1 − (1 − k/E)^B) expected distinct experts for B tokens under
	// uniform routing.
	TrafficActiveWeights
)

// String returns "all-weights" or "active-weights", or "Traffic(N)" for an
// unknown value.
func (t Traffic) String() string {
	switch t {
	case TrafficAllWeights:
		return "all-weights"
	case TrafficActiveWeights:
		return "active-weights"
	}
	return fmt.Sprintf("Traffic(%d)", int(t))
}

// MarshalText returns [Traffic.String], and an error for an unknown value.
func (t Traffic) MarshalText() ([]byte, error) {
	if t != TrafficAllWeights && t != TrafficActiveWeights {
		return nil, fmt.Errorf("%w: %v", ErrCostInput, t)
	}
	return []byte(t.String()), nil
}

// What bounds a [Roofline], its Bound field.
const (
	// BoundMemory means reading the step's bytes takes at least as long as
	// its FLOPs.
	BoundMemory = "memory"
	// BoundCompute means the step's FLOPs take longer than its reads.
	BoundCompute = "compute"
)

// RooflineInput is what [RooflineFor] needs: a machine, a traffic model,
// and the model's sizes. [PredictRooflineInput] fills it from a config; a
// caller with an inventory fills the byte counts from the files.
type RooflineInput struct {
	Hardware Hardware
	Traffic  Traffic
	// Batch is the number of sequences decoded together, one token each
	// per step; at least 1.
	Batch int64
	// WeightBytes is the size of all weights; positive.
	WeightBytes int64
	// ExpertBytes is the part of WeightBytes held by routed experts; 0 for
	// a dense model.
	ExpertBytes int64
	// Experts and ExpertsUsed are E and k of the routing. They matter only
	// for TrafficActiveWeights with ExpertBytes > 0, where 1 ≤ k ≤ E.
	Experts, ExpertsUsed int64
	// FLOPsPerToken is the compute of one token, [FLOPs].Total; positive.
	FLOPsPerToken int64
	// KVBytes is the KV cache of the whole batch at its context
	// ([KVCacheBytes] with this Batch), read once per step; 0 leaves the
	// cache out.
	KVBytes int64
}

// Roofline is the decode throughput of one model on one machine.
type Roofline struct {
	Hardware Hardware `json:"hardware"`
	Traffic  Traffic  `json:"traffic"`
	Batch    int64    `json:"batch"`
	// WeightBytesPerStep is the weight bytes one decode step reads under
	// Traffic.
	WeightBytesPerStep float64 `json:"weight_bytes_per_step"`
	// BytesPerStep is WeightBytesPerStep plus the KV cache read.
	BytesPerStep float64 `json:"bytes_per_step"`
	// FLOPsPerStep is Batch · FLOPs per token.
	FLOPsPerStep float64 `json:"flops_per_step"`
	// TokensPerSecond is the batch's tokens per second,
	// Batch / max(BytesPerStep/Bandwidth, FLOPsPerStep/Compute).
	TokensPerSecond float64 `json:"tokens_per_second"`
	// Bound is BoundMemory when the memory time is at least the compute
	// time, else BoundCompute.
	Bound string `json:"bound"`
	// Fits reports whether WeightBytes + KVBytes fit in the machine's
	// memory (Hardware.MemoryBytes), activations and runtime overhead
	// aside; false when MemoryBytes is 0.
	Fits bool `json:"fits"`
}

// RooflineFor returns the roofline throughput of in, the seed's
// throughput_model tok/s = min(bandwidth / bytes_per_token, compute /
// flops_per_token) for a batch of B sequences decoded in lockstep:
//
//	W      = WeightBytes                                    (TrafficAllWeights)
//	W      = (WeightBytes − ExpertBytes) + ExpertBytes · u  (TrafficActiveWeights)
//	u      = 1 − (1 − k/E)^B, the expected share of a layer's E experts that
//	         B tokens routed top-k uniformly touch (k/E at B = 1)
//	bytes  = W + KVBytes
//	flops  = B · FLOPsPerToken
//	tok/s  = B / max(bytes / Bandwidth, flops / Compute)
//	       = min(B · Bandwidth / bytes, Compute / FLOPsPerToken)
//
// Under TrafficActiveWeights the embedding counts in full, as the seed's
// active count does, though a step reads only B of its rows. tok/s is
// non-decreasing in Bandwidth and in Compute.
//
// It fails with [ErrCostInput] when Bandwidth or Compute is not a positive
// finite number, Batch < 1, WeightBytes or FLOPsPerToken ≤ 0, ExpertBytes
// or KVBytes is negative or ExpertBytes > WeightBytes, k is outside
// [1, E] where it matters, or Traffic is unknown.
func RooflineFor(in RooflineInput) (Roofline, error) {
	hw := in.Hardware
	positive := func(x float64) bool { return x > 0 && !math.IsInf(x, 1) }
	switch {
	case !positive(hw.Bandwidth):
		return Roofline{}, fmt.Errorf("%w: hardware %q: bandwidth %v, want a positive finite number of bytes/s", ErrCostInput, hw.Name, hw.Bandwidth)
	case !positive(hw.Compute):
		return Roofline{}, fmt.Errorf("%w: hardware %q: compute %v, want a positive finite number of FLOP/s", ErrCostInput, hw.Name, hw.Compute)
	case in.Traffic != TrafficAllWeights && in.Traffic != TrafficActiveWeights:
		return Roofline{}, fmt.Errorf("%w: %v", ErrCostInput, in.Traffic)
	case in.Batch < 1:
		return Roofline{}, fmt.Errorf("%w: batch %d, want ≥ 1", ErrCostInput, in.Batch)
	case in.WeightBytes <= 0:
		return Roofline{}, fmt.Errorf("%w: weight bytes %d, want > 0", ErrCostInput, in.WeightBytes)
	case in.ExpertBytes < 0 || in.ExpertBytes > in.WeightBytes:
		return Roofline{}, fmt.Errorf("%w: expert bytes %d, want 0 to the weight bytes %d", ErrCostInput, in.ExpertBytes, in.WeightBytes)
	case in.FLOPsPerToken <= 0:
		return Roofline{}, fmt.Errorf("%w: FLOPs per token %d, want > 0", ErrCostInput, in.FLOPsPerToken)
	case in.KVBytes < 0:
		return Roofline{}, fmt.Errorf("%w: KV cache bytes %d, want ≥ 0", ErrCostInput, in.KVBytes)
	}
	w := float64(in.WeightBytes)
	if in.Traffic == TrafficActiveWeights && in.ExpertBytes > 0 {
		e, k := in.Experts, in.ExpertsUsed
		if e < 1 || k < 1 || k > e {
			return Roofline{}, fmt.Errorf("%w: %d of %d experts per token, want 1 ≤ k ≤ E", ErrCostInput, k, e)
		}
		w = float64(in.WeightBytes-in.ExpertBytes) + float64(in.ExpertBytes)*touchedShare(e, k, in.Batch)
	}
	r := Roofline{
		Hardware:           hw,
		Traffic:            in.Traffic,
		Batch:              in.Batch,
		WeightBytesPerStep: w,
		BytesPerStep:       w + float64(in.KVBytes),
		FLOPsPerStep:       float64(in.Batch) * float64(in.FLOPsPerToken),
	}
	tMem, tCompute := r.BytesPerStep/hw.Bandwidth, r.FLOPsPerStep/hw.Compute
	r.Bound = BoundMemory
	if tCompute > tMem {
		r.Bound = BoundCompute
	}
	r.TokensPerSecond = float64(in.Batch) / max(tMem, tCompute)
	if need, ok := checked.Add(in.WeightBytes, in.KVBytes); ok && hw.MemoryBytes > 0 {
		r.Fits = need <= hw.MemoryBytes
	}
	return r, nil
}

// touchedShare returns 1 − (1 − k/e)^b, the expected fraction of e experts
// that b tokens each routed to k distinct experts, uniformly, touch. It is
// computed as −expm1(b·log1p(−k/e)) to stay exact for small k/e.
func touchedShare(e, k, b int64) float64 {
	if k >= e {
		return 1
	}
	return -math.Expm1(float64(b) * math.Log1p(-float64(k)/float64(e)))
}

// PredictRooflineInput fills a [RooflineInput] (all but Hardware and
// Traffic) for spec's GGUF layout under q, decoding batch sequences at
// context ctx with a kvType KV cache: WeightBytes from [PredictWeights],
// ExpertBytes from [PredictExpertWeights], E and k from the spec's dimensions,
// FLOPsPerToken from [FLOPsPerToken] and KVBytes from [KVCacheBytes]. It
// fails like those.
func PredictRooflineInput(spec arch.Spec, q Quantization, ctx, batch int64, kvType string) (RooflineInput, error) {
	w, err := PredictWeights(spec, q)
	if err != nil {
		return RooflineInput{}, err
	}
	ex, err := PredictExpertWeights(spec, q)
	if err != nil {
		return RooflineInput{}, err
	}
	kv, err := KVCacheBytes(spec, ctx, batch, kvType)
	if err != nil {
		return RooflineInput{}, err
	}
	f, _ := FLOPsPerToken(spec, ctx)
	dims := spec.Dims()
	return RooflineInput{
		Batch:         batch,
		WeightBytes:   w,
		ExpertBytes:   ex,
		Experts:       dims.Experts,
		ExpertsUsed:   dims.ExpertsUsed,
		FLOPsPerToken: f.Total,
		KVBytes:       kv,
	}, nil
}

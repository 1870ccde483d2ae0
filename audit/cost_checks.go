package audit

import (
	"fmt"
	"math"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/internal/checked"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// MemoryJSON is the memory estimate: weights (from the files, and predicted
// for other quantizations), the KV cache at the report's context and batch
// per cache type, and the activations' bound.
type MemoryJSON struct {
	WeightsBytes     int64               `json:"weights_bytes"`
	WeightsByQuant   []cost.WeightMemory `json:"weights_by_quant"`
	Ctx              int64               `json:"ctx"`
	Batch            int64               `json:"batch"`
	KVType           string              `json:"kv_type"`
	KVCacheBytes     int64               `json:"kv_cache_bytes"`
	KVCacheByType    map[string]int64    `json:"kv_cache_by_type"`
	ActivationsBytes int64               `json:"activations_bytes"`
	TotalBytes       int64               `json:"total_bytes"`
}

// FLOPsJSON is the compute per token at the report's context.
type FLOPsJSON struct {
	Ctx      int64      `json:"ctx"`
	PerToken cost.FLOPs `json:"per_token"`
}

// ThroughputJSON is one roofline estimate.
type ThroughputJSON = cost.Roofline

// costChecks fills the memory, FLOPs and throughput sections and runs
// obligations 3, 4 and 5 (FALSIFY-QM3E-003, -004 and -005).
func (r *Report) costChecks(spec arch.Spec, tl *roleSums, opts Options, shapes arch.Shapes) {
	dims := spec.Dims()
	weightBytes, expertBytes := tl.weightBytes, tl.expertBytes

	// Memory.
	m := MemoryJSON{WeightsBytes: weightBytes, Ctx: opts.Ctx, Batch: opts.Batch, KVType: opts.KVType, KVCacheByType: map[string]int64{}}
	table, tableErr := cost.WeightTable(spec)
	m.WeightsByQuant = table
	for _, kt := range []string{"f16", "bf16", "q8_0", "q4_0"} {
		if n, err := cost.KVCacheBytes(spec, opts.Ctx, opts.Batch, kt); err == nil {
			m.KVCacheByType[kt] = n
		}
	}
	kv, kvErr := cost.KVCacheBytes(spec, opts.Ctx, opts.Batch, opts.KVType)
	m.KVCacheBytes = kv
	m.ActivationsBytes = cost.ActivationBytes(spec, opts.Ctx, opts.Batch)
	m.TotalBytes = checked.SatAdd(weightBytes, kv, m.ActivationsBytes)
	r.Memory = m

	f, costed := cost.FLOPsPerToken(spec, opts.Ctx)
	r.FLOPs = FLOPsJSON{Ctx: opts.Ctx, PerToken: f}
	flopsCheck := Check{ID: r.ob.FLOPs, Title: "FLOPs per token = 2A + attention", Level: "arithmetic"}
	if costed {
		r.flopsCheck(flopsCheck, f, opts.Ctx, shapes)
	} else {
		r.skip(flopsCheck, "the architecture gives no attention cost model")
	}

	// Obligation 4 (FALSIFY-QM3E-004): M(Q4_K) < M(Q6_K) < M(F16) < M(F32).
	var mf []Finding
	order := []string{"Q4_K", "Q6_K", "F16", "F32"}
	bytesOf := map[string]int64{}
	for _, w := range table {
		if w.Err == nil {
			bytesOf[w.Quant] = w.Bytes
		}
	}
	if tableErr != nil {
		mf = append(mf, Finding{Check: r.ob.Memory, Message: tableErr.Error()})
	}
	for i, q := range order {
		if _, ok := bytesOf[q]; !ok {
			mf = append(mf, Finding{Check: r.ob.Memory, Message: fmt.Sprintf("no %s size: this model's rows do not fit its blocks", q)})
			continue
		}
		if i > 0 && bytesOf[order[i-1]] >= bytesOf[q] {
			mf = append(mf, Finding{Check: r.ob.Memory, Message: fmt.Sprintf("M(%s) = %s is not below M(%s) = %s", order[i-1], textfmt.Count(bytesOf[order[i-1]]), q, textfmt.Count(bytesOf[q]))})
		}
	}
	r.addCheck(Check{ID: r.ob.Memory, Title: "quantization memory ordering", Level: "arithmetic"}, mf,
		fmt.Sprintf("Q4_K %s < Q6_K %s < F16 %s < F32 %s", textfmt.Bytes(bytesOf["Q4_K"]), textfmt.Bytes(bytesOf["Q6_K"]), textfmt.Bytes(bytesOf["F16"]), textfmt.Bytes(bytesOf["F32"])))

	// Obligation 5 (FALSIFY-QM3E-005): tok/s = min(bandwidth/bytes,
	// compute/FLOPs), non-decreasing in bandwidth, for every machine and
	// both traffic models.
	rooflineCheck := Check{ID: r.ob.Roofline, Title: "roofline throughput, monotone in bandwidth", Level: "arithmetic"}
	if !costed {
		r.skip(rooflineCheck, "the architecture gives no KV cache or attention cost model")
		return
	}
	var rf []Finding
	if kvErr != nil {
		rf = append(rf, Finding{Check: r.ob.Roofline, Message: kvErr.Error()})
	}
	for _, hw := range opts.machines() {
		for _, traffic := range []cost.Traffic{cost.TrafficAllWeights, cost.TrafficActiveWeights} {
			in := cost.RooflineInput{Hardware: hw, Traffic: traffic, Batch: opts.Batch, WeightBytes: weightBytes, ExpertBytes: expertBytes,
				Experts: dims.Experts, ExpertsUsed: dims.ExpertsUsed, FLOPsPerToken: f.Total, KVBytes: kv}
			if dims.Experts == 0 {
				in.Experts, in.ExpertsUsed = 1, 1
			}
			rl, err := cost.RooflineFor(in)
			if err != nil {
				rf = append(rf, Finding{Check: r.ob.Roofline, Message: fmt.Sprintf("%s, %s: %v", hw.Name, traffic, err)})
				continue
			}
			r.Throughput = append(r.Throughput, rl)
			// The seed's formula, worked independently of RooflineFor.
			want := float64(opts.Batch) * math.Min(hw.Bandwidth/rl.BytesPerStep, hw.Compute/(float64(opts.Batch)*float64(f.Total)))
			if !(rl.TokensPerSecond > 0) || math.Abs(rl.TokensPerSecond-want) > 1e-9*want {
				rf = append(rf, Finding{Check: r.ob.Roofline, Message: fmt.Sprintf("%s, %s: %.6g tok/s, the roofline gives %.6g", hw.Name, traffic, rl.TokensPerSecond, want)})
			}
			prev := 0.0
			for _, scale := range []float64{0.125, 0.25, 0.5, 1, 2, 4, 8} {
				in.Hardware.Bandwidth = hw.Bandwidth * scale
				s, err := cost.RooflineFor(in)
				if err != nil || s.TokensPerSecond < prev {
					rf = append(rf, Finding{Check: r.ob.Roofline, Message: fmt.Sprintf("%s, %s: tok/s falls from %.6g to %.6g as bandwidth rises to %.3g B/s", hw.Name, traffic, prev, s.TokensPerSecond, in.Hardware.Bandwidth)})
					break
				}
				prev = s.TokensPerSecond
			}
		}
	}
	r.addCheck(rooflineCheck, rf,
		fmt.Sprintf("%d estimates (%d machine(s) × 2 traffic models), each min(bandwidth/bytes, compute/FLOPs) and non-decreasing in bandwidth", len(r.Throughput), len(r.Throughput)/2))
}

// flopsCheck runs obligation 3 (FALSIFY-QM3E-003): F = 2A + the attention
// term, with A the active parameters tallied from the files: a missing
// layer or expert shows as 2·A(files) ≠ 2·A(config).
func (r *Report) flopsCheck(c Check, f cost.FLOPs, ctx int64, shapes arch.Shapes) {
	measured := checked.SatAdd(checked.SatMul(2, r.Params.Active), f.Attention)
	var ff []Finding
	switch {
	case f.Total <= 0:
		ff = append(ff, Finding{Check: r.ob.FLOPs, Message: "the config gives no FLOP count"})
	case measured != f.Total:
		ff = append(ff, Finding{Check: r.ob.FLOPs, Message: fmt.Sprintf("2A from the files + attention = %s FLOPs, the config predicts %s: a layer or expert is missing or extra", textfmt.Count(measured), textfmt.Count(f.Total))})
	case f.Total < f.Dense:
		ff = append(ff, Finding{Check: r.ob.FLOPs, Message: "FLOPs per token fall below 2A"})
	}
	if shapes.Applicable && shapes.Blocks < shapes.Layers {
		ff = append(ff, Finding{Check: r.ob.FLOPs, Message: fmt.Sprintf("%d of %d layers are incomplete: their FLOPs cannot be counted", shapes.Layers-shapes.Blocks, shapes.Layers)})
	}
	c.Measured, c.Predicted = measured, f.Total
	r.addCheck(c, ff,
		fmt.Sprintf("%s FLOPs/token at ctx %d = 2A %s + attention %s", textfmt.Count(f.Total), ctx, textfmt.Count(f.Dense), textfmt.Count(f.Attention)))

}

// machines returns the machines to estimate for: the named presets (all
// by default) and a custom one when bandwidth and compute are given. Run
// has checked the names.
func (o Options) machines() []cost.Hardware {
	var out []cost.Hardware
	if len(o.Hardware) == 0 && !(o.Bandwidth > 0 && o.Compute > 0) {
		out = cost.HardwarePresets()
	}
	for _, n := range o.Hardware {
		if hw, ok := cost.LookupHardware(n); ok {
			out = append(out, hw)
		}
	}
	if o.Bandwidth > 0 && o.Compute > 0 {
		out = append(out, cost.Hardware{Name: "custom", Bandwidth: o.Bandwidth, Compute: o.Compute, Source: "--bandwidth and --compute"})
	}
	return out
}

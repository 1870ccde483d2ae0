package audit

import (
	"fmt"
	"math"

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

// costs is what the cost model gave for the report's sections, with the
// errors the obligations report.
type costs struct {
	costed     bool // the spec has an arch.Coster
	flops      cost.FLOPs
	tableErr   error    // the weight table
	kvErr      error    // the KV cache at the report's type
	rooflineEr []string // per machine and traffic model: why no estimate
}

// sections fills the report's memory, FLOPs and throughput sections from
// the cost model, keeping what went wrong for the obligations.
func (a *auditRun) sections() {
	r, opts, spec := a.report, a.opts, a.spec
	weightBytes := a.tl.weightBytes
	m := MemoryJSON{WeightsBytes: weightBytes, Ctx: opts.Ctx, Batch: opts.Batch, KVType: opts.KVType, KVCacheByType: map[string]int64{}}
	m.WeightsByQuant, a.costs.tableErr = cost.WeightTable(spec)
	for _, kt := range []string{"f16", "bf16", "q8_0", "q4_0"} {
		if n, err := cost.KVCacheBytes(spec, opts.Ctx, opts.Batch, kt); err == nil {
			m.KVCacheByType[kt] = n
		}
	}
	m.KVCacheBytes, a.costs.kvErr = cost.KVCacheBytes(spec, opts.Ctx, opts.Batch, opts.KVType)
	m.ActivationsBytes = cost.ActivationBytes(spec, opts.Ctx, opts.Batch)
	m.TotalBytes = checked.SatAdd(weightBytes, m.KVCacheBytes, m.ActivationsBytes)
	r.Memory = m

	a.costs.flops, a.costs.costed = cost.FLOPsPerToken(spec, opts.Ctx)
	r.FLOPs = FLOPsJSON{Ctx: opts.Ctx, PerToken: a.costs.flops}
	if !a.costs.costed {
		return
	}
	for _, hw := range opts.machines() {
		for _, traffic := range []cost.Traffic{cost.TrafficAllWeights, cost.TrafficActiveWeights} {
			rl, err := cost.RooflineFor(a.rooflineInput(hw, traffic))
			if err != nil {
				a.costs.rooflineEr = append(a.costs.rooflineEr, fmt.Sprintf("%s, %s: %v", hw.Name, traffic, err))
				continue
			}
			r.Throughput = append(r.Throughput, rl)
		}
	}
}

// rooflineInput is the roofline of the files' weights on hw.
func (a *auditRun) rooflineInput(hw cost.Hardware, traffic cost.Traffic) cost.RooflineInput {
	dims := a.spec.Dims()
	in := cost.RooflineInput{Hardware: hw, Traffic: traffic, Batch: a.opts.Batch, WeightBytes: a.tl.weightBytes, ExpertBytes: a.tl.expertBytes,
		Experts: dims.Experts, ExpertsUsed: dims.ExpertsUsed, FLOPsPerToken: a.costs.flops.Total, KVBytes: a.report.Memory.KVCacheBytes}
	if dims.Experts == 0 {
		in.Experts, in.ExpertsUsed = 1, 1
	}
	return in
}

// checkFLOPs is obligation 3 (FALSIFY-QM3E-003): F = 2A + the attention
// term, with A the active parameters tallied from the files: a missing
// layer or expert shows as 2·A(files) ≠ 2·A(config).
func checkFLOPs(a *auditRun, id string) outcome {
	if !a.costs.costed {
		return outcome{skip: "the architecture gives no attention cost model"}
	}
	f := a.costs.flops
	measured := checked.SatAdd(checked.SatMul(2, a.tl.active), f.Attention)
	var fs []Finding
	switch {
	case f.Total <= 0:
		fs = append(fs, Finding{Check: id, Message: "the config gives no FLOP count"})
	case measured != f.Total:
		fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("2A from the files + attention = %s FLOPs, the config predicts %s: a layer or expert is missing or extra", textfmt.Count(measured), textfmt.Count(f.Total))})
	case f.Total < f.Dense:
		fs = append(fs, Finding{Check: id, Message: "FLOPs per token fall below 2A"})
	}
	if sh := a.shapes; sh.Applicable && sh.Blocks < sh.Layers {
		fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("%d of %d layers are incomplete: their FLOPs cannot be counted", sh.Layers-sh.Blocks, sh.Layers)})
	}
	return outcome{findings: fs, measured: measured, predicted: f.Total,
		detail: fmt.Sprintf("%s FLOPs/token at ctx %d = 2A %s + attention %s", textfmt.Count(f.Total), a.opts.Ctx, textfmt.Count(f.Dense), textfmt.Count(f.Attention))}
}

// checkMemoryOrder is obligation 4 (FALSIFY-QM3E-004):
// M(Q4_K) < M(Q6_K) < M(F16) < M(F32).
func checkMemoryOrder(a *auditRun, id string) outcome {
	var fs []Finding
	order := []string{"Q4_K", "Q6_K", "F16", "F32"}
	bytesOf := map[string]int64{}
	for _, w := range a.report.Memory.WeightsByQuant {
		if w.Err == nil {
			bytesOf[w.Quant] = w.Bytes
		}
	}
	if a.costs.tableErr != nil {
		fs = append(fs, Finding{Check: id, Message: a.costs.tableErr.Error()})
	}
	for i, q := range order {
		if _, ok := bytesOf[q]; !ok {
			fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("no %s size: this model's rows do not fit its blocks", q)})
			continue
		}
		if i > 0 && bytesOf[order[i-1]] >= bytesOf[q] {
			fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("M(%s) = %s is not below M(%s) = %s", order[i-1], textfmt.Count(bytesOf[order[i-1]]), q, textfmt.Count(bytesOf[q]))})
		}
	}
	return outcome{findings: fs, detail: fmt.Sprintf("Q4_K %s < Q6_K %s < F16 %s < F32 %s",
		textfmt.Bytes(bytesOf["Q4_K"]), textfmt.Bytes(bytesOf["Q6_K"]), textfmt.Bytes(bytesOf["F16"]), textfmt.Bytes(bytesOf["F32"]))}
}

// checkRoofline is obligation 5 (FALSIFY-QM3E-005): tok/s =
// min(bandwidth/bytes, compute/FLOPs), non-decreasing in bandwidth, for
// every machine and both traffic models.
func checkRoofline(a *auditRun, id string) outcome {
	if !a.costs.costed {
		return outcome{skip: "the architecture gives no KV cache or attention cost model"}
	}
	var fs []Finding
	if a.costs.kvErr != nil {
		fs = append(fs, Finding{Check: id, Message: a.costs.kvErr.Error()})
	}
	for _, msg := range a.costs.rooflineEr {
		fs = append(fs, Finding{Check: id, Message: msg})
	}
	batch, total := float64(a.opts.Batch), float64(a.costs.flops.Total)
	for _, rl := range a.report.Throughput {
		hw := rl.Hardware
		// The seed's formula, worked independently of RooflineFor.
		want := batch * math.Min(hw.Bandwidth/rl.BytesPerStep, hw.Compute/(batch*total))
		if !(rl.TokensPerSecond > 0) || math.Abs(rl.TokensPerSecond-want) > 1e-9*want {
			fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("%s, %s: %.6g tok/s, the roofline gives %.6g", hw.Name, rl.Traffic, rl.TokensPerSecond, want)})
		}
		in := a.rooflineInput(hw, rl.Traffic)
		prev := 0.0
		for _, scale := range []float64{0.125, 0.25, 0.5, 1, 2, 4, 8} {
			in.Hardware.Bandwidth = hw.Bandwidth * scale
			s, err := cost.RooflineFor(in)
			if err != nil || s.TokensPerSecond < prev {
				fs = append(fs, Finding{Check: id, Message: fmt.Sprintf("%s, %s: tok/s falls from %.6g to %.6g as bandwidth rises to %.3g B/s", hw.Name, rl.Traffic, prev, s.TokensPerSecond, in.Hardware.Bandwidth)})
				break
			}
			prev = s.TokensPerSecond
		}
	}
	n := len(a.report.Throughput)
	return outcome{findings: fs, detail: fmt.Sprintf("%d estimates (%d machine(s) × 2 traffic models), each min(bandwidth/bytes, compute/FLOPs) and non-decreasing in bandwidth", n, n/2)}
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

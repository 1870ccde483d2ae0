package qwen3

import (
	"fmt"
	"sync"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/gguf"
)

var _ arch.Harnessed = (*Spec)(nil)

var (
	harnessOnce sync.Once
	harnesses   []arch.HarnessResult
)

// Harnesses returns the results of the seed's two Kani harnesses, run here
// as exhaustive checks over bounded grids of configurations (computed once
// per process): KANI-QM3E-001 and KANI-QM3E-002.
func (s *Spec) Harnesses() []arch.HarnessResult { return runHarnesses() }

// runHarnesses computes the harness results once, both at once.
func runHarnesses() []arch.HarnessResult {
	harnessOnce.Do(func() {
		harnesses = make([]arch.HarnessResult, 2)
		var wg sync.WaitGroup
		for i, h := range []func() arch.HarnessResult{harnessTotal, harnessMemoryOrder} {
			wg.Go(func() { harnesses[i] = h() })
		}
		wg.Wait()
	})
	return harnesses
}

// grid calls visit with every configuration the ranges give, skipping
// those whose heads do not group.
func grid(vocab, hidden, layers, heads, headDim, inter, moe, experts, steps []int64, visit func(c *Config)) {
	for _, v := range vocab {
		for _, d := range hidden {
			for _, l := range layers {
				for _, h := range heads {
					for kv := int64(1); kv <= h; kv++ {
						if h%kv != 0 {
							continue
						}
						for _, hd := range headDim {
							for _, f := range inter {
								for _, e := range experts {
									ks, ms := []int64{0}, []int64{0}
									if e > 0 {
										ks, ms = nil, moe
										for k := int64(1); k <= e; k++ {
											ks = append(ks, k)
										}
									}
									for _, k := range ks {
										for _, m := range ms {
											for _, step := range steps {
												for _, tied := range []bool{false, true} {
													c := &Config{ModelType: "qwen3", VocabSize: v, HiddenSize: d, NumHiddenLayers: l,
														NumAttentionHeads: h, NumKeyValueHeads: kv, HeadDim: hd, IntermediateSize: f,
														DecoderSparseStep: step, TieWordEmbeddings: tied}
													if e > 0 {
														c.ModelType, c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize = "qwen3_moe", e, k, m
													} else if step > 1 {
														continue // the step only matters with experts
													}
													visit(c)
												}
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// harnessTotal is KANI-QM3E-001 (obligation QM3E-INV-001, total parameters
// match the architecture; the seed's bound 1, exhaustive): for every
// configuration with each dimension in {1, 2},
// dense or with 1 or 2 experts at every top-k, every other layer dense or
// none, tied or not, the parameter prediction equals the elements of the
// tensors the layout lists, in both formats, and the active count equals
// the non-expert elements plus k/E of the expert ones.
func harnessTotal() arch.HarnessResult {
	r := arch.HarnessResult{ID: "KANI-QM3E-001", Obligation: "QM3E-INV-001", Strategy: "exhaustive", Bound: 1, Pass: true,
		Domain: "every Qwen3 and Qwen3-MoE configuration with every dimension 1–2, 0–2 experts at every top-k, decoder_sparse_step 1–2, tied and untied (Kani's unwind bound 1 has no Go counterpart: the bound here is on the dimensions)"}
	one := []int64{1, 2}
	grid(one, one, one, one, one, one, one, []int64{0, 1, 2}, one, func(c *Config) {
		r.Configs++
		if !r.Pass {
			return
		}
		s, err := New(c)
		if err != nil {
			r.Pass, r.Detail = false, fmt.Sprintf("%+v: %v", *c, err)
			return
		}
		p := s.Predict()
		for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
			var total, experts int64
			for _, e := range s.Expected(f) {
				n := int64(1)
				for _, x := range e.Shape {
					n *= x
				}
				total += n
				if e.Component.Expert() {
					experts += n
				}
			}
			active := total - experts
			if c.NumExperts > 0 {
				active += experts / c.NumExperts * c.NumExpertsPerTok
			}
			if total != p.Total || active != p.Active {
				r.Pass = false
				r.Detail = fmt.Sprintf("%+v in %s: the layout holds %d (active %d), the prediction says %d (active %d)", *c, f, total, active, p.Total, p.Active)
				return
			}
		}
	})
	if r.Pass {
		r.Detail = fmt.Sprintf("prediction = layout, total and active, in both formats, for all %d configurations", r.Configs)
	}
	return r
}

// harnessMemoryOrder is KANI-QM3E-002 (obligation QM3E-ORD-001, memory
// ordering M(Q4_K) < M(Q6_K) < M(F16) < M(F32); the seed's bound 4,
// bounded_int). The property needs every quantized row to be whole Q4_K and
// Q6_K blocks (256 elements): below that llama.cpp falls back to other
// types and a tiny tensor can take more room as Q4_K than as F16. So the
// domain is hidden, intermediate and expert widths of 256·m and q widths
// of 128·heads (heads even), m 1 or 4: the smallest and largest of the
// bound's four multiples.
func harnessMemoryOrder() arch.HarnessResult {
	r := arch.HarnessResult{ID: "KANI-QM3E-002", Obligation: "QM3E-ORD-001", Strategy: "bounded_int", Bound: 4, Pass: true,
		Domain: "every configuration with hidden_size, intermediate_size and moe_intermediate_size 256 or 1024 (the smallest and largest of the bound's 4 multiples), head_dim 128 with 2 or 4 heads (q widths of whole 256-element blocks), every KV grouping, 1 or 4 layers, dense or 4 experts at top-k 1–4, vocab_size 4, tied and untied: rows of whole Q4_K/Q6_K blocks, where the ordering must hold"}
	m := []int64{256, 1024}
	var quants [4]cost.Quantization
	for i, t := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeF16, gguf.TypeF32} {
		quants[i] = cost.Uniform(t)
	}
	grid([]int64{4}, m, []int64{1, 4}, []int64{2, 4}, []int64{128}, m, m, []int64{0, 4}, []int64{1}, func(c *Config) {
		r.Configs++
		if !r.Pass {
			return
		}
		s, err := New(c)
		if err != nil {
			r.Pass, r.Detail = false, fmt.Sprintf("%+v: %v", *c, err)
			return
		}
		// M(t) = Σ bytes of each GGUF tensor as cost.Uniform(t) types it,
		// as cost.PredictWeights sums it, over one listing for the four.
		var m [4]int64
		for _, e := range s.Expected(checkpoint.FormatGGUF) {
			for i, q := range quants {
				n, err := q.TypeOf(int(c.NumHiddenLayers), e).Bytes(e.Shape)
				if err != nil {
					r.Pass, r.Detail = false, fmt.Sprintf("%+v: tensor %s as %s: %v", *c, e.Name, q.Name, err)
					return
				}
				m[i] += n
			}
		}
		for i := 1; i < len(m); i++ {
			if m[i-1] >= m[i] {
				r.Pass = false
				r.Detail = fmt.Sprintf("%+v: M(%s) = %d is not below M(%s) = %d", *c, quants[i-1].Name, m[i-1], quants[i].Name, m[i])
				return
			}
		}
	})
	if r.Pass {
		r.Detail = fmt.Sprintf("M(Q4_K) < M(Q6_K) < M(F16) < M(F32) for all %d configurations", r.Configs)
	}
	return r
}

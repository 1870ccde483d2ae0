package cost_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/gguf"
)

// Hand-worked figures for Qwen3-235B-A22B (../shared/reference/qwen3moe.md):
// P = 235,093,634,560 parameters, A = 22,190,763,520 active.
//
// Tensors that stay F32 under a uniform quantization: per layer the norms
// attn_norm and ffn_norm (2·4096), q_norm and k_norm (2·128) and the router
// (128·4096), 532,736 in all; times 94 layers = 50,077,184; plus
// output_norm 4,096 = 50,081,280 F32 elements. The other
// 235,093,634,560 − 50,081,280 = 235,043,553,280 elements are matrices
// (a multiple of 256: every row length is 4096, 8192 or 1536).
const (
	p235      = 235_093_634_560
	a235      = 22_190_763_520
	f32Elems  = 50_081_280
	matElems  = p235 - f32Elems // 235,043,553,280
	f32Bytes  = 4 * f32Elems    // 200,325,120
	q4KMBytes = 142_148_069_376 // qwen3moe.md: the Q4_K_M recipe's tensor data
)

// sp returns the spec of the Qwen3 config c, its family chosen by its
// experts; nil for a nil config.
func sp(tb testing.TB, c *qwen3.Config) arch.Spec {
	tb.Helper()
	if c == nil {
		return nil
	}
	c.ModelType = "qwen3"
	if c.NumExperts > 0 {
		c.ModelType = "qwen3_moe"
	}
	s, err := qwen3.New(c)
	if err != nil {
		tb.Fatalf("qwen3.New: %v", err)
	}
	return s
}

// flops is cost.FLOPsPerToken of c's spec, which every Qwen3 spec can cost.
func flops(tb testing.TB, c *qwen3.Config, ctx int64) cost.FLOPs {
	tb.Helper()
	f, ok := cost.FLOPsPerToken(sp(tb, c), ctx)
	if !ok {
		tb.Fatalf("FLOPsPerToken(%s): no cost model", c.ModelType)
	}
	return f
}

func TestPredictWeights(t *testing.T) {
	c := qwen3.Qwen3_235B_A22B()
	tests := []struct {
		name string
		q    cost.Quantization
		want int64
	}{
		// 4 bytes for every parameter.
		{"F32", cost.Uniform(gguf.TypeF32), 4 * p235}, // 940,374,538,240
		// 2 bytes a matrix element, 4 a norm or router element:
		// 2·P + 2·50,081,280 = 470,187,269,120 + 100,162,560.
		{"F16", cost.Uniform(gguf.TypeF16), 470_287_431_680},
		{"BF16", cost.Uniform(gguf.TypeBF16), 2*p235 + 2*f32Elems},
		// 34 bytes per 32 elements: 235,043,553,280 / 32 · 34 =
		// 249,733,775,360, plus the F32 bytes.
		{"Q8_0", cost.Uniform(gguf.TypeQ8_0), 249_733_775_360 + f32Bytes},
		// 210 per 256: 918,138,880 blocks · 210 = 192,809,164,800.
		{"Q6_K", cost.Uniform(gguf.TypeQ6_K), 192_809_164_800 + f32Bytes},
		// 176 per 256: 918,138,880 · 176 = 161,592,442,880.
		{"Q5_K", cost.Uniform(gguf.TypeQ5_K), 161_592_442_880 + f32Bytes},
		// 144 per 256: 918,138,880 · 144 = 132,211,998,720.
		{"Q4_K", cost.Uniform(gguf.TypeQ4_K), 132_211_998_720 + f32Bytes},
		// 18 per 32, the same 4.5 bits an element as Q4_K.
		{"Q4_0", cost.Uniform(gguf.TypeQ4_0), 132_211_998_720 + f32Bytes},
		{"Q4_K_M", cost.Q4KM, q4KMBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cost.PredictWeights(sp(t, c), tt.q)
			if err != nil || got != tt.want {
				t.Errorf("PredictWeights(235B, %s) = %d, %v, want %d", tt.name, got, err, tt.want)
			}
		})
	}
	if matElems%256 != 0 || matElems/256 != 918_138_880 {
		t.Fatalf("hand arithmetic: %d matrix elements, %d blocks of 256", matElems, matElems/256)
	}
}

func TestPredictExpertWeights(t *testing.T) {
	c := qwen3.Qwen3_235B_A22B()
	// Experts are 94 · 2,415,919,104 = 227,096,395,776 parameters, all Q4_K
	// (144 bytes per 256) under Uniform(Q4_K): 127,741,722,624 bytes.
	got, err := cost.PredictExpertWeights(sp(t, c), cost.Uniform(gguf.TypeQ4_K))
	if want := int64(127_741_722_624); err != nil || got != want {
		t.Errorf("PredictExpertWeights(235B, Q4_K) = %d, %v, want %d", got, err, want)
	}
	// Q4_K_M: a layer's gate, up and down experts hold 128·4096·1536 =
	// 805,306,368 elements each: 452,984,832 bytes as Q4_K (144 per 256),
	// 660,602,880 as Q6_K (210 per 256). Gate and up are Q4_K on all 94
	// layers; down is Q6_K on the 46 "more bits" layers, Q4_K on 48:
	// 188·452,984,832 + 48·452,984,832 + 46·660,602,880 = 137,292,152,832.
	got, err = cost.PredictExpertWeights(sp(t, c), cost.Q4KM)
	if want := int64(137_292_152_832); err != nil || got != want {
		t.Errorf("PredictExpertWeights(235B, Q4_K_M) = %d, %v, want %d", got, err, want)
	}
	dense := qwen3.TinyMoE()
	dense.NumExperts = 0
	if got, err := cost.PredictExpertWeights(sp(t, dense), cost.Uniform(gguf.TypeF32)); err != nil || got != 0 {
		t.Errorf("PredictExpertWeights(dense) = %d, %v, want 0", got, err)
	}
}

func TestWeightTable(t *testing.T) {
	rows, err := cost.WeightTable(sp(t, qwen3.Qwen3_235B_A22B()))
	if err != nil {
		t.Fatalf("WeightTable(235B) error: %v", err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Quant)
		if r.Err != nil {
			t.Errorf("WeightTable(235B) row %s: %v", r.Quant, r.Err)
		}
	}
	want := []string{"F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K", "Q4_K", "Q4_0", "Q4_K_M"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("WeightTable(235B) quantizations (-want +got):\n%s", diff)
	}
	if got := rows[len(rows)-1].Bytes; got != q4KMBytes {
		t.Errorf("WeightTable(235B) Q4_K_M = %d, want %d", got, q4KMBytes)
	}

	// hidden_size 32 is not a multiple of the K-quants' 256: llama.cpp
	// falls back to Q5_0 for Q4_K and Q8_0 for Q6_K. The tiny model keeps
	// 1,792 bytes in F32 (per layer norms 32+32+8+8 and router 4·32
	// elements, twice, plus the final norm's 32, at 4 bytes) and stores
	// 34,816 matrix elements (embedding and output 2,048 each; per layer
	// q 1,024, k 512, v 512, o 1,024, experts 3·4·32·32 = 12,288): as Q5_0
	// 34,816/32·22 = 23,936 bytes, as Q8_0 34,816/32·34 = 36,992.
	rows, err = cost.WeightTable(sp(t, qwen3.TinyMoE()))
	if err != nil {
		t.Fatalf("WeightTable(tiny) error: %v", err)
	}
	wantTiny := map[string]int64{"Q4_K": 1792 + 23_936, "Q6_K": 1792 + 36_992, "F32": 4 * 35_264}
	for _, r := range rows {
		if r.Err != nil || r.Bytes <= 0 {
			t.Errorf("WeightTable(tiny) %s = %d, %v, want a positive size", r.Quant, r.Bytes, r.Err)
		}
		if want, ok := wantTiny[r.Quant]; ok && r.Bytes != want {
			t.Errorf("WeightTable(tiny) %s = %d, want %d", r.Quant, r.Bytes, want)
		}
	}
}

// FALSIFY-QM3E-004 for any shape: M(Q4_K) < M(Q6_K) < M(F16) < M(F32).
func TestQuantOrderingProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	order := []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeF16, gguf.TypeF32}
	for i := range 200 {
		c := randomCostConfig(r)
		var prev int64 = -1
		for _, typ := range order {
			m, err := cost.PredictWeights(sp(t, c), cost.Uniform(typ))
			if err != nil {
				t.Fatalf("config %d %+v: PredictWeights(%v) error: %v", i, c, typ, err)
			}
			if m <= prev {
				t.Fatalf("config %d %+v: M(%v) = %d, not above the previous %d", i, c, typ, m, prev)
			}
			prev = m
		}
	}
	// The 235B model itself, and the 30B.
	for _, c := range []*qwen3.Config{qwen3.Qwen3_235B_A22B(), qwen3.Qwen3_30B_A3B()} {
		var prev int64 = -1
		for _, typ := range order {
			m, err := cost.PredictWeights(sp(t, c), cost.Uniform(typ))
			if err != nil || m <= prev {
				t.Errorf("%d layers: M(%v) = %d, %v; previous %d", c.NumHiddenLayers, typ, m, err, prev)
			}
			prev = m
		}
	}
}

// randomCostConfig returns a small Qwen3 config whose row lengths (hidden_size,
// n_h·d_k, the expert and dense widths) are multiples of 256, so that every
// K-quant applies, with dense layers mixed in now and then.
func randomCostConfig(r *rand.Rand) *qwen3.Config {
	heads := 2 * (1 + r.Int64N(8))
	c := &qwen3.Config{
		VocabSize:           1 + r.Int64N(5000),
		HiddenSize:          256 * (1 + r.Int64N(6)),
		IntermediateSize:    256 * (1 + r.Int64N(8)),
		MoEIntermediateSize: 256 * (1 + r.Int64N(4)),
		NumHiddenLayers:     1 + r.Int64N(8),
		NumAttentionHeads:   heads,
		NumKeyValueHeads:    heads >> r.Int64N(2), // a divisor: heads are even
		HeadDim:             128 * (1 + r.Int64N(2)),
		DecoderSparseStep:   1 + r.Int64N(3),
		TieWordEmbeddings:   r.IntN(2) == 0,
	}
	if r.IntN(4) != 0 {
		c.NumExperts = 1 + r.Int64N(16)
		c.NumExpertsPerTok = 1 + r.Int64N(c.NumExperts)
	}
	return c
}

func TestKVCacheBytes(t *testing.T) {
	big, tiny := qwen3.Qwen3_235B_A22B(), qwen3.TinyMoE()
	// 235B: 2 · 94 · 4 · 128 · 4096 = 394,264,576 elements at ctx 4096.
	tests := []struct {
		name       string
		cfg        *qwen3.Config
		ctx, batch int64
		kv         string
		want       int64
		wantErr    error
	}{
		{"235B f16 4096", big, 4096, 1, "f16", 788_529_152, nil}, // ·2
		{"235B F16 upper case", big, 4096, 1, "F16", 788_529_152, nil},
		{"235B bf16 4096", big, 4096, 1, "bf16", 788_529_152, nil},
		{"235B f32 4096", big, 4096, 1, "f32", 1_577_058_304, nil},    // ·4
		{"235B q8_0 4096", big, 4096, 1, "q8_0", 418_906_112, nil},    // /32·34
		{"235B q4_0 4096", big, 4096, 1, "q4_0", 221_773_824, nil},    // /32·18
		{"235B f16 batch 8", big, 4096, 8, "f16", 6_308_233_216, nil}, // ·8
		{"235B f16 ctx 1", big, 1, 1, "f16", 192_512, nil},            // 2·94·4·128·2
		// tiny: 2 · 2 layers · 2 KV heads · 8 · 16 positions · 2 bytes.
		{"tiny f16", tiny, 16, 1, "f16", 2048, nil},
		{"tiny q8_0 head_dim 8", tiny, 16, 1, "q8_0", 0, cost.ErrCostInput},
		{"unknown type", big, 4096, 1, "q9_9", 0, cost.ErrCostInput},
		{"model type not a cache type", big, 4096, 1, "q4_k", 0, cost.ErrCostInput},
		{"empty type", big, 4096, 1, "", 0, cost.ErrCostInput},
		{"ctx 0", big, 0, 1, "f16", 0, cost.ErrCostInput},
		{"batch 0", big, 4096, 0, "f16", 0, cost.ErrCostInput},
		{"negative ctx", big, -4096, 1, "f16", 0, cost.ErrCostInput},
		{"overflow", big, 1 << 50, 1 << 10, "f32", 0, cost.ErrCostOverflow},
		{"nil config", nil, 4096, 1, "f16", 0, cost.ErrCostInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cost.KVCacheBytes(sp(t, tt.cfg), tt.ctx, tt.batch, tt.kv)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) || got != tt.want {
				t.Errorf("KVCacheBytes(%s, %d, %d, %q) = %d, %v, want %d, %v", tt.name, tt.ctx, tt.batch, tt.kv, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// KV(2c) = 2·KV(c) and KV(c, 2b) = 2·KV(c, b), exactly, for every KV type.
func TestKVCacheLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	cfgs := []*qwen3.Config{qwen3.Qwen3_235B_A22B(), qwen3.Qwen3_30B_A3B()}
	for range 20 {
		cfgs = append(cfgs, randomCostConfig(r))
	}
	for i, c := range cfgs {
		for _, kv := range cost.KVTypes() {
			for range 10 {
				ctx, batch := 1+r.Int64N(1<<17), 1+r.Int64N(64)
				one, err1 := cost.KVCacheBytes(sp(t, c), ctx, batch, kv)
				twoCtx, err2 := cost.KVCacheBytes(sp(t, c), 2*ctx, batch, kv)
				twoBatch, err3 := cost.KVCacheBytes(sp(t, c), ctx, 2*batch, kv)
				if err := errors.Join(err1, err2, err3); err != nil {
					t.Fatalf("config %d %s: %v", i, kv, err)
				}
				if twoCtx != 2*one || twoBatch != 2*one {
					t.Fatalf("config %d %s: KV(%d, %d) = %d, KV(2c) = %d, KV(2b) = %d, want both %d",
						i, kv, ctx, batch, one, twoCtx, twoBatch, 2*one)
				}
			}
		}
	}
}

func TestKVTypes(t *testing.T) {
	want := []string{"f16", "bf16", "f32", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"}
	if diff := cmp.Diff(want, cost.KVTypes()); diff != "" {
		t.Errorf("KVTypes() (-want +got):\n%s", diff)
	}
}

func TestActivationBytes(t *testing.T) {
	c := qwen3.Qwen3_235B_A22B()
	tests := []struct {
		name       string
		cfg        *qwen3.Config
		ctx, batch int64
		want       int64
	}{
		{"235B 4096×2", c, 4096, 2, 2 * 4096 * 4096 * 4}, // 134,217,728
		{"235B 1×1", c, 1, 1, 4096 * 4},
		{"ctx 0", c, 0, 1, 0},
		{"batch 0", c, 1, 0, 0},
		{"nil", nil, 1, 1, 0},
		{"saturates", c, math.MaxInt64 / 2, 2, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cost.ActivationBytes(sp(t, tt.cfg), tt.ctx, tt.batch); got != tt.want {
				t.Errorf("ActivationBytes(%d, %d) = %d, want %d", tt.ctx, tt.batch, got, tt.want)
			}
		})
	}
}

func TestFLOPsPerToken(t *testing.T) {
	c := qwen3.Qwen3_235B_A22B()
	tests := []struct {
		name string
		ctx  int64
		want cost.FLOPs
	}{
		// 2·22,190,763,520 = 44,381,527,040; 4·94·64·128·4096 =
		// 12,616,466,432; sum 56,997,993,472.
		{"ctx 4096", 4096, cost.FLOPs{Dense: 44_381_527_040, Attention: 12_616_466_432, Total: 56_997_993_472}},
		// 4·94·64·128 = 3,080,192 a position.
		{"ctx 1", 1, cost.FLOPs{Dense: 44_381_527_040, Attention: 3_080_192, Total: 44_384_607_232}},
		{"ctx 0", 0, cost.FLOPs{Dense: 2 * a235, Total: 2 * a235}},
		{"ctx negative", -5, cost.FLOPs{Dense: 2 * a235, Total: 2 * a235}},
		{"ctx huge saturates", math.MaxInt64 / 2, cost.FLOPs{Dense: 2 * a235, Attention: math.MaxInt64, Total: math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, flops(t, c, tt.ctx)); diff != "" {
				t.Errorf("FLOPsPerToken(235B, %d) (-want +got):\n%s", tt.ctx, diff)
			}
		})
	}

	if got, ok := cost.FLOPsPerToken(nil, 4096); ok || got != (cost.FLOPs{}) {
		t.Errorf("FLOPsPerToken(nil) = %+v, %v, want zero, false", got, ok)
	}
}

// FALSIFY-QM3E-003: F ≥ 2A and F − 2A = 4·L·n_h·d_k·ctx for any shape.
func TestFLOPsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for i := range 500 {
		c := randomCostConfig(r)
		ctx := r.Int64N(1 << 18)
		f := flops(t, c, ctx)
		twoA := 2 * c.Predict().Active
		if f.Total < twoA || f.Dense != twoA || f.Total-twoA != 4*c.NumHiddenLayers*c.NumAttentionHeads*c.HeadDim*ctx {
			t.Fatalf("config %d %+v: FLOPsPerToken(%d) = %+v, 2A = %d", i, c, ctx, f, twoA)
		}
	}
}

func TestCostNoSpec(t *testing.T) {
	if _, err := cost.PredictWeights(sp(t, qwen3.Qwen3_235B_A22B()), cost.Quantization{}); !errors.Is(err, cost.ErrCostInput) {
		t.Errorf("PredictWeights(zero Quantization) error = %v, want ErrCostInput", err)
	}
	if _, err := cost.PredictWeights(nil, cost.Q4KM); !errors.Is(err, cost.ErrCostInput) {
		t.Errorf("PredictWeights(nil) error = %v, want ErrCostInput", err)
	}
	if _, err := cost.WeightTable(nil); !errors.Is(err, cost.ErrCostInput) {
		t.Errorf("WeightTable(nil) error = %v, want ErrCostInput", err)
	}
}

func TestRooflineH100(t *testing.T) {
	// Qwen3-235B-A22B, Q4_K_M, batch 1, ctx 4096 with an f16 KV cache, on
	// an H100 SXM (3.35e12 B/s, 989e12 FLOP/s), all weights read per step:
	//   bytes = 142,148,069,376 + 788,529,152 = 142,936,598,528
	//   memory time  = 142,936,598,528 / 3.35e12 = 0.042667641 s
	//   FLOPs = 56,997,993,472; compute time = 56,997,993,472 / 989e12
	//         = 0.0000576320 s
	//   tok/s = 1 / 0.042667641 = 23.436965 (memory-bound; the compute roof
	//   alone would give 17,351.49 tok/s)
	in, err := cost.PredictRooflineInput(sp(t, qwen3.Qwen3_235B_A22B()), cost.Q4KM, 4096, 1, "f16")
	if err != nil {
		t.Fatalf("PredictRooflineInput error: %v", err)
	}
	in.Hardware = cost.Hardware{Name: "H100", Bandwidth: 3.35e12, Compute: 989e12, MemoryBytes: 80e9}
	in.Traffic = cost.TrafficAllWeights
	got, err := cost.RooflineFor(in)
	if err != nil {
		t.Fatalf("RooflineFor error: %v", err)
	}
	if got.BytesPerStep != 142_936_598_528 || got.WeightBytesPerStep != q4KMBytes || got.FLOPsPerStep != 56_997_993_472 {
		t.Errorf("RooflineFor = bytes %v (weights %v), FLOPs %v; want 142,936,598,528 (142,148,069,376), 56,997,993,472",
			got.BytesPerStep, got.WeightBytesPerStep, got.FLOPsPerStep)
	}
	if !costNear(got.TokensPerSecond, 23.436965, 1e-6) || got.Bound != cost.BoundMemory {
		t.Errorf("RooflineFor = %v tok/s, %s-bound; want 23.436965, memory-bound", got.TokensPerSecond, got.Bound)
	}
	if got.Fits {
		t.Errorf("RooflineFor: 142 GB of weights fit in 80 GB")
	}
	// The seed's invariant: compute alone would allow far more.
	if roof := 989e12 / 56_997_993_472.0; !costNear(roof, 17351.488, 1e-6) {
		t.Errorf("compute roof = %v, want 17,351.488", roof)
	}
}

func TestRooflineActiveWeights(t *testing.T) {
	// 1,000 weight bytes of which 800 are 4 experts' (200 each), top-2,
	// 1,000 B/s, 1e6 FLOP/s, 100 FLOPs a token.
	base := cost.RooflineInput{
		Hardware: cost.Hardware{Name: "toy", Bandwidth: 1000, Compute: 1e6, MemoryBytes: 1100},
		Traffic:  cost.TrafficActiveWeights, WeightBytes: 1000, ExpertBytes: 800,
		Experts: 4, ExpertsUsed: 2, FLOPsPerToken: 100,
	}
	tests := []struct {
		name             string
		batch, kv        int64
		traffic          cost.Traffic
		weights, tokPerS float64
		bound            string
		fits             bool
		compute          float64
	}{
		// batch 1: 200 + 800·2/4 = 600 bytes, 0.6 s → 1.667 tok/s.
		{"batch 1", 1, 0, cost.TrafficActiveWeights, 600, 1 / 0.6, cost.BoundMemory, true, 1e6},
		// batch 2: share 1 − (1/2)² = 3/4 → 200 + 600 = 800 bytes, 0.8 s,
		// 2 tokens → 2.5 tok/s.
		{"batch 2", 2, 0, cost.TrafficActiveWeights, 800, 2.5, cost.BoundMemory, true, 1e6},
		// batch 3: 1 − 1/8 = 7/8 → 900 bytes, plus 100 KV: 1.0 s → 3 tok/s.
		{"batch 3 with KV", 3, 100, cost.TrafficActiveWeights, 900, 3, cost.BoundMemory, true, 1e6},
		// all weights: 1,000 + 200 KV = 1.2 s for 1 token; 1,200 > 1,100 B.
		{"all weights", 1, 200, cost.TrafficAllWeights, 1000, 1 / 1.2, cost.BoundMemory, false, 1e6},
		// compute 100 FLOP/s: batch 2 needs 200 FLOPs, 2 s > 0.8 s → 1 tok/s.
		{"compute-bound", 2, 0, cost.TrafficActiveWeights, 800, 1, cost.BoundCompute, true, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Batch, in.KVBytes, in.Traffic = tt.batch, tt.kv, tt.traffic
			in.Hardware.Compute = tt.compute
			got, err := cost.RooflineFor(in)
			if err != nil {
				t.Fatalf("RooflineFor error: %v", err)
			}
			if !costNear(got.WeightBytesPerStep, tt.weights, 1e-12) || !costNear(got.TokensPerSecond, tt.tokPerS, 1e-12) ||
				got.Bound != tt.bound || got.Fits != tt.fits {
				t.Errorf("RooflineFor = weights %v, %v tok/s, %s, fits %v; want %v, %v, %s, %v",
					got.WeightBytesPerStep, got.TokensPerSecond, got.Bound, got.Fits, tt.weights, tt.tokPerS, tt.bound, tt.fits)
			}
		})
	}

	// 235B at batch 1: 8 of 128 experts, so the expert bytes count 1/16.
	in, err := cost.PredictRooflineInput(sp(t, qwen3.Qwen3_235B_A22B()), cost.Uniform(gguf.TypeQ4_K), 4096, 1, "f16")
	if err != nil {
		t.Fatal(err)
	}
	in.Hardware, in.Traffic = cost.Hardware{Bandwidth: 1, Compute: 1}, cost.TrafficActiveWeights
	got, err := cost.RooflineFor(in)
	// Q4_K weights 132,412,323,840 of which experts 127,741,722,624:
	// 4,670,601,216 + 127,741,722,624/16 = 4,670,601,216 + 7,983,857,664.
	if want := 12_654_458_880.0; err != nil || !costNear(got.WeightBytesPerStep, want, 1e-12) {
		t.Errorf("RooflineFor(235B Q4_K, batch 1 active) weights = %v, %v; want %v", got.WeightBytesPerStep, err, want)
	}
}

// FALSIFY-QM3E-005: tok/s is non-decreasing in bandwidth, for both traffic
// models, every batch and compute.
func TestRooflineMonotoneBandwidth(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, traffic := range []cost.Traffic{cost.TrafficAllWeights, cost.TrafficActiveWeights} {
		for _, batch := range []int64{1, 2, 8, 64, 512} {
			for _, q := range []cost.Quantization{cost.Q4KM, cost.Uniform(gguf.TypeBF16)} {
				in, err := cost.PredictRooflineInput(sp(t, qwen3.Qwen3_235B_A22B()), q, 4096, batch, "f16")
				if err != nil {
					t.Fatal(err)
				}
				in.Traffic = traffic
				for range 50 {
					in.Hardware = cost.Hardware{Bandwidth: math.Exp(r.Float64() * 30), Compute: math.Exp(r.Float64() * 35)}
					lo, err1 := cost.RooflineFor(in)
					in.Hardware.Bandwidth *= 1 + r.Float64()
					hi, err2 := cost.RooflineFor(in)
					if err := errors.Join(err1, err2); err != nil {
						t.Fatal(err)
					}
					if hi.TokensPerSecond < lo.TokensPerSecond {
						t.Fatalf("%v batch %d: tok/s %v at bandwidth %v, %v at higher %v",
							traffic, batch, lo.TokensPerSecond, lo.Hardware.Bandwidth, hi.TokensPerSecond, hi.Hardware.Bandwidth)
					}
				}
			}
		}
	}
	// And across the presets sorted by bandwidth, with the compute fixed.
	in, _ := cost.PredictRooflineInput(sp(t, qwen3.Qwen3_235B_A22B()), cost.Q4KM, 4096, 1, "f16")
	prev := 0.0
	for _, bw := range []float64{1e11, 819e9, 1.008e12, 2.039e12, 3.35e12, 4.8e12, 5.3e12, 8e12} {
		in.Hardware = cost.Hardware{Bandwidth: bw, Compute: 1e15}
		got, err := cost.RooflineFor(in)
		if err != nil || got.TokensPerSecond < prev {
			t.Errorf("bandwidth %v: %v tok/s, %v; previous %v", bw, got.TokensPerSecond, err, prev)
		}
		prev = got.TokensPerSecond
	}
}

func TestRooflineErrors(t *testing.T) {
	valid := cost.RooflineInput{
		Hardware: cost.Hardware{Name: "x", Bandwidth: 1e12, Compute: 1e14},
		Traffic:  cost.TrafficActiveWeights, Batch: 1, WeightBytes: 1000, ExpertBytes: 800,
		Experts: 4, ExpertsUsed: 2, FLOPsPerToken: 100,
	}
	if _, err := cost.RooflineFor(valid); err != nil {
		t.Fatalf("RooflineFor(valid) error: %v", err)
	}
	tests := []struct {
		name string
		edit func(in *cost.RooflineInput)
	}{
		{"zero bandwidth", func(in *cost.RooflineInput) { in.Hardware.Bandwidth = 0 }},
		{"negative compute", func(in *cost.RooflineInput) { in.Hardware.Compute = -1 }},
		{"NaN bandwidth", func(in *cost.RooflineInput) { in.Hardware.Bandwidth = math.NaN() }},
		{"infinite compute", func(in *cost.RooflineInput) { in.Hardware.Compute = math.Inf(1) }},
		{"batch 0", func(in *cost.RooflineInput) { in.Batch = 0 }},
		{"no weights", func(in *cost.RooflineInput) { in.WeightBytes, in.ExpertBytes = 0, 0 }},
		{"experts above weights", func(in *cost.RooflineInput) { in.ExpertBytes = 1001 }},
		{"negative experts bytes", func(in *cost.RooflineInput) { in.ExpertBytes = -1 }},
		{"no FLOPs", func(in *cost.RooflineInput) { in.FLOPsPerToken = 0 }},
		{"negative KV", func(in *cost.RooflineInput) { in.KVBytes = -1 }},
		{"top-k above E", func(in *cost.RooflineInput) { in.ExpertsUsed = 5 }},
		{"no experts", func(in *cost.RooflineInput) { in.Experts, in.ExpertsUsed = 0, 0 }},
		{"unknown traffic", func(in *cost.RooflineInput) { in.Traffic = 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid
			tt.edit(&in)
			if got, err := cost.RooflineFor(in); !errors.Is(err, cost.ErrCostInput) {
				t.Errorf("RooflineFor(%s) = %+v, %v, want ErrCostInput", tt.name, got, err)
			}
		})
	}
	// E and k do not matter to the all-weights model.
	in := valid
	in.Traffic, in.Experts, in.ExpertsUsed = cost.TrafficAllWeights, 0, 0
	if _, err := cost.RooflineFor(in); err != nil {
		t.Errorf("RooflineFor(all weights, no E) error: %v", err)
	}
}

func TestTraffic(t *testing.T) {
	tests := []struct {
		t    cost.Traffic
		want string
	}{
		{cost.TrafficAllWeights, "all-weights"},
		{cost.TrafficActiveWeights, "active-weights"},
		{9, "Traffic(9)"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("Traffic(%d).String() = %q, want %q", int(tt.t), got, tt.want)
		}
	}
	b, err := json.Marshal(cost.Roofline{Traffic: cost.TrafficActiveWeights})
	if err != nil || !strings.Contains(string(b), `"traffic":"active-weights"`) {
		t.Errorf("json.Marshal(Roofline) = %s, %v; want traffic active-weights", b, err)
	}
	if _, err := cost.Traffic(9).MarshalText(); !errors.Is(err, cost.ErrCostInput) {
		t.Errorf("Traffic(9).MarshalText() error = %v, want ErrCostInput", err)
	}
}

func TestHardwarePresets(t *testing.T) {
	presets := cost.HardwarePresets()
	names := map[string]bool{}
	for _, hw := range presets {
		if names[hw.Name] {
			t.Errorf("preset %q twice", hw.Name)
		}
		names[hw.Name] = true
		if !(hw.Bandwidth > 0 && hw.Compute > 0 && hw.MemoryBytes > 0) || math.IsInf(hw.Bandwidth+hw.Compute, 0) || hw.Source == "" {
			t.Errorf("preset %+v: want positive finite figures and a source", hw)
		}
		// No accelerator here moves a terabyte per second per watt or
		// beats 10 PFLOPS dense; figures in bytes/s and FLOP/s, not GB/s.
		if hw.Bandwidth < 1e11 || hw.Bandwidth > 1e14 || hw.Compute < 1e12 || hw.Compute > 1e16 {
			t.Errorf("preset %q: bandwidth %v B/s, compute %v FLOP/s out of range", hw.Name, hw.Bandwidth, hw.Compute)
		}
		if got, ok := cost.LookupHardware(hw.Name); !ok || got != hw {
			t.Errorf("LookupHardware(%q) = %+v, %v, want the preset", hw.Name, got, ok)
		}
	}
	for _, want := range []string{"H100 SXM", "H200", "A100 80GB SXM", "MI300X", "RTX 4090", "M3 Ultra"} {
		if !names[want] {
			t.Errorf("HardwarePresets() lacks %q", want)
		}
	}
	presets[0].Name = "changed"
	if cost.HardwarePresets()[0].Name == "changed" {
		t.Errorf("HardwarePresets() shares its slice")
	}
}

func TestLookupHardware(t *testing.T) {
	tests := []struct {
		name   string
		want   string
		wantBW float64
	}{
		{"h100", "H100 SXM", 3.35e12},
		{"H100-SXM", "H100 SXM", 3.35e12},
		{"NVIDIA H100 SXM5", "H100 SXM", 3.35e12},
		{"h100_pcie", "H100 PCIe", 2e12},
		{"H200", "H200", 4.8e12},
		{"a100", "A100 80GB SXM", 2.039e12},
		{"A100-80GB", "A100 80GB SXM", 2.039e12},
		{"mi300x", "MI300X", 5.3e12},
		{"AMD Instinct MI300X", "MI300X", 5.3e12},
		{"rtx 4090", "RTX 4090", 1.008e12},
		{"GeForce RTX 4090", "RTX 4090", 1.008e12},
		{"m3-ultra", "M3 Ultra", 819e9},
		{"Apple M3 Ultra", "M3 Ultra", 819e9},
		{"b200", "B200", 8e12},
		{"MI325X", "MI325X", 6e12},
		{"h300", "", 0},
		{"", "", 0},
		{"nvidia", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cost.LookupHardware(tt.name)
			if ok != (tt.want != "") || got.Name != tt.want || got.Bandwidth != tt.wantBW {
				t.Errorf("LookupHardware(%q) = %q (%v B/s), %v; want %q (%v B/s)", tt.name, got.Name, got.Bandwidth, ok, tt.want, tt.wantBW)
			}
		})
	}
}

// FuzzCostModel feeds arbitrary configs through the cost model: nothing
// panics, sizes are never negative, and the roofline of a valid input is
// positive and finite.
func FuzzCostModel(f *testing.F) {
	add := func(c *qwen3.Config, ctx, batch int64) {
		f.Add(c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim,
			c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize, c.IntermediateSize, c.DecoderSparseStep, ctx, batch)
	}
	add(qwen3.Qwen3_235B_A22B(), 4096, 1)
	add(qwen3.Qwen3_30B_A3B(), 40960, 8)
	add(qwen3.TinyMoE(), 16, 2)
	huge := qwen3.Qwen3_235B_A22B()
	huge.VocabSize, huge.HiddenSize = 1<<40, 1<<40
	add(huge, 1<<50, 1<<10)
	neg := qwen3.TinyMoE()
	neg.NumExperts, neg.NumExpertsPerTok, neg.HeadDim = -1, 129, 0
	add(neg, -1, 0)

	f.Fuzz(func(t *testing.T, v, d, l, heads, kvHeads, headDim, e, k, moe, inter, step, ctx, batch int64) {
		c := &qwen3.Config{
			VocabSize: v, HiddenSize: d, NumHiddenLayers: l, NumAttentionHeads: heads,
			NumKeyValueHeads: kvHeads, HeadDim: headDim, NumExperts: e, NumExpertsPerTok: k,
			MoEIntermediateSize: moe, IntermediateSize: inter, DecoderSparseStep: step, ModelType: "qwen3",
		}
		if e > 0 {
			c.ModelType = "qwen3_moe"
		}
		spec, err := qwen3.New(c)
		if err != nil {
			if !errors.Is(err, arch.ErrConfig) {
				t.Fatalf("qwen3.New error %v wraps no arch.ErrConfig", err)
			}
			return // the family refuses it: the cost model never sees it
		}
		fl, ok := cost.FLOPsPerToken(spec, ctx)
		if !ok || fl.Dense < 0 || fl.Attention < 0 || fl.Total < fl.Dense || fl.Total < fl.Attention {
			t.Fatalf("FLOPsPerToken = %+v, %v", fl, ok)
		}
		if a := cost.ActivationBytes(spec, ctx, batch); a < 0 {
			t.Fatalf("ActivationBytes = %d", a)
		}
		kv, kvErr := cost.KVCacheBytes(spec, ctx, batch, "q8_0")
		if kv < 0 || (kvErr == nil) != (kv > 0) {
			t.Fatalf("KVCacheBytes = %d, %v", kv, kvErr)
		}
		in, err := cost.PredictRooflineInput(spec, cost.Q4KM, ctx, batch, "q8_0")
		if err != nil {
			if !errors.Is(err, cost.ErrCostInput) && !errors.Is(err, cost.ErrCostOverflow) {
				t.Fatalf("PredictRooflineInput error %v wraps no cost sentinel", err)
			}
			return
		}
		if in.WeightBytes <= 0 || in.ExpertBytes < 0 || in.ExpertBytes > in.WeightBytes || in.KVBytes != kv {
			t.Fatalf("PredictRooflineInput = %+v", in)
		}
		for _, traffic := range []cost.Traffic{cost.TrafficAllWeights, cost.TrafficActiveWeights} {
			in.Traffic, in.Hardware = traffic, cost.HardwarePresets()[0]
			r, err := cost.RooflineFor(in)
			if err != nil || !(r.TokensPerSecond > 0) || math.IsInf(r.TokensPerSecond, 0) {
				t.Fatalf("RooflineFor(%+v) = %+v, %v", in, r, err)
			}
		}
	})
}

func costNear(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func ExampleRooflineFor() {
	spec := qwen3.MustNew(qwen3.Qwen3_235B_A22B())
	in, err := cost.PredictRooflineInput(spec, cost.Q4KM, 4096, 1, "f16")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Active weights: 4,855,916,544 non-expert bytes + 137,292,152,832
	// expert bytes / 16 + 788,529,152 KV = 14,225,205,248 bytes;
	// 3.35e12 / that = 235.5 tok/s.
	in.Hardware, _ = cost.LookupHardware("h100")
	for _, traffic := range []cost.Traffic{cost.TrafficAllWeights, cost.TrafficActiveWeights} {
		in.Traffic = traffic
		r, err := cost.RooflineFor(in)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %s: %.1f GB a token, %.1f tok/s, %s-bound\n",
			r.Hardware.Name, r.Traffic, r.BytesPerStep/1e9, r.TokensPerSecond, r.Bound)
	}
	// Output:
	// H100 SXM all-weights: 142.9 GB a token, 23.4 tok/s, memory-bound
	// H100 SXM active-weights: 14.2 GB a token, 235.5 tok/s, memory-bound
}

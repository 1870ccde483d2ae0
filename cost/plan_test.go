package cost_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/cost"
	"github.com/weightaudit/weightaudit/gguf"
)

// The KV cache sizes below are worked by hand from the published
// configs, with llama.cpp's per-layer formula n_ctx · (n_embd_k_gqa ·
// type_size(K) + n_embd_v_gqa · type_size(V)) / block size, and the
// ggml type sizes f16 2 bytes per element, q8_0 34 bytes per 32, q4_0
// 18 bytes per 32 (ggml.c type_traits).
func TestKVCacheSplit(t *testing.T) {
	qwen := sp(t, qwen3.Qwen3_235B_A22B())
	ds := deepseek.MustNew(deepseek.DeepSeekV3())
	gemma := gemma3.MustNew(gemma3.Gemma3_1B())
	oss := gptoss.MustNew(gptoss.GptOss120B())
	tests := []struct {
		name      string
		spec      arch.Spec
		ctx, seqs int64
		k, v      string
		want      cost.KVSize
	}{
		// Qwen3-235B-A22B: 94 layers, 4 KV heads of 128. K = V = 94 · 4 ·
		// 128 · 2 B · 32768 = 3,154,116,608; together 6,308,233,216.
		{"qwen3 f16", qwen, 32768, 1, "f16", "f16", cost.KVSize{K: 3_154_116_608, V: 3_154_116_608, Total: 6_308_233_216}},
		// Four sequences hold four times the one.
		{"qwen3 f16 x4", qwen, 32768, 4, "f16", "f16", cost.KVSize{K: 4 * 3_154_116_608, V: 4 * 3_154_116_608, Total: 4 * 6_308_233_216}},
		// K q8_0: 94 · 4 · 32768 rows of 128/32 · 34 = 136 B:
		// 12,320,768 · 136 = 1,675,624,448; V q4_0: 12,320,768 · 72 =
		// 887,095,296.
		{"qwen3 q8_0/q4_0", qwen, 32768, 1, "q8_0", "q4_0", cost.KVSize{K: 1_675_624_448, V: 887_095_296, Total: 2_562_719_744}},
		// DeepSeek-V3's MLA caches kv_lora_rank + qk_rope_head_dim = 576
		// per layer and position as keys, no values: 61 · 576 · 2 B ·
		// 4096 = 287,834,112 whatever the V type.
		{"deepseek mla", ds, 4096, 1, "f16", "q4_0", cost.KVSize{K: 287_834_112, Total: 287_834_112}},
		// Gemma 3 1B: 26 layers, every sixth global (layers 5, 11, 17,
		// 23), one KV head of 256, window 512. Global: 4 · 256 · 2 B ·
		// 32768 = 67,108,864 per K and V; local: 22 · 256 · 2 B · 512 =
		// 5,767,168 per K and V.
		{"gemma3 sliding", gemma, 32768, 1, "f16", "f16", cost.KVSize{K: 67_108_864 + 5_767_168, V: 67_108_864 + 5_767_168, Total: 145_752_064}},
		// gpt-oss-120b: 36 layers alternating sliding (window 128) and
		// full, 8 KV heads of 64. Full: 18 · 8 · 64 · 2 B · 131072 =
		// 2,415,919,104 per K and V; sliding: 18 · 8 · 64 · 2 B · 128 =
		// 2,359,296.
		{"gpt-oss sliding", oss, 131072, 1, "f16", "f16", cost.KVSize{K: 2_415_919_104 + 2_359_296, V: 2_415_919_104 + 2_359_296, Total: 4_836_556_800}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cost.KVCacheSplit(tt.spec, tt.ctx, tt.seqs, tt.k, tt.v)
			if err != nil || got != tt.want {
				t.Fatalf("KVCacheSplit(%d, %d, %s, %s) = %+v, %v, want %+v", tt.ctx, tt.seqs, tt.k, tt.v, got, err, tt.want)
			}
			layers, _, err := cost.LayerKV(tt.spec, tt.ctx, tt.seqs, 0, tt.k, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			var sum cost.KVSize
			for _, l := range layers {
				sum.K, sum.V, sum.Total = sum.K+l.K, sum.V+l.V, sum.Total+l.Total
			}
			if sum != tt.want {
				t.Errorf("sum of LayerKV = %+v, want KVCacheSplit's %+v", sum, tt.want)
			}
		})
	}
}

func TestLayerKVSliding(t *testing.T) {
	// Gemma 3 1B at 32768: a global layer (5) holds 2 · 256 · 2 B · 32768
	// = 33,554,432, a local one (0) 2 · 256 · 2 B · 512 = 524,288.
	layers, exact, err := cost.LayerKV(gemma3.MustNew(gemma3.Gemma3_1B()), 32768, 1, 0, "f16", "f16")
	if err != nil || !exact {
		t.Fatalf("LayerKV = %v, exact %v", err, exact)
	}
	for i, want := range map[int]int64{0: 524_288, 4: 524_288, 5: 33_554_432, 11: 33_554_432, 25: 524_288} {
		if layers[i].Total != want {
			t.Errorf("layer %d KV = %d, want %d", i, layers[i].Total, want)
		}
	}
}

func TestKVCacheSplitErrors(t *testing.T) {
	qwen := sp(t, qwen3.Qwen3_235B_A22B())
	for _, tt := range []struct{ k, v string }{{"q4_k", "f16"}, {"f16", "q9"}, {"", "f16"}} {
		if _, err := cost.KVCacheSplit(qwen, 4096, 1, tt.k, tt.v); !errors.Is(err, cost.ErrCostInput) {
			t.Errorf("KVCacheSplit(%q, %q) error = %v, want ErrCostInput", tt.k, tt.v, err)
		}
	}
	if _, err := cost.KVCacheSplit(qwen, 4096, 0, "f16", "f16"); !errors.Is(err, cost.ErrCostInput) {
		t.Errorf("KVCacheSplit(0 sequences) error = %v, want ErrCostInput", err)
	}
}

// qwenBF16Layer is one Qwen3-235B-A22B layer under Uniform(BF16), from
// DESIGN.md's contract: attention matrices 71,303,424 − 256 (q_norm and
// k_norm) = 71,303,168 and experts 2,415,919,104 parameters at 2 B; the
// router's 524,288 and the norms' 8,192 + 256 in F32 at 4 B.
const qwenBF16Layer = 2*(71_303_168+2_415_919_104) + 4*(524_288+8_192+256) // 4,976,575,488

// qwenKVLayer is one layer's f16 KV cache at 32768: 2 · 4 · 128 · 2 B ·
// 32768.
const qwenKVLayer = 67_108_864

func qwenPlan(t *testing.T, o cost.PlanOptions, hw ...cost.Hardware) *cost.Plan {
	t.Helper()
	spec := sp(t, qwen3.Qwen3_235B_A22B())
	w, err := cost.PredictLayerWeights(spec, cost.Uniform(gguf.TypeBF16))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cost.NewPlan(spec, w, o, hw)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPredictLayerWeights(t *testing.T) {
	spec := sp(t, qwen3.Qwen3_235B_A22B())
	w, err := cost.PredictLayerWeights(spec, cost.Uniform(gguf.TypeBF16))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range w.Layers {
		if n != qwenBF16Layer {
			t.Fatalf("layer %d = %d bytes, want %d", i, n, qwenBF16Layer)
		}
	}
	// token_embd 151936 · 4096 · 2 B; output the same plus output_norm
	// 4096 · 4 B.
	if w.Input != 1_244_659_712 || w.Output != 1_244_659_712+16_384 {
		t.Errorf("input, output = %d, %d, want 1,244,659,712, 1,244,676,096", w.Input, w.Output)
	}
	all, err := cost.PredictWeights(spec, cost.Uniform(gguf.TypeBF16))
	if err != nil || w.Total() != all {
		t.Errorf("Total() = %d, want PredictWeights' %d (%v)", w.Total(), all, err)
	}
}

func TestPlanSplit(t *testing.T) {
	h200, _ := cost.LookupHardware("h200")
	p := qwenPlan(t, cost.PlanOptions{Ctx: 32768, GPULayers: -1, Devices: 8}, h200)
	if p.KV.Total != 6_308_233_216 || p.MaxCtx != 40960 {
		t.Fatalf("KV %d, max ctx %d, want 6,308,233,216 and 40960", p.KV.Total, p.MaxCtx)
	}
	f := p.Machines[0]
	// 3 devices: layer il to device ⌊il·3/95⌋, so device 0 holds layers
	// 0–31, 32 · (4,976,575,488 + 67,108,864) = 161.4 GB > 141 GB. With
	// 4: ⌊il·4/95⌋ gives 0–23, 24–47, 48–71 and 72–93 + output.
	if !f.Fits || f.Devices != 4 || len(f.Split) != 4 {
		t.Fatalf("fit = %v on %d devices (%d shares), want 4 H200", f.Fits, f.Devices, len(f.Split))
	}
	wantRanges := [][2]int64{{0, 23}, {24, 47}, {48, 71}, {72, 93}}
	for d, s := range f.Split {
		if s.FirstLayer != wantRanges[d][0] || s.LastLayer != wantRanges[d][1] {
			t.Errorf("device %d holds layers %d–%d, want %d–%d", d, s.FirstLayer, s.LastLayer, wantRanges[d][0], wantRanges[d][1])
		}
		if s.Output != (d == 3) {
			t.Errorf("device %d output = %v", d, s.Output)
		}
	}
	// Device 0: 141e9 − 24 · (4,976,575,488 + 67,108,864) = 19,951,575,552.
	if got := f.Split[0].Free; got != 19_951_575_552 {
		t.Errorf("device 0 free = %d, want 19,951,575,552", got)
	}
	// Device 3: 22 layers and the output layer (lm_head 1,244,659,712 and
	// output_norm 16,384).
	if got, want := f.Split[3].Total, int64(22*(qwenBF16Layer+qwenKVLayer)+1_244_676_096); got != want {
		t.Errorf("device 3 total = %d, want %d", got, want)
	}
	// The input layer stays on the host.
	if !p.Host.Input || p.Host.Layers != 0 || p.Host.WeightBytes != 1_244_659_712 {
		t.Errorf("host = %+v, want the token embedding only", p.Host)
	}
	var sum int64
	for _, s := range f.Split {
		sum += s.Total
	}
	if sum != p.Offloaded.Total || p.Offloaded.Total+p.Host.Total != p.TotalBytes {
		t.Errorf("devices %d, offloaded %d, host %d, total %d: parts do not add up", sum, p.Offloaded.Total, p.Host.Total, p.TotalBytes)
	}
}

func TestPlanTwoDevices(t *testing.T) {
	// Two devices: ⌊il·2/95⌋ < 1 for il ≤ 47, so 48 layers and 46 plus
	// the output layer.
	big := cost.Hardware{Name: "big", MemoryBytes: 1e12}
	f := qwenPlan(t, cost.PlanOptions{Ctx: 32768, GPULayers: -1, Devices: 2}, big).Machines[0]
	if f.Devices != 1 {
		t.Fatalf("devices = %d, want 1 (1 TB holds everything)", f.Devices)
	}
	f = qwenPlan(t, cost.PlanOptions{Ctx: 32768, GPULayers: -1, Devices: 2}, cost.Hardware{Name: "half", MemoryBytes: 300e9}).Machines[0]
	if !f.Fits || f.Devices != 2 || f.Split[0].Layers != 48 || f.Split[1].Layers != 46 || !f.Split[1].Output {
		t.Errorf("split = %+v, want 48 and 46 + output on 2 devices", f.Split)
	}
}

func TestPlanGPULayers(t *testing.T) {
	tests := []struct {
		ngl             int64
		host, offloaded int64
		outputOffloaded bool
	}{
		{0, 94, 0, false},
		{10, 84, 10, false}, // the last ten layers, as llama.cpp's -ngl 10
		{94, 0, 94, false},  // every layer, the output layer stays on the CPU
		{95, 0, 94, true},
		{-1, 0, 94, true},
	}
	for _, tt := range tests {
		p := qwenPlan(t, cost.PlanOptions{Ctx: 32768, GPULayers: tt.ngl})
		if p.Host.Layers != tt.host || p.Offloaded.Layers != tt.offloaded || p.Offloaded.Output != tt.outputOffloaded || p.Host.Output == tt.outputOffloaded {
			t.Errorf("-ngl %d: host %d layers, offloaded %d (output %v), want %d, %d (%v)", tt.ngl, p.Host.Layers, p.Offloaded.Layers, p.Offloaded.Output, tt.host, tt.offloaded, tt.outputOffloaded)
		}
		if tt.offloaded > 0 && p.Offloaded.FirstLayer != 94-tt.offloaded {
			t.Errorf("-ngl %d: first offloaded layer %d, want %d", tt.ngl, p.Offloaded.FirstLayer, 94-tt.offloaded)
		}
		if want := tt.offloaded * qwenKVLayer; p.Offloaded.KVBytes != want {
			t.Errorf("-ngl %d: offloaded KV %d, want %d", tt.ngl, p.Offloaded.KVBytes, want)
		}
		if p.Host.Total+p.Offloaded.Total != p.TotalBytes {
			t.Errorf("-ngl %d: host %d + offloaded %d != total %d", tt.ngl, p.Host.Total, p.Offloaded.Total, p.TotalBytes)
		}
	}
}

func TestPlanOptionsErrors(t *testing.T) {
	spec := sp(t, qwen3.Qwen3_235B_A22B())
	w, err := cost.PredictLayerWeights(spec, cost.Q4KM)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cost.NewPlan(spec, w, cost.PlanOptions{Ctx: 40961}, nil)
	if !errors.Is(err, cost.ErrCostInput) || !strings.Contains(err.Error(), "40960") {
		t.Errorf("NewPlan(ctx 40961) error = %v, want ErrCostInput naming 40960", err)
	}
	p, err := cost.NewPlan(spec, w, cost.PlanOptions{}, nil)
	if err != nil || p.Ctx != 40960 || p.CacheK != "f16" || p.CacheV != "f16" || p.Parallel != 1 {
		t.Errorf("NewPlan(defaults) = %+v, %v, want ctx 40960, f16/f16, 1 sequence", p, err)
	}
	for _, o := range []cost.PlanOptions{{Parallel: -1}, {Devices: -2}, {Devices: cost.MaxPlanDevices + 1}, {CacheV: "q4_k"}, {Ctx: -5}} {
		if _, err := cost.NewPlan(spec, w, o, nil); !errors.Is(err, cost.ErrCostInput) {
			t.Errorf("NewPlan(%+v) error = %v, want ErrCostInput", o, err)
		}
	}
	if _, err := cost.NewPlan(spec, cost.LayerWeights{Layers: make([]int64, 3)}, cost.PlanOptions{}, nil); !errors.Is(err, cost.ErrCostInput) {
		t.Errorf("NewPlan(3 layers of weights) error = %v, want ErrCostInput", err)
	}
}

func TestParseMachine(t *testing.T) {
	tests := []struct {
		in   string
		want cost.Hardware
	}{
		{"box=96GiB,bw=800,flops=120", cost.Hardware{Name: "box", MemoryBytes: 96 << 30, Bandwidth: 800e9, Compute: 120e12}},
		{"rig=1.5TB", cost.Hardware{Name: "rig", MemoryBytes: 1_500_000_000_000}},
		{"card=24", cost.Hardware{Name: "card", MemoryBytes: 24e9}},
	}
	for _, tt := range tests {
		got, err := cost.ParseMachine(tt.in)
		got.Source = ""
		if err != nil || got != tt.want {
			t.Errorf("ParseMachine(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
	if hw, err := cost.ParseMachine("H200"); err != nil || hw.MemoryBytes != 141e9 {
		t.Errorf("ParseMachine(H200) = %+v, %v, want the preset", hw, err)
	}
	for _, bad := range []string{"nope", "=8GB", "x=8PB", "x=-1GB", "x=8GB,bw=0", "x=8GB,speed=3", "x=GB", "x=1e300TB"} {
		if _, err := cost.ParseMachine(bad); !errors.Is(err, cost.ErrCostInput) {
			t.Errorf("ParseMachine(%q) error = %v, want ErrCostInput", bad, err)
		}
	}
}

// With a micro-batch, a sliding layer holds what llama.cpp's
// sliding-window cache allocates (llama-kv-cache-iswa.cpp: size_swa =
// min(n_ctx, GGML_PAD(n_swa · n_seq + n_ubatch, 256))). Gemma 3 1B, K
// bytes (V the same), 4 global and 22 sliding layers of one 256-wide KV
// head at 2 B, window 512:
func TestPlanSlidingMicroBatch(t *testing.T) {
	spec := gemma3.MustNew(gemma3.Gemma3_1B())
	w, err := cost.PredictLayerWeights(spec, cost.Uniform(gguf.TypeF16))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ctx, seqs, batch, wantK int64
	}{
		// 4 · 512 · 32768 + 22 · 512 · pad(512 + 512) = 67,108,864 + 11,534,336
		{32768, 1, 512, 78_643_200},
		// 4 sequences of 8192: 4 · 512 · 32768 + 22 · 512 · pad(4 · 512 + 512 = 2560)
		{8192, 4, 512, 67_108_864 + 28_835_840},
		// the context is shorter than window + batch: 26 · 512 · 512
		{512, 1, 512, 6_815_744},
		// a micro-batch of 100: pad(612) = 768 positions
		{32768, 1, 100, 67_108_864 + 22*512*768},
		// no micro-batch: the window alone
		{32768, 1, 0, 67_108_864 + 22*512*512},
	}
	for _, tt := range tests {
		p, err := cost.NewPlan(spec, w, cost.PlanOptions{Ctx: tt.ctx, Parallel: tt.seqs, Batch: tt.batch}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.KV.K != tt.wantK || p.KV.V != tt.wantK {
			t.Errorf("ctx %d × %d, batch %d: KV %+v, want K = V = %d", tt.ctx, tt.seqs, tt.batch, p.KV, tt.wantK)
		}
	}
}

// AtContext plans the same run at another context: Qwen3-235B-A22B's
// full-attention cache halves with the context, the weights, cache
// types, devices and source stay. A plan decoded from JSON cannot be
// planned again.
func TestPlanAtContext(t *testing.T) {
	h200, _ := cost.LookupHardware("h200")
	p := qwenPlan(t, cost.PlanOptions{Ctx: 32768, GPULayers: -1, Devices: 8, CacheK: "q8_0"}, h200)
	p.Source = "src"
	q, err := p.AtContext(16384)
	if err != nil {
		t.Fatal(err)
	}
	if q.Ctx != 16384 || q.Source != "src" || q.CacheK != "q8_0" || q.WeightBytes != p.WeightBytes || q.MaxDevices() != 8 {
		t.Errorf("AtContext(16384) = ctx %d, source %q, K %s, weights %d, devices %d; want the same run at 16384", q.Ctx, q.Source, q.CacheK, q.WeightBytes, q.MaxDevices())
	}
	// K q8_0: 94 · 4 · 16384 rows of 136 B = 837,812,224; V f16: 94 · 4 ·
	// 128 · 2 B · 16384 = 1,577,058,304.
	if q.KV.K != 837_812_224 || q.KV.V != 1_577_058_304 {
		t.Errorf("KV at 16384 = %+v, want K 837,812,224 and V 1,577,058,304", q.KV)
	}
	// At its own context the plan is itself.
	same, err := p.AtContext(p.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, p), mustJSON(t, same); a != b {
		t.Errorf("AtContext(%d) differs from the plan:\n%s\n%s", p.Ctx, a, b)
	}
	if _, err := p.AtContext(40961); !errors.Is(err, cost.ErrCostInput) || !strings.Contains(err.Error(), "40960") {
		t.Errorf("AtContext(40961) = %v, want ErrCostInput naming the maximum 40960", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var d cost.Plan
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AtContext(16384); !errors.Is(err, cost.ErrCostInput) || d.Basis() || d.MaxDevices() != 0 {
		t.Errorf("decoded plan: AtContext = %v, Basis %v, MaxDevices %d; want ErrCostInput, false, 0", err, d.Basis(), d.MaxDevices())
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

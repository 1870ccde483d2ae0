package audit

import (
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/cost"
)

// The memory chart plans at powers of two from 512 to the maximum, with
// the plan's context and the maximum themselves; below 512 it starts at
// the plan's context; with no maximum it reaches 128K.
func TestPlanContexts(t *testing.T) {
	for _, tt := range []struct {
		ctx, max int64
		want     []int64
	}{
		{32768, 40960, []int64{512, 1024, 2048, 4096, 8192, 16384, 32768, 40960}},
		{3000, 4096, []int64{512, 1024, 2048, 3000, 4096}},
		{100, 128, []int64{100, 128}},
		{128, 128, []int64{128}},
		{4096, 0, []int64{512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072}},
		{1 << 18, 0, []int64{512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 1 << 18}},
	} {
		if got := planContexts(&cost.Plan{Ctx: tt.ctx, MaxCtx: tt.max}); !slices.Equal(got, tt.want) {
			t.Errorf("planContexts(ctx %d, max %d) = %v, want %v", tt.ctx, tt.max, got, tt.want)
		}
	}
}

// The banner: pass when a machine holds the offloaded part or nothing is
// offloaded, fail (each machine a root cause) when none does, incomplete
// when no machine's memory is known; a plan decoded from JSON draws no
// memory chart and says why.
func TestPlanVerdict(t *testing.T) {
	fit := func(name string, mem, devices, free int64) cost.Fit {
		return cost.Fit{Hardware: cost.Hardware{Name: name, MemoryBytes: mem}, Fits: free >= 0, Devices: devices, MinFree: free}
	}
	off := cost.Placement{Total: 100 << 30}
	for _, tt := range []struct {
		name     string
		p        cost.Plan
		verdict  string
		headline string
		causes   int
	}{
		{"nothing offloaded", cost.Plan{Host: cost.Placement{Total: 5 << 30}, Machines: []cost.Fit{fit("a", 1, 8, -1)}}, "pass", "nothing offloaded; 5.00 GiB in host RAM", 0},
		{"one fits", cost.Plan{Offloaded: off, Machines: []cost.Fit{fit("H200", 141e9, 2, 43<<30)}}, "pass", "fits on 2 × H200 with 43.00 GiB free each at least", 0},
		{"one does not", cost.Plan{Offloaded: off, Machines: []cost.Fit{fit("RTX 4090", 24e9, 8, -(2 << 30))}}, "fail", "does not fit on 8 × RTX 4090: the fullest is 2.00 GiB short", 1},
		{"fewest devices", cost.Plan{Offloaded: off, Machines: []cost.Fit{fit("a", 80e9, 2, 1<<30), fit("b", 200e9, 1, 3<<30), fit("c", 200e9, 1, 4<<30), fit("d", 10e9, 8, -1)}},
			"pass", "fits on 3 of 4 machines; on the fewest devices: 1 × c with 4.00 GiB free", 0},
		{"none", cost.Plan{Offloaded: off, Machines: []cost.Fit{fit("a", 10e9, 8, -1), fit("b", 20e9, 8, -1), fit("x", 0, 1, -1)}}, "fail", "does not fit on any of the 2 machines", 2},
		{"unknown", cost.Plan{Offloaded: off, Machines: []cost.Fit{fit("x", 0, 1, -1)}}, "incomplete", "no machine with a known memory size", 0},
	} {
		v, h, c := planVerdict(&tt.p)
		if v != tt.verdict || !strings.HasSuffix(h, tt.headline) || len(c) != tt.causes {
			t.Errorf("%s: %s %q, causes %q; want %s ending %q with %d causes", tt.name, v, h, c, tt.verdict, tt.headline, tt.causes)
		}
	}
	s := planMemoryChart(&cost.Plan{Ctx: 4096, MaxCtx: 8192, Offloaded: off})
	if len(s.Charts) != 0 || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "decoded from JSON") {
		t.Errorf("memory chart of a decoded plan: %d charts, notes %q; want none and a note why", len(s.Charts), s.Notes)
	}
}

// The devices chart of the built-in Qwen3-235B-A22B on every preset: each
// machine's line never falls as the context grows (memory only grows),
// passes through the plan's own count at its context, and a machine whose
// eight devices never hold the weights alone (8 × 24 GB RTX 4090 against
// 470 GB) has none.
func TestPlanDevicesChart(t *testing.T) {
	r := runBuiltin(t, "safetensors")
	w, err := cost.InventoryLayerWeights(r.basis.spec, r.basis.inv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cost.NewPlan(r.basis.spec, w, cost.PlanOptions{Ctx: 32768, GPULayers: -1, Devices: 8}, cost.HardwarePresets())
	if err != nil {
		t.Fatal(err)
	}
	ctxs := planContexts(p)
	plans := make([]*cost.Plan, len(ctxs))
	for i, c := range ctxs {
		if plans[i], err = p.AtContext(c); err != nil {
			t.Fatal(err)
		}
	}
	l := devicesChart(p, ctxs, plans)
	if len(l.Lines) != len(p.Machines)-1 {
		t.Errorf("%d lines for %d machines, want all but the RTX 4090", len(l.Lines), len(p.Machines))
	}
	for _, ln := range l.Lines {
		if ln.Name == "RTX 4090" {
			t.Errorf("RTX 4090 has a line: %v", ln.Y)
		}
		if !slices.IsSorted(ln.Y) {
			t.Errorf("%s: devices %v fall as the context grows", ln.Name, ln.Y)
		}
		i := slices.Index(ln.X, 32768)
		m := slices.IndexFunc(p.Machines, func(f cost.Fit) bool { return f.Hardware.Name == ln.Name })
		if i < 0 || m < 0 || int64(ln.Y[i]) != p.Machines[m].Devices {
			t.Errorf("%s: at ctx 32768 the line (x %v, y %v) misses the plan's devices", ln.Name, ln.X, ln.Y)
		}
	}
}

// The memory charts of the built-in Qwen3-235B-A22B draw a line once
// where two coincide: everything offloaded, the offloaded part is the
// total but for the token embeddings llama.cpp keeps in host RAM (1.2 GB
// of 470 GB: "offloaded ≈ total"); a K cache of the V cache's type is the
// same size ("K f16 = V f16"). Partly offloaded, or with K and V of
// different types, each line has its own legend entry.
func TestPlanMemoryChartCoinciding(t *testing.T) {
	r := runBuiltin(t, "safetensors")
	w, err := cost.InventoryLayerWeights(r.basis.spec, r.basis.inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		gpuLayers     int64
		cacheV        string
		want, wantNot []string
	}{
		{-1, "f16", []string{">offloaded ≈ total<", ">K f16 = V f16<"}, []string{">offloaded<", ">total<", ">K f16<"}},
		{40, "q8_0", []string{">offloaded<", ">total<", ">K f16<", ">V q8_0<"}, []string{" = ", " ≈ "}},
	} {
		p, err := cost.NewPlan(r.basis.spec, w, cost.PlanOptions{Ctx: 32768, GPULayers: tt.gpuLayers, Devices: 8, CacheK: "f16", CacheV: tt.cacheV}, cost.HardwarePresets())
		if err != nil {
			t.Fatal(err)
		}
		s := planMemoryChart(p)
		if len(s.Charts) < 2 {
			t.Fatalf("gpu-layers %d: %d charts, notes %q", tt.gpuLayers, len(s.Charts), s.Notes)
		}
		svg := string(s.Charts[0].SVG()) + string(s.Charts[1].SVG())
		for _, w := range tt.want {
			if !strings.Contains(svg, w) {
				t.Errorf("gpu-layers %d, V %s: no legend entry %s", tt.gpuLayers, tt.cacheV, w)
			}
		}
		for _, w := range tt.wantNot {
			if strings.Contains(svg, w) {
				t.Errorf("gpu-layers %d, V %s: legend entry %s drawn", tt.gpuLayers, tt.cacheV, w)
			}
		}
	}
}

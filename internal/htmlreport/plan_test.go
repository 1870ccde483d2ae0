package htmlreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/cost"
)

// planBuiltin plans the built-in BF16 Qwen3-235B-A22B layout (the
// default of `plan`) with its files' own bytes, as the command does.
func planBuiltin(t *testing.T, o cost.PlanOptions, machines ...cost.Hardware) *cost.Plan {
	t.Helper()
	l, err := synth.Builtin("safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		t.Fatal(err)
	}
	spec, _, err := arch.FromCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	w, err := cost.InventoryLayerWeights(spec, ck.Inventory())
	if err != nil {
		t.Fatal(err)
	}
	p, err := cost.NewPlan(spec, w, o, machines)
	if err != nil {
		t.Fatal(err)
	}
	p.Source = ck.Source
	return p
}

// planJSON is the plan's JSON report, decoded on its own.
type planJSON struct {
	Ctx         int64  `json:"ctx"`
	Parallel    int64  `json:"parallel"`
	CacheK      string `json:"cache_type_k"`
	CacheV      string `json:"cache_type_v"`
	GPULayers   int64  `json:"gpu_layers"`
	WeightBytes int64  `json:"weight_bytes"`
	TotalBytes  int64  `json:"total_bytes"`
	KV          struct {
		Total int64 `json:"total_bytes"`
	} `json:"kv"`
	Host, Offloaded struct {
		Total int64 `json:"total_bytes"`
	}
	Machines []struct {
		Hardware struct {
			Name        string `json:"name"`
			MemoryBytes int64  `json:"memory_bytes"`
		} `json:"hardware"`
		Fits    bool  `json:"fits"`
		Devices int64 `json:"devices"`
		MinFree int64 `json:"min_free_bytes"`
		Split   []struct {
			WeightBytes int64 `json:"weight_bytes"`
			KVBytes     int64 `json:"kv_bytes"`
			Total       int64 `json:"total_bytes"`
			Free        int64 `json:"free_bytes"`
		} `json:"split"`
	} `json:"machines"`
}

// writePlan writes p as HTML into dir through plan's format table and
// returns the file's path and the JSON format's output decoded.
func writePlan(t *testing.T, p *cost.Plan, dir string) (string, planJSON) {
	t.Helper()
	var h, j bytes.Buffer
	for _, f := range []struct {
		name string
		w    *bytes.Buffer
	}{{"html", &h}, {"json", &j}} {
		format, ok := audit.PlanFormats.Lookup(f.name)
		if !ok {
			t.Fatalf("plan has no format %q", f.name)
		}
		if err := format.Write(p, f.w); err != nil {
			t.Fatalf("plan --format %s: %v", f.name, err)
		}
	}
	var jp planJSON
	if err := json.Unmarshal(j.Bytes(), &jp); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "plan.html")
	if err := os.WriteFile(path, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, jp
}

// readRows is the cells of each row of the table with data-key key.
func readRows(t *testing.T, p *page, key string) [][]string {
	t.Helper()
	return eval[[][]string](t, p, `Array.from(document.querySelectorAll('table[data-key="`+key+`"] tbody tr'), r => Array.from(r.cells, c => c.textContent.trim()))`)
}

// comparePlan checks every number the page shows against the JSON plan:
// the totals and options, a row per machine, a row per device.
func comparePlan(t *testing.T, p *page, got shown, jp planJSON) {
	t.Helper()
	for key, want := range map[string]int64{
		"weight_bytes": jp.WeightBytes, "kv_bytes": jp.KV.Total, "total_bytes": jp.TotalBytes, "host_bytes": jp.Host.Total,
		"offloaded_bytes": jp.Offloaded.Total, "ctx": jp.Ctx, "parallel": jp.Parallel, "gpu_layers": jp.GPULayers,
	} {
		if n := count(t, got.Facts[key]); n != want {
			t.Errorf("fact %s shows %d, JSON %d", key, n, want)
		}
	}
	if got.Facts["cache_type_k"] != jp.CacheK || got.Facts["cache_type_v"] != jp.CacheV {
		t.Errorf("cache types shown K %q, V %q; JSON %q, %q", got.Facts["cache_type_k"], got.Facts["cache_type_v"], jp.CacheK, jp.CacheV)
	}
	machines, devices := readRows(t, p, "machines"), readRows(t, p, "devices")
	if len(machines) != len(jp.Machines) {
		t.Fatalf("%d machine rows shown, JSON has %d machines", len(machines), len(jp.Machines))
	}
	d := 0
	for i, m := range jp.Machines {
		row := machines[i]
		if row[0] != m.Hardware.Name || count(t, row[1]) != m.Hardware.MemoryBytes || row[2] != map[bool]string{true: "yes", false: "no"}[m.Fits] ||
			count(t, row[3]) != m.Devices || count(t, row[4]) != m.MinFree {
			t.Errorf("machine row %q; JSON %s: memory %d, fits %v, devices %d, least free %d", row, m.Hardware.Name, m.Hardware.MemoryBytes, m.Fits, m.Devices, m.MinFree)
		}
		if int64(len(m.Split)) != m.Devices {
			t.Errorf("%s: %d shares for %d devices", m.Hardware.Name, len(m.Split), m.Devices)
		}
		for k, s := range m.Split {
			if d >= len(devices) {
				t.Fatalf("%d device rows shown, the JSON has more", len(devices))
			}
			row := devices[d]
			d++
			if row[0] != m.Hardware.Name || count(t, row[1]) != int64(k+1) || count(t, row[3]) != s.WeightBytes || count(t, row[4]) != s.KVBytes ||
				count(t, row[5]) != s.Total || count(t, row[6]) != s.Free {
				t.Errorf("device row %q; JSON %s device %d: %+v", row, m.Hardware.Name, k+1, s)
			}
		}
	}
	if d != len(devices) {
		t.Errorf("%d device rows shown, the JSON has %d devices", len(devices), d)
	}
}

// TestBrowserPlan opens plan's page for the built-in Qwen3-235B-A22B at
// 32768 positions on every preset in Chromium: nothing but the page loads
// and nothing is logged, and every number shown equals the JSON plan's.
// The KV cache is the one worked by hand in cmd's TestPlanBuiltin (94 ·
// 4 · 128 · 2 · 2 B · 32768 = 6,308,233,216), and H200 needs four
// devices (cost's TestPlanSplit). Nine machines: three memory charts
// (memory and KV cache against the context, the devices needed), the
// host-and-devices bars and one per machine.
func TestBrowserPlan(t *testing.T) {
	p := planBuiltin(t, cost.PlanOptions{Ctx: 32768, GPULayers: -1, Devices: 8, Batch: 512}, cost.HardwarePresets()...)
	dir := t.TempDir()
	path, jp := writePlan(t, p, dir)
	pg := open(t, path)
	got := eval[shown](t, pg, readDOM)
	comparePlan(t, pg, got, jp)
	pg.screenshot(t, filepath.Join(dir, "plan.png"))
	pg.clean(t)
	if got.Banner != "pass" || len(got.Causes) != 0 {
		t.Errorf("banner %q, root causes %q: want a pass (most presets hold it) with none", got.Banner, got.Causes)
	}
	if n := count(t, got.Facts["kv_bytes"]); n != 6_308_233_216 {
		t.Errorf("KV cache shown %d, want 6,308,233,216", n)
	}
	if n := count(t, got.Facts["devices"]); n != 8 {
		t.Errorf("devices shown %d, want the 8 planned with", n)
	}
	for _, m := range jp.Machines {
		if m.Hardware.Name == "H200" && (!m.Fits || m.Devices != 4) {
			t.Errorf("H200: fits %v on %d devices, want 4", m.Fits, m.Devices)
		}
	}
	if want := 3 + 1 + len(jp.Machines); got.SVGs != want {
		t.Errorf("%d charts drawn, want %d", got.SVGs, want)
	}
}

// TestBrowserPlanDoesNotFit plans the same model on RTX 4090s: eight of
// 24 GB hold 192 GB, less than the 442 GiB (475 GB) the offloaded part
// needs at 32768 positions, so the page's banner fails, names the
// machine as the root cause and lists it among the findings.
func TestBrowserPlanDoesNotFit(t *testing.T) {
	rtx, _ := cost.LookupHardware("rtx4090")
	p := planBuiltin(t, cost.PlanOptions{Ctx: 32768, GPULayers: -1, Devices: 8, CacheK: "q8_0", CacheV: "q4_0"}, rtx)
	dir := t.TempDir()
	path, jp := writePlan(t, p, dir)
	pg := open(t, path)
	got := eval[shown](t, pg, readDOM)
	comparePlan(t, pg, got, jp)
	headline := eval[string](t, pg, `document.getElementById("headline").textContent`)
	findings := eval[[]string](t, pg, `Array.from(document.querySelectorAll("#findings tbody td:nth-child(3)"), td => td.textContent)`)
	pg.clean(t)
	if jp.Offloaded.Total <= 8*24e9 || jp.Machines[0].Fits {
		t.Fatalf("offloaded %d bytes fit on 8 × 24 GB (%v)? the case does not test a misfit", jp.Offloaded.Total, jp.Machines[0].Fits)
	}
	if got.Banner != "fail" || len(got.Causes) != 1 || !strings.Contains(got.Causes[0], "RTX 4090") || !strings.Contains(headline, "does not fit on 8 × RTX 4090") {
		t.Errorf("banner %q, headline %q, root causes %q: want a failure naming 8 × RTX 4090", got.Banner, headline, got.Causes)
	}
	if len(findings) != 1 || findings[0] != "RTX 4090" {
		t.Errorf("findings name %q, want the RTX 4090", findings)
	}
}

// hostileMachine is a custom machine's name (--hw NAME=MEM) with markup,
// quotes and an ampersand.
const hostileMachine = `"Box" & 'co' <script>window.pwned=3</script>`

// TestBrowserPlanHostileNames plants markup in the source's and a
// machine's names: the page shows them as text (the machine's in its
// table row, the charts' labels), runs none of it and loads nothing.
func TestBrowserPlanHostileNames(t *testing.T) {
	p := planBuiltin(t, cost.PlanOptions{Ctx: 4096, GPULayers: -1, Devices: 2}, cost.Hardware{Name: hostileMachine, MemoryBytes: 100e9})
	p.Source = hostileSource + hostileTensor
	dir := t.TempDir()
	path, jp := writePlan(t, p, dir)
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"<script>window.pwned", "<img src=x", `onerror="window`, `"Box" &`} {
		if bytes.Contains(doc, []byte(raw)) {
			t.Errorf("the document holds %q unescaped", raw)
		}
	}
	if n := bytes.Count(doc, []byte("<script")); n != 1 {
		t.Errorf("%d <script elements, want the page's one", n)
	}
	pg := open(t, path)
	got := eval[shown](t, pg, readDOM)
	comparePlan(t, pg, got, jp)
	svgText := eval[string](t, pg, `Array.from(document.querySelectorAll("figure svg text"), e => e.textContent).join("\n")`)
	if pwned := eval[string](t, pg, `String(window.pwned)`); pwned != "undefined" {
		t.Errorf("planted markup ran: window.pwned = %v", pwned)
	}
	pg.clean(t)
	if got.Facts["source"] != p.Source {
		t.Errorf("source shown %q, want %q as text", got.Facts["source"], p.Source)
	}
	if !strings.Contains(svgText, hostileMachine) {
		t.Errorf("the charts' text does not name %q:\n%s", hostileMachine, svgText)
	}
}

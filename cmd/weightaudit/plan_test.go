package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type planDoc struct {
	MaxCtx      int64 `json:"max_ctx"`
	Ctx         int64
	WeightBytes int64 `json:"weight_bytes"`
	KV          struct {
		K     int64 `json:"k_bytes"`
		V     int64 `json:"v_bytes"`
		Total int64 `json:"total_bytes"`
	}
	Host, Offloaded struct {
		WeightBytes int64 `json:"weight_bytes"`
		Total       int64 `json:"total_bytes"`
		Input       bool
	}
	Machines []struct {
		Fits    bool
		Devices int64
		Split   []struct {
			FirstLayer int64 `json:"first_layer"`
			LastLayer  int64 `json:"last_layer"`
			Output     bool
		}
	}
}

func decodePlan(t *testing.T, s string) planDoc {
	t.Helper()
	var p planDoc
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, s)
	}
	return p
}

// The built-in Qwen3-235B-A22B layout at 32768 positions: the KV cache
// worked by hand (94 · 4 · 128 · 2 · 2 B · 32768), the BF16 token
// embedding (151936 · 4096 · 2 B) in host memory, and four H200 (layers
// ⌊il·4/95⌋; see cost's TestPlanSplit for the arithmetic).
func TestPlanBuiltin(t *testing.T) {
	stdout, stderr, code := cli(t, "plan", "--ctx", "32768", "--hw", "h200", "--json")
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	p := decodePlan(t, stdout)
	if p.KV.Total != 6_308_233_216 || p.KV.K != p.KV.V || p.MaxCtx != 40960 {
		t.Errorf("KV %+v, max ctx %d, want 6,308,233,216 split evenly, 40960", p.KV, p.MaxCtx)
	}
	if !p.Host.Input || p.Host.WeightBytes != 1_244_659_712 {
		t.Errorf("host = %+v, want the 1,244,659,712-byte embedding", p.Host)
	}
	if m := p.Machines; len(m) != 1 || !m[0].Fits || m[0].Devices != 4 || m[0].Split[3].FirstLayer != 72 || !m[0].Split[3].Output {
		t.Errorf("machines = %+v, want 4 × H200 ending with layers 72–93 + output", m)
	}
	table, _, code := cli(t, "plan", "--ctx", "32768", "--hw", "h200", "--cache-type-k", "q8_0", "--cache-type-v", "q4_0")
	if code != 0 || !strings.Contains(table, "K 1.56 GiB q8_0, V 846.00 MiB q4_0") || !strings.Contains(table, "fits on 4 × H200") {
		// K: 94 · 4 · 32768 · 136 B = 1,675,624,448 = 1.56 GiB; V: · 72 B = 887,095,296 = 846 MiB.
		t.Errorf("plan table (exit %d):\n%s", code, table)
	}
}

// A GGUF file written by internal/fixturegen: the plan's weights are the
// file's tensor bytes (its MANIFEST says 71,424), its KV cache 2 layers ·
// 2 KV heads · 8 · 2 · 2 B · 128 positions = 16,384, and with two
// devices the layer split gives layers 0–1 to the first and the output
// layer to the second (⌊il·2/3⌋). One 80,000-byte device cannot hold
// the 83,712 bytes offloaded (all but the 4,096-byte embedding, plus the
// cache); the first of two holds all but the output layer's 4,224
// (lm_head 64 · 32 · 2 B, output_norm 32 · 4 B): 79,488.
func TestPlanGGUF(t *testing.T) {
	stdout, stderr, code := cli(t, "plan", "../../testdata/tiny/gguf/tiny-f16.gguf", "--json", "--hw", "box=80000B", "--devices", "2")
	if code != 4 || !strings.Contains(stderr, "unknown unit") {
		t.Errorf("--hw box=80000B: exit %d, %s; want a usage error naming the unit", code, stderr)
	}
	stdout, stderr, code = cli(t, "plan", "../../testdata/tiny/gguf/tiny-f16.gguf", "--json", "--hw", "box=0.08MB", "--devices", "2")
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	p := decodePlan(t, stdout)
	if p.WeightBytes != 71_424 || p.Host.WeightBytes+p.Offloaded.WeightBytes != 71_424 || p.KV.Total != 16_384 || p.Ctx != 128 {
		t.Errorf("plan = %+v, want weights 71,424, KV 16,384 at ctx 128", p)
	}
	if m := p.Machines[0]; !m.Fits || m.Devices != 2 || len(m.Split) != 2 || (m.Split[0].FirstLayer != 0 || m.Split[0].LastLayer != 1 || !m.Split[1].Output || m.Split[0].Output) {
		t.Errorf("split = %+v, want layers 0–1 | output", m.Split)
	}
}

func TestPlanUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--ctx", "40961"}, "maximum 40960"},
		{[]string{"plan", "--cache-type-k", "q4_k"}, "--cache-type-k"},
		{[]string{"plan", "--cache-type-v", "f8"}, "--cache-type-v"},
		{[]string{"plan", "--hw", "tpu9"}, "no such preset"},
		{[]string{"plan", "--devices", "0"}, "devices"},
		{[]string{"plan", "--parallel", "-2"}, "parallel"},
		{[]string{"plan", "--quant", "Q9_K"}, "--quant"},
		{[]string{"plan", "--format", "yaml"}, "--format"},
		{[]string{"plan", "--report", "svg=x.svg"}, "--report"},
	} {
		_, stderr, code := cli(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d naming %q", tt.args, code, stderr, exitUsage, tt.want)
		}
	}
}

// Every --hw completion names a machine plan accepts, and the cache type
// completions are llama.cpp's nine cache types.
func TestPlanCompletion(t *testing.T) {
	stdout, _, _ := cli(t, "__complete", "plan", "--hw", "")
	names := strings.Fields(stdout)
	if len(names) < 9 {
		t.Fatalf("--hw completions %q", stdout)
	}
	for _, n := range names[:len(names)-1] { // the last is cobra's directive
		if _, stderr, code := cli(t, "plan", "--hw", n, "--ctx", "16"); code != 0 {
			t.Errorf("plan --hw %s: exit %d: %s", n, code, stderr)
		}
	}
	stdout, _, _ = cli(t, "__complete", "plan", "--cache-type-k", "")
	if got := strings.Join(strings.Fields(stdout), " "); got != "f16 bf16 f32 q8_0 q4_0 q4_1 iq4_nl q5_0 q5_1 :4" {
		t.Errorf("--cache-type-k completions %q", got)
	}
}

// The built-in Qwen3-30B-A3B Q4_K_M layout (audit/synth), written to a
// sparse file and estimated by gguf-parser-go (github.com/gpustack/
// gguf-parser-go at 8dc7a62, EstimateLLaMACppRun with context 32768 and
// tensor split fractions 1/3, 2/3, 1) gave, per GPU, layers 0–16, 17–32
// and 33–47 + output with weights 6,443,738,112, 5,935,792,128 and
// 5,740,895,232 + 255,260,672 (output) bytes and K = V caches of
// 570,425,344, 536,870,912 and 503,316,480 bytes; 175,030,272 bytes of
// input layer on the CPU. The plan of three devices agrees to the byte.
func TestPlanAgreesWithGGUFParser(t *testing.T) {
	stdout, stderr, code := cli(t, "plan", "--builtin", "30b-gguf", "--ctx", "32768", "--hw", "box=7GB", "--devices", "3", "--json")
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	var p struct {
		Host struct {
			WeightBytes int64 `json:"weight_bytes"`
		}
		Machines []struct {
			Split []struct {
				FirstLayer  int64 `json:"first_layer"`
				LastLayer   int64 `json:"last_layer"`
				Output      bool
				WeightBytes int64 `json:"weight_bytes"`
				KVBytes     int64 `json:"kv_bytes"`
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatal(err)
	}
	type share struct {
		first, last    int64
		output         bool
		weights, cache int64
	}
	want := []share{
		{0, 16, false, 6_443_738_112, 2 * 570_425_344},
		{17, 32, false, 5_935_792_128, 2 * 536_870_912},
		{33, 47, true, 5_740_895_232 + 255_260_672, 2 * 503_316_480},
	}
	var got []share
	for _, s := range p.Machines[0].Split {
		got = append(got, share{s.FirstLayer, s.LastLayer, s.Output, s.WeightBytes, s.KVBytes})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(share{})); diff != "" || p.Host.WeightBytes != 175_030_272 {
		t.Errorf("split differs from gguf-parser-go's (-want +got):\n%s\nhost weights %d, want 175,030,272", diff, p.Host.WeightBytes)
	}
}

// plan writes its HTML page to -o FILE and more reports with --report,
// nothing to stdout: the page shows the JSON report's KV cache and total
// (exact counts) and the H200's four devices; --report html=PATH writes
// the same page.
func TestPlanReports(t *testing.T) {
	dir := t.TempDir()
	page, js, page2 := filepath.Join(dir, "plan.html"), filepath.Join(dir, "plan.json"), filepath.Join(dir, "again.html")
	stdout, stderr, code := cli(t, "plan", "--ctx", "32768", "--hw", "h200", "--format", "html", "-o", page,
		"--report", "json="+js, "--report", "html="+page2)
	if code != exitOK || stdout != "" {
		t.Fatalf("plan --format html -o: exit %d, stdout %q: %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(js)
	if err != nil || validateReport(b, "plan") != nil {
		t.Fatalf("--report json: %v, %v", err, validateReport(b, "plan"))
	}
	p := decodePlan(t, string(b))
	h, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(h)
	for _, want := range []string{
		"<!DOCTYPE html>",
		`data-key="kv_bytes"><div class="label">KV cache</div><div class="value">6,308,233,216<`,
		`<td>H200</td><td class="num">141,000,000,000</td><td>yes</td><td class="num">4</td>`,
		`data-verdict="pass"`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if p.KV.Total != 6_308_233_216 || !strings.Contains(doc, ">"+commas(p.WeightBytes+p.KV.Total)+"<") {
		t.Errorf("JSON KV %d; the page does not show the total %s", p.KV.Total, commas(p.WeightBytes+p.KV.Total))
	}
	if h2, err := os.ReadFile(page2); err != nil || string(h2) != doc {
		t.Errorf("--report html= wrote another page (%v)", err)
	}
}

// commas writes n with thousands separators, as the page does.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

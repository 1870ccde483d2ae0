package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// variant is a built-in layout served from memory, ready to be broken.
type variant struct {
	tb  testing.TB
	l   *synth.Layout
	src *hub.Mem
}

func newVariant(tb testing.TB, builtin string) *variant {
	tb.Helper()
	l, err := synth.Builtin(builtin)
	if err != nil {
		tb.Fatal(err)
	}
	return &variant{tb: tb, l: l, src: l.Source()}
}

func (v *variant) head(name string) []byte {
	for _, f := range v.l.Files {
		if f.Name == name {
			return f.Head
		}
	}
	v.tb.Fatalf("no file %s", name)
	return nil
}

// fileOf returns the file holding tensor name.
func (v *variant) fileOf(name string) string {
	for _, p := range v.l.Tensors {
		if p.Name == name {
			return p.File
		}
	}
	v.tb.Fatalf("no tensor %s", name)
	return ""
}

// editShard re-encodes a safetensors shard after edit changes its tensors.
func (v *variant) editShard(shard string, edit func([]safetensors.TensorInfo) []safetensors.TensorInfo) {
	v.tb.Helper()
	h := v.head(shard)
	size := int64(0)
	for _, f := range v.l.Files {
		if f.Name == shard {
			size = f.Size
		}
	}
	st, err := safetensors.Read(&hub.Virtual{Head: h, Len: size}, size)
	if err != nil {
		v.tb.Fatal(err)
	}
	head, data, err := safetensors.EncodeHeader(st.Metadata, edit(slices.Clone(st.Tensors)))
	if err != nil {
		v.tb.Fatal(err)
	}
	v.src.Add(shard, &hub.Virtual{Head: head, Len: int64(len(head)) + data}, int64(len(head))+data)
}

// editJSON rewrites a small JSON file.
func (v *variant) editJSON(name string, edit func(map[string]any)) {
	v.tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(v.head(name), &m); err != nil {
		v.tb.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		v.tb.Fatal(err)
	}
	v.src.Add(name, bytes.NewReader(b), int64(len(b)))
}

// editGGUF re-encodes a GGUF file after edit changes its metadata.
func (v *variant) editGGUF(name string, edit func([]gguf.KV) []gguf.KV) {
	v.tb.Helper()
	var size int64
	for _, f := range v.l.Files {
		if f.Name == name {
			size = f.Size
		}
	}
	gf, err := gguf.Read(&hub.Virtual{Head: v.head(name), Len: size}, size)
	if err != nil {
		v.tb.Fatal(err)
	}
	head, data, err := gguf.EncodeHeader(gf.Version, edit(slices.Clone(gf.KVs)), slices.Clone(gf.Tensors))
	if err != nil {
		v.tb.Fatal(err)
	}
	v.src.Add(name, &hub.Virtual{Head: head, Len: int64(len(head)) + data}, int64(len(head))+data)
}

func (v *variant) audit() *audit.Report {
	v.tb.Helper()
	ck, err := checkpoint.Load(context.Background(), v.src, checkpoint.WithPartialFiles())
	if err != nil {
		v.tb.Fatalf("Load: %v", err)
	}
	r, err := audit.Run(ck, audit.Options{})
	if err != nil {
		v.tb.Fatalf("Run: %v", err)
	}
	return r
}

func checkByID(r *audit.Report, id string) audit.Check {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return audit.Check{ID: id + " (absent)"}
}

// The published totals of Qwen3-235B-A22B and Qwen3-30B-A3B, from ../shared/reference/qwen3moe.md.
const (
	params235B = 235_093_634_560
	params30B  = 30_532_122_624
)

func TestAuditBuiltinsPass(t *testing.T) {
	tests := []struct {
		builtin       string
		total, active int64
		profile       string
	}{
		{"safetensors", params235B, 22_190_763_520, "Qwen3-235B-A22B"},
		{"gguf", params235B, 22_190_763_520, "Qwen3-235B-A22B"},
		{"30b-safetensors", params30B, 3_353_032_704, "Qwen3-30B-A3B"},
		{"30b-gguf", params30B, 3_353_032_704, "Qwen3-30B-A3B"},
	}
	for _, tt := range tests {
		t.Run(tt.builtin, func(t *testing.T) {
			r := newVariant(t, tt.builtin).audit()
			if !r.Pass || !r.Gate.Pass || r.Coverage.Verified != 7 || r.Coverage.Total != 7 || len(r.Coverage.Harnesses) != 2 {
				for _, c := range r.Checks {
					t.Logf("%s %v %s", c.ID, c.Pass, c.Detail)
				}
				t.Fatalf("gate %v, coverage %+v, want a pass with 7/7", r.Gate.Pass, r.Coverage)
			}
			if r.Params.Total != tt.total || r.Params.Active != tt.active || r.Params.PredictedTotal != tt.total || r.Params.PredictedActive != tt.active {
				t.Errorf("params %+v, want total %d, active %d", r.Params, tt.total, tt.active)
			}
			if r.Model.Profile != tt.profile {
				t.Errorf("profile %q, want %q", r.Model.Profile, tt.profile)
			}
			if len(r.Findings) != 0 {
				t.Errorf("findings %v", r.Findings)
			}
			if tt.total != params235B {
				return
			}
			// ../shared/reference/qwen3moe.md: per layer attention
			// 71,303,424 (q/k norms included), router 524,288, experts
			// 2,415,919,104, norms 8,192; the final norm 4,096.
			want := []audit.GroupJSON{
				{Group: "embedding", Params: 622_329_856, Predicted: 622_329_856},
				{Group: "lm_head", Params: 622_329_856, Predicted: 622_329_856},
				{Group: "attention", Params: 94 * 71_303_424, Predicted: 94 * 71_303_424},
				{Group: "router", Params: 94 * 524_288, Predicted: 94 * 524_288},
				{Group: "experts", Params: 94 * 2_415_919_104, Predicted: 94 * 2_415_919_104},
				{Group: "norms", Params: 94*8_192 + 4_096, Predicted: 94*8_192 + 4_096},
			}
			if diff := cmp.Diff(want, r.Params.Groups); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

// assertFails checks that a report of a broken checkpoint says so
// everywhere a person or a script looks: the verdict and pass fields, the
// gate (whose contract_composition requires sound files), the headline
// that opens the text, Markdown and JUnit reports, and the JSON.
func assertFails(tb testing.TB, r *audit.Report) {
	tb.Helper()
	if r.Pass || r.Verdict != audit.VerdictFail || r.Gate.Pass {
		tb.Fatalf("pass %v, verdict %q, gate %v; want false, fail, false", r.Pass, r.Verdict, r.Gate.Pass)
	}
	first := r.Findings[0]
	if !strings.HasPrefix(r.Headline, "FAIL  ") || !strings.Contains(r.Headline, first.Check) || !strings.Contains(r.Headline, first.Message) {
		tb.Errorf("headline %q does not say FAIL with the first finding %+v", r.Headline, first)
	}
	var text, md, junit, js bytes.Buffer
	if err := errors.Join(r.WriteText(&text), r.WriteMarkdown(&md), r.WriteJUnit(&junit), r.WriteJSON(&js)); err != nil {
		tb.Fatal(err)
	}
	if line, _, _ := strings.Cut(text.String(), "\n"); line != r.Headline {
		tb.Errorf("text report opens with %q, want the headline", line)
	}
	if !strings.HasPrefix(md.String(), "## ❌ FAIL  ") {
		tb.Errorf("markdown opens with %q", strings.SplitN(md.String(), "\n", 2)[0])
	}
	if !strings.Contains(junit.String(), `<property name="verdict" value="fail">`) {
		tb.Error("JUnit suite has no verdict property fail")
	}
	var top struct {
		Pass    *bool  `json:"pass"`
		Verdict string `json:"verdict"`
		Gate    struct{ Pass bool }
	}
	if err := json.Unmarshal(js.Bytes(), &top); err != nil || top.Pass == nil || *top.Pass || top.Verdict != "fail" || top.Gate.Pass {
		tb.Errorf("JSON pass %v, verdict %q, gate.pass %v (%v); want false, fail, false", top.Pass, top.Verdict, top.Gate.Pass, err)
	}
	for _, c := range r.Checks {
		if !c.Pass && !c.Skipped && !strings.Contains(c.Detail, strings.SplitN(findingText(r, c.ID), ";", 2)[0]) {
			tb.Errorf("check %s detail %q does not give its first finding whole: %q", c.ID, c.Detail, findingText(r, c.ID))
		}
	}
}

// findingText is the message of the first finding of check id.
func findingText(r *audit.Report, id string) string {
	for _, f := range r.Findings {
		if f.Check == id {
			return f.Message
		}
	}
	return ""
}

// Each defect must fail the check that owns it, and the finding must name
// the offender.
func TestAuditDefects(t *testing.T) {
	const expert = "model.layers.5.mlp.experts.17.up_proj.weight"
	const misshaped = "model.layers.7.mlp.experts.3.down_proj.weight"
	tests := []struct {
		name     string
		builtin  string
		break_   func(v *variant)
		check    string // the check that must fail
		want     audit.Finding
		alsoFail []string
	}{
		{
			name: "missing expert tensor", builtin: "safetensors",
			break_: func(v *variant) {
				v.editShard(v.fileOf(expert), func(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
					return slices.DeleteFunc(ts, func(t safetensors.TensorInfo) bool { return t.Name == expert })
				})
			},
			check: audit.CheckTensors, want: audit.Finding{Tensor: expert, Message: "missing"},
			alsoFail: []string{qwen3.Obligations.Total, qwen3.Obligations.Active, qwen3.Obligations.FLOPs, qwen3.Obligations.Blocks, audit.CheckFiles},
		},
		{
			name: "mis-shaped expert", builtin: "safetensors",
			break_: func(v *variant) {
				v.editShard(v.fileOf(misshaped), func(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
					for i := range ts {
						if ts[i].Name == misshaped {
							ts[i].Shape = []int64{4096, 1535}
						}
					}
					return ts
				})
			},
			check: audit.CheckTensors, want: audit.Finding{Tensor: misshaped, Message: "shape [4096 1535], want [4096 1536]"},
			alsoFail: []string{qwen3.Obligations.Blocks, qwen3.Obligations.Total},
		},
		{
			name: "num_experts_per_tok 10", builtin: "safetensors",
			break_: func(v *variant) {
				v.editJSON("config.json", func(m map[string]any) { m["num_experts_per_tok"] = 10 })
			},
			check: audit.CheckProfile, want: audit.Finding{Field: "num_experts_per_tok", Message: "num_experts_per_tok is 10, Qwen3-235B-A22B has 8"},
			alsoFail: []string{qwen3.Obligations.Active},
		},
		{
			name: "GGUF expert_count 127", builtin: "gguf",
			break_: func(v *variant) {
				v.editGGUF("Qwen3-235B-A22B-Q4_K_M-00001-of-00005.gguf", func(kvs []gguf.KV) []gguf.KV {
					for i := range kvs {
						if kvs[i].Key == "qwen3moe.expert_count" {
							kvs[i].Value = gguf.Uint32(127)
						}
					}
					return kvs
				})
			},
			// The metadata is wrong, not the 376 router and expert
			// tensors: the finding blames the key by its name.
			check: audit.CheckConfig, want: audit.Finding{Field: "qwen3moe.expert_count", Message: "qwen3moe.expert_count is 127, but the tensors hold 128"},
			alsoFail: []string{audit.CheckTensors, audit.CheckProfile, qwen3.Obligations.Total},
		},
		{
			name: "index entry names the wrong shard", builtin: "safetensors",
			break_: func(v *variant) {
				v.editJSON("model.safetensors.index.json", func(m map[string]any) {
					m["weight_map"].(map[string]any)["model.layers.3.self_attn.q_proj.weight"] = "model-00100-of-00118.safetensors"
				})
			},
			check: audit.CheckFiles, want: audit.Finding{Tensor: "model.layers.3.self_attn.q_proj.weight", File: "model-00100-of-00118.safetensors"},
		},
		{
			name: "tensor in two shards", builtin: "safetensors",
			break_: func(v *variant) {
				dup := "model.layers.9.self_attn.k_proj.weight"
				v.editShard("model-00050-of-00118.safetensors", func(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
					return append(ts, safetensors.TensorInfo{Name: dup, DType: safetensors.BF16, Shape: []int64{512, 4096}})
				})
			},
			check: audit.CheckFiles, want: audit.Finding{Tensor: "model.layers.9.self_attn.k_proj.weight"},
			alsoFail: []string{audit.CheckTensors},
		},
		{
			name: "index names an absent shard", builtin: "safetensors",
			break_: func(v *variant) { v.src.Remove("model-00050-of-00118.safetensors") },
			check:  audit.CheckFiles, want: audit.Finding{File: "model-00050-of-00118.safetensors", Message: "tensor(s) the index puts there are missing because of it"},
			alsoFail: []string{audit.CheckTensors},
		},
		{
			name: "truncated shard", builtin: "safetensors",
			break_: func(v *variant) {
				const shard = "model-00042-of-00118.safetensors"
				for _, f := range v.l.Files {
					if f.Name == shard {
						v.src.Add(shard, &hub.Virtual{Head: f.Head, Len: f.Size - 1<<20}, f.Size-1<<20)
					}
				}
			},
			check: audit.CheckFiles, want: audit.Finding{File: "model-00042-of-00118.safetensors", Message: "1,048,576 bytes of tensor data are missing"},
		},
		{
			name: "truncated GGUF part", builtin: "gguf",
			break_: func(v *variant) {
				const part = "Qwen3-235B-A22B-Q4_K_M-00005-of-00005.gguf"
				for _, f := range v.l.Files {
					if f.Name == part {
						v.src.Add(part, &hub.Virtual{Head: f.Head, Len: f.Size / 2}, f.Size/2)
					}
				}
			},
			check: audit.CheckFiles, want: audit.Finding{File: "Qwen3-235B-A22B-Q4_K_M-00005-of-00005.gguf", Message: "truncated"},
		},
		{
			name: "config.json disagrees with GGUF metadata", builtin: "30b-gguf",
			break_: func(v *variant) {
				cfg := qwen3.Qwen3_30B_A3B()
				cfg.HiddenSize = 4096
				b, _ := json.Marshal(cfg)
				v.src.Add("config.json", bytes.NewReader(b), int64(len(b)))
			},
			check: audit.CheckConfig, want: audit.Finding{Field: "hidden_size", File: "config.json", Message: "config.json has hidden_size 4096, the GGUF metadata 2048"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVariant(t, tt.builtin)
			tt.break_(v)
			r := v.audit()
			assertFails(t, r)
			if c := checkByID(r, tt.check); c.Pass {
				t.Errorf("%s passed: %s", tt.check, c.Detail)
			}
			for _, id := range tt.alsoFail {
				if c := checkByID(r, id); c.Pass {
					t.Errorf("%s passed: %s", id, c.Detail)
				}
			}
			found := false
			for _, f := range r.Findings {
				if f.Check == tt.check && (tt.want.Tensor == "" || f.Tensor == tt.want.Tensor) && (tt.want.File == "" || f.File == tt.want.File || strings.Contains(f.Message, tt.want.File)) &&
					(tt.want.Field == "" || f.Field == tt.want.Field) && strings.Contains(f.Message, tt.want.Message) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s finding like %+v; findings:", tt.check, tt.want)
				for i, f := range r.Findings {
					if i < 20 {
						t.Logf("  %+v", f)
					}
				}
			}
		})
	}
}

// The checks know no family: a dense Qwen3, a Qwen3-MoE with dense layers
// mixed in and tied embeddings, in both formats, audit cleanly through the
// same code, with no published profile.
func TestAuditOtherShapes(t *testing.T) {
	dense := qwen3.TinyMoE()
	dense.ModelType, dense.Architectures, dense.NumExperts, dense.NumExpertsPerTok, dense.MoEIntermediateSize = "qwen3", []string{"Qwen3ForCausalLM"}, 0, 0, 0
	mixed := qwen3.TinyMoE()
	mixed.NumHiddenLayers, mixed.DecoderSparseStep, mixed.MLPOnlyLayers, mixed.TieWordEmbeddings = 6, 2, []int64{3}, true
	tests := []struct {
		name   string
		cfg    *qwen3.Config
		family string
	}{
		{"dense qwen3", dense, "qwen3"},
		{"mixed sparse and dense layers, tied", mixed, "qwen3moe"},
	}
	for _, tt := range tests {
		pred := tt.cfg.Predict()
		for _, format := range []string{"hf", "gguf"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				var l *synth.Layout
				var err error
				if format == "hf" {
					l, err = synth.HF("tiny", qwen3.MustNew(tt.cfg), synth.HFOptions{Shards: 2, DType: safetensors.F32})
				} else {
					if len(tt.cfg.MLPOnlyLayers) > 0 || tt.cfg.DecoderSparseStep > 1 {
						t.Skip("GGUF metadata has no key for dense layers in a qwen3moe model")
					}
					l, err = synth.GGUF("tiny", qwen3.MustNew(tt.cfg), synth.GGUFOptions{Type: "F16"})
				}
				if err != nil {
					t.Fatal(err)
				}
				ck, err := checkpoint.Load(context.Background(), l.Source())
				if err != nil {
					t.Fatal(err)
				}
				r, err := audit.Run(ck, audit.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !r.Pass {
					for _, f := range r.Findings {
						t.Logf("%+v", f)
					}
					t.Fatal("audit failed")
				}
				if r.Model.Family != tt.family || r.Model.Profile != "" {
					t.Errorf("family %q, profile %q; want %q and none", r.Model.Family, r.Model.Profile, tt.family)
				}
				if r.Params.Total != pred.Total || r.Params.Active != pred.Active {
					t.Errorf("params %+v, want %d / %d", r.Params, pred.Total, pred.Active)
				}
				if c := checkByID(r, audit.CheckProfile); !strings.Contains(c.Detail, "no published profile applied") {
					t.Errorf("STRUCT-PROFILE detail %q, want it to say no profile applied", c.Detail)
				}
			})
		}
	}
}

// An architecture no family knows is never a refusal: the files' format is
// checked, the tensors tallied, every check of the architecture reported
// not checked, and the verdict incomplete (a broken file still fails).
func TestAuditUnknownArchitecture(t *testing.T) {
	for _, tt := range []struct {
		builtin string
		edit    func(v *variant)
		why     string
	}{
		{"30b-safetensors", func(v *variant) {
			v.editJSON("config.json", func(m map[string]any) { m["model_type"] = "frobnicator" })
		}, `model_type "frobnicator"`},
		{"30b-gguf", func(v *variant) {
			v.editGGUF("Qwen3-30B-A3B-Q4_K_M.gguf", func(kvs []gguf.KV) []gguf.KV {
				for i := range kvs {
					if kvs[i].Key == "general.architecture" {
						kvs[i].Value = gguf.String("frobnicator")
					}
				}
				return kvs
			})
		}, `general.architecture "frobnicator"`},
	} {
		t.Run(tt.builtin, func(t *testing.T) {
			v := newVariant(t, tt.builtin)
			tt.edit(v)
			r := v.audit()
			if r.Verdict != audit.VerdictIncomplete || r.Pass || r.Model.Family != "unknown" || !strings.Contains(r.Model.NotChecked, tt.why) ||
				!strings.Contains(r.Headline, "the architecture was not checked") {
				t.Fatalf("verdict %q, model %+v, headline %q", r.Verdict, r.Model, r.Headline)
			}
			for _, c := range r.Checks {
				if c.ID == audit.CheckFiles != (!c.Skipped && c.Pass) {
					t.Errorf("check %s: pass %v, skipped %v; want only STRUCT-FILES run", c.ID, c.Pass, c.Skipped)
				}
			}
			if r.Params.Total != params30B || len(r.Layers) != 49 {
				t.Errorf("params %d, %d layer rows; want every tensor tallied (%d) in 48 layers and the rest", r.Params.Total, len(r.Layers), params30B)
			}
		})
	}
}

func TestAuditCannotRun(t *testing.T) {
	v := newVariant(t, "30b-safetensors")
	v.src.Remove("config.json")
	ck, err := checkpoint.Load(context.Background(), v.src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Run(ck, audit.Options{}); !errors.Is(err, arch.ErrNoConfig) {
		t.Errorf("Run(no config.json) = %v, want ErrNoConfig", err)
	}
	for _, opts := range []audit.Options{{Hardware: []string{"abacus"}}, {Bandwidth: 1e12}, {KVType: "q3"}, {Ctx: -1}} {
		ck, _ := checkpoint.Load(context.Background(), newVariant(t, "30b-gguf").src)
		if _, err := audit.Run(ck, opts); err == nil {
			t.Errorf("Run(%+v) succeeded", opts)
		}
	}
}

// The root cause comes first, once: an absent shard is one finding of
// STRUCT-FILES naming it and counting the tensors lost with it, and one of
// STRUCT-TENSORS pointing there, not a line per lost tensor; a truncated
// shard names the tensors whose data is cut off.
func TestRootCauseFirst(t *testing.T) {
	const absent = "model-00050-of-00118.safetensors"
	v := newVariant(t, "safetensors")
	lost := 0
	for _, p := range v.l.Tensors {
		if p.File == absent {
			lost++
		}
	}
	v.src.Remove(absent)
	r := v.audit()
	byCheck := map[string][]audit.Finding{}
	for _, f := range r.Findings {
		byCheck[f.Check] = append(byCheck[f.Check], f)
	}
	files, tensors := byCheck[audit.CheckFiles], byCheck[audit.CheckTensors]
	want := fmt.Sprintf("the %d tensor(s) the index puts there are missing because of it", lost)
	if len(files) != 1 || files[0].File != absent || !strings.Contains(files[0].Message, want) {
		t.Errorf("%s findings %+v, want one naming %s with %q", audit.CheckFiles, files, absent, want)
	}
	want = fmt.Sprintf("%d expected tensor(s) missing because shard %s", lost, absent)
	if len(tensors) != 1 || !strings.Contains(tensors[0].Message, want) {
		t.Errorf("%s findings %+v, want one with %q", audit.CheckTensors, tensors, want)
	}
	if r.Findings[0].Check != audit.CheckFiles || !strings.Contains(r.Headline, absent) {
		t.Errorf("first finding %+v, headline %q: want the absent shard first", r.Findings[0], r.Headline)
	}

	// Truncated by 1 MiB from the end: the last tensors of the shard lose
	// their data, and the finding names them (the layout is synthesized,
	// so which ones is known from it).
	const shard = "model-00042-of-00118.safetensors"
	v = newVariant(t, "safetensors")
	var size int64
	for _, f := range v.l.Files {
		if f.Name == shard {
			size = f.Size - 1<<20
			v.src.Add(shard, &hub.Virtual{Head: f.Head, Len: size}, size)
		}
	}
	var cut []string
	for _, p := range v.l.Tensors {
		if p.File == shard && p.Offset+p.Bytes > size {
			cut = append(cut, p.Name)
		}
	}
	r = v.audit()
	f := byFile(r, audit.CheckFiles, shard)
	if len(cut) == 0 || f == nil || f.Tensor != cut[0] || !strings.Contains(f.Message, fmt.Sprintf("%d tensor(s) cut off: %s", len(cut), cut[0])) {
		t.Errorf("truncated shard finding %+v, want it to name the %d tensor(s) cut off, first %v", f, len(cut), cut)
	}
}

// A GGUF whose expert_count the tensors all contradict gets one
// STRUCT-TENSORS finding pointing at the key, not one per tensor.
func TestMetadataBlamed(t *testing.T) {
	v := newVariant(t, "gguf")
	v.editGGUF("Qwen3-235B-A22B-Q4_K_M-00001-of-00005.gguf", func(kvs []gguf.KV) []gguf.KV {
		for i := range kvs {
			if kvs[i].Key == "qwen3moe.expert_count" {
				kvs[i].Value = gguf.Uint32(127)
			}
		}
		return kvs
	})
	r := v.audit()
	var tensors []audit.Finding
	for _, f := range r.Findings {
		if f.Check == audit.CheckTensors {
			tensors = append(tensors, f)
		}
	}
	if len(tensors) != 1 || !strings.Contains(tensors[0].Message, "because the config's qwen3moe.expert_count is wrong") ||
		!strings.HasPrefix(tensors[0].Message, "376 tensor finding(s)") {
		t.Errorf("%s findings %+v; want one blaming qwen3moe.expert_count for the 376 (94 routers, 3·94 expert stacks)", audit.CheckTensors, tensors)
	}
}

// byFile returns the first finding of check id about file.
func byFile(r *audit.Report, id, file string) *audit.Finding {
	for i, f := range r.Findings {
		if f.Check == id && f.File == file {
			return &r.Findings[i]
		}
	}
	return nil
}

// Checks that do not apply are skipped everywhere, never shown as PASS.
func TestSkippedShownAsSkipped(t *testing.T) {
	r := newVariant(t, "30b-safetensors").audit()
	c := checkByID(r, audit.CheckConfig)
	if !c.Skipped || c.Pass || r.Verdict != audit.VerdictPass {
		t.Fatalf("STRUCT-CONFIG on safetensors: %+v, verdict %q; want skipped, not passing, and the verdict still pass", c, r.Verdict)
	}
	var text, junit bytes.Buffer
	if err := errors.Join(r.WriteText(&text), r.WriteJUnit(&junit)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "SKIP  "+audit.CheckConfig) {
		t.Error("text report does not show STRUCT-CONFIG as SKIP")
	}
	if !regexp.MustCompile(`name="STRUCT-CONFIG[^"]*"[^>]*>\s*<skipped message="not applicable`).Match(junit.Bytes()) {
		t.Error("JUnit has no <skipped/> for STRUCT-CONFIG")
	}
}

package compare_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	_ "github.com/weightaudit/weightaudit/arch/all"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/hub"
)

// load opens a fixture of testdata/tiny.
func load(tb testing.TB, rel string) *checkpoint.Checkpoint {
	tb.Helper()
	return loadPath(tb, filepath.Join("..", "testdata", "tiny", rel))
}

// loadPath loads the checkpoint at path (a file or a folder), as the
// command line does.
func loadPath(tb testing.TB, path string) *checkpoint.Checkpoint {
	tb.Helper()
	src, focus, err := hub.Local(path)
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithFocus(focus))
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

// The fixtures are one model (qwen3.TinyMoE, internal/fixturegen) in
// every format: each conversion compares clean against the F32 source,
// in the sampled mode and in full.
func TestFixturesCompareClean(t *testing.T) {
	src := load(t, "hf-f32")
	for _, rel := range []string{"hf-bf16", "gguf/tiny-f32.gguf", "gguf/tiny-f16.gguf", "gguf/tiny-q8_0.gguf", "gguf/tiny-q8_0-00001-of-00002.gguf"} {
		for _, full := range []bool{false, true} {
			r, err := compare.Run(context.Background(), src, load(t, rel), compare.Options{Full: full, Sample: 4, Jobs: 2})
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			if !r.Pass || r.Verdict != "pass" || len(r.Pairs) == 0 {
				t.Errorf("%s (full %v): %s", rel, full, r.Headline)
				for _, p := range r.Pairs {
					if !p.Pass {
						t.Logf("  %s %s vs %s: %.3g > %.3g: %s", p.Role, p.A, p.B, p.RelRMS, p.Bound, p.Diagnosis)
					}
				}
				for _, u := range r.Unpaired {
					t.Logf("  unpaired %+v", u)
				}
				for _, m := range r.Metadata {
					t.Logf("  metadata %+v", m)
				}
			}
		}
	}
}

// defective copies testdata/tiny/gguf/tiny-f32.gguf into a temporary
// folder, lets edit change its tensors' float32 values (by name), and
// loads the copy.
func defective(t *testing.T, edit func(get func(name string) []float32)) *checkpoint.Checkpoint {
	t.Helper()
	orig := load(t, "gguf/tiny-f32.gguf")
	data, err := os.ReadFile(filepath.Join("..", "testdata", "tiny", "gguf", "tiny-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	views := map[string][]float32{}
	get := func(name string) []float32 {
		if v, ok := views[name]; ok {
			return v
		}
		for _, tn := range orig.Inventory().Tensors {
			if tn.Name == name {
				v := make([]float32, tn.Params)
				for i := range v {
					v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[tn.Offset+4*int64(i):]))
				}
				views[name] = v
				return v
			}
		}
		t.Fatalf("no tensor %s", name)
		return nil
	}
	edit(get)
	for name, v := range views {
		for _, tn := range orig.Inventory().Tensors {
			if tn.Name == name {
				for i, x := range v {
					binary.LittleEndian.PutUint32(data[tn.Offset+4*int64(i):], math.Float32bits(x))
				}
			}
		}
	}
	path := filepath.Join(t.TempDir(), "tiny-f32.gguf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return loadPath(t, path)
}

// Each conversion defect fails the comparison, names the tensor and, where
// a transform explains it, says which; the sampled and the full mode
// agree. TinyMoE: d 32, 4 heads of 8 (q 32 rows), 2 KV heads, 4 experts of
// 32, 2 layers; GGUF stacks the experts as [expert, out, in].
func TestDefectsNamed(t *testing.T) {
	swapRows := func(v []float32, a, b, n int) {
		for i := range n {
			v[a*n+i], v[b*n+i] = v[b*n+i], v[a*n+i]
		}
	}
	tests := []struct {
		name, tensor, want string
		edit               func(get func(string) []float32)
	}{
		{"experts swapped", "blk.1.ffn_up_exps.weight[0]", "holds expert 2's weights of A, not expert 0's", func(get func(string) []float32) {
			swapRows(get("blk.1.ffn_up_exps.weight"), 0, 2, 32*32) // expert slices of 32×32
		}},
		{"scale applied twice", "blk.0.attn_k.weight", "B = A × 2", func(get func(string) []float32) {
			for i, v := 0, get("blk.0.attn_k.weight"); i < len(v); i++ {
				v[i] *= 2
			}
		}},
		{"heads permuted", "blk.1.attn_q.weight", "matches if the heads are permuted as llama.cpp permutes Q and K", func(get func(string) []float32) {
			v := get("blk.1.attn_q.weight")
			orig := append([]float32(nil), v...)
			for r := range 32 { // stored row r holds the original row HFRow(r)
				copy(v[r*32:(r+1)*32], orig[arch.HFRow(r, 32, 4)*32:][:32])
			}
		}},
		{"layers swapped", "blk.0.attn_v.weight", "holds layer 1's weights of A, not layer 0's", func(get func(string) []float32) {
			a, b := get("blk.0.attn_v.weight"), get("blk.1.attn_v.weight")
			for i := range a {
				a[i], b[i] = b[i], a[i]
			}
		}},
		{"one row from elsewhere", "blk.0.attn_output.weight", "the error is largest in row 7", func(get func(string) []float32) {
			v := get("blk.0.attn_output.weight")
			for i := range 32 {
				v[7*32+i] = float32(i%5) - 2
			}
		}},
	}
	src := load(t, "hf-f32")
	for _, tt := range tests {
		b := defective(t, tt.edit)
		for _, full := range []bool{false, true} {
			r, err := compare.Run(context.Background(), src, b, compare.Options{Full: full, Sample: 32, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			var hit *compare.Pair
			for i := range r.Pairs {
				if r.Pairs[i].B == tt.tensor && !r.Pairs[i].Pass {
					hit = &r.Pairs[i]
				}
			}
			if r.Pass || r.Verdict != "fail" || hit == nil || !strings.Contains(hit.Diagnosis, tt.want) {
				t.Errorf("%s (full %v): verdict %s, headline %q; pair %+v, want %s failing with %q", tt.name, full, r.Verdict, r.Headline, hit, tt.tensor, tt.want)
			}
			if r.Failed != 1 && tt.name != "experts swapped" && tt.name != "layers swapped" {
				t.Errorf("%s: %d pairs failed, want 1", tt.name, r.Failed)
			}
		}
	}
}

// A NaN in B fails its pair, said as such, and the JSON report stays
// valid (it has no NaN).
func TestNonFinite(t *testing.T) {
	b := defective(t, func(get func(string) []float32) {
		get("blk.1.attn_v.weight")[3] = float32(math.NaN())
	})
	r, err := compare.Run(context.Background(), load(t, "hf-f32"), b, compare.Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	for _, p := range r.Pairs {
		if p.B == "blk.1.attn_v.weight" && (p.Pass || p.NonFinite != 1 || !strings.Contains(p.Diagnosis, "NaN")) {
			t.Errorf("%+v", p)
		}
	}
	if r.Pass {
		t.Error("pass")
	}
}

// Every report format writes, and the JUnit counts add up: a case per
// pair, a failed one per pair beyond its bound, and the metadata case.
func TestFormats(t *testing.T) {
	b := defective(t, func(get func(string) []float32) {
		for i, v := 0, get("blk.0.attn_k.weight"); i < len(v); i++ {
			v[i] *= 2
		}
	})
	r, err := compare.Run(context.Background(), load(t, "hf-f32"), b, compare.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range compare.Formats {
		var buf bytes.Buffer
		if err := f.Write(r, &buf); err != nil || buf.Len() == 0 {
			t.Errorf("%s: %v", f.Name, err)
		}
		if f.Name == "junit" {
			var doc struct {
				Suites []struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Suites) != 1 ||
				doc.Suites[0].Tests != len(r.Pairs)+1 || doc.Suites[0].Failures != r.Failed {
				t.Errorf("junit: %+v, %v; want %d tests, %d failures", doc, err, len(r.Pairs)+1, r.Failed)
			}
		}
	}
}

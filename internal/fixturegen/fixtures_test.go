package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// committed is the repository's testdata folder, which go generate writes.
const committed = "../../testdata"

// readTree returns every file under dir (relative slash names) and its bytes.
func readTree(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestGenerateDeterministic generates twice and compares the two trees
// byte for byte, and with the committed fixtures, so that a generator
// change without `go generate` fails here as well as in CI.
func TestGenerateDeterministic(t *testing.T) {
	var trees [2]map[string][]byte
	for i := range trees {
		dir := t.TempDir()
		stale := filepath.Join(dir, "tiny", "stale.bin")
		if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(stale, []byte("left from an older run"), 0o644); err != nil {
			t.Fatal(err)
		}
		keep := filepath.Join(dir, "other", "keep.txt")
		if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keep, []byte("not fixturegen's"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := run(context.Background(), []string{"-out", dir}, io.Discard); err != nil {
			t.Fatalf("run(-out %s) = %v", dir, err)
		}
		if _, err := os.Stat(stale); !os.IsNotExist(err) {
			t.Errorf("stale file %s survived generation (stat error %v)", stale, err)
		}
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("generation removed %s, which it does not own: %v", keep, err)
		}
		trees[i] = readTree(t, dir)
		delete(trees[i], "other/keep.txt")
	}
	if diff := cmp.Diff(trees[0], trees[1]); diff != "" {
		t.Fatalf("two runs differ (-first +second):\n%s", diff)
	}
	got := map[string][]byte{}
	for _, d := range owned {
		for name, b := range readTree(t, filepath.Join(committed, d)) {
			got[d+"/"+name] = b
		}
	}
	for name := range trees[0] {
		if _, ok := got[name]; !ok {
			t.Errorf("%s/%s is missing: run go generate ./internal/fixturegen", committed, name)
		}
	}
	for name, b := range got {
		want, ok := trees[0][name]
		switch {
		case !ok:
			t.Errorf("%s/%s is stale (not generated any more): run go generate ./internal/fixturegen", committed, name)
		case !bytes.Equal(b, want):
			t.Errorf("%s/%s differs from what fixturegen writes: run go generate ./internal/fixturegen", committed, name)
		}
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-out"}, {"-out", "x", "extra"}, {"-bogus"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) = nil, want a usage error", args)
		}
	}
}

// TestGGUFValuesMapping checks that each GGUF tensor is backed by the Hugging
// Face values of the same layer and role.
func TestGGUFValuesMapping(t *testing.T) {
	cfg := qwen3.MustNew(qwen3.TinyMoE())
	hf := hfValues(cfg)
	gg, err := ggufValues(cfg, hf)
	if err != nil {
		t.Fatal(err)
	}
	concat := func(names ...string) []float32 {
		var v []float32
		for _, n := range names {
			v = append(v, hf[n]...)
		}
		return v
	}
	experts := func(layer int, proj string) []float32 {
		var names []string
		for e := range int(cfg.Dims().Experts) {
			names = append(names, fmt.Sprintf("model.layers.%d.mlp.experts.%d.%s.weight", layer, e, proj))
		}
		return concat(names...)
	}
	tests := []struct {
		gguf string
		want []float32
	}{
		{"token_embd.weight", hf["model.embed_tokens.weight"]},
		{"output.weight", hf["lm_head.weight"]},
		{"output_norm.weight", hf["model.norm.weight"]},
		{"blk.0.attn_q.weight", hf["model.layers.0.self_attn.q_proj.weight"]},
		{"blk.1.attn_output.weight", hf["model.layers.1.self_attn.o_proj.weight"]},
		{"blk.1.attn_k_norm.weight", hf["model.layers.1.self_attn.k_norm.weight"]},
		{"blk.0.ffn_norm.weight", hf["model.layers.0.post_attention_layernorm.weight"]},
		{"blk.1.ffn_gate_inp.weight", hf["model.layers.1.mlp.gate.weight"]},
		{"blk.0.ffn_gate_exps.weight", experts(0, "gate_proj")},
		{"blk.1.ffn_up_exps.weight", experts(1, "up_proj")},
		{"blk.1.ffn_down_exps.weight", experts(1, "down_proj")},
	}
	for _, tt := range tests {
		if len(tt.want) == 0 || !slicesEqual(gg[tt.gguf], tt.want) {
			t.Errorf("ggufValues()[%q] differs from its Hugging Face values (%d vs %d values)", tt.gguf, len(gg[tt.gguf]), len(tt.want))
		}
	}
	if len(gg) != len(cfg.Expected(checkpoint.FormatGGUF)) {
		t.Errorf("ggufValues() has %d tensors, want %d", len(gg), len(cfg.Expected(checkpoint.FormatGGUF)))
	}
}

// tensorBytes returns the stored bytes of tensor name, looked up in the
// committed safetensors shards or GGUF parts of one fixture.
type tensorBytes func(name string) ([]byte, string, error)

func safetensorsFixture(tb testing.TB, dir string) tensorBytes {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no shards in %s (%v)", dir, err)
	}
	return func(name string) ([]byte, string, error) {
		for _, p := range paths {
			f, err := safetensors.Open(p)
			if err != nil {
				return nil, "", err
			}
			ti, ok := f.Lookup(name)
			if !ok {
				continue
			}
			b, err := readSection(p, func(r io.ReaderAt) (*io.SectionReader, error) { return f.TensorReader(r, name) })
			return b, ti.DType.String(), err
		}
		return nil, "", fmt.Errorf("tensor %s in no shard of %s", name, dir)
	}
}

func ggufFixture(tb testing.TB, paths ...string) tensorBytes {
	tb.Helper()
	return func(name string) ([]byte, string, error) {
		for _, p := range paths {
			f, err := gguf.Open(p)
			if err != nil {
				return nil, "", err
			}
			ti, ok := f.Lookup(name)
			if !ok {
				continue
			}
			b, err := readSection(p, func(r io.ReaderAt) (*io.SectionReader, error) { return f.TensorReader(r, name) })
			return b, ti.Type.String(), err
		}
		return nil, "", fmt.Errorf("tensor %s in none of %v", name, paths)
	}
}

func readSection(p string, open func(io.ReaderAt) (*io.SectionReader, error)) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sr, err := open(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(sr)
}

// decode turns stored bytes back into float32 values, written from the
// format definitions (Q8_0: d as binary16, then 32 int8 quants).
func decode(tb testing.TB, dtype string, b []byte) []float32 {
	tb.Helper()
	var out []float32
	switch dtype {
	case "F32":
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
		}
	case "F16":
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, halfToF32(binary.LittleEndian.Uint16(b[i:])))
		}
	case "BF16":
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[i:]))<<16))
		}
	case "Q8_0":
		for i := 0; i+34 <= len(b); i += 34 {
			d := halfToF32(binary.LittleEndian.Uint16(b[i:]))
			for _, q := range b[i+2 : i+34] {
				out = append(out, d*float32(int8(q)))
			}
		}
	default:
		tb.Fatalf("no decoder for %s", dtype)
	}
	return out
}

// TestCommittedValues reads every tensor of every committed tiny fixture
// through the format readers and checks that it holds the generator's
// values for that tensor: exactly for F32, to the nearest representable
// value for F16 and BF16, and within half a quantization step for Q8_0.
func TestCommittedValues(t *testing.T) {
	cfg := qwen3.MustNew(qwen3.TinyMoE())
	hf := hfValues(cfg)
	gg, err := ggufValues(cfg, hf)
	if err != nil {
		t.Fatal(err)
	}
	tiny := filepath.Join(committed, "tiny")
	g := func(names ...string) []string {
		for i, n := range names {
			names[i] = filepath.Join(tiny, "gguf", n)
		}
		return names
	}
	tests := []struct {
		name     string
		read     tensorBytes
		expected []arch.Expected
		values   map[string][]float32
		matrix   string // dtype of the matrices
	}{
		{"hf-f32", safetensorsFixture(t, filepath.Join(tiny, "hf-f32")), cfg.Expected(checkpoint.FormatSafetensors), hf, "F32"},
		{"hf-bf16", safetensorsFixture(t, filepath.Join(tiny, "hf-bf16")), cfg.Expected(checkpoint.FormatSafetensors), hf, "BF16"},
		{"tiny-f32", ggufFixture(t, g("tiny-f32.gguf")...), cfg.Expected(checkpoint.FormatGGUF), gg, "F32"},
		{"tiny-f16", ggufFixture(t, g("tiny-f16.gguf")...), cfg.Expected(checkpoint.FormatGGUF), gg, "F16"},
		{"tiny-q8_0", ggufFixture(t, g("tiny-q8_0.gguf")...), cfg.Expected(checkpoint.FormatGGUF), gg, "Q8_0"},
		{"tiny-q8_0-split", ggufFixture(t, g("tiny-q8_0-00001-of-00002.gguf", "tiny-q8_0-00002-of-00002.gguf")...), cfg.Expected(checkpoint.FormatGGUF), gg, "Q8_0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range tt.expected {
				b, dtype, err := tt.read(e.Name)
				if err != nil {
					t.Errorf("tensor %s: %v", e.Name, err)
					continue
				}
				want := tt.values[e.Name]
				wantType := tt.matrix
				if strings.HasPrefix(tt.name, "tiny-") && (len(e.Shape) == 1 || e.Component == arch.CompRouter) {
					wantType = "F32"
				}
				if dtype != wantType {
					t.Errorf("tensor %s is %s, want %s", e.Name, dtype, wantType)
					continue
				}
				got := decode(t, dtype, b)
				if len(got) != len(want) {
					t.Errorf("tensor %s: %d values, want %d", e.Name, len(got), len(want))
					continue
				}
				for i := range want {
					if !close(dtype, got, want, i) {
						t.Errorf("tensor %s value %d = %g, want %g stored as %s", e.Name, i, got[i], want[i], dtype)
						break
					}
				}
			}
		})
	}
}

// close reports whether got[i] is want[i] as the dtype stores it.
func close(dtype string, got, want []float32, i int) bool {
	switch dtype {
	case "F32":
		return math.Float32bits(got[i]) == math.Float32bits(want[i])
	case "F16":
		return got[i] == halfToF32(toF16(want[i]))
	case "BF16":
		return got[i] == math.Float32frombits(uint32(toBF16(want[i]))<<16)
	case "Q8_0":
		// Within half a step of the exact scale d, plus what rounding d to
		// binary16 moves a quant of up to 127 steps.
		blk := want[i/q8Block*q8Block:][:q8Block]
		var amax float64
		for _, v := range blk {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		d := amax / 127
		d16 := float64(halfToF32(toF16(float32(d))))
		tol := d/2 + 127*math.Abs(d16-d) + 1e-9
		return math.Abs(float64(got[i]-want[i])) <= tol
	}
	return false
}

// TestManifest recomputes the MANIFEST counts from the config
// by hand-written arithmetic and checks the committed MANIFEST's sizes and
// hashes against the files.
func TestManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(committed, "tiny", "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Fixtures) != len(tinySpecs) {
		t.Fatalf("MANIFEST lists %d fixtures, want %d", len(m.Fixtures), len(tinySpecs))
	}
	// TinyQwen3MoE: embedding and lm_head 64·32 each, final norm 32; per
	// layer norms 32+8+8+32, q and o 32·32, k and v 16·32, router 4·32,
	// 4 experts of 3 matrices 32·32.
	const perLayer = 32 + 8 + 8 + 32 + 2*32*32 + 2*16*32 + 4*32 + 4*3*32*32
	const params = 2*64*32 + 32 + 2*perLayer
	// GGUF keeps norms and routers in F32.
	norms := int64(32 + 2*(32+8+8+32))
	routers := int64(2 * 4 * 32)
	want := map[string][3]int64{ // tensors, params, bytes
		"hf-f32":           {45, params, 4 * params},
		"hf-bf16":          {45, params, 2 * params},
		"tiny-f32":         {27, params, 4 * params},
		"tiny-f16":         {27, params, 2*(params-norms-routers) + 4*(norms+routers)},
		"tiny-q8_0":        {27, params, (params-norms-routers)/32*34 + 4*(norms+routers)},
		"tiny-q8_0-split2": {27, params, (params-norms-routers)/32*34 + 4*(norms+routers)},
	}
	for _, fx := range m.Fixtures {
		w, ok := want[fx.Name]
		if !ok {
			t.Errorf("MANIFEST fixture %q is unexpected", fx.Name)
			continue
		}
		if got := [3]int64{int64(fx.Tensors), fx.Params, fx.Bytes}; got != w {
			t.Errorf("MANIFEST %s: tensors, params, bytes = %v, want %v", fx.Name, got, w)
		}
		for _, f := range fx.Files {
			size, sum, err := hashFile(filepath.Join(committed, "tiny", filepath.FromSlash(f.Name)))
			if err != nil {
				t.Error(err)
				continue
			}
			if size != f.Size || sum != f.SHA256 {
				t.Errorf("%s: size %d sha256 %s, MANIFEST says %d %s", f.Name, size, sum, f.Size, f.SHA256)
			}
		}
		found := false
		for _, f := range fx.Files {
			found = found || f.Name == fx.Source || path.Dir(f.Name) == fx.Source
		}
		if !found {
			t.Errorf("MANIFEST %s: source %s is neither one of its files nor their folder", fx.Name, fx.Source)
		}
	}
}

package verify_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/verify"
)

const verifyTinyDir = "../testdata/tiny"

// copyFixture copies testdata/tiny/<rel> (a file or a folder) into a new
// temporary folder and returns the copy's path.
func copyFixture(tb testing.TB, rel string) string {
	tb.Helper()
	src := filepath.Join(verifyTinyDir, rel)
	dst := filepath.Join(tb.TempDir(), filepath.Base(rel))
	info, err := os.Stat(src)
	if err != nil {
		tb.Fatal(err)
	}
	if !info.IsDir() {
		copyFile(tb, src, dst)
		return dst
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		copyFile(tb, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
	return dst
}

func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// load opens a local SOURCE as the CLI does.
func load(tb testing.TB, path string, opts ...checkpoint.LoadOption) *checkpoint.Checkpoint {
	tb.Helper()
	src, focus, err := hub.Resolve(path)
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), src, append(opts, checkpoint.WithFocus(focus))...)
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

func runVerify(tb testing.TB, path string, opts verify.Options) *verify.Report {
	tb.Helper()
	r, err := verify.Run(context.Background(), load(tb, path, checkpoint.WithPartialFiles()), opts)
	if err != nil {
		tb.Fatalf("Run(%s) = %v", path, err)
	}
	return r
}

// tensorAt finds a tensor of a checkpoint folder or file by name.
func tensorAt(tb testing.TB, path, name string) (checkpoint.Tensor, string) {
	tb.Helper()
	ck := load(tb, path)
	for _, t := range ck.Inventory().Tensors {
		if t.Name == name {
			file := filepath.Join(path, filepath.FromSlash(t.File))
			if info, _ := os.Stat(path); !info.IsDir() {
				file = filepath.Join(filepath.Dir(path), t.File)
			}
			return t, file
		}
	}
	tb.Fatalf("%s has no tensor %s", path, name)
	return checkpoint.Tensor{}, ""
}

// patch writes b at off in the file.
func patch(tb testing.TB, file string, off int64, b []byte) {
	tb.Helper()
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		tb.Fatal(err)
	}
}

func readAt(tb testing.TB, file string, off int64, n int) []byte {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		tb.Fatal(err)
	}
	return b
}

// finding is the part of a finding the tests compare.
type finding struct {
	Check, File, Tensor string
	Offset, Length      int64
	Count               int64
}

func findings(r *verify.Report) []finding {
	out := []finding{}
	for _, f := range r.Findings {
		out = append(out, finding{f.Check, f.File, f.Tensor, f.Offset, f.Length, f.Count})
	}
	return out
}

// manifestSHA256 reads the digests testdata/tiny/MANIFEST gives the files.
func manifestSHA256(tb testing.TB) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(verifyTinyDir, "MANIFEST"))
	if err != nil {
		tb.Fatal(err)
	}
	var m struct {
		Fixtures []struct {
			Files []struct {
				Name   string `json:"name"`
				SHA256 string `json:"sha256"`
			} `json:"files"`
		} `json:"fixtures"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, fx := range m.Fixtures {
		for _, f := range fx.Files {
			out[f.Name] = f.SHA256
		}
	}
	return out
}

func TestVerifyCleanFixtures(t *testing.T) {
	want := manifestSHA256(t)
	tests := []struct {
		name    string
		source  string
		files   int
		checked string // what the NaN/Inf counts of the first tensor cover
	}{
		{"hf-f32", "hf-f32", 4, "values"},
		{"hf-bf16", "hf-bf16", 4, "values"},
		{"gguf-f32", "gguf/tiny-f32.gguf", 1, "values"},
		{"gguf-f16", "gguf/tiny-f16.gguf", 1, "values"},
		{"gguf-q8_0", "gguf/tiny-q8_0.gguf", 1, "scales"},
		{"gguf-q8_0-split", "gguf/tiny-q8_0-00001-of-00002.gguf", 2, "scales"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVerify(t, filepath.Join(verifyTinyDir, tt.source), verify.Options{})
			if !r.Pass || r.Incomplete || len(r.Findings) != 0 {
				t.Fatalf("Run(%s): pass %v, incomplete %v, findings %+v; want a clean pass", tt.source, r.Pass, r.Incomplete, r.Findings)
			}
			if len(r.Files) != tt.files {
				t.Errorf("Run(%s) read %d files, want %d", tt.source, len(r.Files), tt.files)
			}
			dir := filepath.Dir(tt.source)
			if !strings.Contains(tt.source, ".gguf") {
				dir = tt.source
			}
			for _, f := range r.Files {
				if f.Read != f.Size || f.Status != "unchecked" {
					t.Errorf("file %s: read %d of %d, status %s", f.Name, f.Read, f.Size, f.Status)
				}
				if w, ok := want[pathJoin(dir, f.Name)]; ok && f.SHA256 != w {
					t.Errorf("file %s: sha256 %s, want %s (MANIFEST)", f.Name, f.SHA256, w)
				}
			}
			if got := r.Tensors[0].Checked; got != tt.checked {
				t.Errorf("tensors[0].nan_inf_checked = %q, want %q", got, tt.checked)
			}
			for _, tc := range r.Tensors {
				if tc.Stats == nil || tc.Stats.Count != tc.Bytes/int64(bytesPerParam(tc.DType)) && tc.Checked == "values" {
					t.Errorf("tensor %s: stats %+v over %d bytes", tc.Name, tc.Stats, tc.Bytes)
				}
			}
			if len(r.Layers) != 3 {
				t.Errorf("len(layers) = %d, want 3 (other, 0, 1)", len(r.Layers))
			}
		})
	}
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

func bytesPerParam(dtype string) int {
	switch dtype {
	case "F32":
		return 4
	case "F16", "BF16":
		return 2
	}
	return 1
}

// writeSafetensors writes a safetensors file of F32 tensors.
func writeSafetensors(tb testing.TB, path string, names []string, shapes [][]int64, data [][]float32) {
	tb.Helper()
	infos := make([]safetensors.TensorInfo, len(names))
	for i := range names {
		infos[i] = safetensors.TensorInfo{Name: names[i], DType: safetensors.F32, Shape: shapes[i]}
	}
	header, _, err := safetensors.EncodeHeader(nil, infos)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(header)
	for _, d := range data {
		for _, v := range d {
			binary.Write(&b, binary.LittleEndian, math.Float32bits(v))
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func normals(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64()*0.02) + 1e-3 // never exactly zero
	}
	return out
}

func TestVerifyDefects(t *testing.T) {
	tests := []struct {
		name   string
		build  func(t *testing.T) (path string, opts verify.Options, want []finding)
		verify func(t *testing.T, r *verify.Report)
	}{
		{
			name: "flipped-byte",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				dir := copyFixture(t, "hf-bf16")
				m := record(t, dir)
				tn, file := tensorAt(t, dir, "model.layers.1.self_attn.q_proj.weight")
				b := readAt(t, file, tn.Offset+100, 1)
				patch(t, file, tn.Offset+100, []byte{b[0] ^ 0x01})
				return dir, verify.Options{Manifest: m}, []finding{
					{Check: verify.CheckSHA256, File: tn.File},
					{Check: verify.CheckTensorSHA256, File: tn.File, Tensor: tn.Name, Offset: tn.Offset},
				}
			},
		},
		{
			name: "zeroed-2MiB",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				dir := t.TempDir()
				rng := rand.New(rand.NewPCG(1, 1))
				file := filepath.Join(dir, "model.safetensors")
				writeSafetensors(t, file, []string{"a.weight", "big.weight", "z.weight"},
					[][]int64{{64}, {1024, 1024}, {64}}, [][]float32{normals(rng, 64), normals(rng, 1<<20), normals(rng, 64)})
				tn, _ := tensorAt(t, dir, "big.weight")
				start := tn.Offset + 1<<20 + 12
				patch(t, file, start, make([]byte, 2<<20))
				return dir, verify.Options{}, []finding{
					{Check: verify.CheckZeroRun, File: "model.safetensors", Tensor: "big.weight", Offset: start, Length: 2 << 20},
				}
			},
			verify: func(t *testing.T, r *verify.Report) {
				big := r.Tensors[1]
				if len(big.ZeroRuns) != 1 || big.ZeroRuns[0].Length != 2<<20 || big.Stats == nil || !big.Stats.Sampled {
					t.Errorf("big.weight: zero runs %+v, stats %+v; want one 2 MiB run and sampled stats", big.ZeroRuns, big.Stats)
				}
			},
		},
		{
			name: "nan-in-bf16",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				dir := copyFixture(t, "hf-bf16")
				tn, file := tensorAt(t, dir, "model.layers.0.mlp.experts.2.up_proj.weight")
				patch(t, file, tn.Offset+2*37, []byte{0xC0, 0x7F}) // 0x7FC0, a quiet NaN
				return dir, verify.Options{}, []finding{
					{Check: verify.CheckNaN, File: tn.File, Tensor: tn.Name, Offset: tn.Offset + 2*37, Count: 1},
				}
			},
		},
		{
			name: "inf-in-f16",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				file := copyFixture(t, "gguf/tiny-f16.gguf")
				tn, _ := tensorAt(t, file, "blk.1.attn_k.weight")
				patch(t, file, tn.Offset+2*5, []byte{0x00, 0xFC}) // -Inf
				patch(t, file, tn.Offset+2*9, []byte{0x00, 0x7C}) // +Inf
				return file, verify.Options{}, []finding{
					{Check: verify.CheckInf, File: "tiny-f16.gguf", Tensor: tn.Name, Offset: tn.Offset + 2*5, Count: 2},
				}
			},
		},
		{
			name: "q8_0-nan-scale",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				file := copyFixture(t, "gguf/tiny-q8_0.gguf")
				tn, _ := tensorAt(t, file, "blk.0.ffn_up_exps.weight")
				block := tn.Offset + 34*7
				patch(t, file, block, []byte{0x00, 0x7E}) // 0x7e00
				return file, verify.Options{}, []finding{
					{Check: verify.CheckNaN, File: "tiny-q8_0.gguf", Tensor: tn.Name, Offset: block, Count: 1},
				}
			},
			verify: func(t *testing.T, r *verify.Report) {
				if !strings.Contains(r.Findings[0].Message, "block scales") {
					t.Errorf("finding %q does not say it is a scale", r.Findings[0].Message)
				}
			},
		},
		{
			name: "shard-replaced-same-size",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				dir := copyFixture(t, "hf-bf16")
				m := record(t, dir)
				// Another shard of the same size: the same header, other data.
				shard := filepath.Join(dir, "model-00002-of-00002.safetensors")
				st, err := safetensors.Open(shard)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(shard)
				data := b[st.DataOffset():]
				for i := 0; i+1 < len(data); i += 2 {
					data[i], data[i+1] = data[i+1]&0x3F, data[i] // other, finite values
				}
				if err := os.WriteFile(shard, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return dir, verify.Options{Manifest: m}, nil // checked in verify
			},
			verify: func(t *testing.T, r *verify.Report) {
				f := r.Findings[0]
				if f.Check != verify.CheckSHA256 || f.File != "model-00002-of-00002.safetensors" || f.Expected == "" || f.Actual == "" || f.Expected == f.Actual {
					t.Errorf("first finding %+v, want a sha256 mismatch of model-00002-of-00002.safetensors naming both digests", f)
				}
				for _, f := range r.Findings[1:] {
					if f.Check != verify.CheckTensorSHA256 || !strings.HasPrefix(f.File, "model-00002") {
						t.Errorf("finding %+v, want only tensor digests of shard 2", f)
					}
				}
				if r.Files[1].Status != "mismatch" || r.Files[0].Status != "ok" {
					t.Errorf("file statuses %s, %s; want ok, mismatch", r.Files[0].Status, r.Files[1].Status)
				}
			},
		},
		{
			name: "expected-digest",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				dir := copyFixture(t, "hf-f32")
				return dir, verify.Options{Expected: map[string]string{
					"model-00001-of-00002.safetensors": strings.ToUpper(manifestSHA256(t)["hf-f32/model-00001-of-00002.safetensors"]),
					"config.json":                      strings.Repeat("0", 64),
				}}, []finding{{Check: verify.CheckSHA256, File: "config.json"}}
			},
		},
		{
			name: "truncated",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				dir := copyFixture(t, "hf-f32")
				shard := filepath.Join(dir, "model-00002-of-00002.safetensors")
				info, _ := os.Stat(shard)
				if err := os.Truncate(shard, info.Size()-100); err != nil {
					t.Fatal(err)
				}
				ck := load(t, dir, checkpoint.WithPartialFiles())
				last := ck.Inventory().Tensors[len(ck.Inventory().Tensors)-1]
				return dir, verify.Options{}, []finding{
					{Check: verify.CheckTruncated, File: last.File, Tensor: last.Name, Offset: info.Size() - 100, Length: 100},
				}
			},
		},
		{
			name: "all-zero",
			build: func(t *testing.T) (string, verify.Options, []finding) {
				file := copyFixture(t, "gguf/tiny-f32.gguf")
				tn, _ := tensorAt(t, file, "blk.0.attn_q_norm.weight")
				patch(t, file, tn.Offset, make([]byte, tn.Bytes))
				return file, verify.Options{}, []finding{
					{Check: verify.CheckAllZero, File: "tiny-f32.gguf", Tensor: tn.Name, Offset: tn.Offset, Length: tn.Bytes},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, opts, want := tt.build(t)
			r := runVerify(t, path, opts)
			if r.Pass {
				t.Fatalf("Run(%s) passes, want findings", tt.name)
			}
			if want != nil {
				got := findings(r)
				// Digest findings carry no offset for files; compare without
				// Expected/Actual, checked below.
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("findings (-want +got):\n%s", diff)
				}
			}
			for _, f := range r.Findings {
				if f.Check == verify.CheckSHA256 || f.Check == verify.CheckTensorSHA256 {
					if len(f.Expected) != 64 || len(f.Actual) != 64 || f.Expected == f.Actual || !strings.Contains(f.Message, f.Expected) {
						t.Errorf("digest finding %+v does not name the expected and actual digests", f)
					}
				}
			}
			if tt.verify != nil {
				tt.verify(t, r)
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), r.Findings[0].Check) {
				t.Errorf("text report does not list %s:\n%s", r.Findings[0].Check, text.String())
			}
		})
	}
}

// record verifies path with tensor digests and returns its manifest,
// round-tripped through JSON.
func record(tb testing.TB, path string) *verify.Manifest {
	tb.Helper()
	r := runVerify(tb, path, verify.Options{TensorDigests: true})
	m, err := verify.NewManifest(r)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		tb.Fatal(err)
	}
	m2, err := verify.ParseManifest(b.Bytes())
	if err != nil {
		tb.Fatalf("ParseManifest(WriteJSON) = %v", err)
	}
	return m2
}

func TestVerifyJobsGiveIdenticalReports(t *testing.T) {
	dir := copyFixture(t, "hf-bf16")
	tn, file := tensorAt(t, dir, "model.layers.0.self_attn.k_proj.weight")
	patch(t, file, tn.Offset+6, []byte{0x80, 0xFF}) // -Inf
	m := record(t, copyFixture(t, "hf-bf16"))
	for _, src := range []string{dir, filepath.Join(verifyTinyDir, "gguf/tiny-q8_0-00001-of-00002.gguf")} {
		var reports []*verify.Report
		for _, jobs := range []int{1, 4} {
			for _, bs := range []int{0, 64 << 10} {
				r := runVerify(t, src, verify.Options{Jobs: jobs, BufferSize: bs, TensorDigests: true, Manifest: m})
				r.Seconds, r.Started = 0, time.Time{}
				reports = append(reports, r)
			}
		}
		for i := 1; i < len(reports); i++ {
			if diff := cmp.Diff(reports[0], reports[i]); diff != "" {
				t.Errorf("%s: report %d differs from jobs 1 (-jobs1 +other):\n%s", src, i, diff)
			}
		}
	}
}

func TestVerifyCancelledGivesPartialReport(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2, 2))
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), []string{"w"}, [][]int64{{1 << 20}}, [][]float32{normals(rng, 1<<20)})
	ck := load(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := verify.Run(ctx, ck, verify.Options{Jobs: 1, BufferSize: 64 << 10, Progress: func(string, int64) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run(cancelled) error = %v, want context.Canceled", err)
	}
	if r == nil || !r.Incomplete || r.Pass || r.Files[0].Status != "incomplete" || r.Files[0].Read >= r.Files[0].Size || !r.Tensors[0].Incomplete {
		t.Fatalf("Run(cancelled) report %+v, want a partial report marked incomplete", r)
	}
	if _, err := verify.NewManifest(r); err == nil {
		t.Error("NewManifest(incomplete report) succeeded, want an error")
	}
}

func TestVerifyOptionErrors(t *testing.T) {
	ck := load(t, filepath.Join(verifyTinyDir, "hf-f32"))
	tests := []struct {
		name string
		opts verify.Options
	}{
		{"negative-jobs", verify.Options{Jobs: -1}},
		{"small-buffer", verify.Options{BufferSize: 1000}},
		{"negative-zero-run", verify.Options{ZeroRun: -1}},
		{"bad-expected", verify.Options{Expected: map[string]string{"config.json": "abc"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := verify.Run(context.Background(), ck, tt.opts); err == nil || r != nil {
				t.Errorf("Run(%+v) = %v, %v; want an error", tt.opts, r, err)
			}
		})
	}
}

func ExampleRun() {
	src := hub.NewDir("../testdata/tiny/hf-f32")
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := verify.Run(context.Background(), ck, verify.Options{Jobs: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pass:", r.Pass)
	for _, f := range r.Files {
		fmt.Println(f.Name, f.Size, f.SHA256[:16])
	}
	r.WriteJSON(io.Discard)
	// Output:
	// pass: true
	// model-00001-of-00002.safetensors 73016 d54faaacca4ff753
	// model-00002-of-00002.safetensors 72760 cf6c2e20e3169614
	// model.safetensors.index.json 3852 0a96ec8996f73332
	// config.json 530 242e702fd2c36386
}

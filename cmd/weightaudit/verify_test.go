package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// copyTiny copies testdata/tiny/<rel> (a file or a flat folder) into a
// temporary folder and returns the copy's path.
func copyTiny(tb testing.TB, rel string) string {
	tb.Helper()
	src := filepath.Join("../../testdata/tiny", rel)
	dst := filepath.Join(tb.TempDir(), filepath.Base(rel))
	files := []string{src}
	if info, err := os.Stat(src); err != nil {
		tb.Fatal(err)
	} else if info.IsDir() {
		if err := os.Mkdir(dst, 0o755); err != nil {
			tb.Fatal(err)
		}
		entries, _ := os.ReadDir(src)
		files = files[:0]
		for _, e := range entries {
			files = append(files, filepath.Join(src, e.Name()))
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		to := dst
		if f != src {
			to = filepath.Join(dst, filepath.Base(f))
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

// verifyJSON is the part of `verify --json` the tests read.
type verifyJSON struct {
	Source     string `json:"source"`
	Format     string `json:"format"`
	Pass       bool   `json:"pass"`
	Incomplete bool   `json:"incomplete"`
	Files      []struct {
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
		Status string `json:"status"`
	} `json:"files"`
	Tensors []struct {
		Name   string  `json:"name"`
		File   string  `json:"file"`
		DType  string  `json:"dtype"`
		Shape  []int64 `json:"shape"`
		Offset int64   `json:"offset"`
		Bytes  int64   `json:"bytes"`
		NaN    *int64  `json:"nan"`
		Inf    *int64  `json:"inf"`
		Stats  *struct {
			AbsMax float64 `json:"absmax"`
		} `json:"stats"`
	} `json:"tensors"`
	Layers []struct {
		Layer int `json:"layer"`
	} `json:"layers"`
	Findings []struct {
		Check  string `json:"check"`
		File   string `json:"file"`
		Tensor string `json:"tensor"`
		Offset int64  `json:"offset"`
	} `json:"findings"`
}

func decodeVerify(tb testing.TB, stdout string) verifyJSON {
	tb.Helper()
	var r verifyJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		tb.Fatalf("verify --json output: %v\n%s", err, stdout)
	}
	return r
}

// flip changes one byte of a tensor's data: the 100th byte of the tensor
// called name, found through `inspect --json`.
func flip(tb testing.TB, source, name string) (file string) {
	tb.Helper()
	stdout, stderr, code := cli(tb, "inspect", source, "--json")
	if code != 0 {
		tb.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	r := decodeVerify(tb, stdout)
	for _, t := range r.Tensors {
		if t.Name == name {
			path := filepath.Join(source, t.File)
			if info, _ := os.Stat(source); !info.IsDir() {
				path = filepath.Join(filepath.Dir(source), t.File)
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				tb.Fatal(err)
			}
			defer f.Close()
			b := []byte{0}
			f.ReadAt(b, t.Offset+100)
			b[0] ^= 0x10
			if _, err := f.WriteAt(b, t.Offset+100); err != nil {
				tb.Fatal(err)
			}
			return t.File
		}
	}
	tb.Fatalf("%s has no tensor %s", source, name)
	return ""
}

func TestVerifyClean(t *testing.T) {
	for _, src := range []string{"hf-bf16", "gguf/tiny-q8_0.gguf"} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			stdout, stderr, code := cli(t, "verify", filepath.Join("../../testdata/tiny", src), "--json")
			if code != 0 {
				t.Fatalf("verify %s: exit %d, stderr %s", src, code, stderr)
			}
			r := decodeVerify(t, stdout)
			if !r.Pass || r.Incomplete || len(r.Findings) != 0 || len(r.Files) == 0 || len(r.Tensors) != 45 && len(r.Tensors) != 27 {
				t.Fatalf("verify %s --json = %+v, want a complete pass", src, r)
			}
			for _, f := range r.Files {
				if len(f.SHA256) != 64 || f.Status != "unchecked" || f.Size == 0 {
					t.Errorf("file %+v", f)
				}
			}
			for _, tn := range r.Tensors {
				if tn.NaN == nil || tn.Inf == nil || tn.Stats == nil || tn.File == "" || len(tn.Shape) == 0 {
					t.Errorf("tensor entry %+v lacks keys", tn)
				}
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing when it is not a terminal", stderr)
			}
			text, _, code := cli(t, "verify", filepath.Join("../../testdata/tiny", src))
			if code != 0 || !strings.Contains(text, "PASS") || !strings.Contains(text, "layers") {
				t.Errorf("verify %s (text): exit %d\n%s", src, code, text)
			}
		})
	}
}

func TestVerifyRecordManifestDiff(t *testing.T) {
	dir := copyTiny(t, "hf-bf16")
	manifest := filepath.Join(t.TempDir(), "m.json")
	if _, stderr, code := cli(t, "verify", dir, "--record", manifest); code != 0 {
		t.Fatalf("verify --record: exit %d: %s", code, stderr)
	}
	if _, _, code := cli(t, "verify", dir, "--manifest", manifest); code != 0 {
		t.Fatalf("verify --manifest (unchanged): exit %d, want 0", code)
	}
	if stdout, _, code := cli(t, "diff", manifest, dir); code != 0 || !strings.HasPrefix(stdout, "identical") {
		t.Fatalf("diff manifest source (unchanged): exit %d\n%s", code, stdout)
	}

	const name = "model.layers.1.mlp.experts.3.down_proj.weight"
	file := flip(t, dir, name)

	stdout, _, code := cli(t, "verify", dir, "--manifest", manifest, "--json")
	if code != 1 {
		t.Fatalf("verify --manifest after a flipped byte: exit %d, want 1", code)
	}
	r := decodeVerify(t, stdout)
	type f struct{ Check, File, Tensor string }
	var got []f
	for _, x := range r.Findings {
		got = append(got, f{x.Check, x.File, x.Tensor})
	}
	want := []f{{"VERIFY-SHA256", file, ""}, {"VERIFY-TENSOR-SHA256", file, name}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	for _, args := range [][]string{{manifest, dir}, {manifest, dir, "--jobs", "1"}} {
		stdout, stderr, code := cli(t, append([]string{"diff", "--json"}, args...)...)
		if code != 1 {
			t.Fatalf("diff %v: exit %d, want 1: %s", args, code, stderr)
		}
		var d struct {
			Identical bool `json:"identical"`
			Changed   []struct {
				Name string `json:"name"`
			} `json:"changed"`
			Added, Removed, Reshaped, Retyped []json.RawMessage
		}
		if err := json.Unmarshal([]byte(stdout), &d); err != nil {
			t.Fatal(err)
		}
		if d.Identical || len(d.Changed) != 1 || d.Changed[0].Name != name || len(d.Added)+len(d.Removed)+len(d.Reshaped)+len(d.Retyped) != 0 {
			t.Errorf("diff --json %v = %s, want exactly %s changed", args, stdout, name)
		}
	}
}

func TestDiffTwoSources(t *testing.T) {
	a, b := copyTiny(t, "gguf/tiny-f16.gguf"), copyTiny(t, "gguf/tiny-f16.gguf")
	if stdout, stderr, code := cli(t, "diff", a, b); code != 0 {
		t.Fatalf("diff of two copies: exit %d\n%s%s", code, stdout, stderr)
	}
	flip(t, b, "blk.0.attn_v.weight")
	stdout, _, code := cli(t, "diff", a, b)
	if code != 1 || !strings.Contains(stdout, "changed   blk.0.attn_v.weight") || strings.Count(stdout, "changed   ") != 1 {
		t.Errorf("diff after a change: exit %d\n%s", code, stdout)
	}
	if _, _, code := cli(t, "diff", a, filepath.Join("../../testdata/tiny", "gguf/tiny-q8_0.gguf")); code != 1 {
		t.Errorf("diff F16 against Q8_0: exit %d, want 1 (retyped)", code)
	}
}

func TestVerifyJobsIdentical(t *testing.T) {
	dir := copyTiny(t, "hf-f32")
	flip(t, dir, "model.embed_tokens.weight")
	var outs []string
	for _, jobs := range []string{"1", "4"} {
		stdout, _, code := cli(t, "verify", dir, "--json", "--jobs", jobs)
		if code != 0 && code != 1 {
			t.Fatalf("verify --jobs %s: exit %d", jobs, code)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(stdout), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "seconds")
		delete(m, "started")
		b, _ := json.Marshal(m)
		outs = append(outs, string(b))
	}
	if diff := cmp.Diff(outs[0], outs[1]); diff != "" {
		t.Errorf("verify --jobs 1 and --jobs 4 differ (-1 +4):\n%s", diff)
	}
}

func TestVerifyInterruptedIsIncomplete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"verify", "--builtin", "30b-gguf", "--jobs", "2"}, &stdout, &stderr)
	code := exitCode(err, &stderr)
	if code != 2 || !strings.Contains(stdout.String(), "INCOMPLETE") || !strings.Contains(stderr.String(), "incomplete") {
		t.Errorf("verify interrupted: exit %d, want 2 with a report marked INCOMPLETE\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

func TestVerifyDiffUsageErrors(t *testing.T) {
	notManifest := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(notManifest, []byte(`{"metadata": {}}`), 0o644)
	tests := []struct {
		name string
		args []string
		want string // in stderr
		code int
	}{
		{"verify-no-source", []string{"verify"}, "give either SOURCE or --builtin", exitUsage},
		{"verify-jobs-0", []string{"verify", "../../testdata/tiny/hf-f32", "--jobs", "0"}, "--jobs must be at least 1", exitUsage},
		{"verify-missing", []string{"verify", "/nonexistent/model"}, "no such file", exitNothing},
		{"verify-bad-manifest", []string{"verify", "../../testdata/tiny/hf-f32", "--manifest", notManifest}, "not a weightaudit manifest", exitUsage},
		{"diff-one-arg", []string{"diff", "a"}, "accepts 2 arg(s)", exitUsage},
		{"diff-missing", []string{"diff", "/nonexistent/a", "../../testdata/tiny/hf-f32"}, "no such file", exitNothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := cli(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
			}
		})
	}
}

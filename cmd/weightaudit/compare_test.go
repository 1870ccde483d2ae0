package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compare exits 0 on a faithful conversion, with the verdict on the first
// line and the JSON keys CI reads; 3 when no family reads a side; 4 on a
// bad flag value.
func TestCompareCommand(t *testing.T) {
	const tiny = "../../testdata/tiny/"
	stdout, stderr, code := cli(t, "compare", tiny+"hf-f32", tiny+"gguf/tiny-q8_0.gguf")
	if code != exitOK || !strings.HasPrefix(stdout, "PASS ") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and PASS first", code, stdout, stderr)
	}
	stdout, _, code = cli(t, "compare", "--json", "--full", tiny+"hf-bf16", tiny+"gguf/tiny-f16.gguf")
	var r struct {
		Pass    bool   `json:"pass"`
		Verdict string `json:"verdict"`
		Full    bool   `json:"full"`
		Pairs   []struct {
			RelRMS float64 `json:"rel_rmse"`
			Bound  float64 `json:"bound"`
		} `json:"pairs"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != exitOK || !r.Pass || r.Verdict != "pass" || !r.Full || len(r.Pairs) != 45 {
		t.Errorf("JSON: exit %d, %+v, %v", code, r, err)
	}
	if _, _, code := cli(t, "compare", "--sample", "-1", tiny+"hf-f32", tiny+"hf-bf16"); code != exitUsage {
		t.Errorf("--sample -1: exit %d, want %d", code, exitUsage)
	}
	if _, _, code := cli(t, "compare", "--format", "xml", tiny+"hf-f32", tiny+"hf-bf16"); code != exitUsage {
		t.Errorf("--format xml: exit %d, want %d", code, exitUsage)
	}
}

// A side no family reads cannot be paired: nothing to compare, exit 3,
// with the reason.
func TestCompareUnknownArchitecture(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/tiny/hf-f32", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "not_a_family"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := cli(t, "compare", dir, "../../testdata/tiny/gguf/tiny-f32.gguf")
	if code != exitNothing || !strings.Contains(stderr, "not comparable") || !strings.Contains(stderr, "not_a_family") {
		t.Errorf("exit %d, stderr %q; want %d naming the architecture", code, stderr, exitNothing)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cli runs the command line and returns stdout, stderr and the exit code.
func cli(tb testing.TB, args ...string) (string, string, int) {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	code := exitCode(err, &stderr)
	return stdout.String(), stderr.String(), code
}

func TestInspectBuiltinJSON(t *testing.T) {
	tests := []struct {
		builtin string
		format  string
		files   int
		tensors int
		params  int64
	}{
		// Figures from ../shared/reference/qwen3moe.md.
		{"safetensors", "safetensors", 118, 36945, 235_093_634_560},
		{"gguf", "gguf", 5, 1131, 235_093_634_560},
	}
	for _, tt := range tests {
		t.Run(tt.builtin, func(t *testing.T) {
			stdout, stderr, code := cli(t, "inspect", "--builtin", tt.builtin, "--json")
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, stderr)
			}
			var r struct {
				Format string `json:"format"`
				Files  []struct {
					Name string `json:"name"`
					Size int64  `json:"size"`
				} `json:"files"`
				Tensors []struct {
					Name   string  `json:"name"`
					Shape  []int64 `json:"shape"`
					DType  string  `json:"dtype"`
					Params int64   `json:"params"`
					Bytes  int64   `json:"bytes"`
					File   string  `json:"file"`
					Offset int64   `json:"offset"`
					Layer  *int    `json:"layer"`
				} `json:"tensors"`
				Layers []struct {
					Layer  int   `json:"layer"`
					Params int64 `json:"params"`
					Bytes  int64 `json:"bytes"`
				} `json:"layers"`
				Totals struct {
					Tensors int   `json:"tensors"`
					Params  int64 `json:"params"`
					Bytes   int64 `json:"bytes"`
				} `json:"totals"`
				Metadata map[string]any `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatalf("inspect --json output: %v", err)
			}
			if r.Format != tt.format || len(r.Files) != tt.files || r.Totals.Tensors != tt.tensors || r.Totals.Params != tt.params {
				t.Errorf("got format %s, %d files, %d tensors, %d params; want %s, %d, %d, %d",
					r.Format, len(r.Files), r.Totals.Tensors, r.Totals.Params, tt.format, tt.files, tt.tensors, tt.params)
			}
			if len(r.Tensors) != tt.tensors {
				t.Errorf("len(tensors) = %d, want %d", len(r.Tensors), tt.tensors)
			}
			var sum int64
			for _, tn := range r.Tensors {
				sum += tn.Params
				if tn.Layer == nil || tn.Name == "" || tn.File == "" || tn.DType == "" || len(tn.Shape) == 0 {
					t.Fatalf("incomplete tensor entry %+v", tn)
				}
			}
			if sum != tt.params {
				t.Errorf("sum of tensors[].params = %d, want %d", sum, tt.params)
			}
			if len(r.Layers) != 95 { // 94 decoder layers and the "outside" row
				t.Errorf("len(layers) = %d, want 95", len(r.Layers))
			}
			if r.Metadata == nil {
				t.Error("metadata missing")
			}
		})
	}
}

func TestInspectGGUFMetadataSummarizesTokenizer(t *testing.T) {
	stdout, stderr, code := cli(t, "inspect", "--builtin", "30b-gguf", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Metadata struct {
			GGUF map[string]any `json:"gguf"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "array", "elem_type": "string", "len": float64(151936)}
	if diff := cmp.Diff(want, r.Metadata.GGUF["tokenizer.ggml.tokens"]); diff != "" {
		t.Errorf("tokenizer.ggml.tokens summary (-want +got):\n%s", diff)
	}
	if got := r.Metadata.GGUF["qwen3moe.expert_count"]; got != float64(128) {
		t.Errorf("qwen3moe.expert_count = %v, want 128", got)
	}
	if len(stdout) > 1<<20+200<<10 {
		t.Errorf("JSON report is %d bytes: long arrays must be summarized", len(stdout))
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"inspect-30b-gguf", []string{"inspect", "--builtin", "30b-gguf"}},
		{"inspect-safetensors", []string{"inspect", "--builtin", "safetensors"}},
		{"audit-default", []string{"audit"}},
		{"audit-30b-gguf-markdown", []string{"audit", "--builtin", "30b-gguf", "--format", "markdown"}},
		{"audit-30b-gguf-junit", []string{"audit", "--builtin", "30b-gguf", "--format", "junit", "--hw", "h100,m3-ultra"}},
		{"audit-tiny-batch8", []string{"audit", "../../testdata/tiny/gguf/tiny-q8_0.gguf", "--batch", "8", "--ctx", "128", "--bandwidth", "100", "--compute", "10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("weightaudit %s (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no source", []string{"inspect"}, "give either SOURCE or --builtin"},
		{"both", []string{"inspect", "x", "--builtin", "gguf"}, "give either SOURCE or --builtin"},
		{"unknown builtin", []string{"inspect", "--builtin", "llama"}, `no built-in layout "llama"`},
		{"jobs 0", []string{"inspect", "--builtin", "gguf", "--jobs", "0"}, "jobs must be at least 1"},
		{"missing path", []string{"inspect", "/nonexistent/model.gguf"}, "/nonexistent/model.gguf"},
		{"remote", []string{"inspect", "hf://Qwen/Qwen3-235B-A22B"}, "not implemented yet"},
		{"unknown flag", []string{"inspect", "--frobnicate"}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"empty folder", []string{"inspect", t.TempDir()}, "no model found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

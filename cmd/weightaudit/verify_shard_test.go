package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// verify --shard I/N --record on every part, then verify --merge, writes
// the manifest an unsharded verify --record writes, byte for byte.
func TestVerifyShardRecordMerge(t *testing.T) {
	dir := copyTiny(t, "hf-bf16")
	out := t.TempDir()
	whole := filepath.Join(out, "whole.json")
	if _, stderr, code := cli(t, "verify", dir, "--record", whole); code != 0 {
		t.Fatalf("verify --record: exit %d: %s", code, stderr)
	}
	var parts []string
	files := map[string]int{}
	for _, shard := range []string{"1/2", "2/2"} {
		part := filepath.Join(out, "part"+shard[:1]+".json")
		stdout, stderr, code := cli(t, "verify", dir, "--shard", shard, "--record", part, "--json")
		if code != 0 {
			t.Fatalf("verify --shard %s --record: exit %d: %s", shard, code, stderr)
		}
		if !strings.Contains(stderr, "shard "+shard+": a partial manifest") {
			t.Errorf("verify --shard %s --record: stderr %q does not say the manifest is partial", shard, stderr)
		}
		r := decodeVerify(t, stdout)
		var sh struct {
			Shard struct {
				Index, Count int
				Files        []struct {
					Name  string
					Shard int
				}
			}
		}
		if err := json.Unmarshal([]byte(stdout), &sh); err != nil {
			t.Fatal(err)
		}
		if got := sh.Shard; got.Count != 2 || got.Index != int(shard[0]-'0') || len(got.Files) != 4 {
			t.Errorf("verify --shard %s --json: shard %+v, want index, count and the 4 files", shard, got)
		}
		for _, f := range r.Files {
			files[f.Name]++
		}
		text, _, _ := cli(t, "verify", dir, "--shard", shard)
		if !strings.Contains(text, "shard "+shard+": ") {
			t.Errorf("verify --shard %s (text) does not name the shard:\n%s", shard, text)
		}
		parts = append(parts, part)
	}
	if len(files) != 4 {
		t.Errorf("the shards covered %v, want 4 files once each", files)
	}
	for name, n := range files {
		if n != 1 {
			t.Errorf("%s verified by %d shards", name, n)
		}
	}

	merged := filepath.Join(out, "merged.json")
	_, stderr, code := cli(t, append([]string{"verify", "--merge", "--record", merged}, parts[1], parts[0])...)
	if code != 0 || !strings.Contains(stderr, "merged 2 shard manifests") {
		t.Fatalf("verify --merge --record: exit %d: %s", code, stderr)
	}
	want, _ := os.ReadFile(whole)
	got, _ := os.ReadFile(merged)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("merged manifest differs from the unsharded one (-unsharded +merged):\n%s", diff)
	}
	stdout, _, code := cli(t, append([]string{"verify", "--merge"}, parts...)...)
	if code != 0 || stdout != string(want) {
		t.Errorf("verify --merge to stdout: exit %d, output differs from the unsharded manifest", code)
	}
	// The merged manifest serves as any other.
	if _, _, code := cli(t, "verify", dir, "--manifest", merged); code != 0 {
		t.Errorf("verify --manifest MERGED: exit %d, want 0", code)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"overlap", []string{"verify", "--merge", parts[0], parts[0]}, "both hold shard 1/2: the shards overlap"},
		{"missing", []string{"verify", "--merge", parts[1]}, "shard(s) 1/2 missing"},
		{"whole", []string{"verify", "--merge", parts[0], whole}, whole + " is not a partial manifest"},
		{"partial as manifest", []string{"verify", dir, "--manifest", parts[0]}, "partial manifest of one shard"},
		{"partial in diff", []string{"diff", parts[0], dir}, "partial manifest of one shard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, tt.args...) // manifests that do not fit are bad arguments
			if code != exitUsage || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want %d and %q", tt.args, code, stderr, len(stdout), exitUsage, tt.want)
			}
		})
	}
}

func TestVerifyShardUsageErrors(t *testing.T) {
	const src = "../../testdata/tiny/hf-f32"
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"index zero", []string{"verify", src, "--shard", "0/2"}, `--shard "0/2": the index must be between 1 and the count, 2`},
		{"index past count", []string{"verify", src, "--shard", "3/2"}, `--shard "3/2": the index must be between 1 and the count, 2`},
		{"letters", []string{"verify", src, "--shard", "a/b"}, `--shard "a/b": expected INDEX/COUNT with two whole numbers`},
		{"count zero", []string{"verify", src, "--shard", "1/0"}, `--shard "1/0": the count must be at least 1`},
		{"empty", []string{"verify", src, "--shard", ""}, `--shard "": expected INDEX/COUNT`},
		{"merge nothing", []string{"verify", "--merge"}, "--merge needs the partial manifests"},
		{"merge and shard", []string{"verify", "--merge", "a.json", "--shard", "1/2"}, "--shard does not apply"},
		{"two sources", []string{"verify", src, src}, "give one SOURCE, got 2 arguments"},
		{"merge missing file", []string{"verify", "--merge", "/nonexistent/part.json"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := exitUsage
			if tt.name == "merge missing file" {
				want = exitNothing
			}
			stdout, stderr, code := cli(t, tt.args...)
			if code != want || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, want, tt.want)
			}
		})
	}
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// binDir returns a folder holding an executable weightaudit that runs
// this test binary as the command (see TestMain), for tests that start
// the command as a CI runner or a Kubernetes pod would.
func binDir(tb testing.TB) string {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nWEIGHTAUDIT_TEST_MAIN=1 exec %q \"$@\"\n", self)
	if err := os.WriteFile(filepath.Join(dir, "weightaudit"), []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// Three pods of an Indexed Job (completions 3) run verify at the same
// time, each with only JOB_COMPLETION_INDEX (0, 1, 2) and
// JOB_COMPLETION_COUNT in its environment; verify --merge of their
// partial manifests equals the unsharded manifest byte for byte.
func TestVerifyIndexedJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	bin := filepath.Join(binDir(t), "weightaudit")
	dir := copyTiny(t, "hf-bf16")
	out := t.TempDir()
	whole := filepath.Join(out, "whole.json")
	if _, stderr, code := cli(t, "verify", dir, "--record", whole); code != 0 {
		t.Fatalf("verify --record: exit %d: %s", code, stderr)
	}
	const n = 3
	cmds := make([]*exec.Cmd, n)
	stderrs := make([]bytes.Buffer, n)
	parts := make([]string, n)
	for i := range n {
		parts[i] = filepath.Join(out, fmt.Sprintf("part-%d.json", i))
		c := exec.Command(bin, "verify", dir, "--record", parts[i])
		c.Env = append(os.Environ(), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), fmt.Sprintf("JOB_COMPLETION_COUNT=%d", n))
		c.Stderr = &stderrs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = c
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("pod %d: %v: %s", i, err, stderrs[i].String())
		}
		if want := fmt.Sprintf("shard %d/%d: a partial manifest", i+1, n); !strings.Contains(stderrs[i].String(), want) {
			t.Errorf("pod %d: stderr %q does not say %q", i, stderrs[i].String(), want)
		}
	}
	merged := filepath.Join(out, "merged.json")
	if _, stderr, code := cli(t, append([]string{"verify", "--merge", "--record", merged}, parts...)...); code != 0 {
		t.Fatalf("verify --merge: exit %d: %s", code, stderr)
	}
	want, _ := os.ReadFile(whole)
	got, _ := os.ReadFile(merged)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("merged manifest differs from the unsharded one (-unsharded +merged):\n%s", diff)
	}
}

func TestShardFromJob(t *testing.T) {
	tests := []struct {
		index, count string
		want         string
		err          string
	}{
		{"", "", "", ""},
		{"", "4", "", ""},
		{"0", "3", "1/3", ""},
		{"2", "3", "3/3", ""},
		{"3", "3", "", "JOB_COMPLETION_COUNT"},
		{"0", "", "", "JOB_COMPLETION_COUNT is not"},
		{"-1", "3", "", "JOB_COMPLETION_INDEX"},
		{"x", "3", "", "JOB_COMPLETION_INDEX"},
		{"0", "0", "", "JOB_COMPLETION_COUNT"},
	}
	for _, tt := range tests {
		env := map[string]string{"JOB_COMPLETION_INDEX": tt.index, "JOB_COMPLETION_COUNT": tt.count}
		got, err := shardFromJob(func(k string) string { return env[k] })
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("shardFromJob(%q, %q) = %q, %v; want %q, error naming %q", tt.index, tt.count, got, err, tt.want, tt.err)
		}
	}
	// An explicit --shard wins over the environment.
	t.Setenv("JOB_COMPLETION_INDEX", "5")
	t.Setenv("JOB_COMPLETION_COUNT", "2")
	if _, stderr, code := cli(t, "verify", "../../testdata/tiny/hf-f32", "--shard", "1/2"); code != 0 {
		t.Errorf("verify --shard 1/2 under a bad JOB_COMPLETION_INDEX: exit %d: %s", code, stderr)
	}
	if _, stderr, code := cli(t, "verify", "../../testdata/tiny/hf-f32"); code != exitUsage || !strings.Contains(stderr, "JOB_COMPLETION_COUNT") {
		t.Errorf("verify under JOB_COMPLETION_INDEX=5 of 2: exit %d, %s; want a usage error", code, stderr)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One run writes several reports: the main one to -o FILE (stdout stays
// empty), more with --report FORMAT=PATH, the step summary appended to,
// not replaced; a malformed --report is a usage error.
func TestReports(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	out, junit := filepath.Join(dir, "audit.json"), filepath.Join(dir, "junit.xml")
	stdout, stderr, code := cli(t, "audit", "--builtin", "30b-gguf", "-o", out, "--format", "json",
		"--report", "junit="+junit, "--report", "markdown="+summary)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and nothing on stdout", code, stdout, stderr)
	}
	var r struct {
		Pass    bool   `json:"pass"`
		Verdict string `json:"verdict"`
	}
	if b, err := os.ReadFile(out); err != nil || json.Unmarshal(b, &r) != nil || !r.Pass {
		t.Errorf("-o %s: %+v, %v", out, r, err)
	}
	var suites struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if b, err := os.ReadFile(junit); err != nil || xml.Unmarshal(b, &suites) != nil || len(suites.Suites) != 1 || suites.Suites[0].Tests == 0 {
		t.Errorf("--report junit: %+v, %v", suites, err)
	}
	if b, _ := os.ReadFile(summary); !strings.HasPrefix(string(b), "earlier step\n") || !strings.Contains(string(b), "PASS") {
		t.Errorf("step summary not appended to: %q", b)
	}
	const tiny = "../../testdata/tiny/"
	cmpOut := filepath.Join(dir, "compare.md")
	if _, stderr, code := cli(t, "compare", "-o", cmpOut, "--format", "markdown", tiny+"hf-f32", tiny+"gguf/tiny-q8_0.gguf"); code != exitOK {
		t.Errorf("compare -o: exit %d: %s", code, stderr)
	} else if b, _ := os.ReadFile(cmpOut); !strings.HasPrefix(string(b), "## weightaudit compare: PASS") {
		t.Errorf("compare -o wrote %q", b)
	}
	// --format html -o FILE: the page, its banner the verdict: a failed
	// diff (every tensor retyped F32 → BF16) exits 1.
	for _, tt := range []struct {
		args    []string
		code    int
		verdict string
		holds   string
	}{
		{[]string{"diff", tiny + "hf-f32", tiny + "hf-bf16"}, exitProblems, "fail", "DIFF-RETYPED"},
		{[]string{"spotcheck", tiny + "hf-f32", "--layer", "1", "--tokens", "5,6"}, exitOK, "pass", "SPOT-FINITE"},
	} {
		page := filepath.Join(dir, tt.args[0]+".html")
		if stdout, stderr, code := cli(t, append(tt.args, "--format", "html", "-o", page)...); code != tt.code || stdout != "" {
			t.Errorf("%s --format html -o: exit %d, stdout %.100q: %s", tt.args[0], code, stdout, stderr)
		} else if b, _ := os.ReadFile(page); !isPage(b, tt.verdict) || !strings.Contains(string(b), tt.holds) {
			t.Errorf("%s --format html -o wrote %.300q", tt.args[0], b)
		}
	}
	for _, bad := range []string{"junit", "xml=out.xml", "json="} {
		if _, _, code := cli(t, "audit", "--builtin", "30b-gguf", "--report", bad); code != exitUsage {
			t.Errorf("--report %q: exit %d, want %d", bad, code, exitUsage)
		}
	}
}

// A run that cannot end writes its JSON document where the JSON report
// would have gone: -o FILE, --report json=PATH (also beside a table on
// stdout); audit writes its own unfinished report there, in every
// machine-readable format.
func TestUnfinishedFollowsOutputs(t *testing.T) {
	const bad = "../../testdata/bad/st-overlap.safetensors"
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		file string // where the document goes
		kind string // its schema
	}{
		{"inspect -o", []string{"inspect", bad, "--format", "json", "-o", filepath.Join(dir, "a.json")}, "a.json", "unfinished"},
		{"verify --report", []string{"verify", bad, "--report", "json=" + filepath.Join(dir, "b.json")}, "b.json", "unfinished"},
		{"spotcheck --json -o", []string{"spotcheck", bad, "--layer", "0", "--tokens", "1", "--json", "-o", filepath.Join(dir, "c.json")}, "c.json", "unfinished"},
		{"audit --report", []string{"audit", bad, "--report", "json=" + filepath.Join(dir, "d.json"), "--report", "junit=" + filepath.Join(dir, "d.xml")}, "d.json", "audit"},
	} {
		stdout, _, code := cli(t, tt.args...)
		if code != exitProblems || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q; want %d and nothing on stdout", tt.name, code, stdout, exitProblems)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if err := validateReport(b, tt.kind); err != nil || !strings.Contains(string(b), `"verdict": "fail"`) || !strings.Contains(string(b), "st-overlap.safetensors") {
			t.Errorf("%s: %s (%v); want a failing %s document naming the file", tt.name, b, err, tt.kind)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "d.xml")); err != nil || !strings.Contains(string(b), `name="AUDIT-RUN"`) {
		t.Errorf("audit --report junit: %s, %v", b, err)
	}
	// A table run that fails writes no document to stdout.
	if stdout, _, code := cli(t, "inspect", bad); code != exitProblems || stdout != "" {
		t.Errorf("inspect (table): exit %d, stdout %q", code, stdout)
	}
}

// callCounter counts the Write calls made on it.
type callCounter struct {
	bytes.Buffer
	calls int
}

func (c *callCounter) Write(p []byte) (int, error) {
	c.calls++
	return c.Buffer.Write(p)
}

// TestReportWritesBuffered: a report reaches stdout in 64 KiB writes, not
// a write per cell (inspect --tensors of the 235B layout made 518,736
// write calls, each a system call), and the bytes are the same as written
// to a buffer.
func TestReportWritesBuffered(t *testing.T) {
	for _, args := range [][]string{
		{"inspect", "--tensors", "--builtin", "gguf"},
		{"inspect", "--builtin", "safetensors"},
		{"audit", "--builtin", "gguf"},
		{"audit", "--format", "markdown", "../../testdata/tiny/gguf/tiny-f16.gguf"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			want, _, wantCode := cli(t, args...)
			var out callCounter
			code := exitCode(run(context.Background(), args, &out, io.Discard), io.Discard)
			if code != wantCode || out.String() != want {
				t.Fatalf("exit %d and %d bytes, want exit %d and the %d bytes written to a buffer", code, out.Len(), wantCode, len(want))
			}
			if most := len(want)/(64<<10) + 1; out.calls > most {
				t.Errorf("%d write calls for %d bytes, want at most %d", out.calls, len(want), most)
			}
		})
	}
}

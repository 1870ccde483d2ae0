package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/internal/junit"
)

// junitDoc is a JUnit report read back in the Ant schema's shape.
type junitDoc struct {
	XMLName xml.Name `xml:"testsuites"`
	Time    string   `xml:"time,attr"`
	Suites  []struct {
		Tests     int    `xml:"tests,attr"`
		Failures  int    `xml:"failures,attr"`
		Skipped   int    `xml:"skipped,attr"`
		Time      string `xml:"time,attr"`
		Timestamp string `xml:"timestamp,attr"`
		Cases     []struct {
			Name      string    `xml:"name,attr"`
			ClassName string    `xml:"classname,attr"`
			Skipped   *struct{} `xml:"skipped"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// junitOf runs args with --format junit and reads the report back,
// checking what every report must hold: one suite whose counts are its
// cases', a time in seconds, and a timestamp (UTC) within the run.
func junitOf(t *testing.T, want int, args ...string) (junitDoc, map[string]string) {
	t.Helper()
	before := time.Now().UTC().Truncate(time.Second)
	stdout, stderr, code := cli(t, append(args, "--format", "junit")...)
	after := time.Now().UTC()
	if code != want {
		t.Fatalf("%s: exit %d, want %d: %s", strings.Join(args, " "), code, want, stderr)
	}
	var d junitDoc
	if err := xml.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	if len(d.Suites) != 1 {
		t.Fatalf("%d suites, want 1", len(d.Suites))
	}
	s := d.Suites[0]
	status := map[string]string{}
	fails, skips := 0, 0
	for _, c := range s.Cases {
		switch {
		case c.Failure != nil:
			status[c.Name] = "fail"
			fails++
		case c.Skipped != nil:
			status[c.Name] = "skip"
			skips++
		default:
			status[c.Name] = "pass"
		}
	}
	if s.Tests != len(s.Cases) || s.Failures != fails || s.Skipped != skips {
		t.Errorf("suite counts tests %d failures %d skipped %d; its cases: %d, %d, %d", s.Tests, s.Failures, s.Skipped, len(s.Cases), fails, skips)
	}
	if secs, err := strconv.ParseFloat(s.Time, 64); err != nil || secs < 0 || secs > after.Sub(before).Seconds()+1 || d.Time != s.Time {
		t.Errorf("time %q (testsuites %q): want the run's seconds", s.Time, d.Time)
	}
	if ts, err := time.Parse(junit.TimestampLayout, s.Timestamp); err != nil || ts.Before(before) || ts.After(after) {
		t.Errorf("timestamp %q: want the run's start in UTC, between %v and %v (%v)", s.Timestamp, before, after, err)
	}
	return d, status
}

// JUnit reports name each case by its stable check id, give the model as
// the classname and skip the checks that do not apply.
func TestJUnitAudit(t *testing.T) {
	d, status := junitOf(t, exitOK, "audit", "--builtin", "30b-gguf")
	// The seven falsification tests and the gate of the Qwen3-MoE
	// contract (DESIGN.md), by id.
	for _, id := range []string{"FALSIFY-QM3E-001", "FALSIFY-QM3E-002", "FALSIFY-QM3E-003", "FALSIFY-QM3E-004", "FALSIFY-QM3E-005", "FALSIFY-QM3E-006", "FALSIFY-QM3E-007", "F-QM3E-001", "STRUCT-FILES", "STRUCT-TENSORS"} {
		if status[id] != "pass" {
			t.Errorf("case %s: %q, want pass", id, status[id])
		}
	}
	// A GGUF file has no config.json: that check does not apply.
	if status["STRUCT-CONFIG"] != "skip" {
		t.Errorf("STRUCT-CONFIG: %q, want skip", status["STRUCT-CONFIG"])
	}
	for _, c := range d.Suites[0].Cases {
		if c.ClassName != "Qwen3-30B-A3B-Q4_K_M/qwen3moe" {
			t.Errorf("case %s: classname %q, want the model", c.Name, c.ClassName)
		}
		if strings.Contains(c.Name, " ") {
			t.Errorf("case %q: a name with a title, want the id alone", c.Name)
		}
	}
	// A broken file: the audit cannot run, and says so as a failed case.
	d, status = junitOf(t, exitProblems, "audit", "../../testdata/bad/st-overlap.safetensors")
	if status["AUDIT-RUN"] != "fail" || !strings.Contains(d.Suites[0].Cases[0].Failure.Message, "st-overlap.safetensors") {
		t.Errorf("audit of a broken file: %v, want AUDIT-RUN failed naming the file", status)
	}
}

func TestJUnitInspectVerifyDiffSpotcheck(t *testing.T) {
	const tiny = "../../testdata/tiny/"
	// inspect: the headers, and the index where there is one.
	_, st := junitOf(t, exitOK, "inspect", tiny+"hf-f32")
	if st["INSPECT-HEADERS"] != "pass" || st["INSPECT-INDEX"] != "pass" {
		t.Errorf("inspect hf-f32: %v", st)
	}
	_, st = junitOf(t, exitOK, "inspect", tiny+"gguf/tiny-f32.gguf")
	if st["INSPECT-INDEX"] != "skip" {
		t.Errorf("inspect GGUF: %v, want INSPECT-INDEX skipped", st)
	}

	// verify: one case per file; a flipped byte fails its file's case
	// only, with the check that caught it.
	dir := copyTiny(t, "hf-f32")
	manifest := filepath.Join(t.TempDir(), "m.json")
	if _, stderr, code := cli(t, "verify", dir, "--record", manifest); code != exitOK {
		t.Fatalf("verify --record: exit %d: %s", code, stderr)
	}
	file := flip(t, dir, "model.embed_tokens.weight")
	d, st := junitOf(t, exitProblems, "verify", dir, "--manifest", manifest)
	bad := "VERIFY-FILE " + filepath.Base(file)
	if st[bad] != "fail" {
		t.Errorf("verify: %v, want %q failed", st, bad)
	}
	for _, c := range d.Suites[0].Cases {
		if c.Name != bad && c.Failure != nil {
			t.Errorf("verify: case %s failed: %s", c.Name, c.Failure.Message)
		}
		if c.Name == bad && !strings.Contains(c.Failure.Text, "VERIFY-SHA256") {
			t.Errorf("verify: %s failure %q does not name VERIFY-SHA256", c.Name, c.Failure.Text)
		}
	}
	// Four files: the two shards, the index and config.json (MANIFEST).
	if n := len(d.Suites[0].Cases); n != 4 {
		t.Errorf("verify: %d cases, want 4 (one per file)", n)
	}

	// diff: every tensor of the F32 checkpoint is BF16 in the other, so
	// each of the 45 (testdata/tiny/MANIFEST) is a failed case.
	d, st = junitOf(t, exitProblems, "diff", tiny+"hf-f32", tiny+"hf-bf16")
	if s := d.Suites[0]; s.Failures != 45 || st["DIFF-SAME"] != "pass" {
		t.Errorf("diff f32 bf16: %d failures (want 45), DIFF-SAME %q", s.Failures, st["DIFF-SAME"])
	}
	if st["DIFF-TENSOR model.embed_tokens.weight"] != "fail" {
		t.Errorf("diff: model.embed_tokens.weight not failed: %v", st)
	}

	// spotcheck: its four checks.
	d, st = junitOf(t, exitOK, "spotcheck", tiny+"hf-f32", "--layer", "0", "--tokens", "3,17,42")
	for _, id := range []string{"SPOT-SHAPE", "SPOT-FINITE", "SPOT-PRECISION", "SPOT-DEAD"} {
		if st[id] != "pass" {
			t.Errorf("spotcheck: %s %q, want pass", id, st[id])
		}
	}
	if c := d.Suites[0].Cases[0].ClassName; !strings.HasSuffix(c, "hf-f32/qwen3moe") {
		t.Errorf("spotcheck classname %q, want source/family", c)
	}
}

// Every command writes its Markdown (a heading with the verdict first),
// -o FILE instead of stdout and more reports with --report: JSON, JUnit
// and the HTML page (its banner the verdict), html offered by --format's
// completion.
func TestOutputFlagsEveryCommand(t *testing.T) {
	const tiny = "../../testdata/tiny/"
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string // in the Markdown's first line
	}{
		{[]string{"audit", tiny + "hf-f32"}, "PASS"},
		{[]string{"inspect", tiny + "hf-f32"}, "PASS"},
		{[]string{"verify", tiny + "hf-f32"}, "PASS"},
		{[]string{"diff", tiny + "hf-f32", tiny + "hf-f32"}, "identical"},
		{[]string{"spotcheck", tiny + "hf-f32", "--layer", "0", "--tokens", "1,2"}, "PASS"},
		{[]string{"compare", tiny + "hf-f32", tiny + "gguf/tiny-f32.gguf"}, "PASS"},
	} {
		name := tt.args[0]
		md, js, xm, ht := filepath.Join(dir, name+".md"), filepath.Join(dir, name+".json"), filepath.Join(dir, name+".xml"), filepath.Join(dir, name+".html")
		args := append(tt.args, "--format", "markdown", "-o", md, "--report", "json="+js, "--report", "junit="+xm, "--report", "html="+ht)
		stdout, stderr, code := cli(t, args...)
		if code != exitOK || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q: %s", name, code, stdout, stderr)
			continue
		}
		b, _ := os.ReadFile(md)
		first, _, _ := strings.Cut(string(b), "\n")
		if !strings.HasPrefix(first, "## ") || !strings.Contains(first, tt.want) {
			t.Errorf("%s: Markdown begins %q, want a heading with %q", name, first, tt.want)
		}
		if b, err := os.ReadFile(js); err != nil || validateReport(b, name) != nil {
			t.Errorf("%s --report json: %v, %v", name, err, validateReport(b, name))
		}
		var d junitDoc
		if b, err := os.ReadFile(xm); err != nil || xml.Unmarshal(b, &d) != nil || len(d.Suites) != 1 || d.Suites[0].Tests == 0 {
			t.Errorf("%s --report junit: %v, %s", name, err, b)
		}
		if b, err := os.ReadFile(ht); err != nil || !isPage(b, "pass") {
			t.Errorf("%s --report html: %v, %.200q; want a page whose banner says pass", name, err, b)
		}
		if values := complete(t, name, "--format", ""); !slices.Contains(values, "html") {
			t.Errorf("%s --format completion offers %v, want html among them", name, values)
		}
		if _, _, code := cli(t, append(tt.args, "--format", "yaml")...); code != exitUsage {
			t.Errorf("%s --format yaml: exit %d, want %d", name, code, exitUsage)
		}
	}
}

// isPage reports whether b is an HTML report (internal/htmlreport) whose
// banner gives verdict.
func isPage(b []byte, verdict string) bool {
	return bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) && bytes.Contains(b, []byte(`id="verdict" data-verdict="`+verdict+`"`)) &&
		bytes.HasSuffix(bytes.TrimSpace(b), []byte("</html>"))
}

// dump -o - writes the same bytes to stdout that dump -o FILE writes to
// the file.
func TestDumpStdout(t *testing.T) {
	const src, tensor = "../../testdata/tiny/gguf/tiny-q8_0.gguf", "blk.0.attn_q.weight"
	file := filepath.Join(t.TempDir(), "t.f32")
	if _, stderr, code := cli(t, "dump", src, tensor, "-o", file); code != exitOK {
		t.Fatalf("dump -o FILE: exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := cli(t, "dump", src, tensor, "-o", "-")
	if code != exitOK || !bytes.Equal([]byte(stdout), want) || len(want) == 0 {
		t.Errorf("dump -o -: exit %d, %d bytes on stdout, want the %d of the file: %s", code, len(stdout), len(want), stderr)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error("dump -o - created a file named -")
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/weightaudit/weightaudit/internal/reportschema"
	"github.com/weightaudit/weightaudit/schema"
)

// reportCommands are the commands whose JSON output is a report with a
// schema of the same name.
var reportCommands = []string{"audit", "inspect", "verify", "diff", "spotcheck", "compare", "plan"}

var schemas = sync.OnceValues(func() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat() // started is a date-time
	files, err := fs.Glob(schema.FS, "*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := fs.ReadFile(schema.FS, f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := c.AddResource(reportschema.BaseID+f, doc); err != nil {
			return nil, err
		}
	}
	return c, nil
})

// validateReport validates the JSON document out, written by command,
// against the committed schema its schema_version names: the command's
// report's, or the unfinished document's when it says why there is no
// report.
func validateReport(out []byte, command string) error {
	var head struct {
		SchemaVersion *int            `json:"schema_version"`
		ExitCode      json.RawMessage `json:"exit_code"`
	}
	if err := json.Unmarshal(out, &head); err != nil {
		return fmt.Errorf("not a JSON document: %w", err)
	}
	if head.SchemaVersion == nil {
		return fmt.Errorf("no schema_version key")
	}
	name := command
	if head.ExitCode != nil {
		name = "unfinished"
	}
	c, err := schemas()
	if err != nil {
		return err
	}
	sch, err := c.Compile(fmt.Sprintf("%s%s.v%d.json", reportschema.BaseID, name, *head.SchemaVersion))
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// jsonReportOf returns the report command args run and whether they ask
// for a JSON report on stdout.
func jsonReportOf(args []string) (string, bool) {
	i := slices.IndexFunc(args, func(a string) bool { return slices.Contains(reportCommands, a) })
	if i < 0 {
		return "", false
	}
	rest := args[i+1:]
	if slices.Contains(rest, "--merge") || slices.Contains(rest, "-o") || slices.Contains(rest, "--output") {
		return "", false // a manifest, or the report went to a file
	}
	// --json wins over any --format; of several --format, the last.
	asJSON, format := false, ""
	for j, a := range rest {
		switch {
		case a == "--json" || a == "--json=true":
			asJSON = true
		case strings.HasPrefix(a, "--format="):
			format = strings.TrimPrefix(a, "--format=")
		case a == "--format" && j+1 < len(rest):
			format = rest[j+1]
		}
	}
	if asJSON || format == "json" {
		return args[i], true
	}
	return "", false
}

// Every JSON report the commands write on the fixtures in testdata/ (and
// the document of a run that could not end) validates against its
// committed schema; each file of testdata/bad gives an unfinished
// document.
func TestJSONReportsValidate(t *testing.T) {
	const tiny = "../../testdata/tiny/"
	dir := t.TempDir()
	flipped := copyTiny(t, "hf-f32")
	flip(t, flipped, "model.embed_tokens.weight")
	manifest := filepath.Join(dir, "m.json")
	if _, stderr, code := cli(t, "verify", tiny+"hf-f32", "--record", manifest); code != exitOK {
		t.Fatalf("verify --record: exit %d: %s", code, stderr)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"audit builtin", []string{"audit", "--builtin", "30b-gguf"}, exitOK},
		{"audit default", []string{"audit"}, exitOK},
		{"audit gguf spotcheck", []string{"audit", tiny + "gguf/tiny-q8_0.gguf", "--spotcheck"}, exitOK},
		{"audit hf", []string{"audit", tiny + "hf-bf16"}, exitOK},
		{"audit broken", []string{"audit", "../../testdata/bad/st-overlap.safetensors"}, exitProblems},
		{"inspect gguf split", []string{"inspect", tiny + "gguf/tiny-q8_0-00001-of-00002.gguf"}, exitOK},
		{"inspect hf", []string{"inspect", tiny + "hf-f32"}, exitOK},
		{"inspect builtin", []string{"inspect", "--builtin", "gguf"}, exitOK},
		{"verify", []string{"verify", tiny + "hf-f32"}, exitOK},
		{"verify gguf", []string{"verify", tiny + "gguf/tiny-q8_0.gguf"}, exitOK},
		{"verify flipped against manifest", []string{"verify", flipped, "--manifest", manifest}, exitProblems},
		{"diff same", []string{"diff", tiny + "hf-f32", manifest}, exitOK},
		{"diff bf16", []string{"diff", tiny + "hf-f32", tiny + "hf-bf16"}, exitProblems},
		{"diff flipped", []string{"diff", manifest, flipped}, exitProblems},
		{"spotcheck layer", []string{"spotcheck", tiny + "hf-f32", "--layer", "1", "--tokens", "3,17,42"}, exitOK},
		{"spotcheck full", []string{"spotcheck", tiny + "gguf/tiny-f32.gguf", "--full", "--tokens", "3,17"}, exitOK},
		{"compare", []string{"compare", tiny + "hf-f32", tiny + "gguf/tiny-q8_0.gguf"}, exitOK},
		{"compare bf16", []string{"compare", tiny + "hf-bf16", tiny + "gguf/tiny-f16.gguf", "--full"}, exitOK},
	}
	for _, tt := range tests {
		for _, flag := range [][]string{{"--json"}, {"--format", "json"}} {
			args := append(slices.Clone(tt.args), flag...)
			stdout, stderr, code := cli(t, args...)
			if code != tt.code {
				t.Errorf("%s: exit %d, want %d: %s", strings.Join(args, " "), code, tt.code, stderr)
				continue
			}
			// cli validates stdout too; this names the case.
			if err := validateReport([]byte(stdout), tt.args[0]); err != nil {
				t.Errorf("%s: %v", strings.Join(args, " "), err)
			}
			if err := verdictAgrees(stdout, code); err != nil {
				t.Errorf("%s: %v", strings.Join(args, " "), err)
			}
		}
	}
	bad, err := filepath.Glob("../../testdata/bad/*.*")
	if err != nil || len(bad) == 0 {
		t.Fatalf("testdata/bad: %v, %d files", err, len(bad))
	}
	unfinished := 0
	for _, f := range bad {
		for _, cmd := range []string{"inspect", "verify", "audit"} {
			stdout, _, code := cli(t, cmd, f, "--json")
			if code != exitProblems {
				t.Errorf("%s %s --json: exit %d, want %d", cmd, f, code, exitProblems)
				continue
			}
			if err := validateReport([]byte(stdout), cmd); err != nil {
				t.Errorf("%s %s --json: %v", cmd, f, err)
			}
			if err := verdictAgrees(stdout, code); err != nil {
				t.Errorf("%s %s --json: %v", cmd, f, err)
			}
			if strings.Contains(stdout, `"exit_code"`) {
				unfinished++
			}
		}
	}
	if unfinished == 0 {
		t.Error("no file of testdata/bad gave the unfinished document")
	}
}

// verdictAgrees checks a JSON report's verdict against the exit code: a
// report with a verdict says pass (and pass true) exactly when the command
// exits 0, unless it says incomplete (exit 0, pass false); exit 1 is fail.
func verdictAgrees(doc string, code int) error {
	var r struct {
		Pass    *bool  `json:"pass"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return err
	}
	if r.Pass == nil {
		return nil // the plan: no verdict
	}
	want := map[int]string{exitOK: "pass", exitProblems: "fail", exitRetry: "incomplete"}[code]
	if r.Verdict == "incomplete" && code == exitOK {
		want = "incomplete"
	}
	if r.Verdict != want || *r.Pass != (want == "pass") {
		return fmt.Errorf("exit %d with pass %v, verdict %q; want verdict %q", code, *r.Pass, r.Verdict, want)
	}
	return nil
}

// The validator bites: a report with a key the schema does not know, a
// missing key, a wrong type or another schema_version fails.
func TestJSONReportsValidatorRejects(t *testing.T) {
	stdout, _, code := cli(t, "inspect", "../../testdata/tiny/gguf/tiny-f32.gguf", "--json")
	if code != exitOK {
		t.Fatalf("inspect: exit %d", code)
	}
	edits := map[string]func(m map[string]any){
		"extra key":       func(m map[string]any) { m["surprise"] = 1 },
		"missing key":     func(m map[string]any) { delete(m, "totals") },
		"wrong type":      func(m map[string]any) { m["tensors"] = "many" },
		"nested type":     func(m map[string]any) { m["totals"].(map[string]any)["params"] = "1 B" },
		"another version": func(m map[string]any) { m["schema_version"] = m["schema_version"].(float64) + 1 },
		"bad date":        func(m map[string]any) { m["started"] = "yesterday" },
	}
	for name, edit := range edits {
		var m map[string]any
		if err := json.Unmarshal([]byte(stdout), &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ := json.Marshal(m)
		if err := validateReport(b, "inspect"); err == nil {
			t.Errorf("%s: the edited report validates", name)
		}
	}
	if err := validateReport([]byte(stdout), "inspect"); err != nil {
		t.Errorf("the report as written: %v", err)
	}
}

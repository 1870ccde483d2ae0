package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The GitHub Action's step script (action/run.sh) run as the runner runs
// it: the command on PATH, GITHUB_STEP_SUMMARY and GITHUB_OUTPUT set. It
// appends the Markdown report to the summary (after what earlier steps
// wrote), writes a JUnit file, records the exit code as the step's output
// and exits with it.
func TestActionScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script, err := filepath.Abs("../../action/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	bin := binDir(t)
	// A checkpoint with findings: config.json says one more token than
	// the embedding holds.
	bad := copyTiny(t, "hf-f32")
	cfg := filepath.Join(bad, "config.json")
	b, err := os.ReadFile(cfg)
	if err != nil || !bytes.Contains(b, []byte(`"vocab_size": 64`)) {
		t.Fatalf("config.json: %v, %s", err, b)
	}
	if err := os.WriteFile(cfg, bytes.Replace(b, []byte(`"vocab_size": 64`), []byte(`"vocab_size": 65`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, command, source, args string
		code                        int
		summary                     string // in the step summary
		junit                       bool
	}{
		{"pass", "audit", "../../testdata/tiny/gguf/tiny-f16.gguf", "", 0, "PASS", true},
		{"findings", "audit", bad, "", 1, "FAIL", true},
		{"usage", "audit", "../../testdata/tiny/gguf/tiny-f16.gguf", "--kv-type q9", 4, "", false},
		{"no model", "audit", filepath.Join(t.TempDir(), "none"), "", 3, "", false},
		{"bad command", "rm", "x", "", 4, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			summary, output, junit := filepath.Join(dir, "summary.md"), filepath.Join(dir, "output"), filepath.Join(dir, "junit.xml")
			const earlier = "## an earlier step\n"
			if err := os.WriteFile(summary, []byte(earlier), 0o644); err != nil {
				t.Fatal(err)
			}
			src := tt.source
			if strings.HasPrefix(src, "../") {
				src, _ = filepath.Abs(src)
			}
			cmd := exec.Command(bash, script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"GITHUB_STEP_SUMMARY="+summary, "GITHUB_OUTPUT="+output,
				"WEIGHTAUDIT_COMMAND="+tt.command, "WEIGHTAUDIT_SOURCE="+src, "WEIGHTAUDIT_ARGS="+tt.args, "WEIGHTAUDIT_JUNIT="+junit)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, out)
			}
			if tt.code != 0 && !strings.Contains(string(out), "::error title=weightaudit") {
				t.Errorf("no ::error annotation for exit %d:\n%s", tt.code, out)
			}
			s, _ := os.ReadFile(summary)
			if !strings.HasPrefix(string(s), earlier) || !strings.Contains(string(s), tt.summary) {
				t.Errorf("step summary = %q, want %q then the report (%q)", s, earlier, tt.summary)
			}
			if tt.junit {
				b, err := os.ReadFile(junit)
				var doc struct {
					XMLName xml.Name
					Suites  []struct {
						Cases []struct {
							Name string `xml:"name,attr"`
						} `xml:"testcase"`
					} `xml:"testsuite"`
					Cases []struct {
						Name string `xml:"name,attr"`
					} `xml:"testcase"`
				}
				if err != nil || xml.Unmarshal(b, &doc) != nil || (len(doc.Suites) == 0 && len(doc.Cases) == 0) {
					t.Errorf("JUnit file: %v, %q", err, b)
				}
			}
			if tt.command == "audit" {
				o, _ := os.ReadFile(output)
				if want := "exit-code=" + string(rune('0'+tt.code)); !strings.Contains(string(o), want) {
					t.Errorf("GITHUB_OUTPUT = %q, want %q", o, want)
				}
			}
		})
	}
}

// action.yml runs the script with the inputs in the environment (never
// spliced into the script's text) and installs the module's command with
// go install at the version asked for.
func TestActionYAML(t *testing.T) {
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for _, want := range []string{
		"using: composite",
		`go install "github.com/weightaudit/weightaudit/cmd/weightaudit@${VERSION}"`,
		"VERSION: ${{ inputs.version }}",
		"WEIGHTAUDIT_SOURCE: ${{ inputs.source }}",
		"WEIGHTAUDIT_ARGS: ${{ inputs.args }}",
		`run: '"$GITHUB_ACTION_PATH/action/run.sh"'`,
	} {
		if !strings.Contains(y, want) {
			t.Errorf("action.yml lacks %q", want)
		}
	}
	for _, line := range strings.Split(y, "\n") {
		if strings.Contains(line, "run:") && strings.Contains(line, "${{") {
			t.Errorf("action.yml splices an expression into a script: %q", line)
		}
	}
}

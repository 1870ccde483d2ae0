package depcheck_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestFormatReadersImportOnlyStdlib(t *testing.T) {
	const module = "github.com/weightaudit/weightaudit"
	for _, pkg := range []string{module + "/gguf", module + "/safetensors"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg || strings.HasPrefix(dep, module+"/internal/") {
				continue
			}
			t.Errorf("%s depends on %s; format readers may import only the standard library and %s/internal/...", pkg, dep, module)
		}
	}
}

// TestHubKnowsNoFormat keeps the sources blind to what their files hold:
// hub imports no package of the module but internal/..., so neither the
// format readers (gguf, safetensors) nor audit and the packages built on
// the sources. What a caller needs of a format, such as how much of a
// file its header takes, it passes in (hub.HeaderFunc).
func TestHubKnowsNoFormat(t *testing.T) {
	const module = "github.com/weightaudit/weightaudit"
	pkg := module + "/hub"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == pkg || !strings.HasPrefix(dep, module+"/") || strings.HasPrefix(dep, module+"/internal/") {
			continue
		}
		t.Errorf("%s depends on %s; hub may import of the module only %s/internal/... (no format reader, no audit package)", pkg, dep, module)
	}
}

// TestArchtestOnlyInTests keeps the families' test helpers — arch/archtest
// and a family's own (arch/<family>/<family>test, built on archtest) — out
// of every package's build: only _test.go files and other test helpers
// import them.
func TestArchtestOnlyInTests(t *testing.T) {
	const module = "github.com/weightaudit/weightaudit"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s/...: %v\n%s", module, err, out)
	}
	helper := func(pkg string) bool {
		return strings.HasPrefix(pkg, module+"/arch/") && strings.HasSuffix(pkg, "test")
	}
	helpers := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if helper(fields[0]) {
			helpers++
			continue
		}
		for _, imp := range fields[1:] {
			if helper(imp) {
				t.Errorf("%s imports %s; only test files may", fields[0], imp)
			}
		}
	}
	if helpers < 2 { // archtest and deepseektest at least: the rule sees them
		t.Errorf("found %d test helper packages under arch/, want archtest and deepseektest at least", helpers)
	}
}

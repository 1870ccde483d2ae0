package depcheck_test

import (
	"os/exec"
	"slices"
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

// TestArchtestOnlyInTests keeps arch/archtest, the families' shared test
// helpers, out of every package's build: only _test.go files import it.
func TestArchtestOnlyInTests(t *testing.T) {
	const module = "github.com/weightaudit/weightaudit"
	archtest := module + "/arch/archtest"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s/...: %v\n%s", module, err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && slices.Contains(fields[1:], archtest) {
			t.Errorf("%s imports %s; only test files may", fields[0], archtest)
		}
	}
}

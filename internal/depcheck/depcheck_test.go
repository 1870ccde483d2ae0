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

package main

import (
	"runtime"
	"strings"
	"testing"
)

// version and --version say the same: the tool's name and version first,
// then the Go version of the build; exit 0.
func TestVersion(t *testing.T) {
	a, _, codeA := cli(t, "version")
	b, _, codeB := cli(t, "--version")
	if codeA != exitOK || codeB != exitOK || a != b || !strings.HasPrefix(a, "weightaudit ") || !strings.Contains(a, "\ngo "+runtime.Version()) {
		t.Errorf("version %q (exit %d), --version %q (exit %d)", a, codeA, b, codeB)
	}
	if _, _, code := cli(t, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d, want %d", code, exitUsage)
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
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

// describeBuild reads what go version -m prints of a binary (parsed by
// debug.ParseBuildInfo, which leaves the Go version to the caller, as
// debug.ReadBuildInfo sets it): the module version, the Go version, the
// commit.
func TestDescribeBuild(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name, info, ldCommit, want string
	}{
		{"go install @version", "path\tgithub.com/weightaudit/weightaudit/cmd/weightaudit\nmod\tgithub.com/weightaudit/weightaudit\tv1.4.0\th1:abc=\n", "",
			"weightaudit v1.4.0\ngo go1.26.8\n"},
		{"checkout", "path\tgithub.com/weightaudit/weightaudit/cmd/weightaudit\nmod\tgithub.com/weightaudit/weightaudit\t(devel)\t\n" +
			"build\t-buildmode=exe\nbuild\tvcs=git\nbuild\tvcs.revision=" + rev + "\nbuild\tvcs.time=2026-12-04T11:28:17Z\nbuild\tvcs.modified=true\n", "ffff",
			"weightaudit (devel)\ngo go1.26.8\ncommit " + rev + " (modified)\ncommitted 2026-12-04T11:28:17Z\n"},
		{"worktree with -ldflags -X main.commit", "path\tgithub.com/weightaudit/weightaudit/cmd/weightaudit\nmod\tgithub.com/weightaudit/weightaudit\t(devel)\t\nbuild\tvcs=git\n", rev,
			"weightaudit (devel)\ngo go1.26.8\ncommit " + rev + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi, err := debug.ParseBuildInfo(tt.info)
			if err != nil {
				t.Fatal(err)
			}
			bi.GoVersion = "go1.26.8"
			if got := describeBuild(bi, tt.ldCommit); got != tt.want {
				t.Errorf("describeBuild = %q, want %q", got, tt.want)
			}
		})
	}
	if got := describeBuild(nil, ""); got != "weightaudit (unknown version)\n" {
		t.Errorf("describeBuild(nil) = %q", got)
	}
}

// A go build -buildvcs=true in a git checkout stamps the commit, and
// version prints it: the README's build command. (.ci/run sets
// GOFLAGS=-buildvcs=false; the flag on the command line wins.) Go finds
// no repository in a linked git worktree, whose .git is a file
// (golang/go#58218): the test needs a checkout whose .git is a folder.
func TestVersionStampsCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(root, ".git")); err != nil || !info.IsDir() {
		t.Skipf("%s is not a git checkout with a .git folder (a linked worktree, or an export): go build stamps no commit there", root)
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("git rev-parse HEAD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "weightaudit")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/weightaudit")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "\ncommit " + strings.TrimSpace(string(head)); !strings.Contains(string(out), want) {
		t.Errorf("version = %q, want it to contain %q", out, want)
	}
}

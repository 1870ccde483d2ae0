package verify

import (
	"runtime/debug"
	"testing"
)

func TestToolVersion(t *testing.T) {
	const rev, ld = "0123456789abcdef0123456789abcdef01234567", "fedcba9876543210fedcba9876543210fedcba98"
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}}
	for _, tt := range []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		ldCommit string
		want     string
	}{
		{"go install of a tag", "v1.2.3", vcs, ld, "weightaudit v1.2.3"},
		{"checkout", "(devel)", vcs, "", "weightaudit (devel) 0123456789ab"},
		{"checkout with -X main.commit too: the build's own wins", "(devel)", vcs, ld, "weightaudit (devel) 0123456789ab"},
		{"linked worktree with -X main.commit", "(devel)", nil, ld, "weightaudit (devel) fedcba987654"},
		{"no revision at all", "", nil, "", "weightaudit (devel)"},
		{"a short -X value", "(devel)", nil, "abc", "weightaudit (devel) abc"},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/weightaudit/weightaudit", Version: tt.version}, Settings: tt.settings}
		if got := toolVersion(bi, tt.ldCommit); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// commit is the VCS revision a build that cannot stamp it from the
// checkout sets with -ldflags "-X main.commit=$(git rev-parse HEAD)": go
// build stamps vcs.revision only where .git is a directory, not in a
// linked git worktree (golang/go#58218). The build information's
// vcs.revision wins when there is one.
var commit string

// versionText describes this build: see [describeBuild].
func versionText() string {
	bi, _ := debug.ReadBuildInfo() // nil when there is none
	return describeBuild(bi, commit)
}

// describeBuild says what bi (nil when the binary has no build
// information) tells of a build: the module version (a tag for go install
// …@version, "(devel)" for a build from a checkout), then the Go version,
// the VCS commit with whether the tree was modified, and the commit's
// time. ldCommit stands in for a commit bi lacks.
func describeBuild(bi *debug.BuildInfo, ldCommit string) string {
	if bi == nil {
		out := "weightaudit (unknown version)\n"
		if ldCommit != "" {
			out += "commit " + ldCommit + "\n"
		}
		return out
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	out := "weightaudit " + v + "\ngo " + bi.GoVersion
	rev := settings["vcs.revision"]
	switch {
	case rev != "":
		out += "\ncommit " + rev
		if settings["vcs.modified"] == "true" {
			out += " (modified)"
		}
		if t := settings["vcs.time"]; t != "" {
			out += "\ncommitted " + t
		}
	case ldCommit != "":
		out += "\ncommit " + ldCommit
	}
	return out + "\n"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this build",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText())
			return err
		},
	}
}

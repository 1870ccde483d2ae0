package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/verify"
)

// versionText describes the build: the module version (or "(devel)" for
// a build from a work tree), the VCS commit and whether the tree was
// modified, and the Go version, from the build information.
func versionText() string {
	out := verify.ToolVersion()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out + "\n"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	out += "\ngo " + bi.GoVersion
	if rev := settings["vcs.revision"]; rev != "" {
		out += "\ncommit " + rev
		if settings["vcs.modified"] == "true" {
			out += " (modified)"
		}
		if t := settings["vcs.time"]; t != "" {
			out += "\ncommitted " + t
		}
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

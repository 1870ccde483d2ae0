package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
	"github.com/weightaudit/weightaudit/verify"
)

// The exit codes of every command, as DESIGN.md fixes them (the convention
// model scanners such as modelscan use): CI can tell "reject" (1) from
// "retry" (2).
const (
	exitOK       = 0 // checked, nothing wrong
	exitProblems = 1 // the artifact has problems: findings, malformed, truncated or missing files, digest mismatch, bad data
	exitRetry    = 2 // could not complete: network, timeout, I/O, permission, cancelled
	exitNothing  = 3 // nothing to check: no model at SOURCE
	exitUsage    = 4 // usage error: unknown flag or command, bad argument value
)

// exitTable is the table the help and the README print.
const exitTable = `Exit codes (every command):
  0  checked, nothing wrong
  1  the artifact has problems (findings, malformed, truncated or missing files,
     digest mismatch, bad data): reject it
  2  could not complete (network, timeout, I/O or permission error, cancelled
     by SIGINT or SIGTERM): retry
  3  nothing to check: no model found at SOURCE
  4  usage error: unknown flag or command, bad argument value`

// checkFailed is returned by a command whose work ran but found problems:
// the report is already written, the exit code is 1.
type checkFailed struct{ n int }

func (e *checkFailed) Error() string { return fmt.Sprintf("%d problem(s) found", e.n) }

// usageErr is a usage error: exit 4, with the command's usage line.
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

// usageError returns a usage error naming what is wrong and how the
// command is used.
func usageError(cmd *cobra.Command, msg string) error {
	return &usageErr{msg + "\nusage: " + cmd.UseLine()}
}

// usageArgs wraps a cobra argument validator so that its errors are usage
// errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError(cmd, err.Error())
		}
		return nil
	}
}

// exitCode maps the error of run to the process exit code, printing it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var cf *checkFailed
	if errors.As(err, &cf) {
		return exitProblems
	}
	fmt.Fprintf(stderr, "weightaudit: %v\n", err)
	return classify(err)
}

// classify says which exit code an error that stopped a command means.
func classify(err error) int {
	var (
		usage   *usageErr
		gf      *gguf.FormatError
		sf      *safetensors.FormatError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &usage), errors.Is(err, hub.ErrBadSource), errors.Is(err, hub.ErrUnsupportedSource),
		errors.Is(err, spotcheck.ErrInvalid), errors.Is(err, checkpoint.ErrNoTensor), errors.Is(err, verify.ErrNotManifest),
		errors.Is(err, verify.ErrManifest), errors.Is(err, verify.ErrPartialManifest), errors.Is(err, verify.ErrMerge),
		strings.HasPrefix(err.Error(), "unknown command"):
		return exitUsage
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return exitRetry
	case errors.Is(err, checkpoint.ErrNoModel), errors.Is(err, hub.ErrNoModelLayers), errors.Is(err, hub.ErrNotExist),
		errors.Is(err, compare.ErrNotComparable),
		errors.Is(err, hub.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return exitNothing
	case errors.As(err, &gf), errors.As(err, &sf), errors.As(err, &syntax), errors.As(err, &typeErr),
		errors.Is(err, arch.ErrConfig), errors.Is(err, arch.ErrNoConfig), errors.Is(err, hub.ErrBadArchive),
		errors.Is(err, hub.ErrDigestMismatch), errors.Is(err, hub.ErrBadStore), errors.Is(err, gguf.ErrSplit):
		return exitProblems
	}
	return exitRetry
}

// Command weightaudit audits large-language-model weight files: safetensors
// checkpoints and GGUF files. Run `weightaudit help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("weightaudit: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Exit codes, as DESIGN.md fixes them.
const (
	exitOK     = 0 // every check passed
	exitFailed = 1 // a check failed
	exitError  = 2 // the command could not run: bad arguments, unreadable or malformed source
)

// checkFailed is returned by a command whose work ran but found problems:
// the report is already written, the exit code is 1.
type checkFailed struct{ n int }

func (e *checkFailed) Error() string { return fmt.Sprintf("%d problem(s) found", e.n) }

// exitCode maps the error of run to the process exit code, printing it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var cf *checkFailed
	if errors.As(err, &cf) {
		return exitFailed
	}
	fmt.Fprintf(stderr, "weightaudit: %v\n", err)
	return exitError
}

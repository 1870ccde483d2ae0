// Command weightaudit audits large-language-model weight files: safetensors
// checkpoints and GGUF files. Run `weightaudit help` for the commands.
package main

import (
	"context"
	"log"
	"os"

	// Huge pages for the heap from early in initialization (see its doc).
	_ "github.com/weightaudit/weightaudit/internal/hugeheap"
	"github.com/weightaudit/weightaudit/internal/interrupt"
	"github.com/weightaudit/weightaudit/verify"
)

func main() {
	verify.ToolCommit = commit // manifests name the commit too
	log.SetFlags(0)
	log.SetPrefix("weightaudit: ")
	// SIGTERM (a CI job cancelled, a container stopped) ends a run as
	// SIGINT does: partial reports are marked incomplete, exit 2. Runs
	// catch them once they read tensor data, go to the network, write a
	// file or draw progress: a header-only run on local files,
	// milliseconds long, ends as any program does (see package interrupt).
	ctx, stop := interrupt.Context(context.Background())
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

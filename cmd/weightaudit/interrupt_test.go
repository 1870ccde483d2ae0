package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/weightaudit/weightaudit/internal/interrupt"
)

// TestWhenSignalsAreCaught: a run catches SIGINT and SIGTERM (package
// interrupt) once it reads tensor data, goes to the network or writes a
// file; a header-only run on local input and `version` never do, and
// save the two threads catching costs.
func TestWhenSignalsAreCaught(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1") // never the real Hub
	out := filepath.Join(t.TempDir(), "inventory.json")
	cases := []struct {
		args   []string
		caught bool
		long   bool // a run that would take long: cancelled from the start, only whether it arms matters
	}{
		{[]string{"version"}, false, false},
		{[]string{"inspect", "--builtin", "30b-gguf"}, false, false},
		{[]string{"plan", "--builtin", "30b-gguf"}, false, false},
		{[]string{"inspect", "--builtin", "30b-gguf", "--format", "json", "-o", out}, true, false}, // writes a file
		{[]string{"verify", "--builtin", "30b-gguf"}, true, true},                                  // reads data
		{[]string{"spotcheck", "--builtin", "30b-gguf"}, true, true},
		{[]string{"inspect", "oci://127.0.0.1:1/acme/tiny:v1"}, true, true}, // remote
		{[]string{"inspect", "hf://acme/tiny"}, true, true},
	}
	for _, c := range cases {
		ctx, stop := interrupt.Context(context.Background())
		if c.long {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			ctx = cctx
		}
		var stdout, stderr bytes.Buffer
		run(ctx, c.args, &stdout, &stderr)
		if got := interrupt.Armed(); got != c.caught {
			t.Errorf("%q: signals caught = %v, want %v (stderr %.200s)", c.args, got, c.caught, stderr.String())
		}
		stop()
	}
}

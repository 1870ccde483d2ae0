package main

import (
	"context"
	"fmt"
	"io/fs"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// Each kind of error that can stop a command maps to its row of the
// exit-code table, however deeply it is wrapped.
func TestClassify(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("model-00001.safetensors: %w", err) }
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"safetensors format", wrap(&safetensors.FormatError{Offset: 8, Err: safetensors.ErrTruncated}), exitProblems},
		{"gguf format", wrap(&gguf.FormatError{Offset: 24, Field: "tensor count", Err: gguf.ErrLimit}), exitProblems},
		{"split set", wrap(gguf.ErrSplit), exitProblems},
		{"config", wrap(arch.ErrConfig), exitProblems},
		{"no config.json", arch.ErrNoConfig, exitProblems},
		{"damaged archive", wrap(hub.ErrBadArchive), exitProblems},
		{"digest mismatch", wrap(hub.ErrDigestMismatch), exitProblems},
		{"no model", wrap(checkpoint.ErrNoModel), exitNothing},
		{"no file", wrap(fs.ErrNotExist), exitNothing},
		{"repository not found", wrap(hub.ErrNotFound), exitNothing},
		{"cancelled", wrap(context.Canceled), exitRetry},
		{"deadline", wrap(context.DeadlineExceeded), exitRetry},
		{"offline", wrap(hub.ErrOffline), exitRetry},
		{"server down", wrap(hub.ErrUnavailable), exitRetry},
		{"denied", wrap(hub.ErrAuth), exitRetry},
		{"permission", wrap(fs.ErrPermission), exitRetry},
		{"bad source", wrap(hub.ErrBadSource), exitUsage},
		{"usage", &usageErr{"--ctx: bad"}, exitUsage},
		{"no such tensor", wrap(checkpoint.ErrNoTensor), exitUsage},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%s: %v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

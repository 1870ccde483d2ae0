package hub_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
)

// A SOURCE typed without its scheme that is no local path gets a hint,
// and stays a "no such path" error (exit 3).
func TestResolveSchemeHint(t *testing.T) {
	tests := []struct{ spec, hint string }{
		{"Qwen/Qwen3-0.6B", "hf://Qwen/Qwen3-0.6B"},
		{"docker.io/ai/qwen3:latest", "oci://docker.io/ai/qwen3:latest"},
		{"localhost:5000/models/tiny:q8", "oci://localhost:5000/models/tiny:q8"},
		{"registry.example/models/tiny", "oci://registry.example/models/tiny"},
		{"./no/such/dir", ""},
		{"/no/such/file.gguf", ""},
		{"no-such-file.gguf", ""},
		{"a/b/c", ""},
	}
	for _, tt := range tests {
		_, _, err := hub.Resolve(tt.spec)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Resolve(%q) = %v, want a not-exist error", tt.spec, err)
			continue
		}
		if got := strings.Contains(err.Error(), "did you mean"); got != (tt.hint != "") || (tt.hint != "" && !strings.Contains(err.Error(), "did you mean "+tt.hint+"?")) {
			t.Errorf("Resolve(%q) = %v, want hint %q", tt.spec, err, tt.hint)
		}
	}
}

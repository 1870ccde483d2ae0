package checkpoint_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
)

// A split set whose name declares many parts, of which few are there,
// gets an error that names the first missing parts and counts the rest,
// not one that lists them all (10,000 names made a 260 KB message).
func TestLoadSplitMissingCapped(t *testing.T) {
	for _, tt := range []struct {
		name    string
		present []string
		focus   string
		want    []string // in the message
		notWant []string // not in it
	}{
		{
			name:    "10000 parts, one there",
			present: []string{"m-00001-of-10000.gguf"},
			focus:   "m-00001-of-10000.gguf",
			// Parts 2 to 9 named; 10000-1-8 = 9991 counted.
			want:    []string{"10000 parts", "m-00002-of-10000.gguf", "m-00009-of-10000.gguf", "and 9991 more"},
			notWant: []string{"m-00010-of-10000.gguf", "m-10000-of-10000.gguf"},
		},
		{
			name:    "3 parts, one missing",
			present: []string{"m-00001-of-00003.gguf", "m-00003-of-00003.gguf"},
			focus:   "m-00001-of-00003.gguf",
			want:    []string{"3 parts, missing m-00002-of-00003.gguf"},
			notWant: []string{"more"},
		},
		{
			name:    "9 missing: 8 named, 1 more",
			present: []string{"m-00001-of-00010.gguf"},
			focus:   "m-00001-of-00010.gguf",
			want:    []string{"m-00009-of-00010.gguf and 1 more"},
			notWant: []string{"m-00010-of-00010.gguf"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := hub.NewMem("split")
			for _, n := range tt.present {
				src.Add(n, bytes.NewReader([]byte("GGUF")), 4)
			}
			_, err := checkpoint.Load(context.Background(), src, checkpoint.WithFocus(tt.focus))
			if !errors.Is(err, gguf.ErrSplit) {
				t.Fatalf("Load = %v, want ErrSplit", err)
			}
			msg := err.Error()
			if len(msg) > 1024 {
				t.Errorf("Load error is %d bytes, want at most 1024", len(msg))
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Load = %q, want it to say %q", msg, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("Load = %q, want it not to say %q", msg, w)
				}
			}
		})
	}
}

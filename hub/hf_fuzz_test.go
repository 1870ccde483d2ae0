package hub_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
)

// FuzzParseHF checks that ParseHF never panics, fails only with
// ErrBadSource, returns refs without empty or dot segments, and that a
// ref's String form reads back as the same ref.
func FuzzParseHF(f *testing.F) {
	for _, s := range []string{
		"hf://o/r", "hf://o/r@v1/sub/dir", "hf://o/r@refs%2Fpr%2F1/m.gguf", "hf://o/r/../x", "hf://datasets/o/r",
		"https://huggingface.co/o/r/tree/main/a", "https://huggingface.co/o/r/resolve/main/a/b.safetensors",
		"https://huggingface.co/o/r/blob/x%2Fy/c.json?download=1", "https://huggingface.co/o", "http://huggingface.co/o/r",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ref, err := hub.ParseHF(spec, "")
		if err != nil {
			if !errors.Is(err, hub.ErrBadSource) {
				t.Fatalf("ParseHF(%q) = %v, not an ErrBadSource", spec, err)
			}
			return
		}
		owner, name, ok := strings.Cut(ref.Repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") || ref.Revision == "" {
			t.Fatalf("ParseHF(%q) = %+v: bad repo or revision", spec, ref)
		}
		for _, p := range []string{ref.Subfolder, ref.File} {
			if p == "" {
				continue
			}
			for seg := range strings.SplitSeq(p, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("ParseHF(%q) = %+v: path %q has an empty or dot segment", spec, ref, p)
				}
			}
		}
		if ref.File != "" && !strings.HasSuffix(ref.File, ".gguf") && !strings.HasSuffix(ref.File, ".safetensors") && !strings.HasSuffix(ref.File, ".json") {
			return // reads back as a folder, as documented
		}
		back, err := hub.ParseHF(ref.String(), "")
		if err != nil || back != ref {
			t.Fatalf("ParseHF(%q) = %+v, whose String %q reads back as %+v, %v", spec, ref, ref.String(), back, err)
		}
	})
}

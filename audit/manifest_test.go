package audit_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/audit"
)

func TestManifestRoundTrip(t *testing.T) {
	m := record(t, verifyTinyDir+"/gguf/tiny-q8_0-00001-of-00002.gguf")
	if m.Version != audit.ManifestVersion || !strings.HasPrefix(m.Tool, "weightaudit ") || len(m.Files) != 2 || len(m.Tensors) != 27 || m.Format != audit.FormatGGUF {
		t.Fatalf("manifest: version %d, tool %q, %d files, %d tensors, format %s", m.Version, m.Tool, len(m.Files), len(m.Tensors), m.Format)
	}
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	// Upper-case digests are accepted and returned in lower case.
	up := strings.ReplaceAll(b.String(), m.Files[0].SHA256, strings.ToUpper(m.Files[0].SHA256))
	m2, err := audit.ParseManifest([]byte(up))
	if err != nil {
		t.Fatalf("ParseManifest(upper-case digest) = %v", err)
	}
	if diff := cmp.Diff(m, m2, cmpopts.IgnoreUnexported(audit.Manifest{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// FuzzParseManifest: no panic; a manifest that parses writes and parses
// back to the same value.
func FuzzParseManifest(f *testing.F) {
	m := record(f, verifyTinyDir+"/hf-f32")
	var b bytes.Buffer
	m.WriteJSON(&b)
	f.Add(b.Bytes())
	f.Add([]byte(`{"weightaudit_manifest": 1, "files": [], "tensors": [{"name": "t", "shape": [1, 2]}]}`))
	f.Add([]byte(`{"weightaudit_manifest": 2}`))
	f.Add([]byte(`{"metadata": {}, "weight_map": {"a": "b"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := audit.ParseManifest(data)
		if err != nil {
			if !errors.Is(err, audit.ErrNotManifest) && !errors.Is(err, audit.ErrManifest) {
				t.Fatalf("ParseManifest error %v wraps neither sentinel", err)
			}
			return
		}
		var b bytes.Buffer
		if err := m.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		m2, err := audit.ParseManifest(b.Bytes())
		if err != nil {
			t.Fatalf("ParseManifest(WriteJSON(m)) = %v", err)
		}
		if diff := cmp.Diff(m, m2, cmpopts.IgnoreUnexported(audit.Manifest{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		// Verify and Diff take any parsed manifest.
		audit.Diff(m, m2)
	})
}

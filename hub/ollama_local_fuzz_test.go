package hub

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzOllamaManifest feeds hostile bytes to the reader of the local
// Ollama store's manifests. Invariants: no panic; on success no more
// layers than the limit, no negative size, every model layer's digest is
// sha256 with 64 lower-case hex digits and its blob's path stays in the
// store's blobs folder; encoding the manifest and parsing it again gives
// the same manifest.
func FuzzOllamaManifest(f *testing.F) {
	const d1 = "sha256:8cb03c69fc55ca080379a1a68de8f5643049fdbac3377a43fe2ce700d5878b13"
	const d2 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, s := range []string{
		// As Ollama writes them: a Docker manifest, the model, a template.
		`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
			`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + d2 + `","size":0},` +
			`"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"` + d1 + `","size":43712},` +
			`{"mediaType":"application/vnd.ollama.image.template","digest":"` + d2 + `","size":13}]}`,
		// A ModelPack manifest with annotations and a tar layer.
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
			`"config":{"mediaType":"application/vnd.cncf.model.config.v1+json","digest":"` + d2 + `","size":2},` +
			`"layers":[{"mediaType":"application/vnd.cncf.model.weight.v1.raw","digest":"` + d1 + `","size":5,` +
			`"annotations":{"org.cncf.model.filepath":"model.safetensors"}},` +
			`{"mediaType":"application/vnd.cncf.model.weight.v1.tar+zstd","digest":"` + d2 + `","size":9}]}`,
		// The malformed ones of the tests.
		`{not json`,
		`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","size":4}]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`,
		`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.license","size":1,"digest":"` + d2 + `"}]}`,
		`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","size":-1,"digest":"` + d1 + `"}]}`,
		`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","size":1,"digest":"sha256:ABC"}]}`,
		`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","size":1,"digest":"sha512:00"}]}`,
		`{"schemaVersion":2,"layers":[]} trailing`,
		`{"layers":null}`,
		``,
	} {
		f.Add([]byte(s))
	}
	dir := filepath.Join("store", "root")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseStoreManifest(data)
		if err != nil {
			return
		}
		if len(m.Layers) > maxOCILayers {
			t.Fatalf("%d layers accepted", len(m.Layers))
		}
		for i, l := range m.Layers {
			if l.Size < 0 {
				t.Fatalf("layer %d: size %d accepted", i, l.Size)
			}
			if kindOf(string(l.MediaType)) == kindNone {
				continue
			}
			if l.Digest.Algorithm != "sha256" || len(l.Digest.Hex) != 64 || strings.Trim(l.Digest.Hex, "0123456789abcdef") != "" {
				t.Fatalf("layer %d: digest %q accepted", i, l.Digest)
			}
			p := storeBlobPath(dir, l.Digest)
			if filepath.Dir(p) != filepath.Join(dir, "blobs") || filepath.Base(p) != "sha256-"+l.Digest.Hex {
				t.Fatalf("layer %d: blob path %q leaves %s", i, p, filepath.Join(dir, "blobs"))
			}
		}
		// go-containerregistry encodes a missing digest as ":", which it
		// does not parse back: only manifests with every digest given
		// are compared.
		if m.Config.Digest == (v1.Hash{}) || slices.ContainsFunc(m.Layers, func(l v1.Descriptor) bool { return l.Digest == (v1.Hash{}) }) {
			return
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		m2, err := parseStoreManifest(again)
		if err != nil {
			t.Fatalf("the encoded manifest does not parse: %v\n%s", err, again)
		}
		if diff := cmp.Diff(m, m2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("encode and parse again (-first +again):\n%s", diff)
		}
	})
}

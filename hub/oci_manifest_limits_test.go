package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
)

// modelPackManifest returns a ModelPack manifest of n raw weight layers,
// each named by its org.cncf.model.filepath annotation, padded with an
// annotation of pad bytes on each layer.
func modelPackManifest(n, pad int) []byte {
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json",
		Config: desc{MediaType: hub.MediaModelPackConfig, Digest: "sha256:" + strings.Repeat("0", 64), Size: 2}}
	for i := range n {
		ann := map[string]string{hub.AnnotationModelPackFilepath: fmt.Sprintf("weights/model-%05d-of-%05d.safetensors", i+1, n)}
		if pad > 0 {
			ann["org.example.pad"] = strings.Repeat("p", pad)
		}
		m.Layers = append(m.Layers, desc{MediaType: hub.MediaModelPackWeightRaw, Digest: fmt.Sprintf("sha256:%064x", i+1), Size: 1 << 30, Annotations: ann})
	}
	b, _ := json.Marshal(m)
	return b
}

// serveManifest serves manifest at every tag of a registry, with its
// Content-Length or, with chunked, without.
func serveManifest(tb testing.TB, manifest []byte, chunked bool) (host string) {
	tb.Helper()
	sum := sha256.Sum256(manifest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			if !chunked {
				w.Header().Set("Content-Length", strconv.Itoa(len(manifest)))
			}
			if r.Method == http.MethodGet {
				for b := manifest; len(b) > 0; b = b[min(len(b), 1<<16):] {
					w.Write(b[:min(len(b), 1<<16)])
					if chunked {
						w.(http.Flusher).Flush()
					}
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestManifestLimit checks the cap on a manifest: one over 4 MiB fails,
// naming the URL and the cap, whether the registry says its length or
// not; one of 10,000 layers (the most a manifest may have) is read.
func TestManifestLimit(t *testing.T) {
	const maxManifest = 4 << 20
	big := modelPackManifest(1000, maxManifest/1000)
	if len(big) <= maxManifest {
		t.Fatalf("bad test: %d bytes", len(big))
	}
	for _, tt := range []struct {
		name    string
		chunked bool
		want    string
	}{
		{"with its length", false, fmt.Sprintf("the manifest is %d bytes, over the %d-byte cap", len(big), maxManifest)},
		{"chunked", true, fmt.Sprintf("the manifest runs past the %d-byte cap at offset %d", maxManifest, maxManifest)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			host := serveManifest(t, big, tt.chunked)
			src, err := hub.NewOCI("oci://"+host+"/models/big:v1", hub.OCIOptions{Keychain: anonymous, Retries: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(context.Background())
			if !errors.Is(err, hub.ErrBadResponse) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "http://"+host+"/v2/models/big/manifests/v1") {
				t.Errorf("List() = %v, want ErrBadResponse naming the URL, with %q", err, tt.want)
			}
		})
	}
	t.Run("10,000 layers", func(t *testing.T) {
		m := modelPackManifest(10000, 0)
		host := serveManifest(t, m, false)
		src, err := hub.NewOCI("oci://"+host+"/models/many:v1", hub.OCIOptions{Keychain: anonymous, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		// go-containerregistry decodes the manifest generically (a map
		// per layer's annotations): what that allocates is a multiple of
		// the manifest, bounded by the cap; what the listing keeps is not.
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		files, err := src.List(context.Background())
		runtime.ReadMemStats(&after)
		if err != nil || len(files) != 10000 {
			t.Fatalf("List() = %d files, %v", len(files), err)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		files = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("%d-byte manifest, 10,000 layers: %d bytes allocated (%.1f× the manifest), %d kept (%.1f×)",
			len(m), alloc, float64(alloc)/float64(len(m)), kept, float64(kept)/float64(len(m)))
		if alloc > 32*uint64(len(m)) || kept > 4*int64(len(m)) {
			t.Errorf("List allocated %d bytes and kept %d for a %d-byte manifest, want at most 32× and 4×", alloc, kept, len(m))
		}
		runtime.KeepAlive(src)
	})
}

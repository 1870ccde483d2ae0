package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
)

// spotcheck and dump work on files inside a compressed tar layer, with the
// output they give on the same files locally: the tensor data is read by
// streaming the layer.
func TestSpotcheckDumpCompressedLayer(t *testing.T) {
	host, tp := ociRegistry(t)
	names, files := tinyFiles(t, "hf-f32")
	for _, k := range compressedKinds {
		t.Run(k.name, func(t *testing.T) {
			repo := "models/stream:" + map[string]string{"tar+zstd": "zstd", "tar+gzip": "gzip"}[k.name]
			digest := pushModel(t, host, repo, hub.MediaModelPackConfig, []testLayer{{data: k.pack(t, names, files), mt: k.mt}})[0]
			src := "oci://" + host + "/" + repo
			dir := t.TempDir()

			spot := func(source string) (report map[string]any, dump []byte) {
				t.Helper()
				out := filepath.Join(dir, "spot.bin")
				stdout, stderr, code := cli(t, "spotcheck", source, "--full", "--tokens", "3,17,42", "--json", "--dump", out)
				if code != 0 {
					t.Fatalf("spotcheck %s: exit %d: %s", source, code, stderr)
				}
				if err := json.Unmarshal([]byte(stdout), &report); err != nil {
					t.Fatal(err)
				}
				delete(report, "source")
				delete(report, "fetch")
				delete(report, "seconds")
				delete(report, "started")
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return report, b
			}
			wantR, wantD := spot("../../testdata/tiny/hf-f32")
			gotR, gotD := spot(src)
			wj, _ := json.Marshal(wantR)
			gj, _ := json.Marshal(gotR)
			if !bytes.Equal(wj, gj) || !bytes.Equal(wantD, gotD) {
				t.Errorf("spotcheck over the registry differs from local:\nlocal  %s\nremote %s", wj, gj)
			}

			dump := func(source, out string) []byte {
				t.Helper()
				if _, stderr, code := cli(t, "dump", "--no-cache", source, "lm_head.weight", "-o", out); code != 0 {
					t.Fatalf("dump %s: exit %d: %s", source, code, stderr)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			// lm_head lies past the front of its file the listing keeps
			// (64 KiB): dump streams the layer once for the listing
			// (no header cache) and once more for the data.
			before := tp.blobGets(digest.String())
			if want, got := dump("../../testdata/tiny/hf-f32", filepath.Join(dir, "a")), dump(src, filepath.Join(dir, "b")); len(want) == 0 || !bytes.Equal(want, got) {
				t.Errorf("dump over the registry: %d bytes, locally %d, or other bytes", len(got), len(want))
			}
			if gets := tp.blobGets(digest.String()) - before; gets != 2 {
				t.Errorf("dump fetched the layer %d times, want the listing and a stream for the data", gets)
			}
		})
	}
}

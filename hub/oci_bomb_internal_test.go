package hub

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// bombLayer returns a tar+zstd layer holding the files, in order, then a
// member declaring size bytes of which only the first KiB (zeros) follows:
// its header is all a listing must look at.
func bombLayer(tb testing.TB, files map[string][]byte, names []string, size int64) []byte {
	tb.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.WriteHeader(&tar.Header{Name: "zeros.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		tb.Fatal(err)
	}
	tw.Write(make([]byte, 1024)) // the rest of the member never comes
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out)
	if err != nil {
		tb.Fatal(err)
	}
	zw.Write(raw.Bytes())
	zw.Close()
	return out.Bytes()
}

// A small compressed layer whose member declares 200 GB is refused at
// that member's header, before decompressing any of it, whether the bomb
// comes first or after the model file; the error names the member and the
// budget.
func TestListingDecompressionBudget(t *testing.T) {
	model := readTestGGUF(t)
	for _, tt := range []struct {
		name  string
		names []string
	}{
		{"bomb first", nil},
		{"bomb after the model", []string{"model.gguf"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			layer := bombLayer(t, map[string][]byte{"model.gguf": model}, tt.names, 200<<30)
			desc := v1.Descriptor{Size: int64(len(layer)), MediaType: "application/vnd.cncf.model.layer.v1.tar+zstd"}
			done := make(chan error, 1)
			go func() {
				_, err := readTar(context.Background(), bytes.NewReader(layer), desc, kindTarZstd, "test layer", readModelHeader)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrExpansion) || !errors.Is(err, ErrBadArchive) || !bytes.Contains([]byte(err.Error()), []byte(`"zeros.bin" declares 214748364800 bytes`)) {
					t.Errorf("readTar = %v, want ErrExpansion naming zeros.bin", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("readTar did not stop at the bomb's header")
			}
		})
	}
	// The same layer without the bomb lists the model.
	layer := bombLayer(t, map[string][]byte{"model.gguf": model}, []string{"model.gguf"}, 0)
	desc := v1.Descriptor{Size: int64(len(layer))}
	pfs, err := readTar(context.Background(), bytes.NewReader(layer), desc, kindTarZstd, "test layer", readModelHeader)
	if err != nil || len(pfs) != 2 || pfs[0].name != "model.gguf" {
		t.Errorf("readTar(no bomb) = %d files, %v", len(pfs), err)
	}
}

// readTestGGUF returns a small committed GGUF file.
func readTestGGUF(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("../testdata/tiny/gguf/tiny-f16.gguf")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

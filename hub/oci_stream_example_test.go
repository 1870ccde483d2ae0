package hub_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/weightaudit/weightaudit/hub"
)

// ExampleOCISource_StreamLayer pushes a ModelPack artifact whose files are
// in one tar+zstd layer to an in-process registry, streams the layer once,
// reading each file as it passes, and checks the layer's digest.
func ExampleOCISource_StreamLayer() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	var layer bytes.Buffer
	zw, _ := zstd.NewWriter(&layer)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, data string }{{"config.json", `{"model_type":"qwen3"}`}, {"notes.txt", "weights follow"}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(f.data))
	}
	tw.Close()
	zw.Close()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), hub.MediaModelPackConfig)
	img, _ = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(layer.Bytes(), hub.MediaModelPackWeightTarZstd)})
	ref, _ := name.ParseReference(host+"/ai/tiny:zstd", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		fmt.Println(err)
		return
	}

	src, err := hub.NewOCI("oci://"+host+"/ai/tiny:zstd", hub.OCIOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if _, err := src.List(ctx); err != nil {
		fmt.Println(err)
		return
	}
	digest, _ := src.StreamedLayer("config.json")
	sum, err := src.StreamLayer(ctx, digest, func(name string, size int64, r io.Reader) error {
		h := sha256.New()
		n, err := io.Copy(h, r)
		fmt.Printf("%s: %d of %d bytes, sha256 %.6x…\n", name, n, size, h.Sum(nil))
		return err
	})
	fmt.Println("layer digest checked:", err == nil && "sha256:"+sum == digest)
	// Output:
	// config.json: 22 of 22 bytes, sha256 285f228c6678…
	// notes.txt: 14 of 14 bytes, sha256 d0158522f833…
	// layer digest checked: true
}

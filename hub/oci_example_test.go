package hub_test

import (
	"context"
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

	"github.com/weightaudit/weightaudit/hub"
)

// ExampleNewOCI pushes a Docker model artifact with two GGUF shards to an
// in-process registry and lists it as a source.
func ExampleNewOCI() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), hub.MediaDockerConfigV01)
	img, _ = mutate.Append(img,
		mutate.Addendum{Layer: static.NewLayer([]byte("GGUF shard one"), hub.MediaDockerGGUF)},
		mutate.Addendum{Layer: static.NewLayer([]byte("GGUF shard two"), hub.MediaDockerGGUF)})
	ref, _ := name.ParseReference(host+"/ai/tiny:q8", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		fmt.Println(err)
		return
	}

	src, err := hub.NewOCI("oci://"+host+"/ai/tiny:q8", hub.OCIOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	files, err := src.List(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		d, _ := src.Digest(f.Name)
		fmt.Printf("%s %d bytes sha256:%.12s…\n", f.Name, f.Size, d)
	}
	// Output:
	// model-00001-of-00002.gguf 14 bytes sha256:1ca07b6e93bd…
	// model-00002-of-00002.gguf 14 bytes sha256:832c7807dddf…
}

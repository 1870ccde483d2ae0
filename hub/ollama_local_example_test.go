package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weightaudit/weightaudit/hub"
)

// ExampleNewOllama_localStore reads a model from a local Ollama store
// laid out as Ollama lays out a pulled model: the manifest under
// manifests/HOST/NAMESPACE/MODEL/TAG, each layer under blobs/sha256-HEX.
// No request is made.
func ExampleNewOllama_localStore() {
	dir, err := os.MkdirTemp("", "ollama-store")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	const digest = "sha256:dd1d8a6e1c5b06bd9c8d9ba0a6e1e2f8f5d1f60bb4f6d4c5ea1ec57a8e1c5a7d" // any content
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
		"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + digest + `","size":1},
		"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"` + digest + `","size":1}]}`
	for p, b := range map[string]string{
		filepath.Join("manifests", hub.OllamaRegistry, "library", "tiny", "q8"): manifest,
		filepath.Join("blobs", "sha256-"+digest[len("sha256:"):]):               "x",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(b), 0o644)
	}

	src, err := hub.NewOllama("ollama://tiny:q8", hub.OCIOptions{OllamaModels: dir})
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
	fmt.Printf("%d requests\n", src.Stats().Requests)
	// Output:
	// model.gguf 1 bytes sha256:dd1d8a6e1c5b…
	// 0 requests
}

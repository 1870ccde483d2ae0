package hub

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// OllamaRegistry is the registry an Ollama model name without a host
// refers to.
const OllamaRegistry = "registry.ollama.ai"

// Defaults of the other parts of Ollama model names.
const (
	ollamaNamespace = "library"
	ollamaTag       = "latest"
)

// ParseOllama parses an ollama:// SOURCE as Ollama names models,
// ollama://[[HOST/]NAMESPACE/]MODEL[:TAG], into the reference of its
// manifest: HOST defaults to registry.ollama.ai, NAMESPACE to library and
// TAG to latest. Hosts at localhost and 127.0.0.1 are reached over plain
// HTTP, as is any host when insecure is set.
func ParseOllama(spec string, insecure bool) (name.Reference, error) {
	const want = "expected ollama://[[HOST/]NAMESPACE/]MODEL[:TAG]"
	rest, ok := strings.CutPrefix(spec, "ollama://")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	parts := strings.Split(rest, "/")
	host, ns := OllamaRegistry, ollamaNamespace
	switch len(parts) {
	case 1:
	case 2:
		ns = parts[0]
	case 3:
		host, ns = parts[0], parts[1]
	default:
		return nil, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	model := parts[len(parts)-1]
	if model == "" || ns == "" || host == "" {
		return nil, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	if !strings.ContainsAny(model, ":@") {
		model += ":" + ollamaTag
	}
	ref, err := ParseOCI("oci://"+host+"/"+ns+"/"+model, insecure)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	return ref, nil
}

// NewOllama returns the model spec names in an Ollama registry (see
// [ParseOllama]) as a source: its model layer is the file model.gguf. It
// does not touch the network: the manifest is fetched on first use. The
// local Ollama store is not consulted.
func NewOllama(spec string, opts OCIOptions) (*OCISource, error) {
	ref, err := ParseOllama(spec, opts.Insecure)
	if err != nil {
		return nil, err
	}
	return newOCI(spec, ref, opts)
}

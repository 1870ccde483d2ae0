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

// ollamaName is an Ollama model name, each part defaulted; tag is "" for
// a reference by digest.
type ollamaName struct {
	host, ns, model, tag string
	ref                  name.Reference
}

// ParseOllama parses an ollama:// SOURCE as Ollama names models,
// ollama://[[HOST/]NAMESPACE/]MODEL[:TAG], into the reference of its
// manifest: HOST defaults to registry.ollama.ai, NAMESPACE to library and
// TAG to latest. Hosts at localhost and 127.0.0.1 are reached over plain
// HTTP, as is any host when insecure is set.
func ParseOllama(spec string, insecure bool) (name.Reference, error) {
	n, err := parseOllamaName(spec, insecure)
	if err != nil {
		return nil, err
	}
	return n.ref, nil
}

func parseOllamaName(spec string, insecure bool) (ollamaName, error) {
	const want = "expected ollama://[[HOST/]NAMESPACE/]MODEL[:TAG]"
	rest, ok := strings.CutPrefix(spec, "ollama://")
	if !ok || rest == "" {
		return ollamaName{}, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	parts := strings.Split(rest, "/")
	n := ollamaName{host: OllamaRegistry, ns: ollamaNamespace}
	switch len(parts) {
	case 1:
	case 2:
		n.ns = parts[0]
	case 3:
		n.host, n.ns = parts[0], parts[1]
	default:
		return ollamaName{}, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	model := parts[len(parts)-1]
	if model == "" || n.ns == "" || n.host == "" {
		return ollamaName{}, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	if !strings.ContainsAny(model, ":@") {
		model += ":" + ollamaTag
	}
	ref, err := ParseOCI("oci://"+n.host+"/"+n.ns+"/"+model, insecure)
	if err != nil {
		return ollamaName{}, fmt.Errorf("%w: %q: %s", ErrBadSource, spec, want)
	}
	n.ref, n.model = ref, model
	if t, ok := ref.(name.Tag); ok {
		if m, ok := strings.CutSuffix(model, ":"+t.TagStr()); ok {
			n.model, n.tag = m, t.TagStr()
		}
	}
	return n, nil
}

// NewOllama returns the model spec names (see [ParseOllama]) as a source:
// its model layer is the file model.gguf. When opts.OllamaModels names a
// local Ollama store that holds the model's manifest
// (manifests/HOST/NAMESPACE/MODEL/TAG), the model is read from the store's
// blobs and the network is never used; otherwise it is read from the
// registry. Either way the files, their names, sizes and digests are the
// same. It does not touch the network or the store: the manifest is looked
// for and read on first use.
func NewOllama(spec string, opts OCIOptions) (*OCISource, error) {
	n, err := parseOllamaName(spec, opts.Insecure)
	if err != nil {
		return nil, err
	}
	s, err := newOCI(spec, n.ref, opts)
	if err != nil {
		return nil, err
	}
	if n.tag != "" {
		s.store = opts.OllamaModels
		s.storeManifest = storeManifestPath(opts.OllamaModels, n.host, n.ns, n.model, n.tag)
	}
	return s, nil
}

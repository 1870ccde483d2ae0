package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Media types of model artifacts in OCI registries (see
// /work/shared/reference/formats.md, "OCI media types and the fetch path").
const (
	// MediaDockerGGUF is a Docker model artifact's GGUF layer; repeated
	// layers are the parts of a split set, in manifest order.
	MediaDockerGGUF = "application/vnd.docker.ai.gguf.v3"
	// MediaDockerSafetensors is a Docker model artifact's safetensors
	// layer; repeated layers are shards, in manifest order.
	MediaDockerSafetensors = "application/vnd.docker.ai.safetensors"
	// MediaDockerConfigV01 is the config of a Docker model artifact.
	MediaDockerConfigV01 = "application/vnd.docker.ai.model.config.v0.1+json"
	// MediaDockerConfigV02 is the newer config of a Docker model artifact.
	MediaDockerConfigV02 = "application/vnd.docker.ai.model.config.v0.2+json"

	// MediaModelPackWeightRaw is a CNCF ModelPack weight file, stored as
	// is; its annotation org.cncf.model.filepath names it.
	MediaModelPackWeightRaw = "application/vnd.cncf.model.weight.v1.raw"
	// MediaModelPackWeightTar is a tar of ModelPack weight files.
	MediaModelPackWeightTar = "application/vnd.cncf.model.weight.v1.tar"
	// MediaModelPackWeightTarGzip is a gzip-compressed tar of weight files.
	MediaModelPackWeightTarGzip = "application/vnd.cncf.model.weight.v1.tar+gzip"
	// MediaModelPackWeightTarZstd is a zstd-compressed tar of weight files.
	MediaModelPackWeightTarZstd = "application/vnd.cncf.model.weight.v1.tar+zstd"
	// MediaModelPackWeightConfigRaw is a ModelPack weight config file
	// (config.json, tokenizer files), stored as is.
	MediaModelPackWeightConfigRaw = "application/vnd.cncf.model.weight.config.v1.raw"
	// MediaModelPackWeightConfigTar is a tar of weight config files.
	MediaModelPackWeightConfigTar = "application/vnd.cncf.model.weight.config.v1.tar"
	// MediaModelPackWeightConfigTarGzip is a gzip-compressed tar of
	// weight config files.
	MediaModelPackWeightConfigTarGzip = "application/vnd.cncf.model.weight.config.v1.tar+gzip"
	// MediaModelPackWeightConfigTarZstd is a zstd-compressed tar of
	// weight config files.
	MediaModelPackWeightConfigTarZstd = "application/vnd.cncf.model.weight.config.v1.tar+zstd"
	// MediaModelPackConfig is the config of a ModelPack artifact.
	MediaModelPackConfig = "application/vnd.cncf.model.config.v1+json"
	// MediaCNCFGGUF is the legacy CNCF GGUF weight layer, which Docker
	// Model Runner still reads.
	MediaCNCFGGUF = "application/vnd.cncf.model.weight.v1.gguf"
	// MediaCNCFSafetensors is the legacy CNCF safetensors weight layer.
	MediaCNCFSafetensors = "application/vnd.cncf.model.weight.v1.safetensors"

	// MediaOllamaModel is Ollama's model layer: one GGUF file.
	MediaOllamaModel = "application/vnd.ollama.image.model"
)

// Layer annotations that name the file a layer holds.
const (
	// AnnotationModelPackFilepath is ModelPack's path of a layer's file.
	AnnotationModelPackFilepath = "org.cncf.model.filepath"
	// AnnotationTitle is the OCI title of a layer, used as its file name
	// when there is no ModelPack path.
	AnnotationTitle = "org.opencontainers.image.title"
)

// ErrNoModelLayers is returned by [OCISource.List] when the manifest (or
// every manifest of an image index) has no layer of a model media type
// (the message lists the media types found), or when its only weight
// layers are ModelPack raw layers without a file name whose first bytes
// are neither GGUF's nor safetensors' (the message names each layer's
// media type and digest, and shows those bytes).
var ErrNoModelLayers = errors.New("no model layers")

// layerKind says how a layer's media type is read.
type layerKind int

const (
	kindNone layerKind = iota
	kindGGUF
	kindSafetensors
	kindWeightRaw // ModelPack raw weight: the name comes from the annotation
	kindConfigRaw // ModelPack raw weight config
	kindTar
	kindTarGzip
	kindTarZstd
)

func kindOf(mt string) layerKind {
	switch mt {
	case MediaDockerGGUF, MediaOllamaModel, MediaCNCFGGUF:
		return kindGGUF
	case MediaDockerSafetensors, MediaCNCFSafetensors:
		return kindSafetensors
	case MediaModelPackWeightRaw:
		return kindWeightRaw
	case MediaModelPackWeightConfigRaw:
		return kindConfigRaw
	case MediaModelPackWeightTar, MediaModelPackWeightConfigTar:
		return kindTar
	case MediaModelPackWeightTarGzip, MediaModelPackWeightConfigTarGzip:
		return kindTarGzip
	case MediaModelPackWeightTarZstd, MediaModelPackWeightConfigTarZstd:
		return kindTarZstd
	}
	return kindNone
}

func isModelConfig(mt string) bool {
	return mt == MediaDockerConfigV01 || mt == MediaDockerConfigV02 || mt == MediaModelPackConfig
}

// OCIOptions configures an OCI registry source ([NewOCI]). The zero value
// of every field means its default.
type OCIOptions struct {
	// Transport sends every request (tests pass an in-process registry's).
	// The default is a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// StallTimeout, Deadline, Retries, Backoff and OnRetry bound the
	// source's time on the network as the HFOptions fields of those names
	// do, for every request: the registry's ping and token, the manifests
	// and the blobs. The defaults are 20 seconds, none, 5, 1 second and
	// nil.
	StallTimeout time.Duration
	Deadline     time.Time
	Retries      int
	Backoff      time.Duration
	OnRetry      func(Retry)
	// Keychain finds the credentials for the registry. The default is
	// authn.DefaultKeychain (~/.docker/config.json and its helpers).
	Keychain authn.Keychain
	// Insecure allows plain HTTP to the registry (oras's --plain-http):
	// go-containerregistry pings it over HTTPS and HTTP and keeps the
	// scheme that answers. localhost, 127.0.0.1 and [::1] are always
	// allowed plain HTTP.
	Insecure bool
	// SkipTLSVerify accepts any certificate the registry presents (oras's
	// --insecure, for a registry with a self-signed certificate the user
	// trusts). It applies to the default Transport, or to a given one
	// that is an *http.Transport (cloned); with another it is an error.
	SkipTLSVerify bool
	// Jobs is how many files a caller should read at once. The default
	// is 16.
	Jobs int
	// FirstRead and MaxRead size the reads of raw layers as
	// HFOptions.FirstRead and HFOptions.MaxRead do. The defaults are
	// 256 KiB and 16 MiB.
	FirstRead, MaxRead int64
	// OllamaModels is the local Ollama store (the folder OLLAMA_MODELS
	// names; see [OllamaModelsDir]) that [NewOllama] looks in first: a
	// model whose manifest is there is read from the store's blobs,
	// read-only, and never from the registry. [NewOCI] ignores it. The
	// default is "", no store; [Resolve] sets it from the environment.
	OllamaModels string
	// HeaderCache, when not nil, keeps the headers read from raw layers
	// and from files in uncompressed tar layers under the layer's digest,
	// and serves them from there on later runs (see [HeaderCache]).
	HeaderCache *HeaderCache
	// BlobStore, when not nil, is looked in first for the blob of a raw
	// layer (Open) or of a streamed tar layer (List, StreamLayer): a blob
	// it holds with the size the manifest gives is read from its local
	// file, with no request, and trusted as the store checked its sha256
	// when it was written (see [BlobStore]). A model read from the local
	// Ollama store is read from there instead. The default is nil: every
	// blob comes from the registry.
	BlobStore *BlobStore
	// ReadHeader reads the header of each file inside a streamed tar
	// layer (a compressed one, or an uncompressed one from a registry
	// that ignores Range) as the listing streams it, so that the source
	// keeps what reading the header later needs and no more (see
	// [HeaderFunc]): a format reader's header parse, say. The source
	// knows no format: the default, nil, keeps each such file whole, up
	// to the cap of 64 MiB per file and 256 MiB for all of them. That
	// suits small files such as config.json; a larger model file is kept
	// up to the cap, and a read beyond what is kept streams the layer
	// again.
	ReadHeader HeaderFunc
}

// OCISource is a model artifact in an OCI registry as a source: the layers
// of the model manifest the reference resolves to, each one file (or, for
// a tar layer, the files in it). Raw layers are read with HTTP Range
// requests on their blobs; so are the files in an uncompressed tar layer,
// whose member headers are found by range reads that skip the members'
// data. Compressed tar layers are streamed once, when the source is
// listed, keeping only the front of each file (see [OCISource.Open] and
// streamTar for how far a stream goes). It never downloads whole raw
// weight layers. A source made by [NewOllama] may instead read the model
// from the local Ollama store, with the same files. It is safe for
// concurrent use.
type OCISource struct {
	spec string
	ref  name.Reference
	opts OCIOptions
	cnt  *counters
	ra   *readAhead
	// store and storeManifest are the local Ollama store and where the
	// model's manifest would be in it ("" when not looked for).
	store, storeManifest string

	mu      sync.Mutex
	listed  bool
	err     error // the listing's error, kept: it is not retried
	c       *httpClient
	local   bool // the listing came from the local store
	files   []FileInfo
	raw     map[string]ociBlob
	members map[string]tarMember // files in uncompressed tar layers
	tarred  map[string]*prefixFile
	// streamed holds the layers whose files are in tarred, by digest
	// ("sha256:HEX"): read whole with StreamLayer (see oci_stream.go).
	streamed map[string]modelLayer
}

// ociBlob is a layer's blob: a remote one (url) or a file of the local
// Ollama store (path).
type ociBlob struct {
	url    *url.URL
	path   string
	digest v1.Hash
	size   int64
}

// ParseOCI parses an oci:// SOURCE, oci://REGISTRY/REPOSITORY:TAG or
// oci://REGISTRY/REPOSITORY@sha256:HEX (the tag defaults to latest).
// Registries at localhost and 127.0.0.1 are reached over plain HTTP, as
// is any registry when insecure is set.
func ParseOCI(spec string, insecure bool) (name.Reference, error) {
	rest, ok := strings.CutPrefix(spec, "oci://")
	if !ok {
		return nil, fmt.Errorf("%w: %q: expected oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST", ErrBadSource, spec)
	}
	host, _, _ := strings.Cut(rest, "/")
	h := host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	var nopts []name.Option
	if insecure || h == "localhost" || h == "127.0.0.1" || h == "[::1]" {
		nopts = append(nopts, name.Insecure)
	}
	if !strings.Contains(rest, "/") || (!strings.ContainsAny(host, ".:") && host != "localhost") {
		return nil, fmt.Errorf("%w: %q: expected oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST (the registry, e.g. docker.io, must be given)", ErrBadSource, spec)
	}
	ref, err := name.ParseReference(rest, append(nopts, name.StrictValidation)...)
	if err != nil {
		// StrictValidation refuses a missing tag; allow it (latest).
		ref, err = name.ParseReference(rest, nopts...)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v; expected oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST", ErrBadSource, spec, err)
	}
	return ref, nil
}

// NewOCI returns the artifact spec names (see [ParseOCI]) as a source. It
// does not touch the network: the manifest is fetched on first use.
func NewOCI(spec string, opts OCIOptions) (*OCISource, error) {
	ref, err := ParseOCI(spec, opts.Insecure)
	if err != nil {
		return nil, err
	}
	return newOCI(spec, ref, opts)
}

func newOCI(spec string, ref name.Reference, opts OCIOptions) (*OCISource, error) {
	if opts.Jobs == 0 {
		opts.Jobs = 16
	}
	if opts.Jobs < 0 {
		return nil, fmt.Errorf("oci options: Jobs must be at least 1, got %d", opts.Jobs)
	}
	if opts.FirstRead == 0 {
		opts.FirstRead = defaultFirstRead
	}
	if opts.MaxRead == 0 {
		opts.MaxRead = defaultMaxRead
	}
	if opts.MaxRead < 1<<10 || opts.MaxRead > 1<<30 || opts.FirstRead < 1 || opts.FirstRead > opts.MaxRead {
		return nil, fmt.Errorf("oci options: want 1 KiB <= MaxRead <= 1 GiB and 1 <= FirstRead <= MaxRead, got %d and %d", opts.MaxRead, opts.FirstRead)
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Transport == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = max(opts.Jobs, 16)
		opts.Transport = tr
	}
	if opts.SkipTLSVerify {
		tr, ok := opts.Transport.(*http.Transport)
		if !ok {
			return nil, fmt.Errorf("oci options: SkipTLSVerify needs an *http.Transport, got %T", opts.Transport)
		}
		tr = tr.Clone()
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.InsecureSkipVerify = true
		opts.Transport = tr
	}
	if opts.StallTimeout < 0 {
		return nil, fmt.Errorf("oci options: negative StallTimeout %v", opts.StallTimeout)
	}
	if opts.StallTimeout == 0 {
		opts.StallTimeout = defaultStall
	}
	opts.Transport = newWatchTransport(opts.Transport, opts.StallTimeout, opts.Deadline)
	return &OCISource{
		spec: spec, ref: ref, opts: opts, cnt: &counters{},
		ra: &readAhead{first: opts.FirstRead, max: opts.MaxRead, wait: probeWait},
	}, nil
}

// String returns the SOURCE as given.
func (s *OCISource) String() string { return s.spec }

// Jobs returns how many files a caller should read at once.
func (s *OCISource) Jobs() int { return s.opts.Jobs }

// Stats returns the requests made and bytes received so far, including the
// registry's authentication handshake and the manifests.
func (s *OCISource) Stats() Stats { return s.cnt.snapshot() }

// Digest returns the SHA-256 (lower-case hex) of the blob of the raw layer
// the named file is, and false for files inside tar layers (the layer's
// digest covers the archive, not the file) or before the source is listed.
func (s *OCISource) Digest(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.raw[name]
	if !ok || b.digest.Algorithm != "sha256" {
		return "", false
	}
	return b.digest.Hex, true
}

// AlgorithmDigest returns the digest of a raw layer's file when the
// manifest gives it in another algorithm than SHA-256 (sha512).
func (s *OCISource) AlgorithmDigest(name string) (string, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.raw[name]
	if !ok || b.digest.Algorithm == "sha256" {
		return "", "", false
	}
	return b.digest.Algorithm, strings.ToLower(b.digest.Hex), true
}

// DigestSource returns "OCI layer digest": the digests are the layers'.
func (s *OCISource) DigestSource() string { return "OCI layer digest" }

// DigestNote returns, for a file without a digest of its own (see
// [OCISource.Digest] and [OCISource.AlgorithmDigest]), that it lies inside
// a tar layer, whose digest covers the archive, or that its layer's digest
// algorithm is one weightaudit cannot compute; and "" for a file with a
// SHA-256 or SHA-512 digest.
func (s *OCISource) DigestNote(name string) string {
	if _, ok := s.Digest(name); ok {
		return ""
	}
	if algo, _, ok := s.AlgorithmDigest(name); ok {
		if algo == "sha512" {
			return ""
		}
		return "its layer's digest is " + algo + ", which weightaudit cannot compute: not compared"
	}
	return "inside a tar layer: the layer's digest covers the archive, no digest covers this file alone"
}

// List returns the files of the model manifest, sorted by name. The first
// call resolves the reference (an image index to its first manifest with
// model layers) and streams tar layers; later calls return that listing.
func (s *OCISource) List(ctx context.Context) ([]FileInfo, error) {
	if err := s.list(ctx); err != nil {
		return nil, err
	}
	return slices.Clone(s.files), nil
}

// Open returns the named file. A raw layer is a remote file read with HTTP
// Range requests on its blob (redirects are followed, and credentials go
// to the registry's host only), keeping a few blocks and reading ahead
// while reads run sequentially; so is a file inside an uncompressed tar
// layer, whose bytes lie in place in the blob. A file inside a compressed
// tar layer serves the front of the file streamed when the source was
// listed (what OCIOptions.ReadHeader read of it) from memory; a read
// beyond it streams the layer again from its start, through the file:
// reading forward costs one stream, a read behind the stream's position
// another. A model read from the local Ollama store is read from its blob
// files, opened read-only. Reads run under ctx.
func (s *OCISource) Open(ctx context.Context, name string) (File, error) {
	if err := s.list(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	b, ok := s.raw[name]
	m, isMember := s.members[name]
	pf := s.tarred[name]
	s.mu.Unlock()
	switch {
	case ok:
		return s.openBlob(ctx, b, name)
	case isMember:
		if m.blob.path == "" {
			remote := func() (File, error) { return newRemoteMember(s.remoteBlob(ctx, m.blob, name), m), nil }
			if c := s.opts.HeaderCache; c != nil {
				// The file is bytes [off, off+size) of the layer: that
				// names its content as well as a digest of its own would.
				return c.wrap(fmt.Sprintf("%s/%s@%d+%d", s.ref.Context().RegistryStr(), m.blob.digest, m.off, m.size), m.size, s.cnt, remote), nil
			}
			return remote()
		}
		f, err := s.openBlob(ctx, m.blob, name)
		if err != nil {
			return nil, err
		}
		return &memberFile{SectionReader: io.NewSectionReader(f, m.off, m.size), f: f}, nil
	case pf != nil:
		s.mu.Lock()
		_, streamed := s.streamed[pf.layer.String()]
		s.mu.Unlock()
		if streamed {
			return &layerFile{prefixFile: pf, s: s, ctx: ctx, digest: pf.layer.String()}, nil
		}
		return pf, nil
	}
	return nil, fmt.Errorf("open %s: %w", Path(s, name), ErrNotExist)
}

// Path names the named file for messages: for a model read from the local
// Ollama store, the blob's path (and, for a file inside a tar layer, the
// file's name after it); otherwise the SOURCE and the file's name.
func (s *OCISource) Path(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.local {
		if b, ok := s.raw[name]; ok {
			return b.path
		}
		if m, ok := s.members[name]; ok {
			return m.blob.path + ":" + name
		}
		if pf := s.tarred[name]; pf != nil {
			return storeBlobPath(s.store, pf.layer) + ":" + name
		}
	}
	return s.spec + "/" + name
}

// openBlob opens a layer's blob as the file name: the local file of the
// Ollama store or of the blob store, read-only, or a remote file read
// with Range requests.
func (s *OCISource) openBlob(ctx context.Context, b ociBlob, name string) (File, error) {
	if b.path != "" {
		return openStoreBlob(b.path, b.size, s.storeManifest)
	}
	if f := s.storedBlob(b); f != nil {
		return f, nil
	}
	if c := s.opts.HeaderCache; c != nil {
		// Scoped to the registry: another cannot plant a header under
		// this one's digests.
		id := s.ref.Context().RegistryStr() + "/" + b.digest.String()
		return c.wrap(id, b.size, s.cnt, func() (File, error) { return s.remoteBlob(ctx, b, name), nil }), nil
	}
	return s.remoteBlob(ctx, b, name), nil
}

// remoteBlob returns the remote file of a blob. It is called once the
// source is listed (or while it is being listed, s.mu held), so s.c is set
// and no longer changes.
func (s *OCISource) remoteBlob(ctx context.Context, b ociBlob, name string) *rangeFile {
	return &rangeFile{c: s.c, ctx: ctx, url: b.url, name: name, size: b.size, ra: s.ra,
		classify: s.classifier("blob " + b.digest.String() + " (" + name + ")")}
}

// memberFile is a file inside an uncompressed tar layer of the local
// store: a section of the layer's blob.
type memberFile struct {
	*io.SectionReader
	f File
}

func (m *memberFile) Close() error { return m.f.Close() }

func (s *OCISource) list(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listed {
		return s.err
	}
	err := s.resolve(ctx)
	if err != nil && ctx.Err() != nil {
		return err // canceled: the next call may try again
	}
	s.listed, s.err = true, err
	return err
}

// countingTransport counts every request and response body byte.
type countingTransport struct {
	next http.RoundTripper
	c    *counters
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.requests.Add(1)
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{r: resp.Body, c: t.c}
	return resp, nil
}

// where names the repository for messages.
func (s *OCISource) where() string {
	return fmt.Sprintf("repository %q on registry %s", s.ref.Context().RepositoryStr(), s.ref.Context().RegistryStr())
}

// registryError classifies an error of the registry's protocol.
func (s *OCISource) registryError(what string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%s: %w: %s refused the credentials in use (run docker login %s, or check the repository's permissions): %v",
				what, ErrAuth, s.where(), s.ref.Context().RegistryStr(), err)
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w: %s in %s: %v", what, ErrNotFound, s.ref.Name(), s.where(), err)
		case http.StatusTooManyRequests:
			return fmt.Errorf("%s: %w: %v", what, ErrUnavailable, err)
		}
		if te.StatusCode >= 500 {
			return fmt.Errorf("%s: %w: %v", what, ErrUnavailable, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// classifier turns an error status of a blob request into an *HTTPError.
func (s *OCISource) classifier(what string) func(*http.Response) *HTTPError {
	return func(resp *http.Response) *HTTPError {
		e := &HTTPError{URL: redact(resp.Request.URL), StatusCode: resp.StatusCode}
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			e.Err, e.Hint = ErrAuth, fmt.Sprintf("%s: access to %s refused", what, s.where())
		case resp.StatusCode == http.StatusNotFound:
			e.Err, e.Hint = ErrNotFound, fmt.Sprintf("%s not found in %s", what, s.where())
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			e.Err = ErrUnavailable
		}
		return e
	}
}

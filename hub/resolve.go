package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/weightaudit/weightaudit/internal/interrupt"
)

// ErrUnsupportedSource is returned by [Resolve] for a SOURCE form this build
// does not read yet.
var ErrUnsupportedSource = errors.New("unsupported source")

// Resolve turns a SOURCE as the user typed it into a source and, when it
// names one file, that file's name (see [Local]). Local paths are read
// directly. hf:// SOURCEs and http(s) URLs of the Hugging Face Hub are read
// remotely ([OpenHF]) with the options the environment sets
// ([HFOptionsFromEnv]); no request is made before the source is used.
// oci:// SOURCEs are read from their registry ([NewOCI]) with the
// credentials of authn.DefaultKeychain (~/.docker/config.json), and
// ollama:// SOURCEs from the local Ollama store when it holds the model
// (OLLAMA_MODELS, by default ~/.ollama/models; see [OllamaModelsDir]),
// without any network access, else from the Ollama registry
// ([NewOllama]).
//
// Options add what the environment does not say, such as a header cache,
// a blob store, how much of a file inside a compressed tar layer to keep
// ([WithReadHeader]), or the bounds of the network work ([WithDeadline],
// [WithRetries], [WithRetryNotify]).
func Resolve(spec string, opts ...ResolveOption) (src Source, focus string, err error) {
	var o resolveOptions
	for _, opt := range opts {
		opt(&o)
	}
	if spec == "" {
		return nil, "", errors.New("empty source")
	}
	if remoteSpec(spec) {
		// A remote source can stall for as long as its deadline
		// allows: from here a signal cancels the run (see package
		// interrupt; nothing happens unless the program asked for it).
		interrupt.Arm()
	}
	if strings.HasPrefix(spec, "oci://") {
		s, err := NewOCI(spec, OCIOptions{HeaderCache: o.cache, BlobStore: o.blobs, ReadHeader: o.readHeader,
			Deadline: o.deadline, Retries: o.retries, OnRetry: o.onRetry, Insecure: o.plainHTTP, SkipTLSVerify: o.skipTLSVerify})
		if err != nil {
			return nil, "", err // not a typed nil in the interface
		}
		return s, "", nil
	}
	if strings.HasPrefix(spec, "ollama://") {
		s, err := NewOllama(spec, OCIOptions{OllamaModels: OllamaModelsDir(nil), HeaderCache: o.cache, BlobStore: o.blobs, ReadHeader: o.readHeader,
			Deadline: o.deadline, Retries: o.retries, OnRetry: o.onRetry, Insecure: o.plainHTTP, SkipTLSVerify: o.skipTLSVerify})
		if err != nil {
			return nil, "", err
		}
		return s, "", nil
	}
	for _, scheme := range hubSchemes {
		if strings.HasPrefix(spec, scheme) {
			opts, err := HFOptionsFromEnv(nil)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", spec, err)
			}
			opts.HeaderCache = o.cache
			opts.Deadline, opts.Retries, opts.OnRetry = o.deadline, o.retries, o.onRetry
			s, focus, err := OpenHF(spec, opts)
			if err != nil {
				return nil, "", err // not a typed nil in the interface
			}
			return s, focus, nil
		}
	}
	src, focus, err = Local(spec)
	if errors.Is(err, fs.ErrNotExist) {
		if hint := schemeHint(spec); hint != "" {
			err = fmt.Errorf("%w (did you mean %s?)", err, hint)
		}
	}
	return src, focus, err
}

// hubSchemes begin a Hugging Face Hub SOURCE.
var hubSchemes = []string{"hf://", "https://", "http://"}

// remoteSpec reports whether spec names a remote source: a registry, an
// Ollama model (whose blobs may come from a registry) or the Hub.
func remoteSpec(spec string) bool {
	return strings.HasPrefix(spec, "oci://") || strings.HasPrefix(spec, "ollama://") ||
		slices.ContainsFunc(hubSchemes, func(scheme string) bool { return strings.HasPrefix(spec, scheme) })
}

// schemeHint returns the SOURCE the user probably meant when spec, no
// local path, reads like a Hub repository ("owner/repo") or a registry
// reference ("registry.example/repo:tag"), typed without a scheme; ""
// otherwise.
func schemeHint(spec string) string {
	if strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, ".") || strings.Contains(spec, "\\") {
		return ""
	}
	parts := strings.Split(spec, "/")
	first := parts[0]
	registry := strings.ContainsAny(first, ".:") || first == "localhost"
	switch {
	case registry && len(parts) >= 2:
		return "oci://" + spec
	case len(parts) == 2 && parts[0] != "" && parts[1] != "" && !strings.Contains(spec, ":"):
		return "hf://" + spec
	}
	return ""
}

// ResolveOption configures [Resolve].
type ResolveOption func(*resolveOptions)

type resolveOptions struct {
	cache      *HeaderCache
	blobs      *BlobStore
	readHeader HeaderFunc
	deadline   time.Time
	retries    int // as HFOptions.Retries: 0 for the default, negative for none
	onRetry    func(Retry)

	plainHTTP, skipTLSVerify bool
}

// WithPlainHTTP lets oci:// and ollama:// sources reach their registry
// over plain HTTP (see OCIOptions.Insecure), as oras's --plain-http does;
// registries at localhost and 127.0.0.1 always may. Without it, HTTPS.
// Hub and local sources ignore it.
func WithPlainHTTP() ResolveOption {
	return func(o *resolveOptions) { o.plainHTTP = true }
}

// WithSkipTLSVerify makes oci:// and ollama:// sources accept any
// certificate their registry presents (see OCIOptions.SkipTLSVerify), as
// oras's --insecure does. Without it, certificates are verified. Hub and
// local sources ignore it.
func WithSkipTLSVerify() ResolveOption {
	return func(o *resolveOptions) { o.skipTLSVerify = true }
}

// WithDeadline makes remote sources end all their network work at t: past
// it every request, body read and wait between retries fails with a
// *[DeadlineError] (see HFOptions.Deadline). Local sources, and the files
// a remote source serves from a local cache or store, ignore it. The zero
// time, the default, sets no deadline.
func WithDeadline(t time.Time) ResolveOption {
	return func(o *resolveOptions) { o.deadline = t }
}

// WithRetries makes remote sources retry a failed request at most n times
// (see HFOptions.Retries); 0 makes no retry. Without it they retry 5
// times. Local sources ignore it.
func WithRetries(n int) ResolveOption {
	return func(o *resolveOptions) {
		o.retries = n
		if n <= 0 {
			o.retries = -1
		}
	}
}

// WithRetryNotify makes remote sources tell f of each retry before its
// wait (see [Retry]); f may be called from several goroutines at once. nil,
// the default, tells nobody. Local sources ignore it.
func WithRetryNotify(f func(Retry)) ResolveOption {
	return func(o *resolveOptions) { o.onRetry = f }
}

// WithHeaderCache makes remote sources keep the headers they read in c and
// read them from there on later runs (see [HeaderCache]). nil, the
// default, keeps nothing. Local sources ignore it.
func WithHeaderCache(c *HeaderCache) ResolveOption {
	return func(o *resolveOptions) { o.cache = c }
}

// WithBlobStore makes oci:// and ollama:// sources read the blobs that
// bs holds from there instead of from the registry (see
// OCIOptions.BlobStore). nil, the default, reads every blob from the
// registry. Hub and local sources ignore it.
func WithBlobStore(bs *BlobStore) ResolveOption {
	return func(o *resolveOptions) { o.blobs = bs }
}

// WithReadHeader makes oci:// and ollama:// sources keep of each file
// inside a tar layer they stream (a compressed one) what read reads of it
// (see OCIOptions.ReadHeader and [HeaderFunc]). nil, the default, keeps
// each such file whole, up to a cap. Hub and local sources ignore it.
func WithReadHeader(read HeaderFunc) ResolveOption {
	return func(o *resolveOptions) { o.readHeader = read }
}

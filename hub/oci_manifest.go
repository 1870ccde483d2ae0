package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// Limits on what a registry may send.
const (
	maxOCILayers    = 10000 // layers of one manifest
	maxIndexEntries = 256   // manifests of an index looked at

	// maxManifest caps a manifest or image index: 4 MiB, the most the
	// Docker registry (distribution) accepts on push and containers/image
	// (podman, skopeo) reads. go-containerregistry alone would read
	// 100 MiB, and decode it into structures several times that size.
	maxManifest = 4 << 20
)

// manifestCap is a RoundTripper that caps the body of every manifest
// response (GET /v2/NAME/manifests/REFERENCE) at maxManifest: a response
// whose Content-Length is over it fails before its body is read, and a
// body that runs past it fails at that byte. Its errors wrap
// [ErrBadResponse]; the URL is named by the client (a response's) or by
// them (a body's).
type manifestCap struct{ next http.RoundTripper }

func (m manifestCap) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !isManifestPath(req.URL.Path) {
		return resp, err
	}
	if resp.ContentLength > maxManifest {
		resp.Body.Close()
		// The client names the URL: Get "URL": this error.
		return nil, fmt.Errorf("the manifest is %d bytes, over the %d-byte cap: %w", resp.ContentLength, maxManifest, ErrBadResponse)
	}
	resp.Body = &cappedManifest{ReadCloser: resp.Body, u: req.URL}
	return resp, nil
}

// isManifestPath reports whether an URL path is that of a manifest in the
// registry API.
func isManifestPath(p string) bool {
	return strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/manifests/")
}

// cappedManifest is a manifest body that fails past maxManifest bytes.
type cappedManifest struct {
	io.ReadCloser
	u *url.URL
	n int64
}

func (c *cappedManifest) Read(p []byte) (int, error) {
	if c.n+int64(len(p)) > maxManifest {
		p = p[:max(maxManifest-c.n+1, 0)] // one byte over, to know
	}
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	if c.n > maxManifest {
		return n - int(c.n-maxManifest), fmt.Errorf("GET %s: the manifest runs past the %d-byte cap at offset %d: %w", redact(c.u), maxManifest, maxManifest, ErrBadResponse)
	}
	return n, err
}

// resolve fetches the manifest and builds the listing. s.mu is held.
func (s *OCISource) resolve(ctx context.Context) error {
	switch found, err := findStoreManifest(s.storeManifest); {
	case err != nil:
		return fmt.Errorf("%s: %w", s.spec, err)
	case found:
		return s.resolveLocal(ctx)
	}
	reg := s.ref.Context()
	auth, err := s.opts.Keychain.Resolve(reg)
	if err != nil {
		return fmt.Errorf("%s: credentials for %s: %w", s.spec, reg.RegistryStr(), err)
	}
	hopts := HFOptions{StallTimeout: s.opts.StallTimeout, Deadline: s.opts.Deadline, Retries: s.opts.Retries,
		Backoff: s.opts.Backoff, OnRetry: s.opts.OnRetry}
	if err := hopts.setDefaults(); err != nil {
		return err
	}
	base := manifestCap{&countingTransport{next: s.opts.Transport, c: s.cnt}}
	// The policy client only lends its retry loop to the requests ggcr
	// sends itself (ping, token, manifests).
	policy := newHTTPClient(&http.Client{Transport: base}, nil, "", &hopts)
	retrying := &retryTransport{next: base, policy: policy}
	tr, err := transport.NewWithContext(ctx, reg.Registry, auth, retrying, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return s.registryError(s.spec+": authenticate", err)
	}
	c := newHTTPClient(&http.Client{Transport: tr}, nil, "", &hopts)
	c.stats = &counters{} // the transport counts; this would count twice
	s.c = c
	ropts := []remote.Option{remote.WithTransport(tr), remote.WithContext(ctx)}

	desc, err := remote.Get(s.ref, ropts...)
	if err != nil {
		return s.registryError(s.spec+": manifest", err)
	}
	var m *v1.Manifest
	var seen []string
	if desc.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return fmt.Errorf("%s: image index: %w: %v", s.spec, ErrBadResponse, err)
		}
		for i, d := range idx.Manifests {
			if i == maxIndexEntries {
				break
			}
			if d.MediaType.IsIndex() {
				continue
			}
			cd, err := remote.Get(reg.Digest(d.Digest.String()), ropts...)
			if err != nil {
				return s.registryError(fmt.Sprintf("%s: manifest %s of the index", s.spec, d.Digest), err)
			}
			cm, err := v1.ParseManifest(bytes.NewReader(cd.Manifest))
			if err != nil {
				return fmt.Errorf("%s: manifest %s: %w: %v", s.spec, d.Digest, ErrBadResponse, err)
			}
			if isModelManifest(cm) {
				m = cm
				break
			}
			seen = append(seen, mediaTypes(cm)...)
		}
	} else {
		cm, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return fmt.Errorf("%s: manifest: %w: %v", s.spec, ErrBadResponse, err)
		}
		if isModelManifest(cm) {
			m = cm
		} else {
			seen = mediaTypes(cm)
		}
	}
	if m == nil {
		slices.Sort(seen)
		seen = slices.Compact(seen)
		return fmt.Errorf("%s: %w: media types found: %s", s.spec, ErrNoModelLayers, strings.Join(seen, ", "))
	}
	return s.build(ctx, m)
}

func isModelManifest(m *v1.Manifest) bool {
	if isModelConfig(string(m.Config.MediaType)) {
		return true
	}
	for _, l := range m.Layers {
		if kindOf(string(l.MediaType)) != kindNone {
			return true
		}
	}
	return false
}

func mediaTypes(m *v1.Manifest) []string {
	var out []string
	if m.Config.MediaType != "" {
		out = append(out, "config "+string(m.Config.MediaType))
	}
	for _, l := range m.Layers {
		out = append(out, string(l.MediaType))
	}
	return out
}

// layerName returns the file name a layer's annotations give, cleaned, or
// "" when there is none or it is not a safe relative path.
func layerName(l v1.Descriptor) string {
	for _, k := range []string{AnnotationModelPackFilepath, AnnotationTitle} {
		if n := cleanName(l.Annotations[k]); n != "" {
			return n
		}
	}
	return ""
}

// cleanName returns p as a clean relative slash path, or "" when it is
// empty, absolute or leaves its root.
func cleanName(p string) string {
	if p == "" || strings.ContainsRune(p, 0) || strings.Contains(p, "\\") {
		return ""
	}
	c := path.Clean(p)
	if c == "." || path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return ""
	}
	return c
}

// resolveLocal builds the listing from the manifest in the local Ollama
// store. s.mu is held.
func (s *OCISource) resolveLocal(ctx context.Context) error {
	m, err := readStoreManifest(s.storeManifest)
	if err != nil {
		return fmt.Errorf("%s: %w", s.spec, err)
	}
	if !isModelManifest(m) {
		seen := mediaTypes(m)
		slices.Sort(seen)
		return fmt.Errorf("%s: manifest %s in the local Ollama store: %w: media types found: %s",
			s.spec, s.storeManifest, ErrNoModelLayers, strings.Join(slices.Compact(seen), ", "))
	}
	s.local = true
	return s.build(ctx, m)
}

// modelLayer is a layer of a model media type and where its blob is.
type modelLayer struct {
	i    int // index in the manifest
	l    v1.Descriptor
	k    layerKind
	blob ociBlob
	name string // from the annotations, "" for none
	head []byte // the first bytes, read for an unannotated raw weight
}

// locate returns where the blob of layer i is: its URL in the registry or,
// for a listing from the local store, its file, which must be there with
// the size the manifest gives. s.mu is held.
func (s *OCISource) locate(i int, l v1.Descriptor) (ociBlob, error) {
	b := ociBlob{digest: l.Digest, size: l.Size}
	if s.local {
		b.path = storeBlobPath(s.store, l.Digest)
		f, err := openStoreBlob(b.path, l.Size, s.storeManifest)
		if err != nil {
			return b, fmt.Errorf("%s: layer %d (%s): %w", s.spec, i, l.MediaType, err)
		}
		f.Close()
		return b, nil
	}
	reg := s.ref.Context()
	u, err := url.Parse(fmt.Sprintf("%s://%s/v2/%s/blobs/%s", reg.Scheme(), reg.RegistryStr(), reg.RepositoryStr(), l.Digest))
	if err != nil {
		return b, fmt.Errorf("%s: layer %d: blob URL: %w", s.spec, i, err)
	}
	b.url = u
	return b, nil
}

// sniffLen is how many bytes of an unannotated raw weight layer are read
// to tell a GGUF file from a safetensors one.
const sniffLen = 16

// What the first bytes of an unannotated raw weight layer say it is.
const (
	sniffUnknown = iota
	sniffGGUF
	sniffSafetensors
)

// sniff tells a GGUF file (its magic) from a safetensors file (an 8-byte
// little-endian header length, then the header's opening brace) by head,
// the first bytes of the file.
func sniff(head []byte) int {
	switch {
	case len(head) >= 4 && string(head[:4]) == "GGUF":
		return sniffGGUF
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) >= 2:
		return sniffSafetensors
	}
	return sniffUnknown
}

// readHeads reads the first bytes of every unannotated raw weight layer
// in ls, concurrently (at most Jobs at a time): one small Range request
// each, counted in Stats, or a read of the local blob. s.mu is held.
func (s *OCISource) readHeads(ctx context.Context, ls []modelLayer) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Jobs)
	for j := range ls {
		ml := &ls[j]
		if ml.k != kindWeightRaw || ml.name != "" || ml.l.Size == 0 {
			continue
		}
		g.Go(func() error {
			head := make([]byte, min(ml.l.Size, sniffLen))
			what := fmt.Sprintf("%s: layer %d (%s %s)", s.spec, ml.i, ml.l.MediaType, ml.l.Digest)
			if ml.blob.path != "" {
				f, err := openStoreBlob(ml.blob.path, ml.blob.size, s.storeManifest)
				if err != nil {
					return fmt.Errorf("%s: %w", what, err)
				}
				defer f.Close()
				if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("%s: read %s: %w", what, ml.blob.path, err)
				}
			} else if err := s.remoteBlob(gctx, ml.blob, "layer "+ml.l.Digest.String()).fetch(head, 0); err != nil {
				return fmt.Errorf("%s: first bytes: %w", what, err)
			}
			ml.head = head
			return nil
		})
	}
	return g.Wait()
}

// isModelFile reports whether checkpoint.Load would take the file name for a
// model file: a .gguf, a .safetensors or a safetensors index, at the top.
func isModelFile(name string) bool {
	return !strings.Contains(name, "/") &&
		(strings.HasSuffix(name, ".gguf") || strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".safetensors.index.json"))
}

// build turns the model manifest's layers into files. Layers without a
// name in their annotations are named by kind: GGUF layers model.gguf, or
// model-0000I-of-0000N.gguf when there are N, in manifest order, and
// safetensors layers likewise. A ModelPack raw weight layer without a
// name is named by what its first bytes say it is: DIGEST.gguf or
// DIGEST.safetensors, DIGEST being the first 12 hex digits of the layer's
// digest (several GGUF layers are the parts of a split set,
// DIGEST-0000I-of-0000N.gguf after the first part's digest); when its
// bytes say neither, weight-0000I-of-0000N, and when no file of the
// manifest is then a model file, listing fails with [ErrNoModelLayers]
// naming each such layer's media type, digest and first bytes. s.mu is
// held.
func (s *OCISource) build(ctx context.Context, m *v1.Manifest) error {
	if len(m.Layers) > maxOCILayers {
		return fmt.Errorf("%s: %d layers, over the limit of %d: %w", s.spec, len(m.Layers), maxOCILayers, ErrBadResponse)
	}
	ls := make([]modelLayer, 0, len(m.Layers))
	counts := map[layerKind]int{}
	for i, l := range m.Layers {
		k := kindOf(string(l.MediaType))
		if k == kindNone {
			continue
		}
		if l.Size < 0 {
			return fmt.Errorf("%s: layer %d (%s): negative size %d: %w", s.spec, i, l.Digest, l.Size, ErrBadResponse)
		}
		if len(l.Digest.Hex) < 12 {
			return fmt.Errorf("%s: layer %d (%s): no digest: %w", s.spec, i, l.MediaType, ErrBadResponse)
		}
		b, err := s.locate(i, l)
		if err != nil {
			return err
		}
		counts[k]++
		ls = append(ls, modelLayer{i: i, l: l, k: k, blob: b, name: layerName(l)})
	}
	if err := s.readHeads(ctx, ls); err != nil {
		return err
	}
	var sniffedGGUF []*modelLayer
	for j := range ls {
		if ls[j].head != nil && sniff(ls[j].head) == sniffGGUF {
			sniffedGGUF = append(sniffedGGUF, &ls[j])
		}
	}

	s.raw, s.members, s.tarred = map[string]ociBlob{}, map[string]tarMember{}, map[string]*prefixFile{}
	s.streamed = map[string]modelLayer{}
	add := func(name string, size int64) error {
		_, inRaw := s.raw[name]
		_, inMembers := s.members[name]
		if inRaw || inMembers || s.tarred[name] != nil {
			return fmt.Errorf("%s: two layers hold %q: %w", s.spec, name, ErrBadResponse)
		}
		s.files = append(s.files, FileInfo{Name: name, Size: size})
		return nil
	}
	// addStreamed lists the files of a layer read by streaming it.
	addStreamed := func(ml modelLayer) error {
		pfs, err := s.streamTar(ctx, ml.blob, ml.l, ml.k)
		if err != nil {
			return err
		}
		for _, pf := range pfs {
			if err := add(pf.name, pf.size); err != nil {
				return err
			}
			s.tarred[pf.name] = pf
		}
		s.streamed[ml.l.Digest.String()] = ml
		return nil
	}
	seq := map[layerKind]int{}
	var unknown []string
	for _, ml := range ls {
		k, l := ml.k, ml.l
		seq[k]++
		switch k {
		case kindTar:
			members, err := s.walkTar(ctx, ml.blob, l)
			if errors.Is(err, ErrRangeIgnored) {
				// The registry sends whole blobs: stream the layer
				// instead, as a compressed one.
				if err := addStreamed(ml); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			for _, tm := range members {
				if err := add(tm.name, tm.size); err != nil {
					return err
				}
				s.members[tm.name] = tm
			}
			continue
		case kindTarGzip, kindTarZstd:
			if err := addStreamed(ml); err != nil {
				return err
			}
			continue
		}
		name := ml.name
		if name == "" {
			n, no := counts[k], seq[k]
			switch k {
			case kindGGUF:
				name = "model.gguf"
				if n > 1 {
					name = fmt.Sprintf("model-%05d-of-%05d.gguf", no, n)
				}
			case kindSafetensors:
				name = "model.safetensors"
				if n > 1 {
					name = fmt.Sprintf("model-%05d-of-%05d.safetensors", no, n)
				}
			case kindWeightRaw:
				switch sniff(ml.head) {
				case sniffGGUF:
					name = l.Digest.Hex[:12] + ".gguf"
					if len(sniffedGGUF) > 1 {
						no := slices.IndexFunc(sniffedGGUF, func(p *modelLayer) bool { return p.i == ml.i }) + 1
						name = fmt.Sprintf("%s-%05d-of-%05d.gguf", sniffedGGUF[0].l.Digest.Hex[:12], no, len(sniffedGGUF))
					}
				case sniffSafetensors:
					name = l.Digest.Hex[:12] + ".safetensors"
				default:
					name = fmt.Sprintf("weight-%05d-of-%05d", no, n)
					unknown = append(unknown, fmt.Sprintf("layer %d (%s %s, %d bytes) has no %s annotation and starts with %q: neither GGUF's magic nor a safetensors header",
						ml.i, l.MediaType, l.Digest, l.Size, AnnotationModelPackFilepath, ml.head))
				}
			case kindConfigRaw:
				name = fmt.Sprintf("weight-config-%05d-of-%05d", no, n)
			}
		}
		if err := add(name, l.Size); err != nil {
			return err
		}
		s.raw[name] = ml.blob
	}
	sort.Slice(s.files, func(i, j int) bool { return s.files[i].Name < s.files[j].Name })
	if len(unknown) > 0 && !slices.ContainsFunc(s.files, func(f FileInfo) bool { return isModelFile(f.Name) }) {
		return fmt.Errorf("%s: %w: %s", s.spec, ErrNoModelLayers, strings.Join(unknown, "; "))
	}
	return nil
}

// retryTransport retries the requests go-containerregistry sends on its
// own, the registry's ping, its token and the manifests, as policy retries
// the source's blob reads: after a 429, a 5xx or a connection failure,
// waiting as Retry-After asks (capped) or backing off, each retry told to
// OnRetry, under the deadline. Blob reads and requests with a body pass
// through: the source's client retries blob reads itself. A 429 or 5xx
// still there after the last attempt is ErrUnavailable.
type retryTransport struct {
	next   http.RoundTripper
	policy *httpClient
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if (req.Method != http.MethodGet && req.Method != http.MethodHead) ||
		(req.Body != nil && req.Body != http.NoBody) || strings.Contains(req.URL.Path, "/blobs/") {
		return t.next.RoundTrip(req)
	}
	var resp *http.Response
	unavailable := false // the last attempt had a 429 or 5xx
	err := t.policy.retry(req.Context(), func(context.Context) error {
		// The request keeps its own context: a response body outlives
		// this attempt, and the transport below enforces the deadline.
		r, err := t.next.RoundTrip(req.Clone(req.Context()))
		if err != nil {
			unavailable = false
			if permanent(err) {
				// As it came: net/http's client turns a TLS record that
				// reads "HTTP/" into ErrSchemeMismatch by its type.
				return err
			}
			err = fmt.Errorf("%s %s: %w", req.Method, redact(req.URL), unwrapURLError(err))
			return &transientError{err: err, url: redact(req.URL)}
		}
		if r.StatusCode != http.StatusTooManyRequests && r.StatusCode < 500 {
			resp = r
			return nil
		}
		unavailable = true
		drainClose(r.Body)
		return &transientError{err: fmt.Errorf("%s %s: %s", req.Method, redact(req.URL), r.Status),
			wait: retryAfter(r.Header.Get("Retry-After"), t.policy.now()), url: redact(req.URL)}
	})
	if err != nil && unavailable {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return resp, err
}

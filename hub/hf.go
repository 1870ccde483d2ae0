package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Limits on what the Hub's API may send. The Hub advises fewer than
// 100,000 files in a repository; a listing entry takes about 250 bytes.
const (
	maxListing      = 64 << 20 // bytes of listing JSON, all pages together
	maxListingPages = 1000     // pages of the tree API, at the Hub's 1,000 files a page
	// maxListingFiles caps the files a listing keeps (those in the folder
	// read, not hidden): 262,144, as many as a checkpoint may hold
	// tensors, and what keeps a listing at the byte cap under 100 MB of
	// memory.
	maxListingFiles = 1 << 18
)

// HFSource is a model repository on the Hugging Face Hub (or a folder of
// one) as a source. It lists the files of one revision through the Hub's
// API, once, pinning the revision to the commit it resolves to, and opens
// each file as a remote file read through HTTP Range requests (see
// [HFSource.Open]). It never downloads whole weight files. It is safe for
// concurrent use.
type HFSource struct {
	ref  HFRef // File is empty
	ep   *url.URL
	c    *httpClient
	ra   *readAhead
	jobs int

	snapshot string // the cached snapshot folder of the revision, "" when none
	offline  bool   // serve the snapshot alone
	cache    *HeaderCache

	mu      sync.Mutex
	listed  bool
	commit  string
	files   []FileInfo
	entries map[string]hfEntry
}

// hfEntry is what a listing keeps of a file; the map that holds it keys it
// by name.
type hfEntry struct {
	size   int64
	sha256 hexDigest // the LFS sha256, none when the file is not in LFS
	blob   hexDigest // the Git blob id, none when the Hub did not say
}

// identity names the content of the file: its LFS sha256 or its Git blob
// id, "" when the listing gave neither.
func (e hfEntry) identity() string {
	switch {
	case e.sha256.n > 0:
		return "sha256:" + e.sha256.String()
	case e.blob.n > 0:
		return "gitblob:" + e.blob.String()
	}
	return ""
}

// hexDigest holds a SHA-1 or SHA-256 digest that a listing gives in hex,
// as bytes: half the memory of the hex and no allocation of its own, for
// the hundreds of thousands of files a listing may hold. Its zero value is
// no digest.
type hexDigest struct {
	b [32]byte
	n uint8 // bytes of b used: 0, 20 or 32
}

// parseHexDigest decodes s, 40 or 64 hex digits; anything else is no digest.
func parseHexDigest(s string) hexDigest {
	var d hexDigest
	if (len(s) == 40 || len(s) == 64) && isHex(s, len(s)) {
		hex.Decode(d.b[:], []byte(s))
		d.n = uint8(len(s) / 2)
	}
	return d
}

// String returns the digest in lower-case hex, "" for none.
func (d hexDigest) String() string { return hex.EncodeToString(d.b[:d.n]) }

// NewHF returns the folder ref.Subfolder of repository ref.Repo at
// ref.Revision as a source; ref.File is ignored. It does not touch the
// network: the files are listed on first use. With opts.Offline it fails
// with [ErrOffline].
func NewHF(ref HFRef, opts HFOptions) (*HFSource, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	ref.File = ""
	snapshot := opts.cachedSnapshot(ref)
	if opts.Offline && snapshot == "" {
		where := "no cache"
		if opts.CacheDir != "" {
			where = "nothing for it in the cache " + opts.CacheDir
		}
		return nil, fmt.Errorf("%s: %w: HF_HUB_OFFLINE is set and there is %s", ref, ErrOffline, where)
	}
	ep, err := parseEndpoint(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	if ref.Revision == "" {
		ref.Revision = "main"
	}
	owner, name, ok := strings.Cut(ref.Repo, "/")
	if !ok {
		return nil, fmt.Errorf("%w: repository %q: expected OWNER/NAME", ErrBadSource, ref.Repo)
	}
	if err := checkRepo(owner, name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSource, err)
	}
	return &HFSource{
		ref:      ref,
		ep:       ep,
		c:        newHTTPClient(opts.Client, ep, opts.Token, &opts),
		ra:       &readAhead{first: opts.FirstRead, max: opts.MaxRead, wait: opts.probeWait},
		jobs:     opts.Jobs,
		snapshot: snapshot,
		offline:  opts.Offline,
		cache:    opts.HeaderCache,
	}, nil
}

// OpenHF parses spec with [ParseHF] and returns the source it names and,
// when it names one file, that file's name (for checkpoint.WithFocus), as
// [Local] does.
func OpenHF(spec string, opts HFOptions) (src *HFSource, focus string, err error) {
	ref, err := ParseHF(spec, opts.Endpoint)
	if err != nil {
		return nil, "", err
	}
	s, err := NewHF(ref, opts)
	if err != nil {
		return nil, "", err
	}
	return s, ref.File, nil
}

// String returns the source as an hf:// SOURCE.
func (s *HFSource) String() string { return s.ref.String() }

// Ref returns the repository, revision and folder the source reads.
func (s *HFSource) Ref() HFRef { return s.ref }

// Jobs returns how many files a caller should read at once.
func (s *HFSource) Jobs() int { return s.jobs }

// Stats returns the requests made and bytes received so far by the source
// and every file it opened.
func (s *HFSource) Stats() Stats { return s.c.stats.snapshot() }

// Commit returns the commit the revision resolved to when the files were
// listed, and "" before that or when the Hub did not say.
func (s *HFSource) Commit() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit
}

// PinnedCommit returns the commit the files are read at: the one the
// revision resolved to when listed, else the revision itself when it is a
// commit id (40 hex digits), else "".
func (s *HFSource) PinnedCommit() string {
	if c := s.Commit(); c != "" {
		return c
	}
	if isHex(s.ref.Revision, 40) {
		return strings.ToLower(s.ref.Revision)
	}
	return ""
}

// Digest returns the SHA-256 (lower-case hex) of the named file's content
// as the Hub's listing gives it for files stored with Git LFS, and false
// for other files or before the files are listed.
func (s *HFSource) Digest(name string) (string, bool) {
	if s.offline { // no listing: the cache names LFS blobs by their sha256
		return NewDir(s.snapshot).Digest(name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	return e.sha256.String(), ok && e.sha256.n > 0
}

// DigestSource returns "Hub LFS sha256": the digests are the LFS ones;
// offline, the Hugging Face cache's blob names, which are those digests.
func (s *HFSource) DigestSource() string {
	if s.offline {
		return NewDir(s.snapshot).DigestSource()
	}
	return "Hub LFS sha256"
}

// DigestNote returns "": a file without an LFS sha256 is a small Git
// file, checked by its Git blob id where the listing gives one (see
// [HFSource.BlobID]), and nothing needs saying.
func (s *HFSource) DigestNote(name string) string { return "" }

// BlobID returns the Git blob id (lower-case hex) of the named file as the
// Hub's listing gives it, for files not stored with Git LFS (for those,
// see Digest), and false for LFS files, files the listing gave none for,
// or before the files are listed.
func (s *HFSource) BlobID(name string) (string, bool) {
	if s.offline {
		return NewDir(s.snapshot).BlobID(name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	return e.blob.String(), ok && e.sha256.n == 0 && e.blob.n > 0
}

// List returns the files of the folder, sorted by name, with names relative
// to it. Hidden files (a path segment starting with '.') are left out. The
// first call lists the repository through the Hub's API; later calls
// return that listing.
func (s *HFSource) List(ctx context.Context) ([]FileInfo, error) {
	if s.offline {
		return NewDir(s.snapshot).List(ctx)
	}
	if err := s.list(ctx); err != nil {
		return nil, err
	}
	return slices.Clone(s.files), nil
}

// Open returns the named file as a remote file: ReadAt fetches the bytes
// with HTTP Range requests from the Hub's resolve URL, following its
// redirect to the storage host without the token, and remembering where it
// led for a while. Reads keep a few fetched blocks and fetch ahead in
// doubling chunks while they run sequentially, so a header costs a few
// requests; a reader that knows from the format how far its header goes
// says so (the file is a [ReadPlanner]) and the file fetches exactly that.
// Reads run under ctx. The file is safe for concurrent use.
func (s *HFSource) Open(ctx context.Context, name string) (File, error) {
	if s.offline {
		return NewDir(s.snapshot).Open(ctx, name)
	}
	if err := s.list(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	e, ok := s.entries[name]
	rev := s.revision()
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("open %s: %w", Path(s, name), ErrNotExist)
	}
	if s.snapshot != "" {
		if f, err := NewDir(s.snapshot).Open(ctx, name); err == nil {
			if f.Size() == e.size {
				return f, nil // the cached copy: no request
			}
			f.Close()
		}
	}
	full := path.Join(s.ref.Subfolder, name)
	u, err := s.url("", s.ref.Repo, "resolve", url.PathEscape(rev), escapePath(full))
	if err != nil {
		return nil, err
	}
	remote := func() (File, error) {
		return &rangeFile{
			c: s.c, ctx: ctx, url: u, name: full, size: e.size, ra: s.ra,
			classify:   s.classifier(full),
			onRedirect: s.checkLinkedSize(e.size),
		}, nil
	}
	if id := e.identity(); s.cache != nil && id != "" {
		// Scoped to the endpoint: another host cannot plant a header
		// under this one's digests.
		return s.cache.wrap(s.ep.Host+"/"+id, e.size, s.c.stats, remote), nil
	}
	return remote()
}

// revision returns the commit the files were listed at, or the revision
// asked for. s.mu must be held.
func (s *HFSource) revision() string {
	if s.commit != "" {
		return s.commit
	}
	return s.ref.Revision
}

// url joins already-escaped path elements to the endpoint.
func (s *HFSource) url(query string, elems ...string) (*url.URL, error) {
	raw := strings.TrimSuffix(s.ep.String(), "/") + "/" + strings.Join(elems, "/")
	if query != "" {
		raw += "?" + query
	}
	return url.Parse(raw)
}

// checkLinkedSize refuses a redirect from the Hub whose X-Linked-Size
// disagrees with the listed size.
func (s *HFSource) checkLinkedSize(size int64) func(*http.Response) error {
	return func(resp *http.Response) error {
		h := resp.Header.Get("X-Linked-Size")
		if h == "" || !sameOrigin(resp.Request.URL, s.ep) {
			return nil
		}
		if n, err := strconv.ParseInt(h, 10, 64); err != nil || n != size {
			return fmt.Errorf("GET %s: X-Linked-Size %q, but the listing says %d bytes: %w", redact(resp.Request.URL), h, size, ErrBadResponse)
		}
		return nil
	}
}

// classifier returns what turns an error status into an *HTTPError naming
// what was asked for; file is the repository path, "" for the API.
func (s *HFSource) classifier(file string) func(*http.Response) *HTTPError {
	return func(resp *http.Response) *HTTPError {
		e := &HTTPError{
			URL:        redact(resp.Request.URL),
			StatusCode: resp.StatusCode,
			Code:       resp.Header.Get("X-Error-Code"),
			Message:    resp.Header.Get("X-Error-Message"),
		}
		repo, rev := s.ref.Repo, s.ref.Revision
		auth := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
		tokenHint := "set HF_TOKEN"
		if s.c.token != "" {
			tokenHint = "the token in use has no access"
		}
		switch {
		case auth && !sameOrigin(resp.Request.URL, s.ep):
			e.Err, e.Hint = ErrAuth, fmt.Sprintf("file %q: the storage host %s refused the download URL the Hub gave", file, resp.Request.URL.Host)
		case e.Code == "RepoNotFound" || (resp.StatusCode == http.StatusNotFound && file == "" && e.Code == ""):
			e.Err, e.Hint = ErrNotFound, fmt.Sprintf("repository %q not found", repo)
			if auth || s.c.token == "" {
				e.Hint += fmt.Sprintf(" (if it is private or gated: %s)", tokenHint)
			}
			if auth {
				e.Err = errors.Join(ErrNotFound, ErrAuth)
			}
		case e.Code == "RevisionNotFound":
			e.Err, e.Hint = ErrNotFound, fmt.Sprintf("revision %q not found in repository %q", rev, repo)
		case e.Code == "EntryNotFound" || resp.StatusCode == http.StatusNotFound:
			e.Err, e.Hint = ErrNotExist, fmt.Sprintf("file %q not found in repository %q at revision %q", file, repo, rev)
		case e.Code == "GatedRepo":
			e.Err, e.Hint = ErrAuth, fmt.Sprintf("gated repository %q: accept its terms on the Hub, then %s", repo, tokenHint)
		case auth:
			e.Err, e.Hint = ErrAuth, fmt.Sprintf("gated or private repository %q: %s", repo, tokenHint)
		case resp.StatusCode == http.StatusTooManyRequests:
			e.Err, e.Hint = ErrUnavailable, "rate limited by the Hub"
		case resp.StatusCode >= 500:
			e.Err = ErrUnavailable
		}
		return e
	}
}

// getJSON GETs u from the Hub and decodes its JSON body, of at most limit
// bytes, with decode as it arrives: nothing holds the whole body. decode
// runs again, from the start of a new body, when the request is retried,
// so it must first undo what an earlier run did. getJSON returns the
// response's header and the body's length.
func (s *HFSource) getJSON(ctx context.Context, u *url.URL, limit int64, decode func(dec *json.Decoder) error) (http.Header, int64, error) {
	var hdr http.Header
	var n int64
	ctx = withStall(ctx, s.c.metaStall)
	err := s.c.retry(ctx, func(ctx context.Context) error {
		resp, err := s.c.send(ctx, u, nil, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return s.c.statusError(resp, s.classifier(""))
		}
		defer resp.Body.Close()
		body := &bodyReader{r: io.LimitReader(resp.Body, limit+1)}
		dec := json.NewDecoder(body)
		err = decodeAll(dec, decode)
		if err != nil && body.err == nil {
			// Read the rest as the body it is: a body that stalls or is cut
			// short is that, whatever it held so far.
			io.Copy(io.Discard, body)
		}
		switch {
		case body.err != nil:
			return bodyError(resp.Request.URL, "", body.err)
		case body.n > limit:
			return fmt.Errorf("GET %s: listing over %d bytes: %w", redact(u), limit, ErrBadResponse)
		case errors.Is(err, ErrBadResponse):
			return fmt.Errorf("GET %s: %w", redact(u), err)
		case err != nil:
			return fmt.Errorf("GET %s: %w: %v", redact(u), ErrBadResponse, err)
		}
		hdr, n = resp.Header, body.n
		return nil
	})
	return hdr, n, err
}

// bodyReader counts the bytes read from r and keeps its first error other
// than io.EOF, which a JSON decoder would report as its own.
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

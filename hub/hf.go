package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HFOptions configures a Hugging Face Hub source ([NewHF]). The zero value
// of every field means its default; [HFOptionsFromEnv] fills the fields the
// environment sets.
type HFOptions struct {
	// Endpoint is the Hub's address. The default is https://huggingface.co.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>" to the Endpoint's
	// origin (scheme, host and port) and never to any other host, such as
	// the storage host downloads are redirected to. The default is none.
	Token string
	// Client sends the requests; its CheckRedirect is replaced (redirects
	// are followed by the source itself). The default is a client with a
	// connection pool sized for Jobs.
	Client *http.Client
	// Jobs is how many files a caller should read at once (pass it to
	// checkpoint.WithJobs); the source itself reads each file sequentially.
	// The default is 64: reading headers is bound by round trips, not
	// bandwidth, and the requests are small (over HTTP/2, streams of one
	// connection).
	Jobs int
	// CacheDir is the Hugging Face hub cache (models--OWNER--NAME/...):
	// files found there in the revision's snapshot, with the listed size,
	// are read locally. "" uses no cache.
	CacheDir string
	// HeaderCache, when not nil, keeps the headers read from the Hub under
	// each file's LFS sha256 or Git blob id, and serves them from there
	// on later runs.
	HeaderCache *HeaderCache
	// Offline forbids network access: NewHF serves the revision's snapshot
	// from CacheDir, and fails with ErrOffline when there is none.
	// The default is false.
	Offline bool
	// StallTimeout is how long a request may go without progress: without
	// a response after it is sent, or, while its body is read, without
	// StallBytes (1 KiB) arriving in as much time spent waiting for them.
	// A request that stalls fails with a *StallError naming the host (see
	// deadline.go). It bounds no request as a whole: a large body arriving
	// at any useful speed never stalls. [HFOptionsFromEnv] sets it from
	// HF_HUB_DOWNLOAD_TIMEOUT. The default is 20 seconds.
	StallTimeout time.Duration
	// MetadataStallTimeout is the stall timeout of the Hub's API calls
	// that list the repository. [HFOptionsFromEnv] sets it from
	// HF_HUB_ETAG_TIMEOUT. The default is StallTimeout.
	MetadataStallTimeout time.Duration
	// Timeout is the former name of StallTimeout, used when StallTimeout
	// is not set.
	//
	// Deprecated: use StallTimeout; a request is no longer bounded as a
	// whole, only by its progress and the Deadline.
	Timeout time.Duration
	// Deadline, when not zero, ends all of the source's network work:
	// past it every request, body read and wait between retries fails
	// with a *DeadlineError (which wraps context.DeadlineExceeded), and no
	// retry is made whose wait would end after it. Files served from
	// CacheDir are not network work. The default is none.
	Deadline time.Time
	// Retries is how many times a request is retried after a 429, a 5xx, a
	// connection reset, a body cut short, or a stall after the body had
	// been arriving (once); negative means never. The default is 5.
	Retries int
	// Backoff is the wait before the first retry; it doubles with each
	// retry (up to 16 s) and is jittered. The default is 1 second.
	Backoff time.Duration
	// MaxWait is the longest wait a server may ask for with Retry-After:
	// one asking for longer fails the request at once with ErrUnavailable,
	// rather than holding the run. The default is 30 seconds.
	MaxWait time.Duration
	// OnRetry, when not nil, is told of each retry before its wait; it may
	// be called from several goroutines at once. The default is nil.
	OnRetry func(Retry)
	// FirstRead is how much the first read at offset 0 of a file fetches
	// when it asks for less. Once a file of a kind (extension) has been
	// read, the source fetches about what its header needed instead, never
	// more than FirstRead; of files opened together, one is read first so
	// the others can learn from it. The default is 256 KiB.
	FirstRead int64
	// MaxRead caps a single fetch and the read-ahead chunk, which doubles
	// while a file is read sequentially; a file caches at most twice this.
	// The default is 16 MiB.
	MaxRead int64

	sleep     func(context.Context, time.Duration) error // tests replace the wait between retries
	probeWait time.Duration                              // tests shorten the wait for a probe
}

func (o *HFOptions) setDefaults() error {
	if o.Endpoint == "" {
		o.Endpoint = DefaultHFEndpoint
	}
	if o.Jobs == 0 {
		o.Jobs = 64
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = o.Timeout
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = defaultStall
	}
	if o.MetadataStallTimeout == 0 {
		o.MetadataStallTimeout = o.StallTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = defaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff == 0 {
		o.Backoff = defaultBackoff
	}
	if o.MaxWait == 0 {
		o.MaxWait = defaultMaxWait
	}
	if o.FirstRead == 0 {
		o.FirstRead = defaultFirstRead
	}
	if o.MaxRead == 0 {
		o.MaxRead = defaultMaxRead
	}
	if o.probeWait == 0 {
		o.probeWait = probeWait
	}
	switch {
	case o.Jobs < 0:
		return fmt.Errorf("hf options: Jobs must be at least 1, got %d", o.Jobs)
	case o.StallTimeout < 0 || o.MetadataStallTimeout < 0 || o.Backoff < 0 || o.MaxWait < 0:
		return errors.New("hf options: negative StallTimeout, MetadataStallTimeout, Backoff or MaxWait")
	case o.MaxRead < 1<<10 || o.MaxRead > 1<<30:
		return fmt.Errorf("hf options: MaxRead must be between 1 KiB and 1 GiB, got %d", o.MaxRead)
	case o.FirstRead < 1 || o.FirstRead > o.MaxRead:
		return fmt.Errorf("hf options: FirstRead must be between 1 and MaxRead (%d), got %d", o.MaxRead, o.FirstRead)
	}
	return nil
}

// HFOptionsFromEnv returns the options the environment sets, read through
// getenv (os.Getenv when nil), as the huggingface_hub library reads them:
// HF_ENDPOINT; HF_TOKEN, else the token file at HF_TOKEN_PATH, else
// $HF_HOME/token (HF_HOME defaults to $XDG_CACHE_HOME/huggingface, then
// ~/.cache/huggingface); HF_HUB_OFFLINE (1, true, yes or on);
// HF_HUB_DOWNLOAD_TIMEOUT (StallTimeout) and HF_HUB_ETAG_TIMEOUT
// (MetadataStallTimeout), whole seconds, unset or 0 for the default. A
// missing token file is no error; an unreadable one is, and so is a
// timeout that is not a whole number of seconds.
//
// huggingface_hub reads the two timeouts in constants.py as
// `_as_int(os.environ.get(NAME)) or 10` and passes them to its HTTP
// client as the timeout of a download's GET (HF_HUB_DOWNLOAD_TIMEOUT) and
// of the metadata request before it (HF_HUB_ETAG_TIMEOUT): a limit on the
// wait for the server's answer and between the bytes of the body, not on
// the whole transfer. A stall timeout here is the same limit, stricter in
// one way: a body trickling in slower than StallBytes per timeout stalls
// too. Its default is 20 s, not huggingface_hub's 10 s: the listing of a
// large repository takes the Hub several seconds before its first byte.
func HFOptionsFromEnv(getenv func(string) string) (HFOptions, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	o := HFOptions{Endpoint: strings.TrimSuffix(strings.TrimSpace(getenv("HF_ENDPOINT")), "/"), CacheDir: hfCacheDir(getenv)}
	switch strings.ToLower(strings.TrimSpace(getenv("HF_HUB_OFFLINE"))) {
	case "1", "true", "yes", "on":
		o.Offline = true
	}
	for _, t := range []struct {
		name string
		d    *time.Duration
	}{{"HF_HUB_DOWNLOAD_TIMEOUT", &o.StallTimeout}, {"HF_HUB_ETAG_TIMEOUT", &o.MetadataStallTimeout}} {
		v := strings.TrimSpace(getenv(t.name))
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return o, fmt.Errorf("%s=%q: expected a whole number of seconds", t.name, v)
		}
		*t.d = time.Duration(n) * time.Second
	}
	if t := strings.TrimSpace(getenv("HF_TOKEN")); t != "" {
		o.Token = t
		return o, nil
	}
	p := getenv("HF_TOKEN_PATH")
	if p == "" {
		home := getenv("HF_HOME")
		if home == "" {
			cache := getenv("XDG_CACHE_HOME")
			if cache == "" {
				h := getenv("HOME")
				if h == "" && runtime.GOOS == "windows" {
					h = getenv("USERPROFILE")
				}
				if h == "" {
					return o, nil
				}
				cache = filepath.Join(h, ".cache")
			}
			home = filepath.Join(cache, "huggingface")
		}
		p = filepath.Join(home, "token")
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return o, fmt.Errorf("token file %s: %w", p, err)
	}
	o.Token = strings.TrimSpace(string(b))
	return o, nil
}

// Limits on what the Hub's API may send.
const (
	maxListing      = 64 << 20 // bytes of listing JSON, all pages together
	maxListingPages = 1000     // pages of the tree API: a million files at the Hub's 1,000 a page
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

type hfEntry struct {
	size   int64
	sha256 string
	blob   string // the Git blob id, "" when the Hub did not say
}

// identity names the content of the file: its LFS sha256 or its Git blob
// id, "" when the listing gave neither.
func (e hfEntry) identity() string {
	switch {
	case e.sha256 != "":
		return "sha256:" + e.sha256
	case e.blob != "":
		return "gitblob:" + e.blob
	}
	return ""
}

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
	return e.sha256, ok && e.sha256 != ""
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
	return e.blob, ok && e.sha256 == "" && e.blob != ""
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
// requests. Reads run under ctx. The file is safe for concurrent use.
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
// bytes, into v. It returns the response's header.
func (s *HFSource) getJSON(ctx context.Context, u *url.URL, limit int64, v any) (http.Header, int64, error) {
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
		body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return bodyError(resp.Request.URL, "", err)
		}
		if int64(len(body)) > limit {
			return fmt.Errorf("GET %s: listing over %d bytes: %w", redact(u), limit, ErrBadResponse)
		}
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("GET %s: %w: %v", redact(u), ErrBadResponse, err)
		}
		hdr, n = resp.Header, int64(len(body))
		return nil
	})
	return hdr, n, err
}

// The Hub's answers to the listing calls, as far as they are used.
type (
	hfModelInfo struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      *int64 `json:"size"`
			BlobID    string `json:"blobId"`
			LFS       *hfLFS `json:"lfs"`
		} `json:"siblings"`
	}
	hfLFS struct {
		SHA256 string `json:"sha256"` // the models API
		OID    string `json:"oid"`    // the tree API
		Size   int64  `json:"size"`
	}
	hfTreeEntry struct {
		Type string `json:"type"`
		Path string `json:"path"`
		OID  string `json:"oid"` // the Git blob id
		Size *int64 `json:"size"`
		LFS  *hfLFS `json:"lfs"`
	}
)

// list lists the files once: GET /api/models/REPO/revision/REV?blobs=true,
// and when that leaves sizes out, the tree API.
func (s *HFSource) list(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listed {
		return nil
	}
	u, err := s.url("blobs=true", "api/models", s.ref.Repo, "revision", url.PathEscape(s.ref.Revision))
	if err != nil {
		return err
	}
	var info hfModelInfo
	if _, _, err := s.getJSON(ctx, u, maxListing, &info); err != nil {
		return fmt.Errorf("%s: listing: %w", s, err)
	}
	commit := ""
	if isHex(info.SHA, 40) {
		commit = strings.ToLower(info.SHA)
	}
	l := newListing(s.ref.Subfolder)
	sized := true
	for _, sb := range info.Siblings {
		var size int64
		sha := ""
		if sb.LFS != nil {
			size, sha = sb.LFS.Size, sb.LFS.SHA256
		}
		if sb.Size != nil {
			size = *sb.Size
		} else if sb.LFS == nil {
			sized = false // not every Hub (or mirror) sends sizes here
			break
		}
		if err := l.add(sb.RFilename, size, sha, sb.BlobID); err != nil {
			return fmt.Errorf("%s: listing: GET %s: %w", s, redact(u), err)
		}
	}
	if !sized {
		rev := s.ref.Revision
		if commit != "" {
			rev = commit
		}
		if l, err = s.listTree(ctx, rev); err != nil {
			return fmt.Errorf("%s: listing: %w", s, err)
		}
	}
	s.commit, s.files, s.entries, s.listed = commit, l.files, l.entries, true
	slices.SortFunc(s.files, func(a, b FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// listTree lists the folder with the tree API, following its pages: at
// most maxListingPages of them, each at a link not followed before.
func (s *HFSource) listTree(ctx context.Context, rev string) (*listing, error) {
	elems := []string{"api/models", s.ref.Repo, "tree", url.PathEscape(rev)}
	if s.ref.Subfolder != "" {
		elems = append(elems, escapePath(s.ref.Subfolder))
	}
	u, err := s.url("recursive=true", elems...)
	if err != nil {
		return nil, err
	}
	l := newListing(s.ref.Subfolder)
	budget := int64(maxListing)
	seen := map[string]bool{}
	for page := 0; u != nil; page++ {
		if page == maxListingPages {
			return nil, fmt.Errorf("GET %s: more than %d pages: %w", redact(u), maxListingPages, ErrBadResponse)
		}
		if seen[u.String()] {
			link := *u
			link.User = nil
			return nil, fmt.Errorf("page %d: the next link %s was listed before (a loop): %w", page+1, &link, ErrBadResponse)
		}
		seen[u.String()] = true
		var entries []hfTreeEntry
		hdr, n, err := s.getJSON(ctx, u, budget, &entries)
		if err != nil {
			if page > 0 {
				err = fmt.Errorf("page %d: %w", page+1, err)
			}
			return nil, err
		}
		budget -= n
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			size, sha := int64(-1), ""
			if e.Size != nil {
				size = *e.Size
			}
			if e.LFS != nil {
				size, sha = e.LFS.Size, e.LFS.OID
			}
			if err := l.add(e.Path, size, sha, e.OID); err != nil {
				return nil, fmt.Errorf("GET %s: %w", redact(u), err)
			}
		}
		u = nextLink(hdr.Values("Link"), u, s.ep)
	}
	return l, nil
}

// nextLink returns the rel="next" target of Link headers, when it is on the
// endpoint's origin.
func nextLink(links []string, base, ep *url.URL) *url.URL {
	for _, h := range links {
		for _, part := range strings.Split(h, ",") {
			target, params, ok := strings.Cut(part, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			next := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.Trim(v, `"`)), "next") {
					next = true
				}
			}
			if !next {
				continue
			}
			u, err := base.Parse(target[1 : len(target)-1])
			if err != nil || !sameOrigin(u, ep) {
				return nil
			}
			return u
		}
	}
	return nil
}

// listing collects the files under a folder from listing entries.
type listing struct {
	sub     string
	files   []FileInfo
	entries map[string]hfEntry
}

func newListing(sub string) *listing {
	return &listing{sub: sub, entries: map[string]hfEntry{}}
}

// add records one repository path; paths outside the folder and hidden ones
// are skipped. A path or size no repository can have is an error.
func (l *listing) add(name string, size int64, sha, blob string) error {
	if !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("file name %q: %w", name, ErrBadResponse)
	}
	if size < 0 {
		return fmt.Errorf("file %q: size %d: %w", name, size, ErrBadResponse)
	}
	rel := name
	if l.sub != "" {
		var ok bool
		if rel, ok = strings.CutPrefix(name, l.sub+"/"); !ok {
			return nil
		}
	}
	for seg := range strings.SplitSeq(rel, "/") {
		if strings.HasPrefix(seg, ".") {
			return nil
		}
	}
	if _, dup := l.entries[rel]; dup {
		return fmt.Errorf("file %q listed twice: %w", name, ErrBadResponse)
	}
	if !isHex(sha, 64) {
		sha = ""
	}
	if !isHex(blob, 40) && !isHex(blob, 64) { // SHA-1 or SHA-256 Git object ids
		blob = ""
	}
	l.entries[rel] = hfEntry{size: size, sha256: strings.ToLower(sha), blob: strings.ToLower(blob)}
	l.files = append(l.files, FileInfo{Name: rel, Size: size})
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

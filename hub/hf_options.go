package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/weightaudit/weightaudit/internal/safefs"
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
	// the others can learn from it. A reader that plans its reads (see
	// [ReadPlanner]), as checkpoint's do, fetches what it plans instead:
	// its header's first read grows to what the kind's headers needed,
	// never more than FirstRead. The default is 256 KiB.
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
	f, _, err := safefs.Open(p) // a regular file, never a FIFO
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

package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/hub"
)

// A fake Hugging Face Hub: two servers, "hub" (the API and the resolve
// endpoint) and "storage" (where resolve redirects large files, with Range
// support). Every request is recorded with its headers. Faults are queued
// per route and consumed in order.

const (
	fakeRepo   = "owner/repo"
	fakeCommit = "0123456789abcdef0123456789abcdef01234567"
	goodToken  = "hf_good"
)

type fakeFile struct {
	r    io.ReaderAt
	size int64
	lfs  bool   // served by a redirect to storage
	sha  string // content sha256 of LFS files (of the head for virtual ones)
}

// fakeBlobID stands in for a file's Git blob id: 40 hex digits that
// change with the file's name, size and digest.
func fakeBlobID(name string, f fakeFile) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", name, f.size, f.sha)))
	return hex.EncodeToString(sum[:20])
}

type recorded struct {
	server string // "hub" or "storage"
	path   string // escaped path
	query  url.Values
	header http.Header
}

// fault handles a request in place of the normal handler.
type fault func(w http.ResponseWriter, r *http.Request)

type fakeHub struct {
	hub, storage *httptest.Server

	files       map[string]fakeFile // repo path → file
	latency     time.Duration       // added to every request
	noSizes     bool                // the revision API leaves sizes out (the tree API has them)
	treePage    int                 // entries per tree API page
	gated       bool                // resolve needs goodToken
	ignoreRange bool                // storage answers 200 with the whole file
	signedUses  int                 // storage accepts a signed URL this many times (0: always)
	linkedSize  string              // overrides X-Linked-Size on redirects

	mu      sync.Mutex
	reqs    []recorded
	faults  map[string][]fault // route ("api", "tree", "resolve", "storage") → queue
	signed  map[string]int     // signature → uses
	nextSig int

	storageWritten atomic.Int64 // body bytes storage wrote
}

func newFakeHub(tb testing.TB, files map[string]fakeFile) *fakeHub {
	tb.Helper()
	fh := &fakeHub{files: files, treePage: 1000, faults: map[string][]fault{}, signed: map[string]int{}}
	fh.hub = httptest.NewServer(http.HandlerFunc(fh.serveHub))
	fh.storage = httptest.NewServer(http.HandlerFunc(fh.serveStorage))
	tb.Cleanup(func() {
		fh.hub.Close()
		fh.storage.Close()
	})
	return fh
}

// memFiles builds fake files from contents; names ending in .json are
// small git files, the others LFS.
func memFiles(contents map[string][]byte) map[string]fakeFile {
	out := map[string]fakeFile{}
	for name, b := range contents {
		sum := sha256.Sum256(b)
		out[name] = fakeFile{r: strings.NewReader(string(b)), size: int64(len(b)),
			lfs: !strings.HasSuffix(name, ".json"), sha: hex.EncodeToString(sum[:])}
	}
	return out
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (fh *fakeHub) addFault(route string, f ...fault) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	fh.faults[route] = append(fh.faults[route], f...)
}

func (fh *fakeHub) record(server string, r *http.Request, route string) fault {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	fh.reqs = append(fh.reqs, recorded{server: server, path: r.URL.EscapedPath(), query: r.URL.Query(), header: r.Header.Clone()})
	if q := fh.faults[route]; len(q) > 0 {
		fh.faults[route] = q[1:]
		return q[0]
	}
	return nil
}

func (fh *fakeHub) requests(server string) []recorded {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	var out []recorded
	for _, r := range fh.reqs {
		if server == "" || r.server == server {
			out = append(out, r)
		}
	}
	return out
}

func (fh *fakeHub) resetRequests() {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	fh.reqs = nil
}

func hfError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	if msg != "" {
		w.Header().Set("X-Error-Message", msg)
	}
	http.Error(w, msg, status)
}

// checkRepoRev answers RepoNotFound or RevisionNotFound and returns false
// when the request is not for the fake repository at a known revision.
func checkRepoRev(w http.ResponseWriter, repo, rev string) bool {
	if repo != fakeRepo {
		hfError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return false
	}
	switch rev {
	case "main", fakeCommit, "refs/pr/1":
		return true
	}
	hfError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
	return false
}

func (fh *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	time.Sleep(fh.latency)
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	unesc := func(s string) string { v, _ := url.PathUnescape(s); return v }
	route := ""
	switch {
	case len(segs) >= 6 && segs[0] == "api" && segs[1] == "models" && segs[4] == "revision":
		route = "api"
	case len(segs) >= 6 && segs[0] == "api" && segs[1] == "models" && segs[4] == "tree":
		route = "tree"
	case len(segs) >= 5 && segs[2] == "resolve":
		route = "resolve"
	}
	if f := fh.record("hub", r, route); f != nil {
		f(w, r)
		return
	}
	switch route {
	case "api":
		if !checkRepoRev(w, segs[2]+"/"+segs[3], unesc(segs[5])) {
			return
		}
		type lfs struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		}
		type sibling struct {
			RFilename string `json:"rfilename"`
			Size      *int64 `json:"size,omitempty"`
			BlobID    string `json:"blobId,omitempty"`
			LFS       *lfs   `json:"lfs,omitempty"`
		}
		info := struct {
			ID       string    `json:"id"`
			SHA      string    `json:"sha"`
			Siblings []sibling `json:"siblings"`
		}{ID: fakeRepo, SHA: fakeCommit}
		for _, name := range fh.names() {
			f := fh.files[name]
			s := sibling{RFilename: name, BlobID: fakeBlobID(name, f)}
			if !fh.noSizes {
				s.Size = &f.size
				if f.lfs {
					s.LFS = &lfs{SHA256: f.sha, Size: f.size}
				}
			}
			info.Siblings = append(info.Siblings, s)
		}
		info.Siblings = append(info.Siblings, sibling{RFilename: ".gitattributes", Size: new(int64)})
		json.NewEncoder(w).Encode(info)
	case "tree":
		if !checkRepoRev(w, segs[2]+"/"+segs[3], unesc(segs[5])) {
			return
		}
		prefix := ""
		if len(segs) > 6 {
			prefix = unesc(strings.Join(segs[6:], "/")) + "/"
		}
		type lfs struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		}
		type entry struct {
			Type string `json:"type"`
			Path string `json:"path"`
			OID  string `json:"oid"`
			Size int64  `json:"size"`
			LFS  *lfs   `json:"lfs,omitempty"`
		}
		var all []entry
		for _, name := range fh.names() {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			f := fh.files[name]
			e := entry{Type: "file", Path: name, OID: fakeBlobID(name, f), Size: f.size}
			if f.lfs {
				e.LFS = &lfs{OID: f.sha, Size: f.size}
			}
			all = append(all, e)
		}
		all = append(all, entry{Type: "directory", Path: "somedir"})
		cursor, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		end := min(cursor+fh.treePage, len(all))
		if end < len(all) {
			next := *r.URL
			q := next.Query()
			q.Set("cursor", strconv.Itoa(end))
			next.RawQuery = q.Encode()
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
		}
		json.NewEncoder(w).Encode(all[cursor:end])
	case "resolve":
		if !checkRepoRev(w, segs[0]+"/"+segs[1], unesc(segs[3])) {
			return
		}
		name := unesc(strings.Join(segs[4:], "/"))
		f, ok := fh.files[name]
		if !ok {
			hfError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
			return
		}
		if fh.gated && r.Header.Get("Authorization") != "Bearer "+goodToken {
			hfError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+fakeRepo+" is restricted.")
			return
		}
		w.Header().Set("X-Repo-Commit", fakeCommit)
		w.Header().Set("ETag", `"`+f.sha+`"`)
		if !f.lfs {
			http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(f.r, 0, f.size))
			return
		}
		fh.mu.Lock()
		fh.nextSig++
		sig := strconv.Itoa(fh.nextSig)
		fh.mu.Unlock()
		size := strconv.FormatInt(f.size, 10)
		if fh.linkedSize != "" {
			size = fh.linkedSize
		}
		w.Header().Set("X-Linked-Size", size)
		w.Header().Set("X-Linked-Etag", `"`+f.sha+`"`)
		w.Header().Set("Location", fh.storage.URL+"/blobs/"+f.sha+"?X-Signature="+sig)
		w.WriteHeader(http.StatusFound)
	default:
		hfError(w, http.StatusNotFound, "", "no such route")
	}
}

func (fh *fakeHub) names() []string {
	names := make([]string, 0, len(fh.files))
	for n := range fh.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (fh *fakeHub) serveStorage(w http.ResponseWriter, r *http.Request) {
	time.Sleep(fh.latency)
	if f := fh.record("storage", r, "storage"); f != nil {
		f(w, r)
		return
	}
	sig := r.URL.Query().Get("X-Signature")
	if fh.signedUses > 0 {
		fh.mu.Lock()
		fh.signed[sig]++
		uses := fh.signed[sig]
		fh.mu.Unlock()
		if uses > fh.signedUses {
			http.Error(w, "Request has expired", http.StatusForbidden)
			return
		}
	}
	sha := strings.TrimPrefix(r.URL.Path, "/blobs/")
	var file *fakeFile
	for _, f := range fh.files {
		if f.lfs && f.sha == sha {
			file = &f
			break
		}
	}
	if file == nil || sig == "" {
		http.Error(w, "no such blob", http.StatusForbidden)
		return
	}
	cw := countingWriter{ResponseWriter: w, n: &fh.storageWritten}
	body := io.NewSectionReader(file.r, 0, file.size)
	if fh.ignoreRange {
		w.Header().Set("Content-Length", strconv.FormatInt(file.size, 10))
		w.WriteHeader(http.StatusOK)
		io.Copy(cw, body)
		return
	}
	http.ServeContent(cw, r, "", time.Time{}, body)
}

// Faults.

func statusFault(status int, retryAfter string) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(status), status)
	}
}

// truncatedFault answers a range request with a Content-Length larger than
// the bytes it then sends.
func truncatedFault(data []byte) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		var a, b int64
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
		w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[a : a+(b-a+1)/2])
	}
}

// resetFault drops the connection without an answer.
func resetFault(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// stallFault answers nothing until the client gives up.
func stallFault(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// wrongRangeFault answers with a Content-Range other than the one asked for.
func wrongRangeFault(size int) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 1-8/%d", size))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(make([]byte, 8))
	}
}

// newSource returns a source reading the fake hub's repository, with fast
// retries whose waits are recorded into waits (when not nil).
func newSource(tb testing.TB, fh *fakeHub, ref string, opts hub.HFOptions, waits *[]time.Duration) *hub.HFSource {
	tb.Helper()
	opts.Endpoint = fh.hub.URL
	if opts.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tb.Cleanup(tr.CloseIdleConnections)
		opts.Client = &http.Client{Transport: tr}
	}
	var mu sync.Mutex
	hub.SetSleepForTest(&opts, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if waits != nil {
			*waits = append(*waits, d)
		}
		return nil
	})
	if ref == "" {
		ref = "hf://" + fakeRepo
	}
	src, _, err := hub.OpenHF(ref, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

func (fh *fakeHub) clearFaults() {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	clear(fh.faults)
}

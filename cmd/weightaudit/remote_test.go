package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHub serves a local folder as the Hugging Face Hub would: the models
// API listing and resolve URLs with Range support. It records requests.
func fakeHub(tb testing.TB, dir, repo string) (*httptest.Server, *atomic.Int64) {
	return fakeHubLying(tb, dir, repo, "")
}

// fakeHubLying is fakeHub publishing a wrong digest for the file lie: its
// LFS sha256, or for a file not in LFS its Git blob id.
func fakeHubLying(tb testing.TB, dir, repo, lie string) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	return fakeHubRepos(tb, map[string]string{repo: dir}, lie)
}

// fakeHubRepos serves several repositories, each from its folder (by
// repository id), as fakeHubLying does one.
func fakeHubRepos(tb testing.TB, dirs map[string]string, lie string) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	handlers := map[string]http.HandlerFunc{}
	for repo, dir := range dirs {
		handlers[repo] = repoHandler(tb, dir, repo, lie)
	}
	requests := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		for repo, h := range handlers {
			if strings.HasPrefix(r.URL.Path, "/api/models/"+repo+"/") || strings.HasPrefix(r.URL.Path, "/"+repo+"/") {
				h(w, r)
				return
			}
		}
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "not found", http.StatusNotFound)
	}))
	tb.Cleanup(srv.Close)
	return srv, requests
}

// repoHandler serves one repository's listing and files.
func repoHandler(tb testing.TB, dir, repo, lie string) http.HandlerFunc {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{}
	type lfs struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		Size      int64  `json:"size"`
		BlobID    string `json:"blobId,omitempty"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	var siblings []sibling
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		files[e.Name()] = b
		sib := sibling{RFilename: e.Name(), Size: int64(len(b))}
		if strings.HasSuffix(e.Name(), ".safetensors") || strings.HasSuffix(e.Name(), ".gguf") {
			sum := sha256.Sum256(b)
			sib.LFS = &lfs{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
			if e.Name() == lie {
				sib.LFS.SHA256 = strings.Repeat("0", 64)
			}
		} else {
			h := sha1.New() // Git's blob id
			fmt.Fprintf(h, "blob %d\x00", len(b))
			h.Write(b)
			if sib.BlobID = hex.EncodeToString(h.Sum(nil)); e.Name() == lie {
				sib.BlobID = strings.Repeat("1", 40)
			}
		}
		siblings = append(siblings, sib)
	}
	listing, _ := json.Marshal(map[string]any{"sha": strings.Repeat("a", 40), "siblings": siblings})
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/models/"+repo+"/revision/main":
			w.Header().Set("Content-Type", "application/json")
			w.Write(listing)
		case strings.HasPrefix(r.URL.Path, "/"+repo+"/resolve/"):
			name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
			b, ok := files[name]
			if !ok {
				w.Header().Set("X-Error-Code", "EntryNotFound")
				http.Error(w, "no such file", http.StatusNotFound)
				return
			}
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
		default:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "not found", http.StatusNotFound)
		}
	}
}

// A Hub repository audits and inspects exactly as the same files do
// locally, and the report says what the reads cost.
func TestRemoteHubSource(t *testing.T) {
	srv, requests := fakeHub(t, "../../testdata/tiny/hf-bf16", "acme/tiny")
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")

	local, _, code := cli(t, "inspect", "../../testdata/tiny/hf-bf16", "--json")
	if code != 0 {
		t.Fatalf("local inspect: exit %d", code)
	}
	remote, stderr, code := cli(t, "inspect", "hf://acme/tiny", "--json")
	if code != 0 {
		t.Fatalf("remote inspect: exit %d: %s", code, stderr)
	}
	var l, r struct {
		Tensors []map[string]any `json:"tensors"`
		Totals  map[string]any   `json:"totals"`
		Fetch   *struct {
			Requests    int64   `json:"requests"`
			Bytes       int64   `json:"bytes"`
			HeaderBytes int64   `json:"header_bytes"`
			Ratio       float64 `json:"ratio"`
		} `json:"fetch"`
	}
	if err := json.Unmarshal([]byte(local), &l); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(remote), &r); err != nil {
		t.Fatal(err)
	}
	lt, _ := json.Marshal(l.Tensors)
	rt, _ := json.Marshal(r.Tensors)
	if !bytes.Equal(lt, rt) || len(r.Tensors) != 45 {
		t.Errorf("remote inventory differs from local (%d and %d tensors)", len(r.Tensors), len(l.Tensors))
	}
	if l.Fetch != nil || r.Fetch == nil || r.Fetch.Requests <= 0 || r.Fetch.Bytes <= 0 || r.Fetch.Requests != requests.Load() {
		t.Errorf("fetch: local %+v, remote %+v (server saw %d requests)", l.Fetch, r.Fetch, requests.Load())
	}

	out, stderr, code := cli(t, "audit", "hf://acme/tiny")
	if code != 0 || !strings.HasPrefix(out, "PASS  ") || !strings.Contains(out, "remote fetched") {
		t.Errorf("remote audit: exit %d, stderr %q, output:\n%s", code, stderr, out)
	}
	if _, stderr, code := cli(t, "inspect", "hf://acme/missing"); code != exitNothing || !strings.Contains(stderr, "acme/missing") {
		t.Errorf("missing repo: exit %d, stderr %q; want %d (nothing to check) naming the repo", code, stderr, exitNothing)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	before := requests.Load()
	if _, stderr, code := cli(t, "inspect", "hf://acme/tiny"); code != 2 || requests.Load() != before {
		t.Errorf("offline: exit %d (%q), %d requests made; want 2 and none", code, stderr, requests.Load()-before)
	}
}

// The local Hugging Face cache comes first: offline, the revision's
// snapshot is read with no request; online, only the listing is fetched
// and files already in the snapshot are read from it.
func TestRemoteHubCache(t *testing.T) {
	srv, requests := fakeHub(t, "../../testdata/tiny/hf-f32", "acme/tiny")
	cache := t.TempDir()
	commit := strings.Repeat("c", 40)
	repo := filepath.Join(cache, "models--acme--tiny")
	snap := filepath.Join(repo, "snapshots", commit)
	if err := os.MkdirAll(filepath.Join(repo, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(snap, os.DirFS("../../testdata/tiny/hf-f32")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "x")
	t.Setenv("HF_HUB_CACHE", cache)

	t.Setenv("HF_HUB_OFFLINE", "1")
	out, stderr, code := cli(t, "audit", "hf://acme/tiny")
	if code != 0 || !strings.HasPrefix(out, "PASS  ") || requests.Load() != 0 {
		t.Fatalf("offline, cached: exit %d (%q), %d requests", code, stderr, requests.Load())
	}
	if _, stderr, code := cli(t, "inspect", "hf://acme/other"); code != 2 || !strings.Contains(stderr, "offline") {
		t.Errorf("offline, not cached: exit %d, stderr %q", code, stderr)
	}

	t.Setenv("HF_HUB_OFFLINE", "")
	out, stderr, code = cli(t, "inspect", "hf://acme/tiny", "--json")
	if code != 0 {
		t.Fatalf("online, cached: exit %d: %s", code, stderr)
	}
	if requests.Load() != 1 {
		t.Errorf("online with every file cached: %d requests, want 1 (the listing)", requests.Load())
	}
	if !strings.Contains(out, `"tensors"`) {
		t.Errorf("no report:\n%s", out)
	}
}

// verify checks each file against the sha256 the Hub publishes for it.
func TestRemoteVerifyLFSDigests(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	srv, _ := fakeHub(t, "../../testdata/tiny/hf-bf16", "acme/tiny")
	t.Setenv("HF_ENDPOINT", srv.URL)
	if out, stderr, code := cli(t, "verify", "hf://acme/tiny"); code != 0 {
		t.Fatalf("verify with correct digests: exit %d (%s)\n%s", code, stderr, out)
	}
	const shard = "model-00002-of-00002.safetensors"
	srv, _ = fakeHubLying(t, "../../testdata/tiny/hf-bf16", "acme/tiny", shard)
	t.Setenv("HF_ENDPOINT", srv.URL)
	out, _, code := cli(t, "verify", "hf://acme/tiny", "--json")
	if code != 1 || !strings.Contains(out, shard) || !strings.Contains(out, strings.Repeat("0", 64)) {
		t.Errorf("verify with a wrong LFS digest for %s: exit %d, want 1 naming the file and the expected digest\n%s", shard, code, out)
	}
}

// verify checks the files not in LFS (config.json, the index) against the
// Git blob ids the Hub lists for them.
func TestRemoteVerifyGitBlobIDs(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	srv, _ := fakeHub(t, "../../testdata/tiny/hf-bf16", "acme/tiny")
	t.Setenv("HF_ENDPOINT", srv.URL)
	type report struct {
		Files []struct {
			Name         string `json:"name"`
			Status       string `json:"status"`
			ExpectedFrom string `json:"expected_from"`
		} `json:"files"`
		Findings []struct {
			Check, File string
		} `json:"findings"`
	}
	out, stderr, code := cli(t, "verify", "hf://acme/tiny", "--json")
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("verify: exit %d (%s), %v", code, stderr, err)
	}
	for _, f := range r.Files {
		want := "Hub LFS sha256"
		if strings.HasSuffix(f.Name, ".json") {
			want = "Hub Git blob id"
		}
		if f.Status != "ok" || f.ExpectedFrom != want {
			t.Errorf("%s: %s by %q, want ok by %q", f.Name, f.Status, f.ExpectedFrom, want)
		}
	}
	srv, _ = fakeHubLying(t, "../../testdata/tiny/hf-bf16", "acme/tiny", "config.json")
	t.Setenv("HF_ENDPOINT", srv.URL)
	out, _, code = cli(t, "verify", "hf://acme/tiny", "--json")
	r = report{}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || len(r.Findings) != 1 ||
		r.Findings[0].Check != "VERIFY-GIT-BLOB" || r.Findings[0].File != "config.json" {
		t.Errorf("verify with a wrong Git blob id for config.json: exit %d, findings %+v; want 1 and one VERIFY-GIT-BLOB naming it", code, r.Findings)
	}
}

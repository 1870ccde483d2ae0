package hub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/hub"
)

func TestParseHF(t *testing.T) {
	const ep = "https://huggingface.co"
	tests := []struct {
		name, spec, endpoint string
		want                 hub.HFRef
		wantErr              string // a substring of the error; "" for success
	}{
		{name: "repo", spec: "hf://Qwen/Qwen3-8B", want: hub.HFRef{Repo: "Qwen/Qwen3-8B", Revision: "main"}},
		{name: "trailing slash", spec: "hf://Qwen/Qwen3-8B/", want: hub.HFRef{Repo: "Qwen/Qwen3-8B", Revision: "main"}},
		{name: "revision", spec: "hf://Qwen/Qwen3-8B@v1.0", want: hub.HFRef{Repo: "Qwen/Qwen3-8B", Revision: "v1.0"}},
		{name: "commit", spec: "hf://o/r@" + fakeCommit, want: hub.HFRef{Repo: "o/r", Revision: fakeCommit}},
		{name: "pr ref", spec: "hf://o/r@refs%2Fpr%2F1", want: hub.HFRef{Repo: "o/r", Revision: "refs/pr/1"}},
		{name: "pr ref unescaped", spec: "hf://o/r@refs/pr/1", wantErr: "refs%2Fpr%2F1"},
		{name: "revision and folder", spec: "hf://o/r@dev/sub/folder", want: hub.HFRef{Repo: "o/r", Revision: "dev", Subfolder: "sub/folder"}},
		{name: "folder at main", spec: "hf://o/r/sub", want: hub.HFRef{Repo: "o/r", Revision: "main", Subfolder: "sub"}},
		{name: "file", spec: "hf://o/r/Q4_K_M/m-00001-of-00002.gguf", want: hub.HFRef{Repo: "o/r", Revision: "main", Subfolder: "Q4_K_M", File: "m-00001-of-00002.gguf"}},
		{name: "file at root", spec: "hf://o/r@v2/model.safetensors", want: hub.HFRef{Repo: "o/r", Revision: "v2", File: "model.safetensors"}},
		{name: "escaped folder", spec: "hf://o/r/my%20dir", want: hub.HFRef{Repo: "o/r", Revision: "main", Subfolder: "my dir"}},
		{name: "owner only", spec: "hf://Qwen", wantErr: "expected hf://OWNER/REPO"},
		{name: "empty revision", spec: "hf://o/r@", wantErr: "expected a revision after '@'"},
		{name: "bad owner", spec: "hf://o!/r", wantErr: `owner "o!"`},
		{name: "dot dot folder", spec: "hf://o/r/../x", wantErr: "expected a file or folder name"},
		{name: "empty segment", spec: "hf://o/r//x", wantErr: "expected a file or folder name"},
		{name: "dataset", spec: "hf://datasets/o/r", wantErr: "dataset repositories are not supported"},
		{name: "bad escape", spec: "hf://o/r@%zz", wantErr: "revision"},
		{name: "page", spec: ep + "/Qwen/Qwen3-8B", want: hub.HFRef{Repo: "Qwen/Qwen3-8B", Revision: "main"}},
		{name: "tree", spec: ep + "/o/r/tree/dev", want: hub.HFRef{Repo: "o/r", Revision: "dev"}},
		{name: "tree folder", spec: ep + "/o/r/tree/main/a/b", want: hub.HFRef{Repo: "o/r", Revision: "main", Subfolder: "a/b"}},
		{name: "tree pr", spec: ep + "/o/r/tree/refs%2Fpr%2F1", want: hub.HFRef{Repo: "o/r", Revision: "refs/pr/1"}},
		{name: "resolve", spec: ep + "/o/r/resolve/main/Q4/x.gguf?download=true", want: hub.HFRef{Repo: "o/r", Revision: "main", Subfolder: "Q4", File: "x.gguf"}},
		{name: "resolve any name", spec: ep + "/o/r/resolve/abc/weights.bin", want: hub.HFRef{Repo: "o/r", Revision: "abc", File: "weights.bin"}},
		{name: "blob", spec: ep + "/o/r/blob/main/model.safetensors", want: hub.HFRef{Repo: "o/r", Revision: "main", File: "model.safetensors"}},
		{name: "resolve without file", spec: ep + "/o/r/resolve/main", wantErr: "expected a file after /resolve/main/"},
		{name: "tree without revision", spec: ep + "/o/r/tree/", wantErr: "expected a revision after /tree/"},
		{name: "other page", spec: ep + "/o/r/discussions/1", wantErr: "expected /tree/REVISION"},
		{name: "other host", spec: "https://example.com/o/r", wantErr: "not a URL of the Hugging Face endpoint"},
		{name: "http for https", spec: "http://huggingface.co/o/r", wantErr: "not a URL of the Hugging Face endpoint"},
		{name: "owner page", spec: ep + "/Qwen", wantErr: "expected https://huggingface.co/OWNER/REPO"},
		{name: "mirror", spec: "http://mirror.local:8080/hf/o/r/tree/main/sub", endpoint: "http://mirror.local:8080/hf/",
			want: hub.HFRef{Repo: "o/r", Revision: "main", Subfolder: "sub"}},
		{name: "mirror outside prefix", spec: "http://mirror.local:8080/o/r", endpoint: "http://mirror.local:8080/hf", wantErr: "not a URL"},
		{name: "bad endpoint", spec: "https://x/o/r", endpoint: "ftp://x", wantErr: "HF_ENDPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hub.ParseHF(tt.spec, tt.endpoint)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, hub.ErrBadSource) {
					t.Fatalf("ParseHF(%q) = %+v, %v; want an ErrBadSource error containing %q", tt.spec, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHF(%q) = %v", tt.spec, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHF(%q) (-want +got):\n%s", tt.spec, diff)
			}
			// The canonical form reads back as the same ref (a file
			// without a model extension reads back as a folder).
			if got.File != "" && !strings.HasSuffix(got.File, ".gguf") && !strings.HasSuffix(got.File, ".safetensors") {
				return
			}
			back, err := hub.ParseHF(got.String(), tt.endpoint)
			if err != nil || back != got {
				t.Errorf("ParseHF(%q) = %+v, %v; want %+v", got.String(), back, err, got)
			}
		})
	}
}

func TestHFOptionsFromEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(filepath.Join(dir, "hfhome", "token"), "hf_fromhome\n")
	write(filepath.Join(dir, "home", ".cache", "huggingface", "token"), "hf_fromdefault\n")
	write(filepath.Join(dir, "xdg", "huggingface", "token"), "hf_fromxdg")
	tokenPath := write(filepath.Join(dir, "elsewhere"), "  hf_frompath  ")
	tests := []struct {
		name string
		env  map[string]string
		want hub.HFOptions
	}{
		{name: "nothing", env: map[string]string{"HOME": filepath.Join(dir, "nohome")}, want: hub.HFOptions{}},
		{name: "token and endpoint", env: map[string]string{"HF_TOKEN": "hf_env", "HF_ENDPOINT": "https://mirror/", "HF_HOME": filepath.Join(dir, "hfhome")},
			want: hub.HFOptions{Token: "hf_env", Endpoint: "https://mirror"}},
		{name: "HF_HOME token file", env: map[string]string{"HF_HOME": filepath.Join(dir, "hfhome")}, want: hub.HFOptions{Token: "hf_fromhome"}},
		{name: "default token file", env: map[string]string{"HOME": filepath.Join(dir, "home")}, want: hub.HFOptions{Token: "hf_fromdefault"}},
		{name: "XDG cache", env: map[string]string{"HOME": filepath.Join(dir, "home"), "XDG_CACHE_HOME": filepath.Join(dir, "xdg")}, want: hub.HFOptions{Token: "hf_fromxdg"}},
		{name: "HF_TOKEN_PATH", env: map[string]string{"HF_TOKEN_PATH": tokenPath, "HF_HOME": filepath.Join(dir, "hfhome")}, want: hub.HFOptions{Token: "hf_frompath"}},
		{name: "offline 1", env: map[string]string{"HF_HUB_OFFLINE": "1"}, want: hub.HFOptions{Offline: true}},
		{name: "offline true", env: map[string]string{"HF_HUB_OFFLINE": "TRUE"}, want: hub.HFOptions{Offline: true}},
		{name: "offline 0", env: map[string]string{"HF_HUB_OFFLINE": "0"}, want: hub.HFOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hub.HFOptionsFromEnv(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got.Token != tt.want.Token || got.Endpoint != tt.want.Endpoint || got.Offline != tt.want.Offline {
				t.Errorf("HFOptionsFromEnv = {Token:%q Endpoint:%q Offline:%v}, want {Token:%q Endpoint:%q Offline:%v}",
					got.Token, got.Endpoint, got.Offline, tt.want.Token, tt.want.Endpoint, tt.want.Offline)
			}
		})
	}
	if _, err := hub.HFOptionsFromEnv(func(k string) string {
		if k == "HF_TOKEN_PATH" {
			return dir // a folder: unreadable as a token file
		}
		return ""
	}); err == nil {
		t.Error("HFOptionsFromEnv with a folder as the token file succeeded")
	}
}

// testRepo is a small repository: a config, an index and two shards, and a
// folder with a GGUF file.
func testRepo() (map[string][]byte, map[string]fakeFile) {
	contents := map[string][]byte{
		"config.json":                      []byte(`{"model_type":"qwen3_moe"}`),
		"model.safetensors.index.json":     []byte(`{"weight_map":{}}`),
		"model-00001-of-00002.safetensors": randomBytes(300_000, 1),
		"model-00002-of-00002.safetensors": randomBytes(70_000, 2),
		"gguf/model-Q4_K_M.gguf":           randomBytes(1_000_000, 3),
		"gguf/nested/x.gguf":               randomBytes(10, 4),
	}
	return contents, memFiles(contents)
}

func TestHFListOpenRead(t *testing.T) {
	contents, files := testRepo()
	for _, noSizes := range []bool{false, true} {
		name := "revision API"
		if noSizes {
			name = "tree API fallback"
		}
		t.Run(name, func(t *testing.T) {
			fh := newFakeHub(t, files)
			fh.noSizes, fh.treePage = noSizes, 2
			ctx := context.Background()
			src := newSource(t, fh, "", hub.HFOptions{}, nil)
			got, err := src.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []hub.FileInfo{
				{"config.json", 26}, {"gguf/model-Q4_K_M.gguf", 1_000_000}, {"gguf/nested/x.gguf", 10},
				{"model-00001-of-00002.safetensors", 300_000}, {"model-00002-of-00002.safetensors", 70_000},
				{"model.safetensors.index.json", 17},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
			if src.Commit() != fakeCommit {
				t.Errorf("Commit() = %q, want %q", src.Commit(), fakeCommit)
			}
			if d, ok := src.Digest("model-00001-of-00002.safetensors"); !ok || d != files["model-00001-of-00002.safetensors"].sha {
				t.Errorf("Digest(shard) = %q, %v; want its sha256", d, ok)
			}
			if d, ok := src.Digest("config.json"); ok {
				t.Errorf("Digest(config.json) = %q, true; want none for a file not in LFS", d)
			}
			for _, name := range []string{"config.json", "model-00001-of-00002.safetensors", "gguf/nested/x.gguf"} {
				f, err := src.Open(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if f.Size() != int64(len(contents[name])) {
					t.Errorf("Open(%s).Size() = %d, want %d", name, f.Size(), len(contents[name]))
				}
				if err := iotest.TestReader(io.NewSectionReader(f, 0, f.Size()), contents[name]); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				f.Close()
			}
			b, err := hub.ReadFile(ctx, src, "config.json", 1<<20)
			if err != nil || string(b) != string(contents["config.json"]) {
				t.Errorf("ReadFile(config.json) = %q, %v", b, err)
			}
			if _, err := src.Open(ctx, "missing.gguf"); !errors.Is(err, hub.ErrNotExist) {
				t.Errorf("Open(missing) = %v, want ErrNotExist", err)
			}
			if _, err := src.Open(ctx, ".gitattributes"); !errors.Is(err, hub.ErrNotExist) {
				t.Errorf("Open(.gitattributes) = %v, want ErrNotExist (hidden files are not listed)", err)
			}
			// Reads go to the pinned commit.
			for _, r := range fh.requests("hub") {
				if strings.Contains(r.path, "/resolve/") && !strings.Contains(r.path, "/resolve/"+fakeCommit+"/") {
					t.Errorf("resolve request %s is not pinned to the listed commit", r.path)
				}
			}
			// A folder lists its files with names relative to it.
			sub := newSource(t, fh, "hf://"+fakeRepo+"/gguf", hub.HFOptions{}, nil)
			got, err = sub.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := []hub.FileInfo{{"model-Q4_K_M.gguf", 1_000_000}, {"nested/x.gguf", 10}}; !cmp.Equal(want, got) {
				t.Errorf("List(gguf folder) = %v, want %v", got, want)
			}
			f, err := sub.Open(ctx, "nested/x.gguf")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := iotest.TestReader(io.NewSectionReader(f, 0, f.Size()), contents["gguf/nested/x.gguf"]); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestHFReadAtContract(t *testing.T) {
	contents, files := testRepo()
	fh := newFakeHub(t, files)
	src := newSource(t, fh, "", hub.HFOptions{}, nil)
	f, err := src.Open(context.Background(), "model-00002-of-00002.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := contents["model-00002-of-00002.safetensors"]
	p := make([]byte, 100)
	n, err := f.ReadAt(p, int64(len(data))-40)
	if n != 40 || err != io.EOF || string(p[:40]) != string(data[len(data)-40:]) {
		t.Errorf("ReadAt(100 bytes, 40 before the end) = %d, %v; want 40 and io.EOF", n, err)
	}
	if n, err := f.ReadAt(p, int64(len(data))); n != 0 || err != io.EOF {
		t.Errorf("ReadAt(at the end) = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := f.ReadAt(p, -1); err == nil {
		t.Error("ReadAt(at -1) succeeded")
	}
	if n, err := f.ReadAt(nil, 5); n != 0 || err != nil {
		t.Errorf("ReadAt(nil, 5) = %d, %v; want 0, nil", n, err)
	}
}

func TestHFAuthorizationStaysOnHub(t *testing.T) {
	contents, files := testRepo()
	fh := newFakeHub(t, files)
	fh.gated = true
	src := newSource(t, fh, "", hub.HFOptions{Token: goodToken}, nil)
	ctx := context.Background()
	for _, name := range []string{"model-00001-of-00002.safetensors", "config.json"} {
		f, err := src.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := iotest.TestReader(io.NewSectionReader(f, 0, f.Size()), contents[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		f.Close()
	}
	hubReqs, storageReqs := fh.requests("hub"), fh.requests("storage")
	if len(hubReqs) == 0 || len(storageReqs) == 0 {
		t.Fatalf("%d requests to the hub and %d to storage, want some of each", len(hubReqs), len(storageReqs))
	}
	for _, r := range hubReqs {
		if got := r.header.Get("Authorization"); got != "Bearer "+goodToken {
			t.Errorf("hub request %s: Authorization %q, want the token", r.path, got)
		}
	}
	for _, r := range storageReqs {
		if got := r.header.Get("Authorization"); got != "" {
			t.Errorf("storage request %s: Authorization %q, want none", r.path, got)
		}
		if r.header.Get("Range") == "" {
			t.Errorf("storage request %s without a Range header", r.path)
		}
	}
}

func TestHFRetries(t *testing.T) {
	contents, files := testRepo()
	const name = "model-00001-of-00002.safetensors"
	data := contents[name]
	tests := []struct {
		name      string
		route     string
		faults    []fault
		wantWaits []time.Duration // waits that must appear, in order; -1 for any backoff
		// wantLastRange, when set, is the Range of the last storage request.
		wantLastRange string
	}{
		{name: "429 with Retry-After on resolve", route: "resolve", faults: []fault{statusFault(429, "2")}, wantWaits: []time.Duration{2 * time.Second}},
		{name: "429 with an HTTP date", route: "storage",
			faults:    []fault{statusFault(429, time.Now().Add(10*time.Second).UTC().Format(http.TimeFormat))},
			wantWaits: []time.Duration{10 * time.Second}}, // within MaxWait (a longer one fails: TestRetryAfterTooLong)
		{name: "503 on the listing", route: "api", faults: []fault{statusFault(503, "")}, wantWaits: []time.Duration{-1}},
		{name: "500 twice on storage", route: "storage", faults: []fault{statusFault(500, ""), statusFault(502, "")}, wantWaits: []time.Duration{-1, -1}},
		{name: "truncated body", route: "storage", faults: []fault{truncatedFault(data)}, wantWaits: []time.Duration{-1},
			wantLastRange: "bytes=51000-100999"}, // the retry asks only for what is missing
		{name: "connection reset", route: "storage", faults: []fault{resetFault}, wantWaits: []time.Duration{-1}},
		// A body that stops after it had been arriving is retried once for
		// the rest (a host that never answers is not: TestStall).
		{name: "stall after progress", route: "storage", faults: []fault{stallAfterFault(data)}, wantWaits: []time.Duration{-1},
			wantLastRange: "bytes=51000-100999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := newFakeHub(t, files)
			fh.addFault(tt.route, tt.faults...)
			var waits []time.Duration
			src := newSource(t, fh, "", hub.HFOptions{Backoff: time.Millisecond, StallTimeout: 500 * time.Millisecond}, &waits)
			f, err := src.Open(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p := make([]byte, 100_000)
			if _, err := f.ReadAt(p, 1000); err != nil || string(p) != string(data[1000:101_000]) {
				t.Fatalf("ReadAt after %s = %v (or wrong bytes)", tt.name, err)
			}
			if reqs := fh.requests("storage"); tt.wantLastRange != "" && reqs[len(reqs)-1].header.Get("Range") != tt.wantLastRange {
				t.Errorf("last storage request asked for %q, want %q", reqs[len(reqs)-1].header.Get("Range"), tt.wantLastRange)
			}
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits = %v, want %d", waits, len(tt.wantWaits))
			}
			for i, w := range tt.wantWaits {
				switch {
				case w < 0 && (waits[i] <= 0 || waits[i] > 16*time.Millisecond):
					t.Errorf("wait %d = %v, want a backoff of a few ms", i, waits[i])
				case w >= 0 && (waits[i] < w-time.Second || waits[i] > w):
					t.Errorf("wait %d = %v, want %v", i, waits[i], w)
				}
			}
		})
	}
	t.Run("gives up", func(t *testing.T) {
		fh := newFakeHub(t, files)
		for range 10 {
			fh.addFault("storage", statusFault(429, "1"))
		}
		var waits []time.Duration
		src := newSource(t, fh, "", hub.HFOptions{Retries: 3}, &waits)
		f, err := src.Open(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = f.ReadAt(make([]byte, 10), 0)
		var he *hub.HTTPError
		if !errors.Is(err, hub.ErrUnavailable) || !errors.As(err, &he) || he.StatusCode != 429 || !strings.Contains(err.Error(), "after 3 retries") {
			t.Errorf("ReadAt against a server that keeps answering 429 = %v, want ErrUnavailable after 3 retries", err)
		}
		if len(waits) != 3 {
			t.Errorf("waited %d times, want 3", len(waits))
		}
	})
	t.Run("context canceled", func(t *testing.T) {
		fh := newFakeHub(t, files)
		ctx, cancel := context.WithCancel(context.Background())
		src := newSource(t, fh, "", hub.HFOptions{}, nil)
		f, err := src.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cancel()
		if _, err := f.ReadAt(make([]byte, 10), 0); !errors.Is(err, context.Canceled) {
			t.Errorf("ReadAt after the Open context was canceled = %v, want context.Canceled", err)
		}
	})
}

func TestHFErrors(t *testing.T) {
	_, files := testRepo()
	tests := []struct {
		name  string
		ref   string
		token string
		gated bool
		open  string // "" to stop after List
		want  error
		// resolveFault answers the resolve request in place of the fake.
		resolveFault fault
		wantText     []string
	}{
		{name: "repo not found", ref: "hf://owner/nope", want: hub.ErrNotFound,
			wantText: []string{`repository "owner/nope" not found`, "RepoNotFound", "set HF_TOKEN"}},
		{name: "revision not found", ref: "hf://owner/repo@nope", want: hub.ErrNotFound,
			wantText: []string{`revision "nope" not found in repository "owner/repo"`, "RevisionNotFound"}},
		{name: "pr revision", ref: "hf://owner/repo@refs%2Fpr%2F1", open: "config.json"},
		{name: "entry not found", ref: "hf://owner/repo", open: "model-00002-of-00002.safetensors", want: hub.ErrNotExist,
			resolveFault: func(w http.ResponseWriter, r *http.Request) {
				hfError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
			},
			wantText: []string{`file "model-00002-of-00002.safetensors" not found in repository "owner/repo"`, "EntryNotFound"}},
		{name: "gated", ref: "hf://owner/repo", gated: true, open: "model-00001-of-00002.safetensors", want: hub.ErrAuth,
			wantText: []string{`gated repository "owner/repo"`, "set HF_TOKEN", "401", "GatedRepo", "is restricted"}},
		{name: "gated with a bad token", ref: "hf://owner/repo", token: "hf_bad", gated: true, open: "config.json", want: hub.ErrAuth,
			wantText: []string{"the token in use has no access"}},
		{name: "gated with a good token", ref: "hf://owner/repo", token: goodToken, gated: true, open: "config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := newFakeHub(t, files)
			fh.gated = tt.gated
			if tt.resolveFault != nil {
				fh.addFault("resolve", tt.resolveFault)
			}
			src := newSource(t, fh, tt.ref, hub.HFOptions{Token: tt.token}, nil)
			ctx := context.Background()
			_, err := src.List(ctx)
			if err == nil && tt.open != "" {
				var f hub.File
				if f, err = src.Open(ctx, tt.open); err == nil {
					_, err = f.ReadAt(make([]byte, 1), 0)
					f.Close()
				}
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var he *hub.HTTPError
			if !errors.As(err, &he) {
				t.Errorf("%v is not an *HTTPError", err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "X-Signature") {
				t.Errorf("error %q shows a signed URL's query", err)
			}
		})
	}
}

func TestHFBadResponses(t *testing.T) {
	contents, files := testRepo()
	const name = "model-00001-of-00002.safetensors"
	tests := []struct {
		name  string
		setup func(fh *fakeHub)
		want  string
	}{
		{name: "wrong Content-Range", setup: func(fh *fakeHub) { fh.addFault("storage", wrongRangeFault(len(contents[name]))) }, want: "Content-Range"},
		{name: "X-Linked-Size disagrees", setup: func(fh *fakeHub) { fh.linkedSize = "12" }, want: "X-Linked-Size"},
		{name: "redirect without Location", setup: func(fh *fakeHub) { fh.addFault("resolve", statusFault(http.StatusFound, "")) }, want: "without a Location"},
		{name: "listing not JSON", setup: func(fh *fakeHub) {
			fh.addFault("api", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") })
		}, want: "bad response"},
		{name: "listing escapes the repository", setup: func(fh *fakeHub) {
			fh.addFault("api", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"siblings":[{"rfilename":"../../etc/passwd","size":1}]}`)
			})
		}, want: `file name "../../etc/passwd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := newFakeHub(t, files)
			tt.setup(fh)
			src := newSource(t, fh, "", hub.HFOptions{Backoff: time.Millisecond}, nil)
			f, err := src.Open(context.Background(), name)
			if err == nil {
				_, err = f.ReadAt(make([]byte, 10), 0)
				f.Close()
			}
			if !errors.Is(err, hub.ErrBadResponse) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrBadResponse mentioning %q", err, tt.want)
			}
		})
	}
}

func TestHFSignedURLExpires(t *testing.T) {
	contents, files := testRepo()
	const name = "gguf/model-Q4_K_M.gguf"
	fh := newFakeHub(t, files)
	fh.signedUses = 1 // each download URL the hub hands out works once
	src := newSource(t, fh, "", hub.HFOptions{FirstRead: 64 << 10}, nil)
	f, err := src.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := make([]byte, 100_000)
	for _, off := range []int64{0, 500_000} {
		if _, err := f.ReadAt(p, off); err != nil || string(p) != string(contents[name][off:off+100_000]) {
			t.Fatalf("ReadAt(%d) = %v (or wrong bytes)", off, err)
		}
	}
	var resolves int
	for _, r := range fh.requests("hub") {
		if strings.Contains(r.path, "/resolve/") {
			resolves++
		}
	}
	if resolves != 2 {
		t.Errorf("%d resolve requests, want 2 (one more after the cached URL expired)", resolves)
	}
	// Always refused: one re-resolve, then a clear error.
	fh.signedUses = 0
	fh.addFault("storage", statusFault(403, ""), statusFault(403, ""))
	if _, err := f.ReadAt(p, 200_000); !errors.Is(err, hub.ErrAuth) || !strings.Contains(err.Error(), "storage host") {
		t.Errorf("ReadAt with storage refusing = %v, want ErrAuth naming the storage host", err)
	}
}

func TestHFRangeIgnored(t *testing.T) {
	const size = 1 << 30
	head := randomBytes(100_000, 7)
	files := map[string]fakeFile{"big.safetensors": {r: &hub.Virtual{Head: head, Len: size}, size: size, lfs: true, sha: strings.Repeat("a", 64)}}
	fh := newFakeHub(t, files)
	fh.ignoreRange = true
	src := newSource(t, fh, "", hub.HFOptions{}, nil)
	f, err := src.Open(context.Background(), "big.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A header read as safetensors.Read does it: 8 bytes, then the rest.
	p := make([]byte, 8)
	if _, err := f.ReadAt(p, 0); err != nil || string(p) != string(head[:8]) {
		t.Fatalf("ReadAt(8 at 0) = %v", err)
	}
	p = make([]byte, 90_000)
	if _, err := f.ReadAt(p, 8); err != nil || string(p) != string(head[8:90_008]) {
		t.Fatalf("ReadAt(90000 at 8) = %v", err)
	}
	// A little further in still works, re-reading the front of the stream.
	p = make([]byte, 1000)
	if _, err := f.ReadAt(p, 1<<20); err != nil || string(p) != string(make([]byte, 1000)) {
		t.Fatalf("ReadAt(1000 at 1 MiB) = %v", err)
	}
	_, err = f.ReadAt(p, 512<<20)
	if !errors.Is(err, hub.ErrRangeIgnored) || !strings.Contains(err.Error(), "server ignores Range requests") {
		t.Errorf("ReadAt(at 512 MiB) = %v, want ErrRangeIgnored", err)
	}
	// Let the server's writes to closed connections fail before counting.
	time.Sleep(50 * time.Millisecond)
	if got, stats := fh.storageWritten.Load(), src.Stats(); got > 32<<20 || stats.Bytes > 4<<20 {
		t.Errorf("storage wrote %d bytes and the source read %d of a 1 GiB file; want a few MB at most", got, stats.Bytes)
	}
}

func TestHFReadAhead(t *testing.T) {
	ggufData := randomBytes(6<<20, 9)
	contents := map[string][]byte{"model.gguf": ggufData}
	for i := range 6 {
		// safetensors-like: 8-byte length, a ~40 KB header, then data
		contents[fmt.Sprintf("s%d.safetensors", i)] = randomBytes(1<<20, uint64(20+i))
	}
	fh := newFakeHub(t, memFiles(contents))
	ctx := context.Background()
	src := newSource(t, fh, "", hub.HFOptions{}, nil)

	storageRequests := func() int { n := len(fh.requests("storage")); fh.resetRequests(); return n }

	// A 6 MB sequential read in 64 KiB steps, as gguf.Read does.
	f, err := src.Open(ctx, "model.gguf")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 64<<10)
	for off := 0; off < len(ggufData); off += len(p) {
		n, err := f.ReadAt(p, int64(off))
		if err != nil && !(err == io.EOF && off+n == len(ggufData)) {
			t.Fatalf("ReadAt(%d) = %v", off, err)
		}
		if string(p[:n]) != string(ggufData[off:off+n]) {
			t.Fatalf("ReadAt(%d): wrong bytes", off)
		}
	}
	f.Close()
	if n := storageRequests(); n > 8 {
		t.Errorf("6 MB read sequentially took %d range requests, want at most 8", n)
	}

	// Headers of 40 KB: the first file's takes one request; later files'
	// first fetches shrink to about what the header needed.
	before := src.Stats()
	for i := range 6 {
		f, err := src.Open(ctx, fmt.Sprintf("s%d.safetensors", i))
		if err != nil {
			t.Fatal(err)
		}
		hdr := make([]byte, 8)
		if _, err := f.ReadAt(hdr, 0); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 40_000+i*100)
		if _, err := f.ReadAt(body, 8); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if n := storageRequests(); n != 1 {
			t.Errorf("header of file %d took %d range requests, want 1", i, n)
		}
	}
	fetched := src.Stats().Bytes - before.Bytes
	// The first file fetches 256 KiB; the other five about 45 KB each.
	if want := int64(256<<10 + 5*50_000); fetched > want {
		t.Errorf("six 40 KB headers fetched %d bytes, want at most %d", fetched, want)
	}
}

// TestHFProbe checks that of files opened together, one makes its first
// fetch alone and the others size theirs by it; and that the others never
// wait long for a probe that is held open or outgrows its first fetch.
func TestHFProbe(t *testing.T) {
	contents := map[string][]byte{}
	for i := range 8 {
		contents[fmt.Sprintf("s%d.safetensors", i)] = randomBytes(1<<20, uint64(40+i))
	}
	// readHeader reads as safetensors.Read does: 8 bytes, then the header.
	readHeader := func(src *hub.HFSource, name string, n int) error {
		f, err := src.Open(context.Background(), name)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.ReadAt(make([]byte, 8), 0); err != nil {
			return err
		}
		_, err = f.ReadAt(make([]byte, n), 8)
		return err
	}
	readAll := func(t *testing.T, src *hub.HFSource, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(contents))
		for name := range contents {
			wg.Go(func() { errs <- readHeader(src, name, n) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("together", func(t *testing.T) {
		fh := newFakeHub(t, memFiles(contents))
		opts := hub.HFOptions{}
		hub.SetProbeWaitForTest(&opts, time.Minute) // a missed release would show as a stall
		src := newSource(t, fh, "", opts, nil)
		if _, err := src.List(context.Background()); err != nil {
			t.Fatal(err)
		}
		before, start := src.Stats(), time.Now()
		readAll(t, src, 40_000)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("8 headers took %v", d)
		}
		// One fetch of 256 KiB, seven of about 42 KB.
		if got, want := src.Stats().Bytes-before.Bytes, int64(256<<10+7*45_000); got > want {
			t.Errorf("8 headers of 40 KB read together fetched %d bytes, want at most %d", got, want)
		}
	})
	t.Run("outgrown", func(t *testing.T) {
		fh := newFakeHub(t, memFiles(contents))
		opts := hub.HFOptions{FirstRead: 16 << 10}
		hub.SetProbeWaitForTest(&opts, time.Minute)
		src := newSource(t, fh, "", opts, nil)
		start := time.Now()
		readAll(t, src, 40_000) // headers larger than the first fetch
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("8 headers larger than a first fetch took %v: the probe was not released", d)
		}
	})
	t.Run("held open", func(t *testing.T) {
		fh := newFakeHub(t, memFiles(contents))
		opts := hub.HFOptions{}
		hub.SetProbeWaitForTest(&opts, 100*time.Millisecond)
		src := newSource(t, fh, "", opts, nil)
		probe, err := src.Open(context.Background(), "s0.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		defer probe.Close()
		if _, err := probe.ReadAt(make([]byte, 8), 0); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := readHeader(src, "s1.safetensors", 40_000); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
			t.Errorf("a header read behind a probe held open took %v, want about the 100ms wait", d)
		}
	})
}

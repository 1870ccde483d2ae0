package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/hub"
)

// virtualHub serves a synthesized layout as the Hub would: its files are
// their heads followed by zeros, never held whole.
func virtualHub(tb testing.TB, l *synth.Layout, repo string) *httptest.Server {
	tb.Helper()
	type lfs struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		Size      int64  `json:"size"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	files := map[string]io.ReadSeeker{}
	var siblings []sibling
	for _, f := range l.Files {
		files[f.Name] = io.NewSectionReader(&hub.Virtual{Head: f.Head, Len: f.Size}, 0, f.Size)
		s := sibling{RFilename: f.Name, Size: f.Size}
		if !strings.HasSuffix(f.Name, ".json") {
			sum := sha256.Sum256([]byte(f.Name)) // a stand-in: the data is virtual
			s.LFS = &lfs{SHA256: hex.EncodeToString(sum[:]), Size: f.Size}
		}
		siblings = append(siblings, s)
	}
	listing, _ := json.Marshal(map[string]any{"sha": strings.Repeat("a", 40), "siblings": siblings})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/models/"+repo+"/revision/main":
			w.Write(listing)
		case strings.HasPrefix(r.URL.Path, "/"+repo+"/resolve/"):
			name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
			f, ok := files[name]
			if !ok {
				w.Header().Set("X-Error-Code", "EntryNotFound")
				http.Error(w, "no such file", http.StatusNotFound)
				return
			}
			http.ServeContent(w, r, name, time.Time{}, f)
		default:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "not found", http.StatusNotFound)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// inspect and audit of the 235B layouts on a Hub fetch at most 1.1 times
// what the load needs (headers, index and config), and say so.
func TestRemoteFetchRatio(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	for _, name := range []string{"safetensors", "gguf"} {
		t.Run(name, func(t *testing.T) {
			l, err := synth.Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			var need int64
			for _, f := range l.Files {
				need += int64(len(f.Head))
			}
			t.Setenv("HF_ENDPOINT", virtualHub(t, l, "acme/big").URL)
			out, stderr, code := cli(t, "inspect", "hf://acme/big", "--json", "--no-cache")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var r struct {
				Fetch struct {
					Requests    int64   `json:"requests"`
					Bytes       int64   `json:"bytes"`
					HeaderBytes int64   `json:"header_bytes"`
					Ratio       float64 `json:"ratio"`
				} `json:"fetch"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			// The heads of GGUF files run to the data's alignment; the
			// header bytes count them too.
			if r.Fetch.HeaderBytes != need || r.Fetch.Ratio > 1.1 || r.Fetch.Ratio < 1 {
				t.Errorf("fetch %+v; want header_bytes %d (headers, index and config) and a ratio in [1, 1.1]", r.Fetch, need)
			}
		})
	}
}

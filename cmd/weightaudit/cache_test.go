package main

import (
	"encoding/json"
	"os"
	"testing"
)

// inspectRemote runs inspect --json and returns its tensors, its fetch
// section and the requests the server saw meanwhile.
func inspectRemote(t *testing.T, requests interface{ Load() int64 }, args ...string) (string, fetchJSON, int64) {
	t.Helper()
	before := requests.Load()
	out, stderr, code := cli(t, append([]string{"inspect", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("inspect %v: exit %d: %s", args, code, stderr)
	}
	var r struct {
		Tensors json.RawMessage `json:"tensors"`
		Fetch   fetchJSON       `json:"fetch"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return string(r.Tensors), r.Fetch, requests.Load() - before
}

type fetchJSON struct {
	Requests    int64 `json:"requests"`
	Bytes       int64 `json:"bytes"`
	CachedBytes int64 `json:"cached_bytes"`
}

// A second look at a Hub repository reads the shards' headers from the
// header cache; --no-cache neither reads nor writes it.
func TestHeaderCacheCLI(t *testing.T) {
	srv, requests := fakeHub(t, "../../testdata/tiny/hf-bf16", "acme/tiny")
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	cache := t.TempDir()
	t.Setenv("WEIGHTAUDIT_CACHE", cache)

	tensors, first, n1 := inspectRemote(t, requests, "hf://acme/tiny")
	if first.CachedBytes != 0 || first.Requests != n1 {
		t.Errorf("first run: %+v, server saw %d requests; want nothing cached and the requests counted", first, n1)
	}
	again, second, n2 := inspectRemote(t, requests, "hf://acme/tiny")
	if again != tensors {
		t.Error("second run lists other tensors")
	}
	// The shards' headers (by LFS sha256), config.json and the index (by
	// Git blob id) come from the cache: only the listing is fetched.
	if second.CachedBytes == 0 || n2 != 1 || second.Requests != n2 {
		t.Errorf("second run: %+v, server saw %d requests; want 1 request and cached bytes", second, n2)
	}

	_, nocache, n3 := inspectRemote(t, requests, "hf://acme/tiny", "--no-cache")
	if nocache.CachedBytes != 0 || n3 <= n2 {
		t.Errorf("--no-cache: %+v, %d requests; want nothing cached and more than %d requests", nocache, n3, n2)
	}
	empty := t.TempDir()
	t.Setenv("WEIGHTAUDIT_CACHE", empty)
	inspectRemote(t, requests, "hf://acme/tiny", "--no-cache")
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("--no-cache wrote %d entries into the cache folder", len(ents))
	}
	// verify never takes headers from the cache: TestVerifyOCIRawLayers.
}

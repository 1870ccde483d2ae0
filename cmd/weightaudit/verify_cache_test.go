package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// cacheEntries lists every file, link and folder under dir, relative.
func cacheEntries(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// verify --cache of a Hub repository fills the Hugging Face cache so that
// a later audit of it reads no file from the Hub (and, offline, makes no
// request at all); without --cache nothing is written.
func TestVerifyCacheHub(t *testing.T) {
	const fixture = "../../testdata/tiny/hf-bf16"
	srv, requests := fakeHub(t, fixture, "acme/tiny")
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "")

	if _, stderr, code := cli(t, "verify", "hf://acme/tiny"); code != 0 {
		t.Fatalf("verify: exit %d: %s", code, stderr)
	}
	if got := cacheEntries(t, cache); len(got) != 0 {
		t.Fatalf("verify without --cache wrote %q into the cache", got)
	}

	stdout, stderr, code := cli(t, "verify", "hf://acme/tiny", "--cache", "--json")
	if code != 0 {
		t.Fatalf("verify --cache: exit %d: %s", code, stderr)
	}
	var r struct {
		Files []struct {
			Name, Status, Copy string
			From               string `json:"expected_from"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Files {
		if f.Copy != "stored" {
			t.Errorf("verify --cache: file %s copy %q, want stored", f.Name, f.Copy)
		}
		if lfs := strings.HasSuffix(f.Name, ".safetensors"); lfs != (f.Status == "ok" && f.From == "Hub LFS sha256") {
			t.Errorf("file %s: status %q against %q", f.Name, f.Status, f.From)
		}
	}
	if !strings.Contains(stderr, "stored 4 file(s), 0 already there, 0 not stored") {
		t.Errorf("verify --cache stderr = %q", stderr)
	}
	// The layout: blobs by LFS sha256 or Git blob hash, snapshot links, the ref.
	repo := filepath.Join(cache, "models--acme--tiny")
	commit := strings.Repeat("a", 40)
	if b, err := os.ReadFile(filepath.Join(repo, "refs", "main")); err != nil || string(b) != commit {
		t.Errorf("refs/main = %q, %v", b, err)
	}
	entries, _ := os.ReadDir(fixture)
	for _, e := range entries {
		want, _ := os.ReadFile(filepath.Join(fixture, e.Name()))
		link := filepath.Join(repo, "snapshots", commit, e.Name())
		target, err := os.Readlink(link)
		if err != nil {
			t.Errorf("snapshot entry %s: %v", e.Name(), err)
			continue
		}
		blob := filepath.Base(target)
		sum := sha256.Sum256(want)
		if lfs := strings.HasSuffix(e.Name(), ".safetensors"); lfs && blob != hex.EncodeToString(sum[:]) || !lfs && len(blob) != 40 {
			t.Errorf("%s links to blob %s, want its sha256 (LFS) or its 40-digit Git blob hash", e.Name(), blob)
		}
		if got, err := os.ReadFile(link); err != nil || string(got) != string(want) {
			t.Errorf("%s read through the cache: %d bytes, %v", e.Name(), len(got), err)
		}
	}

	// Online, the listing is the only request; offline, there is none.
	before := requests.Load()
	out, stderr, code := cli(t, "audit", "hf://acme/tiny")
	if code != 0 || !strings.HasPrefix(out, "PASS  ") {
		t.Fatalf("audit after verify --cache: exit %d: %s\n%s", code, stderr, out)
	}
	if n := requests.Load() - before; n != 1 {
		t.Errorf("audit after verify --cache: %d requests, want 1 (the listing)", n)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	before = requests.Load()
	out, stderr, code = cli(t, "audit", "hf://acme/tiny")
	if code != 0 || !strings.HasPrefix(out, "PASS  ") || requests.Load() != before {
		t.Errorf("offline audit after verify --cache: exit %d, %d requests (%s)\n%s", code, requests.Load()-before, stderr, out)
	}
	// A second verify --cache has nothing to store.
	_, stderr, code = cli(t, "verify", "hf://acme/tiny", "--cache")
	if code != 0 || !strings.Contains(stderr, "note: --cache: the Hub did not name the commit") {
		t.Errorf("offline verify --cache: exit %d, stderr %q", code, stderr)
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	_, stderr, code = cli(t, "verify", "hf://acme/tiny", "--cache")
	if code != 0 || !strings.Contains(stderr, "stored 0 file(s), 4 already there") {
		t.Errorf("second verify --cache: exit %d, stderr %q", code, stderr)
	}
}

// A file whose bytes are not its LFS digest fails verify and is not
// cached, leaving nothing behind; the others are cached.
func TestVerifyCacheRefusesMismatch(t *testing.T) {
	const shard = "model-00002-of-00002.safetensors"
	srv, _ := fakeHubLying(t, "../../testdata/tiny/hf-bf16", "acme/tiny", shard)
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "")
	stdout, _, code := cli(t, "verify", "hf://acme/tiny", "--cache")
	if code != 1 || !strings.Contains(stdout, shard) || !strings.Contains(stdout, "not stored: hf cache: "+shard+": sha256") {
		t.Errorf("verify --cache with a wrong LFS digest: exit %d, want 1 naming %s as not stored\n%s", code, shard, stdout)
	}
	for _, e := range cacheEntries(t, cache) {
		if strings.Contains(e, shard) || strings.Contains(e, strings.Repeat("0", 64)) || strings.Contains(e, "incomplete") {
			t.Errorf("cache holds %s after the mismatch", e)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "models--acme--tiny", "snapshots", strings.Repeat("a", 40), "config.json")); err != nil {
		t.Errorf("the good files are not cached: %v", err)
	}
}

// --cache does nothing for a local SOURCE: neither the Hugging Face cache
// nor the blob store is written. (Registry sources: verify_cache_oci_test.go.)
func TestVerifyCacheOtherSources(t *testing.T) {
	cache, wa := t.TempDir(), t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("WEIGHTAUDIT_CACHE", wa)
	_, stderr, code := cli(t, "verify", "../../testdata/tiny/hf-f32", "--cache")
	if code != 0 || !strings.Contains(stderr, "note: --cache does nothing for ../../testdata/tiny/hf-f32: its files are local already") {
		t.Errorf("verify --cache of a folder: exit %d, stderr %q", code, stderr)
	}
	if got := append(cacheEntries(t, cache), cacheEntries(t, wa)...); len(got) != 0 {
		t.Errorf("verify --cache of a folder wrote %q", got)
	}
}

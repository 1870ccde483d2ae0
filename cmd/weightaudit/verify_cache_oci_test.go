package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/weightaudit/weightaudit/hub"
)

// copyReport is the part of `verify --json` the --cache tests of registry
// sources read.
type copyReport struct {
	Pass  bool `json:"pass"`
	Files []struct {
		Name      string `json:"name"`
		Status    string `json:"status"`
		Copy      string `json:"copy"`
		CopyError string `json:"copy_error"`
	} `json:"files"`
}

// verifyCopies runs verify --json with args, checks the exit code and
// parses the report.
func verifyCopies(tb testing.TB, code int, args ...string) (copyReport, string) {
	tb.Helper()
	stdout, stderr, got := cli(tb, append([]string{"verify", "--json"}, args...)...)
	if got != code {
		tb.Fatalf("verify %s: exit %d, want %d: %s\n%s", strings.Join(args, " "), got, code, stderr, stdout)
	}
	var r copyReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		tb.Fatalf("verify %s: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	return r, stderr
}

// withoutFetch drops the line saying what a remote source fetched, the
// one line of a report that depends on where the bytes came from.
func withoutFetch(out string) string {
	var keep []string
	for l := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(l); len(f) < 2 || f[0] != "remote" || f[1] != "fetched" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// blobFiles returns the store's blob files, relative to the cache
// folder, for a check against what was stored.
func blobFiles(digests ...v1.Hash) []string {
	out := []string{"blobs", "blobs/sha256"}
	for _, d := range digests {
		out = append(out, "blobs/sha256/"+d.Hex)
	}
	slices.Sort(out)
	return out
}

// verify --cache of an artifact with two raw GGUF layers stores both
// blobs, checked, in the blob store; inspect and audit then read them from
// there (no blob request, the same report), while verify, and any command
// with --no-cache, still fetches them; without --cache nothing is written.
func TestVerifyCacheOCI(t *testing.T) {
	host, tp := ociRegistry(t)
	parts := [][]byte{readTiny(t, "gguf/tiny-q8_0-00001-of-00002.gguf"), readTiny(t, "gguf/tiny-q8_0-00002-of-00002.gguf")}
	digests := pushModel(t, host, "models/tiny:q8", hub.MediaDockerConfigV01,
		[]testLayer{{data: parts[0], mt: hub.MediaDockerGGUF}, {data: parts[1], mt: hub.MediaDockerGGUF}})
	src := "oci://" + host + "/models/tiny:q8"
	cache := t.TempDir()
	t.Setenv("WEIGHTAUDIT_CACHE", cache)
	gets := func() [2]int { return [2]int{tp.blobGets(digests[0].String()), tp.blobGets(digests[1].String())} }
	fetched := func(before [2]int) [2]int {
		now := gets()
		return [2]int{now[0] - before[0], now[1] - before[1]}
	}

	// Without --cache nothing is written.
	r, _ := verifyCopies(t, 0, src)
	for _, f := range r.Files {
		if f.Copy != "" {
			t.Errorf("verify without --cache: file %s copy %q", f.Name, f.Copy)
		}
	}
	want := map[string]string{}
	for _, cmd := range []string{"inspect", "audit"} {
		before := gets()
		out, stderr, code := cli(t, cmd, "--no-cache", src)
		if code != 0 {
			t.Fatalf("%s --no-cache: exit %d: %s", cmd, code, stderr)
		}
		if n := fetched(before); n[0] == 0 || n[1] == 0 {
			t.Errorf("%s --no-cache: blob GET requests %v, want some of each", cmd, n)
		}
		want[cmd] = withoutFetch(out)
	}
	if got := cacheEntries(t, cache); len(got) != 0 {
		t.Fatalf("without --cache the cache folder holds %q", got)
	}

	r, stderr := verifyCopies(t, 0, src, "--cache")
	if len(r.Files) != 2 {
		t.Fatalf("verify --cache: %d files, want 2", len(r.Files))
	}
	for _, f := range r.Files {
		if f.Status != "ok" || f.Copy != "stored" {
			t.Errorf("verify --cache: file %s status %q copy %q (%s), want ok and stored", f.Name, f.Status, f.Copy, f.CopyError)
		}
	}
	if !strings.Contains(stderr, "blob store "+filepath.Join(cache, "blobs")+": stored 2 layer(s), 0 already there, 0 not stored") {
		t.Errorf("verify --cache stderr = %q", stderr)
	}
	if diff := cmp.Diff(blobFiles(digests...), cacheEntries(t, cache)); diff != "" {
		t.Errorf("cache folder after verify --cache (-want +got):\n%s", diff)
	}
	for i, d := range digests {
		if b, err := os.ReadFile(filepath.Join(cache, "blobs", "sha256", d.Hex)); err != nil || !bytes.Equal(b, parts[i]) {
			t.Errorf("stored blob %s: %d bytes, %v; want the layer's %d", d, len(b), err, len(parts[i]))
		}
	}

	// inspect and audit read the layers from the store: the manifest is
	// their only request.
	for _, cmd := range []string{"inspect", "audit"} {
		before := gets()
		out, stderr, code := cli(t, cmd, src)
		if code != 0 {
			t.Fatalf("%s after verify --cache: exit %d: %s", cmd, code, stderr)
		}
		if n := fetched(before); n != [2]int{} {
			t.Errorf("%s after verify --cache: blob GET requests %v, want none", cmd, n)
		}
		if diff := cmp.Diff(want[cmd], withoutFetch(out)); diff != "" {
			t.Errorf("%s from the blob store (-registry +store):\n%s", cmd, diff)
		}
	}
	// verify checks what the registry serves now: it never reads the store.
	before := gets()
	r, _ = verifyCopies(t, 0, src)
	if n := fetched(before); n[0] == 0 || n[1] == 0 || !r.Pass {
		t.Errorf("verify after verify --cache: pass %v, blob GET requests %v; want a pass reading both from the registry", r.Pass, n)
	}
	// --no-cache does not read the store.
	before = gets()
	if _, stderr, code := cli(t, "inspect", "--no-cache", src); code != 0 {
		t.Fatalf("inspect --no-cache: exit %d: %s", code, stderr)
	}
	if n := fetched(before); n[0] == 0 || n[1] == 0 {
		t.Errorf("inspect --no-cache after verify --cache: blob GET requests %v, want some of each", n)
	}
	// A second verify --cache finds both stored.
	r, stderr = verifyCopies(t, 0, src, "--cache")
	for _, f := range r.Files {
		if f.Copy != "present" {
			t.Errorf("second verify --cache: file %s copy %q, want present", f.Name, f.Copy)
		}
	}
	if !strings.Contains(stderr, "stored 0 layer(s), 2 already there, 0 not stored") {
		t.Errorf("second verify --cache stderr = %q", stderr)
	}
}

// A registry serving a layer with one byte changed fails verify --cache
// (exit 1), and that layer is not stored: no blob, no temporary file. The
// intact layer is stored.
func TestVerifyCacheOCITampered(t *testing.T) {
	host, tp := ociRegistry(t)
	parts := [][]byte{readTiny(t, "gguf/tiny-q8_0-00001-of-00002.gguf"), readTiny(t, "gguf/tiny-q8_0-00002-of-00002.gguf")}
	digests := pushModel(t, host, "models/tiny:q8", hub.MediaDockerConfigV01,
		[]testLayer{{data: parts[0], mt: hub.MediaDockerGGUF}, {data: parts[1], mt: hub.MediaDockerGGUF}})
	src := "oci://" + host + "/models/tiny:q8"
	cache := t.TempDir()
	t.Setenv("WEIGHTAUDIT_CACHE", cache)
	tp.off.Store(int64(len(parts[1]) - 10))
	tp.digest.Store(digests[1].String())

	r, _ := verifyCopies(t, 1, src, "--cache")
	if tp.hits.Load() == 0 {
		t.Fatal("the registry served no tampered byte")
	}
	if len(r.Files) != 2 || r.Pass {
		t.Fatalf("verify --cache of a tampered layer: pass %v, %d files", r.Pass, len(r.Files))
	}
	if f := r.Files[0]; f.Status != "ok" || f.Copy != "stored" {
		t.Errorf("intact file %s: status %q copy %q (%s), want ok and stored", f.Name, f.Status, f.Copy, f.CopyError)
	}
	if f := r.Files[1]; f.Status != "mismatch" || f.Copy != "not stored" || !strings.Contains(f.CopyError, digests[1].String()) ||
		!strings.Contains(f.CopyError, hub.ErrDigestMismatch.Error()) {
		t.Errorf("tampered file %s: status %q copy %q (%s), want mismatch and not stored, naming the digest", f.Name, f.Status, f.Copy, f.CopyError)
	}
	if diff := cmp.Diff(blobFiles(digests[0]), cacheEntries(t, cache)); diff != "" {
		t.Errorf("cache folder after a tampered verify --cache (-want +got):\n%s", diff)
	}
}

// The files inside a compressed tar layer are not blobs: verify --cache
// passes, reports each "not stored" saying why, and stores nothing.
func TestVerifyCacheOCITarLayer(t *testing.T) {
	host, _ := ociRegistry(t)
	names, files := tinyFiles(t, "hf-f32")
	pushModel(t, host, "models/tiny:zst", hub.MediaModelPackConfig,
		[]testLayer{{data: tarZstd(t, names, files), mt: hub.MediaModelPackWeightTarZstd}})
	cache := t.TempDir()
	t.Setenv("WEIGHTAUDIT_CACHE", cache)
	r, stderr := verifyCopies(t, 0, "oci://"+host+"/models/tiny:zst", "--cache")
	if len(r.Files) != len(names) {
		t.Fatalf("%d files, want %d", len(r.Files), len(names))
	}
	for _, f := range r.Files {
		if f.Status != "ok" || f.Copy != "not stored" || f.CopyError != notBlob {
			t.Errorf("file %s: status %q copy %q (%s); want ok, not stored: %s", f.Name, f.Status, f.Copy, f.CopyError, notBlob)
		}
	}
	if !strings.Contains(stderr, "stored 0 layer(s), 0 already there, 0 not stored; 4 file(s) inside tar layers not stored") {
		t.Errorf("stderr = %q", stderr)
	}
	if got := cacheEntries(t, cache); len(got) != 0 {
		t.Errorf("cache folder holds %q, want nothing", got)
	}
}

// An ollama:// model read from a registry is stored like an oci:// one; one
// read from the local Ollama store is not (a note says so).
func TestVerifyCacheOllama(t *testing.T) {
	host, tp := ociRegistry(t)
	model := readTiny(t, "gguf/tiny-q8_0.gguf")
	d := pushModel(t, host, "library/tiny:latest", hub.MediaDockerConfigV01, []testLayer{{data: model, mt: hub.MediaOllamaModel}})[0]
	src := "ollama://" + host + "/library/tiny"
	t.Setenv("OLLAMA_MODELS", t.TempDir()) // empty: the registry
	cache := t.TempDir()
	t.Setenv("WEIGHTAUDIT_CACHE", cache)
	r, _ := verifyCopies(t, 0, src, "--cache")
	if len(r.Files) != 1 || r.Files[0].Copy != "stored" {
		t.Fatalf("verify --cache %s: files %+v, want one stored", src, r.Files)
	}
	if diff := cmp.Diff(blobFiles(d), cacheEntries(t, cache)); diff != "" {
		t.Errorf("cache folder (-want +got):\n%s", diff)
	}
	before := tp.blobGets(d.String())
	if _, stderr, code := cli(t, "inspect", src); code != 0 || tp.blobGets(d.String()) != before {
		t.Errorf("inspect %s after verify --cache: exit %d, %d blob GET requests, want none: %s", src, code, tp.blobGets(d.String())-before, stderr)
	}

	// The same model in a local Ollama store.
	store := t.TempDir()
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:` + strings.Repeat("0", 64) + `","size":2},` +
		`"layers":[{"mediaType":"` + hub.MediaOllamaModel + `","digest":"` + d.String() + `","size":` + itoa(len(model)) + `}]}`
	mdir := filepath.Join(store, "manifests", host, "library", "tiny")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mdir, "latest"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(store, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "blobs", "sha256-"+d.Hex), model, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OLLAMA_MODELS", store)
	cache2 := t.TempDir()
	t.Setenv("WEIGHTAUDIT_CACHE", cache2)
	before = tp.blobGets(d.String())
	r, stderr := verifyCopies(t, 0, src, "--cache")
	if len(r.Files) != 1 || r.Files[0].Copy != "" || !strings.Contains(stderr, "note: --cache does nothing for "+src+": it is read from the local Ollama store") {
		t.Errorf("verify --cache from the local store: files %+v, stderr %q; want no copy and a note", r.Files, stderr)
	}
	if got := cacheEntries(t, cache2); len(got) != 0 || tp.blobGets(d.String()) != before {
		t.Errorf("verify --cache from the local store wrote %q, made %d blob requests; want nothing", got, tp.blobGets(d.String())-before)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// --cache and --no-cache together are refused for a registry SOURCE: the
// blob store verify --cache fills is what --no-cache turns off.
func TestVerifyCacheNoCache(t *testing.T) {
	stdout, stderr, code := cli(t, "verify", "--no-cache", "--cache", "oci://registry.example/model:v1")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "which --no-cache turns off") {
		t.Errorf("verify --no-cache --cache oci://: exit %d, stderr %q; want %d (usage)", code, stderr, exitUsage)
	}
}

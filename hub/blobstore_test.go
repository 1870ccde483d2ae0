package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/weightaudit/weightaudit/hub"
)

// storeEntries lists every file and link under dir, relative, in
// slash form; nil when dir does not exist.
func storeEntries(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipAll
		}
		if err != nil || d.IsDir() {
			return err // folders may stay behind, empty: see BlobWriter.discard
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

// putBlob stores data in bs under its digest, failing the test otherwise.
func putBlob(tb testing.TB, bs *hub.BlobStore, data []byte) string {
	tb.Helper()
	d := "sha256:" + sum256(data)
	w, err := bs.Create(d, int64(len(data)))
	if err != nil || w == nil {
		tb.Fatalf("Create(%s) = %v, %v; want a writer", d, w, err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		tb.Fatalf("Commit(%s) = %v", d, err)
	}
	return d
}

// A blob written whole, with its digest and size, is stored as sha256/HEX
// and read back as written; a second Create has nothing to store.
func TestBlobStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	bs := hub.NewBlobStore(dir)
	data := bytes.Repeat([]byte("weights!"), 10000)
	d := "sha256:" + sum256(data)
	if f, err := bs.Open(d, int64(len(data))); f != nil || !errors.Is(err, hub.ErrNotExist) {
		t.Fatalf("Open(%s) of an empty store = %v, %v; want ErrNotExist", d, f, err)
	}
	if got := storeEntries(t, dir); got != nil {
		t.Fatalf("Open of an empty store made %q", got)
	}
	w, err := bs.Create(strings.ToUpper(d[:7])+strings.ToUpper(d[7:]), int64(len(data)))
	if err == nil {
		t.Fatalf("Create(%q) with an upper-case algorithm = %v, want an error", strings.ToUpper(d), w)
	}
	w, err = bs.Create("sha256:"+strings.ToUpper(d[7:]), int64(len(data)))
	if err != nil || w == nil {
		t.Fatalf("Create(%s) = %v, %v", d, w, err)
	}
	for p := data; len(p) > 0; p = p[min(len(p), 4096):] { // several writes
		if _, err := w.Write(p[:min(len(p), 4096)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit() = %v", err)
	}
	w.Abort() // does nothing after Commit
	if got, want := storeEntries(t, dir), []string{"sha256/" + d[7:]}; !equalStrings(got, want) {
		t.Errorf("store = %q, want %q", got, want)
	}
	f, err := bs.Open(d, int64(len(data)))
	if err != nil {
		t.Fatalf("Open(%s) = %v", d, err)
	}
	defer f.Close()
	got := make([]byte, f.Size())
	if _, err := f.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if f.Size() != int64(len(data)) || !bytes.Equal(got, data) {
		t.Errorf("Open(%s) read %d bytes, want the %d written", d, len(got), len(data))
	}
	if w, err := bs.Create(d, int64(len(data))); w != nil || err != nil {
		t.Errorf("Create(%s) of a stored blob = %v, %v; want nil, nil", d, w, err)
	}
	if err := w.Commit(); err == nil {
		t.Error("a second Commit = nil, want an error")
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// A blob whose bytes are not its digest's, or not its size, or that is
// aborted, leaves nothing in the store: no blob, no temporary file, no
// folder.
func TestBlobStoreRefuses(t *testing.T) {
	data := []byte("the layer's bytes")
	digest := "sha256:" + sum256(data)
	tests := []struct {
		name   string
		size   int64
		write  []byte
		abort  bool
		commit error // the error Commit wraps; nil with abort
	}{
		{name: "other bytes", size: int64(len(data)), write: []byte("the layer's bytez"), commit: hub.ErrDigestMismatch},
		{name: "fewer bytes", size: int64(len(data)), write: data[:5], commit: hub.ErrDigestMismatch},
		{name: "more bytes", size: int64(len(data)), write: append(bytes.Clone(data), '!'), commit: hub.ErrDigestMismatch},
		{name: "right bytes, other size", size: int64(len(data)) + 1, write: data, commit: hub.ErrDigestMismatch},
		{name: "aborted", size: int64(len(data)), write: data[:7], abort: true},
		{name: "aborted whole", size: int64(len(data)), write: data, abort: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "blobs")
			bs := hub.NewBlobStore(dir)
			w, err := bs.Create(digest, tt.size)
			if err != nil || w == nil {
				t.Fatalf("Create = %v, %v", w, err)
			}
			if got := storeEntries(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], "sha256/.tmp-") {
				t.Errorf("while writing, the store holds %q; want one temporary file", got)
			}
			_, werr := w.Write(tt.write)
			if int64(len(tt.write)) > tt.size && !errors.Is(werr, hub.ErrDigestMismatch) {
				t.Errorf("Write past the size = %v, want ErrDigestMismatch", werr)
			}
			if tt.abort {
				w.Abort()
				w.Abort()
				if err := w.Commit(); err == nil {
					t.Error("Commit after Abort = nil, want an error")
				}
			} else if err := w.Commit(); !errors.Is(err, tt.commit) {
				t.Errorf("Commit() = %v, want %v", err, tt.commit)
			} else if !strings.Contains(err.Error(), digest) {
				t.Errorf("Commit() = %q, want it to name the digest %s", err, digest)
			}
			if got := storeEntries(t, dir); got != nil {
				t.Errorf("the store holds %q, want nothing", got)
			}
			if _, err := w.Write(data); err == nil {
				t.Error("Write after the end = nil, want an error")
			}
		})
	}
}

// A file in a blob's place with another size (a partial copy, a damaged
// store) is not opened, and Create replaces it.
func TestBlobStoreWrongSize(t *testing.T) {
	dir := t.TempDir()
	bs := hub.NewBlobStore(dir)
	data := []byte("0123456789")
	d := "sha256:" + sum256(data)
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sha256", d[7:])
	if err := os.WriteFile(p, data[:4], 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := bs.Open(d, int64(len(data))); f != nil || !errors.Is(err, hub.ErrNotExist) {
		t.Errorf("Open of a 4-byte file as a 10-byte blob = %v, %v; want ErrNotExist", f, err)
	}
	putBlob(t, bs, data)
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, data) {
		t.Errorf("after Create and Commit the blob holds %q, %v; want %q", b, err, data)
	}
	// A link in a blob's place is not followed, even to the right bytes.
	other := []byte("abcdefghij")
	od := "sha256:" + sum256(other)
	target := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(target, other, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "sha256", od[7:])); err != nil {
		t.Fatal(err)
	}
	if f, err := bs.Open(od, int64(len(other))); f != nil || err == nil {
		t.Errorf("Open of a link in the store = %v, %v; want an error", f, err)
	}
}

// Digests that are not sha256:HEX64 are refused before any file is
// touched, and a store whose sha256 folder leads elsewhere is neither
// written nor read.
func TestBlobStoreTraversal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	bs := hub.NewBlobStore(dir)
	hex64 := strings.Repeat("ab", 32)
	for _, d := range []string{
		"", "sha256:", "sha256:" + hex64[:63], "sha256:" + hex64 + "0", "sha512:" + hex64 + hex64,
		"sha256:../../../../etc/passwd", "sha256:" + hex64[:61] + "/..", "sha256:/" + hex64[1:],
		"sha256:" + hex64[:63] + "g", hex64, "SHA256:" + hex64, "sha256:" + hex64[:62] + "\x00a",
	} {
		if w, err := bs.Create(d, 1); w != nil || !errors.Is(err, hub.ErrBadDigest) {
			t.Errorf("Create(%q) = %v, %v; want ErrBadDigest", d, w, err)
		}
		if f, err := bs.Open(d, 1); f != nil || !errors.Is(err, hub.ErrBadDigest) {
			t.Errorf("Open(%q) = %v, %v; want ErrBadDigest", d, f, err)
		}
	}
	if w, err := bs.Create("sha256:"+hex64, -1); w != nil || err == nil {
		t.Errorf("Create with a negative size = %v, %v; want an error", w, err)
	}
	if got := storeEntries(t, dir); got != nil {
		t.Errorf("refused digests made %q", got)
	}

	// sha256/ is a link to a folder outside the store.
	outside := t.TempDir()
	data := []byte("planted")
	d := "sha256:" + sum256(data)
	if err := os.WriteFile(filepath.Join(outside, d[7:]), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "sha256")); err != nil {
		t.Fatal(err)
	}
	if f, err := bs.Open(d, int64(len(data))); f != nil || err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("Open through a link out of the store = %v, %v; want an error", f, err)
	}
	other := []byte("new")
	if w, err := bs.Create("sha256:"+sum256(other), 3); w != nil || err == nil {
		t.Errorf("Create through a link out of the store = %v, %v; want an error", w, err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("the folder outside holds %d files, want the 1 it had", len(ents))
	}
}

// Writers of one blob at once, some committing and some aborting, leave
// exactly one whole blob and no temporary file.
func TestBlobStoreConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	bs := hub.NewBlobStore(dir)
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 50000)
	d := "sha256:" + sum256(data)
	const writers = 16
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			w, err := bs.Create(d, int64(len(data)))
			if err != nil || w == nil {
				errs[i] = err // nil when another writer was done first
				return
			}
			for p := data; len(p) > 0; p = p[min(len(p), 32<<10):] {
				if _, err := w.Write(p[:min(len(p), 32<<10)]); err != nil {
					errs[i] = err
					w.Abort()
					return
				}
			}
			if i%3 == 0 {
				w.Abort()
				return
			}
			errs[i] = w.Commit()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if got, want := storeEntries(t, dir), []string{"sha256/" + d[7:]}; !equalStrings(got, want) {
		t.Errorf("store = %q, want %q", got, want)
	}
	f, err := bs.Open(d, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("the blob read back: %d bytes, %v; want the %d written", len(got), err, len(data))
	}
}

func TestDefaultBlobStoreDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	got, err := hub.DefaultBlobStoreDir(env(map[string]string{"WEIGHTAUDIT_CACHE": "/c/wa"}))
	if want := filepath.Join("/c/wa", "blobs"); err != nil || got != want {
		t.Errorf("DefaultBlobStoreDir(WEIGHTAUDIT_CACHE=/c/wa) = %q, %v; want %q", got, err, want)
	}
	got, err = hub.DefaultHeaderCacheDir(env(map[string]string{"WEIGHTAUDIT_CACHE": "/c/wa"}))
	if want := filepath.Join("/c/wa", "headers"); err != nil || got != want {
		t.Errorf("DefaultHeaderCacheDir(WEIGHTAUDIT_CACHE=/c/wa) = %q, %v; want %q", got, err, want)
	}
	t.Setenv("XDG_CACHE_HOME", "/x")
	t.Setenv("HOME", "/h")
	got, err = hub.DefaultBlobStoreDir(env(nil))
	headers, _ := hub.DefaultHeaderCacheDir(env(nil))
	if err != nil || got != filepath.Join(filepath.Dir(headers), "blobs") || headers != filepath.Join("/x", "weightaudit", "headers") {
		t.Errorf("DefaultBlobStoreDir() = %q, %v; want blobs beside the header cache %s", got, err, headers)
	}
}

// An OCI source with a blob store reads the blobs it holds from there:
// raw layers (Open), a compressed tar layer's listing and its stream
// (StreamLayer), with no request for them; the bytes are the registry's.
// Blobs the store lacks, or holds with another size, come from the
// registry.
func TestOCIBlobStore(t *testing.T) {
	files, names := streamFiles()
	gets := &blobGets{}
	host, tr := newRegistry(t, gets.wrap)
	layer := tarZstd(t, files, names)
	raw := bigSafetensors(4<<10, 5)
	raw2 := bigSafetensors(2<<10, 6)
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig, layers: []ociLayer{
		{data: layer, mt: hub.MediaModelPackWeightTarZstd},
		{data: raw, mt: hub.MediaModelPackWeightRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "raw.safetensors"}},
		{data: raw2, mt: hub.MediaModelPackWeightRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "raw2.safetensors"}},
	}}
	pushImage(t, host, tr, "store/model:v1", a.image(t))
	bs := hub.NewBlobStore(t.TempDir())
	ld, rd := putBlob(t, bs, layer), putBlob(t, bs, raw)
	r2d := "sha256:" + sum256(raw2)
	// raw2's place holds a file of another size: not trusted.
	if err := os.WriteFile(filepath.Join(bs.Dir(), "sha256", r2d[7:]), raw2[:100], 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	src, err := hub.NewOCI("oci://"+host+"/store/model:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous, BlobStore: bs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.List(ctx); err != nil {
		t.Fatal(err)
	}
	if n := gets.count(ld); n != 0 {
		t.Errorf("the listing made %d GET requests of the stored tar layer, want 0", n)
	}
	want := map[string][]byte{"raw.safetensors": raw, "raw2.safetensors": raw2}
	for n, b := range files {
		want[n] = b
	}
	before := src.Stats().Cached
	for n, b := range want {
		got, err := hub.ReadFile(ctx, src, n, 1<<30)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("ReadFile(%s) = %d bytes, %v; want its %d bytes", n, len(got), err, len(b))
		}
	}
	// raw.safetensors came from the store, and counts as read locally.
	if got := src.Stats().Cached - before; got < int64(len(raw)) {
		t.Errorf("Stats().Cached grew by %d reading the stored blob, want at least its %d bytes", got, len(raw))
	}
	var seen []visited
	sum, err := src.StreamLayer(ctx, ld, collect(&seen, -1))
	if err != nil || "sha256:"+sum != ld || len(seen) != len(names) {
		t.Errorf("StreamLayer(%s) = %s, %v, %d files; want its digest and %d files", ld, sum, err, len(seen), len(names))
	}
	if n, m := gets.count(ld), gets.count(rd); n != 0 || m != 0 {
		t.Errorf("stored blobs: %d and %d GET requests, want none", n, m)
	}
	if gets.count(r2d) == 0 {
		t.Error("a blob stored with the wrong size was not fetched from the registry")
	}

	// Without the store, the same reads go to the registry.
	plain, err := hub.NewOCI("oci://"+host+"/store/model:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := hub.ReadFile(ctx, plain, "raw.safetensors", 1<<30); err != nil || !bytes.Equal(got, raw) || gets.count(rd) == 0 {
		t.Errorf("without a store: %d bytes, %v, %d requests of the blob", len(got), err, gets.count(rd))
	}
}

// WithBlobStore reaches the OCI sources Resolve makes.
func TestResolveBlobStore(t *testing.T) {
	gets := &blobGets{}
	host, tr := newRegistry(t, gets.wrap)
	raw := bigSafetensors(1<<10, 7)
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig, layers: []ociLayer{
		{data: raw, mt: hub.MediaModelPackWeightRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "model.safetensors"}},
	}}
	pushImage(t, host, tr, "store/resolve:v1", a.image(t))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	bs := hub.NewBlobStore(t.TempDir())
	d := putBlob(t, bs, raw)
	src, _, err := hub.Resolve("oci://"+host+"/store/resolve:v1", hub.WithBlobStore(bs))
	if err != nil {
		t.Fatal(err)
	}
	got, err := hub.ReadFile(context.Background(), src, "model.safetensors", 1<<30)
	if err != nil || !bytes.Equal(got, raw) || gets.count(d) != 0 {
		t.Errorf("ReadFile through Resolve: %d bytes, %v, %d GET requests of the blob; want its bytes from the store", len(got), err, gets.count(d))
	}
}

func ExampleBlobStore() {
	dir, err := os.MkdirTemp("", "blobs-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	bs := hub.NewBlobStore(dir)
	blob := []byte("hello, layer")
	digest := "sha256:5c8b1e3d4f2e2b6fd2b4a7bc2cd3b4a2e5fb9e5b3c0f1a7f6c1a8f8d1c6b0d2e" // not blob's sha256

	w, _ := bs.Create(digest, int64(len(blob)))
	w.Write(blob)
	err = w.Commit()
	fmt.Println(errors.Is(err, hub.ErrDigestMismatch))

	sum := sha256.Sum256(blob)
	digest = "sha256:" + hex.EncodeToString(sum[:])
	w, _ = bs.Create(digest, int64(len(blob)))
	w.Write(blob)
	fmt.Println(w.Commit())

	f, err := bs.Open(digest, int64(len(blob)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	b := make([]byte, f.Size())
	f.ReadAt(b, 0)
	fmt.Printf("%s\n", b)
	// Output:
	// true
	// <nil>
	// hello, layer
}

// BenchmarkBlobStoreWrite measures storing a blob (write, sha256, sync,
// rename) against its baseline: the same bytes written to a plain file
// and hashed, without the sync.
func BenchmarkBlobStoreWrite(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	const chunk = 1 << 20
	b.Run("baseline", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "plain")
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.New()
			for q := data; len(q) > 0; q = q[chunk:] {
				f.Write(q[:chunk])
				h.Write(q[:chunk])
			}
			h.Sum(nil)
			f.Close()
		}
	})
	b.Run("BlobWriter", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			bs := hub.NewBlobStore(filepath.Join(dir, "s"))
			w, err := bs.Create(digest, int64(len(data)))
			if err != nil || w == nil {
				b.Fatal(w, err)
			}
			for q := data; len(q) > 0; q = q[chunk:] {
				w.Write(q[:chunk])
			}
			if err := w.Commit(); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(bs.Dir())
		}
	})
}

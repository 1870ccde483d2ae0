package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/hub"
)

const cacheCommit = "0123456789abcdef0123456789abcdef01234567"

// tree lists every entry under dir (slash-separated, relative): folders
// end in "/", symbolic links show their target after " -> ".
func tree(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			rel += "/"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			rel += " -> " + filepath.ToSlash(target)
		}
		out = append(out, rel)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// store writes content through w as name and commits it.
func store(tb testing.TB, w *hub.HFCacheWriter, name string, content []byte, lfs string) error {
	tb.Helper()
	f, err := w.Create(name, int64(len(content)), lfs)
	if err != nil {
		tb.Fatalf("Create(%s) = %v", name, err)
	}
	if f == nil {
		return nil
	}
	// In two writes, as a verification hands over buffers.
	half := len(content) / 2
	if _, err := f.Write(content[:half]); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(content[half:]); err != nil {
		tb.Fatal(err)
	}
	return f.Commit()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Files stored by the writer are laid out as huggingface_hub lays them out,
// and read back by an offline HFSource with the same content.
func TestHFCacheWriterLayout(t *testing.T) {
	dir := t.TempDir()
	weights := randomBytes(100<<10, 3)
	config := []byte("hello\n")
	w, err := hub.NewHFCacheWriter(dir, hub.HFRef{Repo: "acme/tiny", Revision: "main"}, strings.ToUpper(cacheCommit))
	if err != nil {
		t.Fatal(err)
	}
	if err := store(t, w, "model.safetensors", weights, sha256Hex(weights)); err != nil {
		t.Fatalf("Commit(LFS file) = %v", err)
	}
	if err := store(t, w, "config.json", config, ""); err != nil {
		t.Fatalf("Commit(Git file) = %v", err)
	}
	if err := store(t, w, "sub/dir/tokenizer.json", config, ""); err != nil {
		t.Fatalf("Commit(file in a folder) = %v", err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	// The Git blob hash of "hello\n" (git hash-object) names its blob.
	const helloBlob = "ce013625030ba8dba906f756967f9e9ca394464a"
	want := []string{
		"models--acme--tiny/",
		"models--acme--tiny/blobs/",
		"models--acme--tiny/blobs/" + helloBlob,
		"models--acme--tiny/blobs/" + sha256Hex(weights),
		"models--acme--tiny/refs/",
		"models--acme--tiny/refs/main",
		"models--acme--tiny/snapshots/",
		"models--acme--tiny/snapshots/" + cacheCommit + "/",
		"models--acme--tiny/snapshots/" + cacheCommit + "/config.json -> ../../blobs/" + helloBlob,
		"models--acme--tiny/snapshots/" + cacheCommit + "/model.safetensors -> ../../blobs/" + sha256Hex(weights),
		"models--acme--tiny/snapshots/" + cacheCommit + "/sub/",
		"models--acme--tiny/snapshots/" + cacheCommit + "/sub/dir/",
		"models--acme--tiny/snapshots/" + cacheCommit + "/sub/dir/tokenizer.json -> ../../../../blobs/" + helloBlob,
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("cache layout (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "models--acme--tiny/refs/main")); err != nil || string(b) != cacheCommit {
		t.Errorf("refs/main = %q, %v; want %s", b, err, cacheCommit)
	}
	info, err := os.Stat(filepath.Join(dir, "models--acme--tiny/blobs", helloBlob))
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("blob mode %v, %v; want 0644", info.Mode(), err)
	}

	// An offline source reads the snapshot through the revision's ref.
	src, err := hub.NewHF(hub.HFRef{Repo: "acme/tiny"}, hub.HFOptions{CacheDir: dir, Offline: true})
	if err != nil {
		t.Fatalf("NewHF(offline) = %v", err)
	}
	ctx := context.Background()
	files, err := src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []hub.FileInfo{{Name: "config.json", Size: 6}, {Name: "model.safetensors", Size: int64(len(weights))}, {Name: "sub/dir/tokenizer.json", Size: 6}}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("offline listing (-want +got):\n%s", diff)
	}
	got, err := hub.ReadFile(ctx, src, "model.safetensors", 1<<20)
	if err != nil || string(got) != string(weights) {
		t.Errorf("offline read: %d bytes, %v; want the content stored", len(got), err)
	}

	// A file already in the snapshot with its size needs nothing.
	if f, err := w.Create("model.safetensors", int64(len(weights)), sha256Hex(weights)); f != nil || err != nil {
		t.Errorf("Create(a file the snapshot has) = %v, %v; want nil, nil", f, err)
	}
}

// A file whose content is not the listed one leaves nothing behind, nor
// does an aborted one; a run that stores nothing leaves no folder.
func TestHFCacheWriterRefuses(t *testing.T) {
	content := []byte("the weights")
	tests := []struct {
		name   string
		size   int64
		lfs    string
		blob   string // the Git blob id listed
		want   string
		commit bool
	}{
		{"wrong git blob id", int64(len(content)), "", strings.Repeat("1", 40), "the Hub lists " + strings.Repeat("1", 40), true},
		{"wrong sha256", int64(len(content)), sha256Hex([]byte("other weights")), "", "the LFS digest is " + sha256Hex([]byte("other weights")), true},
		{"short", int64(len(content)) + 1, sha256Hex(content), "", "11 bytes written, its size is 12", true},
		{"long git file", int64(len(content)) - 1, "", "", "more than its 10 bytes", true},
		{"aborted", int64(len(content)), sha256Hex(content), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := hub.NewHFCacheWriter(dir, hub.HFRef{Repo: "acme/tiny", Revision: "v1.0"}, cacheCommit)
			if err != nil {
				t.Fatal(err)
			}
			f, err := w.Create("model.safetensors", tt.size, tt.lfs)
			if err != nil || f == nil {
				t.Fatalf("Create = %v, %v", f, err)
			}
			if tt.blob != "" {
				f.ExpectGitBlob(tt.blob)
			}
			f.Write(content)
			if tt.commit {
				err := f.Commit()
				if !errors.Is(err, hub.ErrDigestMismatch) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "model.safetensors") {
					t.Errorf("Commit = %v, want ErrDigestMismatch naming the file and saying %q", err, tt.want)
				}
			} else {
				f.Abort()
			}
			f.Abort() // after Commit: nothing
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			if got := tree(t, dir); len(got) != 0 {
				t.Errorf("cache after a refused file: %q, want it empty", got)
			}
		})
	}
}

func TestHFCacheWriterNames(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		ref    hub.HFRef
		commit string
		want   string
	}{
		{"bad commit", hub.HFRef{Repo: "acme/tiny"}, "main", "commit"},
		{"bad repo", hub.HFRef{Repo: "../etc"}, cacheCommit, "owner"},
		{"no owner", hub.HFRef{Repo: "tiny"}, cacheCommit, "expected OWNER/NAME"},
		{"dotted repo", hub.HFRef{Repo: "acme/.."}, cacheCommit, "repository name"},
		{"revision leaving refs", hub.HFRef{Repo: "acme/tiny", Revision: "../../x"}, cacheCommit, "revision"},
		{"subfolder leaving", hub.HFRef{Repo: "acme/tiny", Subfolder: "../x"}, cacheCommit, "subfolder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := hub.NewHFCacheWriter(dir, tt.ref, tt.commit); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewHFCacheWriter(%+v, %q) = %v, want an error about %s", tt.ref, tt.commit, err, tt.want)
			}
		})
	}
	if _, err := hub.NewHFCacheWriter("", hub.HFRef{Repo: "acme/tiny"}, cacheCommit); err == nil {
		t.Error("NewHFCacheWriter with no cache folder: no error")
	}
	w, err := hub.NewHFCacheWriter(dir, hub.HFRef{Repo: "acme/tiny", Revision: cacheCommit}, cacheCommit)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "/abs", "a/../../x", ".hidden", "a/.git/config", `a\b`, ""} {
		if f, err := w.Create(name, 1, ""); err == nil || f != nil {
			t.Errorf("Create(%q) = %v, %v; want an error", name, f, err)
		}
	}
	// A folder of the snapshot that is a link out of the cache is refused.
	outside := t.TempDir()
	snap := filepath.Join(dir, "models--acme--tiny", "snapshots", cacheCommit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(snap, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := store(t, w, "sub/model.gguf", []byte("x"), ""); err == nil || !strings.Contains(err.Error(), "outside the cache folder") {
		t.Errorf("storing through a link out of the cache = %v, want it refused", err)
	}
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("written outside the cache: %q", got)
	}
	// The revision is a commit: no ref is written.
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "models--acme--tiny", "refs")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refs/ written for a commit revision: %v", err)
	}
}

package safefs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/internal/safefs"
)

// tree returns the names under dir, slash-separated, sorted.
func tree(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func TestMkdirAll(t *testing.T) {
	base := t.TempDir()
	r := safefs.Root{Dir: filepath.Join(base, "cache"), Name: "the cache folder"}
	dir := filepath.Join(r.Dir, "headers", "ab")
	if err := r.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("MkdirAll(%s) = %v", dir, err)
	}
	for _, p := range []string{r.Dir, filepath.Join(r.Dir, "headers"), dir} {
		info, err := os.Lstat(p)
		if err != nil || !info.IsDir() {
			t.Fatalf("Lstat(%s) = %v, %v; want a folder", p, info, err)
		}
		if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want none for group and others (0700)", p, info.Mode().Perm())
		}
	}
	if err := r.MkdirAll(dir, 0o700); err != nil {
		t.Errorf("MkdirAll of an existing folder = %v", err)
	}
	if err := r.Check(dir); err != nil {
		t.Errorf("Check(%s) = %v", dir, err)
	}
	if err := r.MkdirAll(r.Dir, 0o700); err != nil {
		t.Errorf("MkdirAll of the root = %v", err)
	}
	for _, bad := range []string{base, filepath.Join(r.Dir, "..", "x")} {
		if err := r.MkdirAll(bad, 0o700); err == nil {
			t.Errorf("MkdirAll(%s) outside the root: no error", bad)
		}
	}
	if err := r.Check(filepath.Join(r.Dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Check of a missing folder = %v, want fs.ErrNotExist", err)
	}
}

// A root that is itself a link is followed: it is where the user put it.
func TestRootMayBeALink(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "cache")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	r := safefs.Root{Dir: link}
	if err := r.MkdirAll(filepath.Join(link, "a", "b"), 0o755); err != nil {
		t.Fatalf("MkdirAll under a root that is a link = %v", err)
	}
	if got := tree(t, real); strings.Join(got, " ") != "a a/b" {
		t.Errorf("the root's target holds %q, want a a/b", got)
	}
}

// A link, at any depth below the root, is refused, and nothing is made
// where it leads; so is a file where a folder should be.
func TestLinkRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		link string // relative to the root
		dir  string // relative to the root
	}{
		{name: "the folder", link: "headers", dir: "headers"},
		{name: "a parent", link: "headers", dir: "headers/ab"},
		{name: "a sub-folder", link: "headers/ab", dir: "headers/ab"},
		{name: "a deeper parent", link: "headers/ab", dir: "headers/ab/cd/ef"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "cache")
			outside := t.TempDir()
			link := filepath.Join(root, filepath.FromSlash(tt.link))
			if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, link); err != nil {
				t.Skip(err)
			}
			r := safefs.Root{Dir: root, Name: "the cache folder"}
			dir := filepath.Join(root, filepath.FromSlash(tt.dir))
			for _, f := range []struct {
				name string
				call func() error
			}{
				{"MkdirAll", func() error { return r.MkdirAll(dir, 0o700) }},
				{"Check", func() error { return r.Check(dir) }},
			} {
				err := f.call()
				var nf *safefs.NotFolderError
				if !errors.Is(err, safefs.ErrNotFolder) || !errors.As(err, &nf) {
					t.Fatalf("%s(%s) = %v, want a *NotFolderError", f.name, dir, err)
				}
				if nf.Path != link || nf.Link != outside {
					t.Errorf("%s(%s): Path %q, Link %q; want %q, %q", f.name, dir, nf.Path, nf.Link, link, outside)
				}
				for _, want := range []string{link, "symbolic link", "outside the cache folder", root} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s(%s) = %q, want it to say %q", f.name, dir, err, want)
					}
				}
			}
			if got := tree(t, outside); len(got) != 0 {
				t.Errorf("made where the link leads: %q", got)
			}
		})
	}

	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "headers"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := safefs.Root{Dir: root}
	if err := r.MkdirAll(filepath.Join(root, "headers", "ab"), 0o700); !errors.Is(err, safefs.ErrNotFolder) || !strings.Contains(err.Error(), "a regular file") {
		t.Errorf("MkdirAll through a file = %v, want ErrNotFolder saying it is a regular file", err)
	}
}

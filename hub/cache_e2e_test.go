package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// A second audit of the same repository reads every header, config.json
// and the index from the header cache: one request (the listing) instead
// of one or two per file, and the same checkpoint.
func TestHFHeaderCache(t *testing.T) {
	for _, builtin := range []string{"30b-safetensors", "30b-gguf"} {
		t.Run(builtin, func(t *testing.T) {
			l, err := synth.Builtin(builtin)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			want, err := checkpoint.Load(ctx, l.Source())
			if err != nil {
				t.Fatal(err)
			}
			fh, _ := layoutHub(t, l)
			dir := t.TempDir()
			load := func() hub.Stats {
				t.Helper()
				src := newSource(t, fh, "", hub.HFOptions{HeaderCache: hub.NewHeaderCache(dir)}, nil)
				got, err := checkpoint.Load(ctx, src, checkpoint.WithJobs(src.Jobs()))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
					t.Fatalf("inventory (-memory +hub):\n%s", diff)
				}
				if string(got.Config) != string(want.Config) {
					t.Fatal("config.json differs")
				}
				return src.Stats()
			}
			first := load()
			if first.Cached != 0 {
				t.Errorf("first run: %d bytes from an empty cache", first.Cached)
			}
			second := load()
			if second.Requests != 1 {
				t.Errorf("second run: %d requests, want 1 (the listing)", second.Requests)
			}
			// What the first run's parsers read came from the cache.
			if second.Cached == 0 || second.Cached > first.Bytes {
				t.Errorf("second run: %d bytes from the cache, want some and at most the %d the first run fetched", second.Cached, first.Bytes)
			}
			t.Logf("first run %d requests, %d bytes; second %d requests, %d bytes, %d from the cache",
				first.Requests, first.Bytes, second.Requests, second.Bytes, second.Cached)

			// Damage every entry: the next run reads from the Hub again, right,
			// and repairs the cache.
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(p)
					b[len(b)/2] ^= 0xff
					os.WriteFile(p, b, 0o600)
				}
				return nil
			})
			if third := load(); third.Requests <= int64(len(l.Files)) || third.Cached != 0 {
				t.Errorf("after damage: %d requests, %d cached bytes; want more than one per file (%d), none cached", third.Requests, third.Cached, len(l.Files))
			}
			if fourth := load(); fourth.Requests != 1 {
				t.Errorf("after repair: %d requests, want 1", fourth.Requests)
			}
		})
	}
}

// Without a header cache nothing is written anywhere.
func TestHFNoHeaderCache(t *testing.T) {
	l, err := synth.Builtin("30b-safetensors")
	if err != nil {
		t.Fatal(err)
	}
	fh, _ := layoutHub(t, l)
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", home)
	t.Setenv("WEIGHTAUDIT_CACHE", filepath.Join(home, "wa"))
	src := newSource(t, fh, "", hub.HFOptions{}, nil)
	if _, err := checkpoint.Load(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(home); len(ents) != 0 {
		t.Errorf("cache folder holds %d entries without a header cache", len(ents))
	}
}

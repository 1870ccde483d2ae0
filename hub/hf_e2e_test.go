package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// layoutHub serves a synthesized layout through the fake Hub: model files
// through the storage redirect, JSON files directly. It returns the fake
// and the bytes of every file's head (headers, config, index).
func layoutHub(tb testing.TB, l *synth.Layout) (*fakeHub, int64) {
	tb.Helper()
	files := map[string]fakeFile{}
	var head int64
	for _, f := range l.Files {
		sum := sha256.Sum256([]byte(f.Name)) // a stand-in digest: the data is virtual
		files[f.Name] = fakeFile{r: &hub.Virtual{Head: f.Head, Len: f.Size}, size: f.Size,
			lfs: !strings.HasSuffix(f.Name, ".json"), sha: hex.EncodeToString(sum[:])}
		head += int64(len(f.Head))
	}
	return newFakeHub(tb, files), head
}

// TestHFLoadEndToEnd loads synthesized checkpoints through the fake Hub and
// compares them with the same layouts read from memory: the same
// inventory, for a few more bytes than the headers hold.
func TestHFLoadEndToEnd(t *testing.T) {
	tests := []struct {
		builtin string
		slack   func(head int64, files int) int64 // bytes allowed over the heads
	}{
		// Within 10% plus one first fetch per file.
		{"30b-safetensors", func(head int64, files int) int64 { return head/10 + int64(files)*256<<10 }},
		// GGUF headers are read in doubling chunks: at most twice the header.
		{"30b-gguf", func(head int64, files int) int64 { return head + 256<<10 }},
	}
	for _, tt := range tests {
		t.Run(tt.builtin, func(t *testing.T) {
			l, err := synth.Builtin(tt.builtin)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			want, err := checkpoint.Load(ctx, l.Source())
			if err != nil {
				t.Fatal(err)
			}
			fh, head := layoutHub(t, l)
			src := newSource(t, fh, "", hub.HFOptions{}, nil)
			got, err := checkpoint.Load(ctx, src, checkpoint.WithJobs(src.Jobs()))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
				t.Errorf("inventory over the Hub (-memory +hub):\n%s", diff)
			}
			if string(got.Config) != string(want.Config) {
				t.Errorf("config.json differs")
			}
			st := src.Stats()
			if limit := head + tt.slack(head, len(l.Files)); st.Bytes > limit {
				t.Errorf("fetched %d bytes for %d bytes of headers, config and index; want at most %d", st.Bytes, head, limit)
			}
			for _, r := range fh.requests("storage") {
				if r.header.Get("Authorization") != "" {
					t.Errorf("storage saw an Authorization header")
				}
			}
			t.Logf("%s: %d files, %d requests, %d bytes fetched for %d bytes of headers (%.2fx)",
				tt.builtin, len(l.Files), st.Requests, st.Bytes, head, float64(st.Bytes)/float64(head))
		})
	}
}

// BenchmarkHFLoad reads the headers of the built-in 235B safetensors layout
// (118 shards) through the fake Hub, which adds 20 ms to every request, as
// checkpoint.Load does for a remote SOURCE; "memory" is the same Load from
// memory, the baseline. It reports requests and bytes fetched per Load and
// their ratio to the bytes of headers, config and index.
func BenchmarkHFLoad(b *testing.B) {
	l, err := synth.Builtin("safetensors")
	if err != nil {
		b.Fatal(err)
	}
	fh, head := layoutHub(b, l)
	fh.latency = 20 * time.Millisecond
	ctx := context.Background()
	b.Run("memory", func(b *testing.B) {
		src := l.Source()
		b.SetBytes(head)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := checkpoint.Load(ctx, src); err != nil {
				b.Fatal(err)
			}
		}
	})
	cache := hub.NewHeaderCache(b.TempDir())
	for _, run := range []struct {
		name  string
		jobs  int
		cache *hub.HeaderCache
	}{{"jobs=16", 16, nil}, {"jobs=64", 64, nil}, {"jobs=64/header-cache", 64, cache}} {
		jobs := run.jobs
		if run.cache != nil { // fill it: the benchmark measures a later run
			src := newSource(b, fh, "", hub.HFOptions{Jobs: jobs, HeaderCache: run.cache}, nil)
			if _, err := checkpoint.Load(ctx, src, checkpoint.WithJobs(jobs)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("hub-20ms/"+run.name, func(b *testing.B) {
			b.SetBytes(head)
			b.ReportAllocs()
			var total hub.Stats
			loads := 0
			for b.Loop() {
				src := newSource(b, fh, "", hub.HFOptions{Jobs: jobs, HeaderCache: run.cache}, nil)
				if _, err := checkpoint.Load(ctx, src, checkpoint.WithJobs(src.Jobs())); err != nil {
					b.Fatal(err)
				}
				st := src.Stats()
				total.Requests += st.Requests
				total.Bytes += st.Bytes
				loads++
			}
			b.ReportMetric(float64(total.Requests)/float64(loads), "requests/op")
			b.ReportMetric(float64(total.Bytes)/float64(loads)/1e6, "MB-fetched/op")
			b.ReportMetric(float64(total.Bytes)/float64(loads)/float64(head), "fetched/header")
			b.ReportMetric(float64(b.Elapsed())/float64(loads)/float64(fh.latency), "round-trips/op")
		})
	}
}

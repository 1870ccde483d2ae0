package checkpoint_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// tinyMem copies a folder of testdata/tiny into an in-memory source,
// passing each file's bytes through edit (which may drop it by returning
// nil).
func tinyMem(t *testing.T, dir string, edit func(name string, data []byte) []byte) *hub.Mem {
	t.Helper()
	m := hub.NewMem(dir)
	ents, err := os.ReadDir(filepath.Join("..", "testdata", "tiny", dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "tiny", dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			if data = edit(e.Name(), data); data == nil {
				continue
			}
		}
		m.Add(e.Name(), bytes.NewReader(data), int64(len(data)))
	}
	return m
}

// The index and the shards the listing names are read at once; what the
// index does not name is read for nothing and never fails the load.
func TestLoadIndexed(t *testing.T) {
	const index = "model.safetensors.index.json"
	want, err := checkpoint.Load(context.Background(), tinyMem(t, "hf-bf16", nil))
	if err != nil {
		t.Fatal(err)
	}
	wantTensors := len(want.Inventory().Tensors)

	t.Run("stray malformed shard outside the index", func(t *testing.T) {
		m := tinyMem(t, "hf-bf16", nil)
		m.Add("stray.safetensors", strings.NewReader("\xff\xff\xff\xff\xff\xff\xff\xff{"), 9)
		ck, err := checkpoint.Load(context.Background(), m)
		if err != nil {
			t.Fatalf("Load = %v, want the stray file ignored as before", err)
		}
		if len(ck.Files) != 2 || len(ck.Inventory().Tensors) != wantTensors {
			t.Errorf("Load: %d files, %d tensors, want 2, %d", len(ck.Files), len(ck.Inventory().Tensors), wantTensors)
		}
	})
	t.Run("malformed index wins over a malformed shard", func(t *testing.T) {
		m := tinyMem(t, "hf-bf16", func(name string, data []byte) []byte {
			switch name {
			case index:
				return []byte("{")
			case "model-00002-of-00002.safetensors":
				return data[:7]
			}
			return data
		})
		_, err := checkpoint.Load(context.Background(), m)
		if err == nil || !strings.Contains(err.Error(), index) {
			t.Errorf("Load = %v, want an error naming %s", err, index)
		}
	})
	t.Run("malformed shard the index names", func(t *testing.T) {
		m := tinyMem(t, "hf-bf16", func(name string, data []byte) []byte {
			if name == "model-00002-of-00002.safetensors" {
				return data[:7]
			}
			return data
		})
		_, err := checkpoint.Load(context.Background(), m)
		if err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
			t.Errorf("Load = %v, want an error naming the shard", err)
		}
	})
	t.Run("shard not named *.safetensors", func(t *testing.T) {
		const other = "model-00001-of-00002.data"
		m := tinyMem(t, "hf-bf16", func(name string, data []byte) []byte {
			switch name {
			case index:
				return bytes.ReplaceAll(data, []byte(`"model-00001-of-00002.safetensors"`), []byte(`"`+other+`"`))
			case "model-00001-of-00002.safetensors":
				return nil
			}
			return data
		})
		shard, err := os.ReadFile(filepath.Join("..", "testdata", "tiny", "hf-bf16", "model-00001-of-00002.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		m.Add(other, bytes.NewReader(shard), int64(len(shard)))
		ck, err := checkpoint.Load(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if len(ck.Files) != 2 || ck.Files[0].Name != other || len(ck.Inventory().Tensors) != wantTensors {
			t.Errorf("Load: files %v, %d tensors, want 2 starting with %s, %d tensors", ck.Files, len(ck.Inventory().Tensors), other, wantTensors)
		}
	})
	t.Run("index and shards overlap in time on a remote source", func(t *testing.T) {
		// The index cannot be opened until a shard has been: a loader
		// that waited for the index first would stall until the timeout.
		src := remoteGate{newGate(tinyMem(t, "hf-bf16", nil), index)}
		if _, err := checkpoint.Load(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		if src.timedOut.Load() {
			t.Error("the index was read before any shard was opened: the reads did not overlap")
		}
	})
	t.Run("a local index is read first, or alongside when asked, small enough and with jobs to spare", func(t *testing.T) {
		fi, err := os.Stat(filepath.Join("..", "testdata", "tiny", "hf-bf16", index))
		if err != nil {
			t.Fatal(err)
		}
		size := fi.Size()
		for _, tc := range []struct {
			maxLen    int64
			jobs      int
			alongside bool
		}{{0, 2, false}, {size - 1, 2, false}, {size, 2, true}, {1 << 30, 2, true}, {1 << 30, 1, false}} {
			src := newGate(tinyMem(t, "hf-bf16", nil), index)
			ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithIndexAlongside(tc.maxLen), checkpoint.WithJobs(tc.jobs))
			if err != nil {
				t.Fatal(err)
			}
			if overlapped := !src.timedOut.Load(); overlapped != tc.alongside {
				t.Errorf("WithIndexAlongside(%d), %d jobs, of a %d-byte index: a shard opened while the index waited: %v, want %v", tc.maxLen, tc.jobs, size, overlapped, tc.alongside)
			}
			if n := len(ck.Inventory().Tensors); n != wantTensors || len(ck.Mismatches) != 0 {
				t.Errorf("WithIndexAlongside(%d): %d tensors, mismatches %v; want %d, none", tc.maxLen, n, ck.Mismatches, wantTensors)
			}
		}
		if _, err := checkpoint.Load(context.Background(), tinyMem(t, "hf-bf16", nil), checkpoint.WithIndexAlongside(-1)); err == nil {
			t.Error("WithIndexAlongside(-1): no error")
		}
	})
	t.Run("local shards share the index's names", func(t *testing.T) {
		// Read first, the index gives every shard its names: the
		// tensors' names are the index's strings, not copies.
		ck, err := checkpoint.Load(context.Background(), tinyMem(t, "hf-bf16", nil))
		if err != nil {
			t.Fatal(err)
		}
		indexed := map[string]string{}
		for name := range ck.Index.All() {
			indexed[name] = name
		}
		n := 0
		for shard, f := range ck.Shards {
			for _, tn := range f.Tensors {
				if s, ok := indexed[tn.Name]; !ok || unsafe.StringData(s) != unsafe.StringData(tn.Name) {
					t.Errorf("%s: tensor %q is not the index's string", shard, tn.Name)
				}
				n++
			}
		}
		if n != wantTensors {
			t.Errorf("%d tensors in the shards, want %d", n, wantTensors)
		}
	})
}

// gateSource holds Open of the gated file until another file is opened,
// or a fifth of a second has passed (then timedOut is set). It is a local
// source; remoteGate is a remote one.
type gateSource struct {
	hub.Source
	gated    string
	opened   chan struct{}
	once     sync.Once
	timedOut atomic.Bool
}

func newGate(src hub.Source, gated string) *gateSource {
	return &gateSource{Source: src, gated: gated, opened: make(chan struct{})}
}

func (g *gateSource) Open(ctx context.Context, name string) (hub.File, error) {
	if name == g.gated {
		select {
		case <-g.opened:
		case <-time.After(200 * time.Millisecond):
			g.timedOut.Store(true)
		}
	} else if strings.HasSuffix(name, ".safetensors") {
		g.once.Do(func() { close(g.opened) })
	}
	return g.Source.Open(ctx, name)
}

// remoteGate is a gateSource with traffic counters (see hub.SourceStats):
// a remote source, whose index is read alongside the shards.
type remoteGate struct{ *gateSource }

func (remoteGate) Stats() hub.Stats { return hub.Stats{} }

// TestWithIndexSize checks that the hook hears the size of the index the
// loader reads, whatever its name, once and before the index is read, and
// nothing of a checkpoint without an index.
func TestWithIndexSize(t *testing.T) {
	const usual = "model.safetensors.index.json"
	index, err := os.ReadFile(filepath.Join("..", "testdata", "tiny", "hf-f32", usual))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(index))
	for _, tt := range []struct {
		name  string
		index string // what the index is named; "" drops it
		calls []int64
	}{
		{"the usual name", usual, []int64{size}},
		{"another index name", "model.fp32.safetensors.index.json", []int64{size}},
		{"no index", "", nil},
	} {
		m := tinyMem(t, "hf-f32", func(name string, data []byte) []byte {
			if name == usual {
				return nil // added below, under its name for the case
			}
			return data
		})
		if tt.index != "" {
			m.Add(tt.index, bytes.NewReader(index), size)
		}
		var calls []int64
		if _, err := checkpoint.Load(context.Background(), m, checkpoint.WithIndexSize(func(n int64) { calls = append(calls, n) })); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(calls, tt.calls) {
			t.Errorf("%s: hook called with %v, want %v", tt.name, calls, tt.calls)
		}
	}
}

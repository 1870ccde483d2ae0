package checkpoint_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
)

// countingSource wraps a source and records, per file, how many bytes were
// read and the furthest offset touched.
type countingSource struct {
	hub.Source
	mu    sync.Mutex
	read  map[string]int64
	reach map[string]int64
}

func newCounting(src hub.Source) *countingSource {
	return &countingSource{Source: src, read: map[string]int64{}, reach: map[string]int64{}}
}

func (c *countingSource) Open(ctx context.Context, name string) (hub.File, error) {
	f, err := c.Source.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, name: name, c: c}, nil
}

type countingFile struct {
	hub.File
	name string
	c    *countingSource
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.c.mu.Lock()
	f.c.read[f.name] += int64(n)
	if end := off + int64(n); end > f.c.reach[f.name] {
		f.c.reach[f.name] = end
	}
	f.c.mu.Unlock()
	return n, err
}

// The published figures, from ../shared/reference/qwen3moe.md.
const (
	params235B = 235_093_634_560
	params30B  = 30_532_122_624
)

func TestLoadBuiltin(t *testing.T) {
	tests := []struct {
		builtin     string
		format      checkpoint.Format
		files       int
		tensors     int
		params      int64
		tensorBytes int64 // -1: not checked here
	}{
		{"safetensors", checkpoint.FormatSafetensors, 118, 36945, params235B, 2 * params235B},
		{"gguf", checkpoint.FormatGGUF, 5, 1131, params235B, 142_148_069_376},
		{"30b-safetensors", checkpoint.FormatSafetensors, 16, 48*393 + 3, params30B, 61_064_245_248},
		{"30b-gguf", checkpoint.FormatGGUF, 1, 48*12 + 3, params30B, -1},
	}
	for _, tt := range tests {
		t.Run(tt.builtin, func(t *testing.T) {
			l, err := synth.Builtin(tt.builtin)
			if err != nil {
				t.Fatal(err)
			}
			src := newCounting(l.Source())
			ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithJobs(4))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if ck.Format != tt.format {
				t.Errorf("Format = %s, want %s", ck.Format, tt.format)
			}
			if len(ck.Mismatches) != 0 {
				t.Errorf("Mismatches = %v, want none", ck.Mismatches)
			}
			inv := ck.Inventory()
			tot := inv.Totals()
			if tot.Files != tt.files || tot.Tensors != tt.tensors || tot.Params != tt.params {
				t.Errorf("Totals() = %d files, %d tensors, %d params; want %d, %d, %d", tot.Files, tot.Tensors, tot.Params, tt.files, tt.tensors, tt.params)
			}
			if tt.tensorBytes >= 0 && tot.Bytes != tt.tensorBytes {
				t.Errorf("tensor bytes = %d, want %d", tot.Bytes, tt.tensorBytes)
			}
			// Headers only: nothing read past a file's header, but for one
			// read-ahead buffer.
			for _, fe := range inv.Files {
				if reach := src.reach[fe.Name]; reach > fe.HeaderBytes+64<<10 {
					t.Errorf("%s: read up to byte %d of a %d-byte header", fe.Name, reach, fe.HeaderBytes)
				}
			}
		})
	}
}

// loadBuiltin loads the built-in layout name with opts and returns it with
// the layout synth placed.
func loadBuiltin(tb testing.TB, name string, opts ...checkpoint.LoadOption) (*synth.Layout, *checkpoint.Checkpoint) {
	tb.Helper()
	l, err := synth.Builtin(name)
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return l, ck
}

// jobs=1 and jobs=n must give the same inventory.
func TestLoadJobsDeterministic(t *testing.T) {
	_, one := loadBuiltin(t, "30b-safetensors", checkpoint.WithJobs(1))
	_, many := loadBuiltin(t, "30b-safetensors", checkpoint.WithJobs(8))
	a, b := one.Inventory(), many.Inventory()
	if len(a.Tensors) != len(b.Tensors) {
		t.Fatalf("jobs=1 gives %d tensors, jobs=8 %d", len(a.Tensors), len(b.Tensors))
	}
	for i := range a.Tensors {
		if a.Tensors[i].Name != b.Tensors[i].Name || a.Tensors[i].Offset != b.Tensors[i].Offset || a.Tensors[i].File != b.Tensors[i].File {
			t.Fatalf("tensor %d: jobs=1 %+v, jobs=8 %+v", i, a.Tensors[i], b.Tensors[i])
		}
	}
}

func TestLoadRejects(t *testing.T) {
	if _, err := checkpoint.Load(context.Background(), hub.NewMem("empty"), checkpoint.WithJobs(0)); err == nil {
		t.Error("Load with WithJobs(0) succeeded")
	}
	_, err := checkpoint.Load(context.Background(), hub.NewMem("empty"))
	if !errors.Is(err, checkpoint.ErrNoModel) {
		t.Errorf("Load(empty) = %v, want ErrNoModel", err)
	}
	l, err := synth.Builtin("gguf")
	if err != nil {
		t.Fatal(err)
	}
	src := l.Source()
	src.Remove("Qwen3-235B-A22B-Q4_K_M-00003-of-00005.gguf")
	_, err = checkpoint.Load(context.Background(), src, checkpoint.WithFocus("Qwen3-235B-A22B-Q4_K_M-00001-of-00005.gguf"))
	if err == nil || !strings.Contains(err.Error(), "00003-of-00005") {
		t.Errorf("Load(split set missing part 3) = %v, want an error naming the part", err)
	}
}

// Tensors and offsets in the inventory must lie in the files as synth placed them.
func TestInventoryPlacement(t *testing.T) {
	for _, name := range []string{"30b-safetensors", "30b-gguf"} {
		l, ck := loadBuiltin(t, name)
		inv := ck.Inventory()
		if len(inv.Tensors) != len(l.Tensors) {
			t.Fatalf("%s: %d tensors, synth placed %d", name, len(inv.Tensors), len(l.Tensors))
		}
		for i, p := range l.Tensors {
			got := inv.Tensors[i]
			if got.Name != p.Name || got.File != p.File || got.Offset != p.Offset || got.Bytes != p.Bytes || got.DType != p.DType {
				t.Fatalf("%s: tensor %d = %+v, synth placed %+v", name, i, got, p)
			}
		}
	}
}

var _ io.ReaderAt = (*countingFile)(nil)

// TestCheckpointTallies sums the 235B layouts from their headers without
// the inventory and checks the sums against the inventory's and against
// the published parameter count (235,093,634,560: the seed's contract,
// DESIGN.md), in both formats: 94 decoder layers and the tensors outside
// them, each layer the same.
func TestCheckpointTallies(t *testing.T) {
	for _, name := range []string{"safetensors", "gguf"} {
		t.Run(name, func(t *testing.T) {
			_, ck := loadBuiltin(t, name)
			got := ck.Tallies()
			if got.Totals.Params != 235_093_634_560 || len(got.Layers) != 95 || got.Layers[0].Layer != -1 {
				t.Errorf("Tallies() = %d params in %d layers, want 235,093,634,560 in 94 and -1", got.Totals.Params, len(got.Layers))
			}
			for _, l := range got.Layers[2:] {
				if l.Tensors != got.Layers[1].Tensors || l.Params != got.Layers[1].Params {
					t.Errorf("layer %d = %+v, want as layer 0 %+v", l.Layer, l, got.Layers[1])
				}
			}
			inv := ck.Inventory()
			if !slices.Equal(got.Layers, inv.Layers()) || !slices.Equal(got.DTypes, inv.DTypes()) || got.Totals != inv.Totals() {
				t.Errorf("Tallies() = %+v\nwant the inventory's %+v %+v %+v", got, inv.Layers(), inv.DTypes(), inv.Totals())
			}
		})
	}
}

// WithListing keeps what a listing shows: the same metadata (long arrays
// by type and length), files and tallies as a full load, the tokenizer's
// arrays checked but not kept.
func TestLoadListing(t *testing.T) {
	for _, name := range []string{"gguf", "30b-gguf", "30b-safetensors"} {
		t.Run(name, func(t *testing.T) {
			_, full := loadBuiltin(t, name)
			_, lean := loadBuiltin(t, name, checkpoint.WithListing())
			if diff := cmp.Diff(full.Metadata(), lean.Metadata()); diff != "" {
				t.Errorf("Metadata() with WithListing differs (-full +listing):\n%s", diff)
			}
			if diff := cmp.Diff(full.Files, lean.Files); diff != "" {
				t.Errorf("Files with WithListing differ (-full +listing):\n%s", diff)
			}
			if diff := cmp.Diff(full.Tallies(), lean.Tallies()); diff != "" {
				t.Errorf("Tallies() with WithListing differ (-full +listing):\n%s", diff)
			}
			for i, p := range lean.GGUF {
				for _, kv := range p.KVs {
					long := kv.Value.Type() == gguf.ValueArray && kv.Value.Len() > 4096
					if kv.Value.Kept() == long {
						t.Errorf("part %d: %s: Kept() = %v for %d elements", i, kv.Key, kv.Value.Kept(), kv.Value.Len())
					}
				}
				if v, _ := full.GGUF[i].Get("tokenizer.ggml.tokens"); i == 0 && v.Len() < 100000 {
					t.Errorf("part 0 has %d tokens: the test needs a vocabulary", v.Len())
				}
			}
			// Arrays not kept are hashed only where metadata is compared:
			// between the parts of a split set (gguf.WithoutDroppedHash).
			if len(lean.GGUF) == 0 {
				return
			}
			if v, ok := lean.GGUF[0].Get("tokenizer.ggml.tokens"); ok {
				if hashed, split := v.Equal(v), len(lean.GGUF) > 1; hashed != split {
					t.Errorf("%d part(s): the tokens not kept are hashed = %v, want %v", len(lean.GGUF), hashed, split)
				}
			}
		})
	}
}

// BenchmarkTallies sums the 235B layouts' tensors (36,945 in 118 shards,
// 1,131 in the GGUF split set) per layer, per dtype and in all.
func BenchmarkTallies(b *testing.B) {
	for _, name := range []string{"safetensors", "gguf"} {
		b.Run(name, func(b *testing.B) {
			_, ck := loadBuiltin(b, name)
			b.ReportAllocs()
			for b.Loop() {
				ck.Tallies()
			}
		})
	}
}

package verify_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/weightaudit/weightaudit/verify"
)

// tensorBytes sums the data_offsets ranges of the safetensors shards in
// dir, read from their headers here (8-byte little-endian length, then
// JSON), not through the checkpoint package.
func tensorBytes(tb testing.TB, dir string) int64 {
	tb.Helper()
	shards, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil || len(shards) == 0 {
		tb.Fatalf("no shards in %s: %v", dir, err)
	}
	var sum int64
	for _, path := range shards {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		n := binary.LittleEndian.Uint64(data[:8])
		var header map[string]json.RawMessage
		if err := json.Unmarshal(data[8:8+n], &header); err != nil {
			tb.Fatal(err)
		}
		for name, raw := range header {
			if name == "__metadata__" {
				continue
			}
			var t struct {
				Offsets [2]int64 `json:"data_offsets"`
			}
			if err := json.Unmarshal(raw, &t); err != nil {
				tb.Fatal(err)
			}
			sum += t.Offsets[1] - t.Offsets[0]
		}
	}
	return sum
}

// A checkpoint diffed against itself with no published digests reads
// every tensor of both sides: progress ends at twice its tensor bytes,
// and every call agrees on that total.
func TestDiffCheckpointsProgress(t *testing.T) {
	dir := filepath.Join("..", "testdata", "tiny", "hf-f32")
	ck := load(t, dir)
	want := 2 * tensorBytes(t, dir)
	var (
		mu     sync.Mutex
		last   int64
		totals = map[int64]bool{}
		calls  int
	)
	r, err := verify.DiffCheckpoints(context.Background(), ck, ck, nil, nil, 3, verify.WithDiffProgress(func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		last = max(last, done)
		totals[total] = true
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Identical || r.BytesRead != want {
		t.Fatalf("self-diff: identical %v, %d bytes read; want true and %d", r.Identical, r.BytesRead, want)
	}
	if last != want || len(totals) != 1 || !totals[want] || calls != r.Same {
		t.Errorf("progress: %d calls ending at %d of totals %v; want %d calls ending at %d of %d", calls, last, totals, r.Same, want, want)
	}
}

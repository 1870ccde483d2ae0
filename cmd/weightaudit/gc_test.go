package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/hugeheap"
)

// TestReserveHeapFaults runs `inspect` of the 118-shard Qwen3-235B-A22B
// layout (headers as sparse files, a 3.2 MB index) as a process, with and
// without huge pages for its heap (GODEBUG=disablethp=1), and counts its
// page faults: every first touch of a 4 KiB page is one, so with the load
// in huge pages there must be far fewer (measured: ~700 against ~2,450).
// The fewest of three runs each, so that a run slowed by the machine does
// not decide.
func TestReserveHeapFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 118-shard layout and starts child processes")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory takes most of the page faults")
	}
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || !strings.Contains(string(b), "[madvise]") {
		t.Skipf("transparent huge pages not in madvise mode (%q, %v): advice changes nothing to compare", b, err)
	}
	l, err := synth.Builtin("safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := l.WriteDir(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "model.safetensors.index.json")); err != nil || heapPerIndexByte*fi.Size() < minReserve {
		t.Fatalf("the layout's index (%v, %v) is below what reserves the heap", fi, err)
	}
	faults := func(godebug string) int64 {
		cmd := exec.Command(os.Args[0], "inspect", dir)
		cmd.Env = append(os.Environ(), "WEIGHTAUDIT_TEST_MAIN=1", "GODEBUG="+godebug)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("inspect (GODEBUG=%s): %v\n%.500s", godebug, err, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return ru.Minflt + ru.Majflt
	}
	huge, small := int64(1<<62), int64(1<<62)
	for range 3 {
		huge, small = min(huge, faults("")), min(small, faults("disablethp=1"))
	}
	if huge*10 > small*7 {
		t.Errorf("inspect of 118 shards: %d page faults with huge pages, %d without: want at most 70%%", huge, small)
	}
	t.Logf("page faults: %d with huge pages, %d without", huge, small)
}

// TestLocalLoad checks the options a local load gets: with huge pages for
// the heap (and two jobs, as on any machine of two cores), its index is
// read alongside the shards (a shard is opened while the index's Open is
// held back); without, first. Either way the checkpoint loads whole.
func TestLocalLoad(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "tiny", "hf-bf16")
	src := &heldIndex{Source: hub.NewDir(dir), shardOpened: make(chan struct{})}
	ck, err := checkpoint.Load(context.Background(), src, append(localLoad(), checkpoint.WithJobs(2))...)
	if err != nil {
		t.Fatal(err)
	}
	if alongside := hugeheap.Available(); src.overlapped.Load() != alongside {
		t.Errorf("huge pages %v: a shard was opened while the index waited: %v", alongside, src.overlapped.Load())
	}
	if len(ck.Shards) != 2 || len(ck.Mismatches) != 0 || ck.Index == nil {
		t.Errorf("loaded %d shards, mismatches %v, index %v; want 2, none, one", len(ck.Shards), ck.Mismatches, ck.Index != nil)
	}
}

// heldIndex holds Open of the safetensors index until a shard is opened,
// for at most a fifth of a second, and records whether one was.
type heldIndex struct {
	hub.Source
	shardOpened chan struct{}
	once        sync.Once
	overlapped  atomic.Bool
}

func (h *heldIndex) Open(ctx context.Context, name string) (hub.File, error) {
	switch {
	case strings.HasSuffix(name, ".index.json"):
		select {
		case <-h.shardOpened:
			h.overlapped.Store(true)
		case <-time.After(200 * time.Millisecond):
		}
	case strings.HasSuffix(name, ".safetensors"):
		h.once.Do(func() { close(h.shardOpened) })
	}
	return h.Source.Open(ctx, name)
}

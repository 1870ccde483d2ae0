package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/hugeheap"
)

// headerGC turns the garbage collector off for a command that reads
// headers only, when run bounds its heap with headerMemoryLimit (GOMEMLIMIT
// and GOGC unset), and returns what restores the collector. Such a command
// keeps most of what it allocates (the headers, the inventory, the
// report) and exits: a collection before the limit nears is work thrown
// away. inspect of the 235B layouts as a process takes about 5% less time
// (see bench/process_test.go), run after run in one process (tests,
// benchmarks) half. The limit stays the bound: as the heap nears it the
// collector runs as it did, so what the input caps admit stays under it;
// an input that makes garbage below it now holds it, up to the limit.
func headerGC(cmd *cobra.Command) (restore func()) {
	if !headerOnly(cmd) || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(-1)
	return func() { debug.SetGCPercent(prev) }
}

// Huge pages for a large local load (see package hugeheap): reading the
// headers of a checkpoint whose index is large allocates about
// heapPerIndexByte bytes for each byte of the index (the 235B layout's
// 3.2 MB index, 118 shards: ~20 MB). From minReserve on, growing the heap
// by that at once in advised memory saves more than its collection costs
// (~3 ms): the 118-shard inspect takes ~2,450 page faults without it,
// ~620 with it and the start-up chunk's huge pages, and 30% less time (see
// bench/process_test.go).
const (
	heapPerIndexByte = 8
	minReserve       = 16 << 20
	maxReserve       = 128 << 20
)

var reserveOnce sync.Once

// localLoad returns the options for loading a local checkpoint: a local
// index's size sizes the heap (reserveHeap), and where the heap is backed
// by huge pages, so that the names the shards copy cost few page faults,
// an index whose load the reservation covers is read alongside the shards
// (see checkpoint.WithIndexAlongside).
func localLoad() []checkpoint.LoadOption {
	opts := []checkpoint.LoadOption{checkpoint.WithIndexSize(reserveHeap)}
	if hugeheap.Available() {
		opts = append(opts, checkpoint.WithIndexAlongside(maxReserve/heapPerIndexByte))
	}
	return opts
}

// reserveHeap prepares the heap for a local load whose safetensors index
// is indexBytes long (see checkpoint.WithIndexSize), when that is large:
// it grows the heap by the estimate in one step, has that memory backed
// by huge pages, and frees it for the allocations of the load, which the
// runtime places at the lowest free addresses, in it. Once a process;
// nothing for a small index, or where huge pages are off
// (GODEBUG=disablethp=1, the kernel's mode "never").
func reserveHeap(indexBytes int64) {
	n := heapPerIndexByte * indexBytes
	if n < minReserve || !hugeheap.Available() {
		return
	}
	reserveOnce.Do(func() {
		prev := debug.SetGCPercent(-1) // the allocation starts no cycle
		grow(int(min(n, maxReserve)))
		runtime.GC() // frees what grow advised, for the load
		debug.SetGCPercent(prev)
	})
}

// grow allocates n bytes, which the runtime takes from fresh heap and
// leaves untouched, and advises them; they are garbage once it returns.
func grow(n int) { hugeheap.Advise(make([]byte, n)) }

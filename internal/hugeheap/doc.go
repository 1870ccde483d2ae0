// Package hugeheap asks the kernel to back the Go heap with transparent
// huge pages, for a command-line process whose run is dominated by first
// touches of fresh memory.
//
// On Linux in THP's "madvise" mode (the default of most distributions)
// the Go runtime never asks for huge pages for its heap, so every 4 KiB
// page the heap touches first costs a page fault: 1–2 µs on bare metal,
// 12–16 µs on the paravirtualized VMs CI runners and this project's
// machines run on, where a header audit of a 118-shard checkpoint takes
// ~2,500 of them. A huge page costs one fault and a 2 MiB clear.
//
// Importing the package (main does, nothing else should) advises the heap
// chunk initialization has reached (the one the runtime mapped at
// start-up, as a rule) and collapses the pages already touched there into
// huge pages (MADV_HUGEPAGE, MADV_COLLAPSE): the allocations of the
// packages' initialization and of a small run land there. Where less than
// 2 MiB of that chunk is left (the runtime starts the heap at a random
// page of it), the next chunk is mapped and advised too.
// The package imports nothing but syscall and unsafe, so that it
// initializes early, before most of the others allocate. Heap the runtime
// grows into later is mapped afresh, without the advice: [Advise] is for a
// caller that makes it grow by a large allocation on purpose (see
// reserveHeap in cmd/weightaudit).
//
// Neither changes what the program computes; both are skipped under
// GODEBUG=disablethp=1 (the Go runtime's own switch for huge pages) and
// do nothing where the kernel has no transparent huge pages.
package hugeheap

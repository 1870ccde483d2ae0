package hugeheap

import (
	"syscall"
	"unsafe"
)

// madvCollapse is MADV_COLLAPSE (Linux 6.1), which package syscall lacks.
const madvCollapse = 25

var getenv = syscall.Getenv

// modeAllowed is modeAllows, asked once: a run asks Available more than
// once.
var modeAllowed = modeAllows()

func init() {
	if !disabled() && modeAllowed {
		prepared.used, prepared.room, prepared.spilled = prepare()
	}
}

// headroom is the free heap in advised memory that initialization leaves
// for the run: a header audit of a large GGUF file allocates about 1.3 MB
// after this package's init.
const headroom = 2 << 20

// prepared is what prepare returned, for the tests.
var prepared preparation

type preparation struct {
	used, room uintptr
	spilled    bool
}

// spill holds prepare's filler while its address is taken: a package
// variable, so that the compiler puts it on the heap.
var spill []byte

// prepare has the heap continue, from where initialization has got it,
// in memory advised for huge pages, with at least headroom bytes of it
// mapped: it advises the chunk (the unit in which the runtime maps heap)
// that the heap's top lies in, and collapses the pages already touched
// there into huge pages.
//
// Since Go 1.26 the runtime starts the heap at a random page of its
// start-up chunk (the pages below are marked in use for good), so a
// uniformly random part of that chunk is lost, and a small run often
// outgrows what is left. The runtime then maps the next chunk afresh,
// without advice, and every page of it costs a fault: ~110 of them (1.5
// to 2 ms) for a GGUF header audit, in about half of all runs. When less
// than headroom is left, prepare has the runtime map the next chunk now,
// by an allocation larger than the rest of the current one, and advises
// that chunk before anything touches it. The probe and the filler are
// never touched (fresh memory is zero already), so they cost address
// space, not memory, and the first collection frees them.
//
// It returns the end of the memory initialization used, where the heap's
// free memory begins, and whether that is in the next chunk.
func prepare() (used, room uintptr, spilled bool) {
	// Before the first collection nothing has been freed, and a large
	// allocation (past the P's page cache, 16 pages) lands on top of the
	// heap: initialization has used the memory below it.
	probe := make([]byte, 16*pageSize)
	used, room = uintptr(unsafe.Pointer(unsafe.SliceData(probe))), end(probe)
	// Collapse where initialization has touched pages: the spans there
	// have more room, and the rest of each huge page is then free of
	// faults too.
	last := (used - 1) &^ (chunk - 1)
	advise(last, chunk, true)
	cur := (room - 1) &^ (chunk - 1)
	if rest := cur + chunk - room; rest < headroom {
		spill = make([]byte, rest+pageSize)
		room = end(spill)
		spill = nil
		cur = (room - 1) &^ (chunk - 1)
		spilled = true
	}
	if cur != last {
		advise(cur, chunk, false)
	}
	return used, room, spilled
}

// pageSize is the runtime's page, the unit of its heap (gc.PageSize).
const pageSize = 8 << 10

// end is the address just past b.
func end(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(len(b)) }

// thpEnabled is where Linux says when it backs memory with transparent
// huge pages: "always [madvise] never", the mode in brackets.
const thpEnabled = "/sys/kernel/mm/transparent_hugepage/enabled"

// modeAllows reports whether the kernel's mode lets advice take effect.
func modeAllows() bool {
	fd, err := syscall.Open(thpEnabled, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	var buf [128]byte
	n, _ := syscall.Read(fd, buf[:])
	mode := string(buf[:max(n, 0)])
	return contains(mode, "[always]") || contains(mode, "[madvise]")
}

// contains is strings.Contains, which the package does without (see
// disabled).
func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// advise asks for huge pages for the huge pages wholly inside
// [addr, addr+n) and, with collapse, for the pages already touched there
// to be moved into huge pages now. Errors are ignored: a kernel without
// transparent huge pages (or without MADV_COLLAPSE, before 6.1) leaves the
// memory as it was.
func advise(addr, n uintptr, collapse bool) {
	lo := (addr + hugePage - 1) &^ (hugePage - 1)
	hi := (addr + n) &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, syscall.MADV_HUGEPAGE)
	// A huge page at a time: over a range, the kernel gives up at the
	// first huge page it finds nothing to collapse in (untouched memory).
	for p := lo; collapse && p < hi; p += hugePage {
		syscall.Syscall(syscall.SYS_MADVISE, p, hugePage, madvCollapse)
	}
}

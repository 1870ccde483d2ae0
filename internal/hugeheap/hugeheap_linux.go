package hugeheap

import (
	"syscall"
	"unsafe"
)

// madvCollapse is MADV_COLLAPSE (Linux 6.1), which package syscall lacks.
const madvCollapse = 25

var getenv = syscall.Getenv

// start is a heap allocation made at initialization: it lies in the chunk
// the runtime mapped at start-up.
var start = new([64]byte)

func init() {
	if !disabled() {
		advise(uintptr(unsafe.Pointer(start))&^(chunk-1), chunk, true)
	}
}

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

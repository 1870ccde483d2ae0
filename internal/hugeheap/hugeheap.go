package hugeheap

import "unsafe"

const (
	hugePage = 2 << 20 // x86-64 and arm64 with 4 KiB pages
	// chunk is the unit in which the Go runtime maps heap memory
	// (pallocChunkBytes): its start-up chunk is this size and aligned to it.
	chunk = 4 << 20
)

// Advise asks for the huge pages wholly inside b to be backed by huge
// pages when first touched. It is for memory not touched yet: fresh heap
// the runtime has just mapped for a large allocation. It does nothing when
// huge pages are off.
func Advise(b []byte) {
	if len(b) > 0 && !disabled() {
		advise(uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), false)
	}
}

// Available reports whether advice can take effect here: on Linux with
// transparent huge pages in "madvise" or "always" mode (read from sysfs
// once, at initialization), and not switched off with
// GODEBUG=disablethp=1.
func Available() bool { return !disabled() && modeAllowed }

// disabled reports whether GODEBUG has disablethp=1. It scans the
// variable by hand: the package imports nothing that would make it
// initialize later (see the package doc).
func disabled() bool {
	v, _ := getenv("GODEBUG")
	const key = "disablethp=1"
	for i := 0; i+len(key) <= len(v); i++ {
		if (i == 0 || v[i-1] == ',') && v[i:i+len(key)] == key && (i+len(key) == len(v) || v[i+len(key)] == ',') {
			return true
		}
	}
	return false
}

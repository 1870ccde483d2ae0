package gguf_test

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// The kernels read nothing past the source nor before it: each type's
// blocks are placed to end exactly at a page that cannot be read (and, in
// a second pass, to start exactly after one), so a load beyond either edge
// faults and kills the test; the values must still equal the reference's.
func TestDequantizeReadsOnlySource(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 4*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	// Pages 0 and 3 unreadable; the source lies in pages 1–2.
	for _, p := range []int{0, 3} {
		if err := syscall.Mprotect(mem[p*page:(p+1)*page], syscall.PROT_NONE); err != nil {
			t.Skipf("mprotect: %v", err)
		}
	}
	usable := mem[page : 3*page]
	r := rand.New(rand.NewPCG(11, 11))
	for _, typ := range supported {
		ts := int(typ.TypeSize())
		if ts <= 0 {
			continue
		}
		for _, blocks := range []int{1, 3, 17, (len(usable) / ts)} {
			src := randomBlocks(r, typ, blocks)
			n := len(src)
			if n > len(usable) {
				continue
			}
			// Ending at the unreadable page after the source.
			end := usable[len(usable)-n:]
			copy(end, src)
			checkSame(t, typ, end)
			// Starting right after the unreadable page before it.
			start := usable[:n:n]
			copy(start, src)
			checkSame(t, typ, start)
		}
	}
}

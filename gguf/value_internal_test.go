package gguf

import (
	"math"
	"testing"
)

// TestArrayEndsPast4GiB checks the bookkeeping of string elements across
// the 4 GiB mark, where the ends switch from uint32 to int (a blob that
// long is not built here: only where elements end is).
func TestArrayEndsPast4GiB(t *testing.T) {
	ends := []int{3, math.MaxUint32, math.MaxUint32 + 5, 1 << 33, 1<<33 + 1}
	a := &array{elem: ValueString, n: len(ends)}
	for _, e := range ends {
		a.addEnd(e)
	}
	for i, want := range ends {
		if got := a.end(i); got != want {
			t.Errorf("end(%d) = %d, want %d", i, got, want)
		}
	}
	if got := a.start(3); got != math.MaxUint32+5 {
		t.Errorf("start(3) = %d, want %d", got, math.MaxUint32+5)
	}
}

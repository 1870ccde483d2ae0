package compare

import "testing"

// A released view's chunk buffers go back to the pools whole: the pooled
// buffer is not the view's field, which release then clears (it was, so
// the pool handed out empty slices and a second goroutine's read of the
// field raced with the first's write; go test -race found it).
func TestReleaseRecyclesBuffers(t *testing.T) {
	v := &view{cache: make([]float32, 8, 16), cacheBuf: make([]byte, 4, 32)}
	v.release()
	if v.cache != nil || v.cacheBuf != nil {
		t.Fatalf("after release the view keeps %d floats, %d bytes", cap(v.cache), cap(v.cacheBuf))
	}
	// sync.Pool may drop what it holds (a collection): then there is
	// nothing to check.
	if p, _ := floatPool.Get().(*[]float32); p != nil && cap(*p) != 16 {
		t.Errorf("the float pool gave back a buffer of capacity %d, want the released 16", cap(*p))
	}
	if p, _ := bytePool.Get().(*[]byte); p != nil && cap(*p) != 32 {
		t.Errorf("the byte pool gave back a buffer of capacity %d, want the released 32", cap(*p))
	}
}

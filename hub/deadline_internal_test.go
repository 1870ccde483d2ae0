package hub

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestWatchSlowReader checks that the stall timeout counts only the time
// spent waiting inside Read: a caller that pauses between reads for longer
// than the timeout, on a server that sends whenever asked, never stalls;
// the same server going silent does.
func TestWatchSlowReader(t *testing.T) {
	const stall = 100 * time.Millisecond
	silent := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for range 4 {
			w.Write(make([]byte, 4<<10))
			rc.Flush()
		}
		if r.URL.Path == "/silent" {
			select {
			case <-silent:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(silent)
	c := &http.Client{Transport: newWatchTransport(srv.Client().Transport, stall, time.Time{})}

	resp, err := c.Get(srv.URL + "/slow-reader")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<10)
	total := 0
	for {
		time.Sleep(stall * 3 / 2) // the reader, not the server, is slow
		n, err := resp.Body.Read(buf)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read after %d bytes = %v, want no stall: the server was waiting for the reader", total, err)
		}
		if total > 16<<10 {
			t.Fatal("read more than was sent")
		}
		if total >= 6<<10 {
			break // enough pauses to have stalled several times over
		}
	}
	resp.Body.Close()

	resp, err = c.Get(srv.URL + "/silent")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	var se *StallError
	if !errors.As(err, &se) || !se.Body || !se.progressed || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAll of a body that goes silent = %v, want a *StallError after progress", err)
	}
	if el := time.Since(start); el < stall || el > stall+time.Second {
		t.Errorf("the stall took %v to tell, want about %v", el, stall)
	}
}

package hub_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/weightaudit/weightaudit/hub"
)

// A file inside a compressed tar layer reads whole, at any offset: reads
// going forward cost one stream of the layer, a read behind the stream's
// position one more, and the front kept at listing none.
func TestOCILayerFileReads(t *testing.T) {
	host, tr := newRegistry(t, nil)
	a := artifact(t, "modelpack-safetensors-tar-zstd")
	pushImage(t, host, tr, "models/tarred:v1", a.image(t))
	ctx := context.Background()
	src, err := hub.NewOCI("oci://"+host+"/models/tarred:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous, ReadHeader: hub.ReadModelHeader})
	if err != nil {
		t.Fatal(err)
	}
	const name = "model-00002-of-00002.safetensors"
	want := a.local[name]
	f, err := src.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	streams := func() int64 { return src.Stats().Requests }
	read := func(off, n int64) {
		t.Helper()
		got := make([]byte, n)
		k, err := f.ReadAt(got, off)
		if end := min(off+n, int64(len(want))); int64(k) != end-off || !bytes.Equal(got[:k], want[off:end]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v or other bytes", n, off, k, err)
		}
		if off+n > int64(len(want)) && err != io.EOF {
			t.Fatalf("ReadAt past the end: %v, want io.EOF", err)
		}
	}
	listed := streams()
	read(0, 8) // the front, from memory
	if streams() != listed {
		t.Fatalf("reading the front made %d requests", streams()-listed)
	}
	// Forward through the data past the front (the listing keeps 64 KiB of
	// this 72 KB file): one stream.
	for off := int64(len(want)) - 7000; off < int64(len(want)); off += 2000 {
		read(off, 1000)
	}
	if got := streams() - listed; got != 1 {
		t.Errorf("forward reads made %d requests, want 1 stream", got)
	}
	read(int64(len(want))-6500, 100) // behind the stream: another
	if got := streams() - listed; got != 2 {
		t.Errorf("a backward read made %d requests in all, want 2", got)
	}
	read(int64(len(want))-10, 20) // to the end, and past it
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// A read past the front after Close streams anew, still right.
	read(int64(len(want))/2, 100)
}

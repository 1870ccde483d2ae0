package hub

import (
	"bytes"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestTarFrontsRoundTrip(t *testing.T) {
	l := v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: "ab"}}
	pfs := []*prefixFile{
		{name: "config.json", size: 3, data: []byte("{}\n")},
		{name: "sub/model.safetensors", size: 1 << 40, data: []byte("\x02\x00\x00\x00\x00\x00\x00\x00{}")},
		{name: "empty", size: 0},
	}
	b, ok := encodeTarFronts(pfs, 1<<20)
	if !ok {
		t.Fatal("encodeTarFronts refused three small files")
	}
	got, err := decodeTarFronts(b, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pfs) {
		t.Fatalf("decoded %d files, want %d", len(got), len(pfs))
	}
	for i, pf := range got {
		if pf.name != pfs[i].name || pf.size != pfs[i].size || !bytes.Equal(pf.data, pfs[i].data) || pf.layer != l.Digest {
			t.Errorf("file %d = %+v, want %+v", i, pf, pfs[i])
		}
	}
	if _, ok := encodeTarFronts(pfs, int64(len(b)-1)); ok {
		t.Error("encodeTarFronts exceeded its limit")
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(bytes.Clone(b), 0),
		{0xff, 0xff, 0xff, 0xff}, {1, 0, 0, 0, 2, 0, 0, 0, '.', '.', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := decodeTarFronts(bad, l); err == nil {
			t.Errorf("decodeTarFronts(%q) succeeded", bad)
		}
	}
}

// FuzzDecodeTarFronts: a cached entry is never trusted; decoding it never
// panics, keeps to the limits, and what it accepts encodes back to the
// same bytes.
func FuzzDecodeTarFronts(f *testing.F) {
	l := v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: "ab"}}
	good, _ := encodeTarFronts([]*prefixFile{{name: "a.gguf", size: 10, data: []byte("GGUF")}, {name: "b/c.json", size: 2, data: []byte("{}")}}, 1<<20)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pfs, err := decodeTarFronts(b, l)
		if err != nil {
			return
		}
		for _, pf := range pfs {
			if int64(len(pf.data)) > pf.size || pf.size < 0 || cleanName(pf.name) != pf.name {
				t.Fatalf("accepted %+v", pf)
			}
		}
		again, ok := encodeTarFronts(pfs, int64(len(b)))
		if !ok || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

package hub_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// bigSafetensors returns a safetensors file of one U8 tensor of n random
// (incompressible) bytes.
func bigSafetensors(n int, seed uint64) []byte {
	h := fmt.Sprintf(`{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, n, n)
	b := make([]byte, 8, 8+len(h)+n)
	binary.LittleEndian.PutUint64(b, uint64(len(h)))
	b = append(b, h...)
	r := rand.New(rand.NewPCG(seed, 1))
	for range n {
		b = append(b, byte(r.Uint32()))
	}
	return b
}

func tarGzip(tb testing.TB, files map[string][]byte, names []string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	writeTar(tb, zw, files, names)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestOCITarFetch measures how much of a tar layer holding two 2 MiB
// safetensors files is fetched to list and load it, and checks the bounds
// the design promises: an uncompressed tar costs its member headers (a
// small request each) whether annotated or not, and its files can be read
// whole in place; a compressed tar stops at the file its annotation names;
// an unannotated compressed tar is read to its end (there is no other way
// to know that no member follows), and that is what Stats says.
func TestOCITarFetch(t *testing.T) {
	host, tr := newRegistry(t, nil)
	ctx := context.Background()
	long := strings.Repeat("b", 120) + ".safetensors" // over 100 bytes: a PAX header
	files := map[string][]byte{"a.safetensors": bigSafetensors(2<<20, 1), "b.safetensors": bigSafetensors(2<<20, 2), long: bigSafetensors(2<<20, 2)}
	two := []string{"a.safetensors", "b.safetensors"}
	one := []string{"a.safetensors"}
	local := func(names []string) map[string][]byte {
		m := map[string][]byte{}
		for _, n := range names {
			m[n] = files[n]
		}
		return m
	}
	named := map[string]string{hub.AnnotationModelPackFilepath: "a.safetensors"}
	tests := []struct {
		name  string
		layer []byte
		mt    string
		ann   map[string]string
		names []string
		// The most of the layer that may be fetched, as a fraction; 0
		// means the whole layer must have been read.
		most    float64
		inPlace bool // the files are read in place: whole reads work
	}{
		{"tar", tarPlain(t, files, two), hub.MediaModelPackWeightTar, nil, two, 0.01, true},
		{"tar with a PAX header", tarPlain(t, files, []string{"a.safetensors", long}), hub.MediaModelPackWeightTar, nil, []string{"a.safetensors", long}, 0.01, true},
		{"tar annotated", tarPlain(t, files, one), hub.MediaModelPackWeightTar, named, one, 0.01, true},
		{"tar+zstd", tarZstd(t, files, two), hub.MediaModelPackWeightTarZstd, nil, two, 0, false},
		{"tar+gzip", tarGzip(t, files, two), hub.MediaModelPackWeightTarGzip, nil, two, 0, false},
		{"tar+zstd annotated", tarZstd(t, files, one), hub.MediaModelPackWeightTarZstd, named, one, 0.1, false},
		{"tar+gzip annotated", tarGzip(t, files, one), hub.MediaModelPackWeightTarGzip, named, one, 0.1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
				layers: []ociLayer{{data: tt.layer, mt: tt.mt, ann: tt.ann}}}
			repo := "tars/" + strings.ToLower(strings.NewReplacer(" ", "-", "+", "-").Replace(tt.name)) + ":v1"
			pushImage(t, host, tr, repo, a.image(t))
			// A first read of 4 KiB, as for the other artifacts: the
			// default, 256 KiB, would dwarf these headers.
			src, err := hub.NewOCI("oci://"+host+"/"+repo, hub.OCIOptions{Transport: tr, Keychain: anonymous, FirstRead: 4 << 10, ReadHeader: hub.ReadModelHeader})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.List(ctx); err != nil {
				t.Fatal(err)
			}
			listed := src.Stats()
			got, err := checkpoint.Load(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			want, head := loadLocal(t, local(tt.names))
			if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
				t.Errorf("inventory (-local +oci):\n%s", diff)
			}
			st := src.Stats()
			size := int64(len(tt.layer))
			ratio := float64(st.Bytes) / float64(size)
			t.Logf("%s: layer %d bytes; listing %d requests %d bytes, load %d requests %d bytes (%d of headers); fetched %.4f of the layer",
				tt.name, size, listed.Requests, listed.Bytes, st.Requests-listed.Requests, st.Bytes-listed.Bytes, head, ratio)
			switch {
			case tt.most == 0 && st.Bytes < size:
				t.Errorf("fetched %d bytes of a %d-byte layer read to its end", st.Bytes, size)
			case tt.most > 0 && ratio > tt.most:
				t.Errorf("fetched %.4f of the layer, want at most %.4f", ratio, tt.most)
			}
			if !tt.inPlace {
				return
			}
			for _, n := range tt.names {
				data, err := hub.ReadFile(ctx, src, n, 1<<30)
				if err != nil {
					t.Fatalf("ReadFile(%q): %v", n, err)
				}
				if !bytes.Equal(data, files[n]) {
					t.Errorf("ReadFile(%q) differs from the file", n)
				}
			}
		})
	}
}

// TestOCITarReadHeader checks what is kept of the files inside a
// compressed tar layer: what OCIOptions.ReadHeader reads of each (at least
// the first fetch of the stream, 64 KiB) and no more, so that a read past
// it streams the layer again; without ReadHeader, each file whole.
func TestOCITarReadHeader(t *testing.T) {
	host, tr := newRegistry(t, nil)
	ctx := context.Background()
	const size = 1 << 20 // of the tensor data: past any first fetch
	files := map[string][]byte{"a.safetensors": bigSafetensors(size, 1), "config.json": []byte(`{"a": 1}`)}
	names := []string{"a.safetensors", "config.json"}
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
		layers: []ociLayer{{data: tarZstd(t, files, names), mt: hub.MediaModelPackWeightTarZstd}}}
	pushImage(t, host, tr, "header/model:v1", a.image(t))

	type call struct {
		name string
		size int64
	}
	var calls []call // ReadHeader is called as the listing streams, from one goroutine
	read8 := func(name string, r io.ReaderAt, size int64) {
		calls = append(calls, call{name, size})
		r.ReadAt(make([]byte, 8), 0)
	}
	tests := []struct {
		name string
		read hub.HeaderFunc
		// The requests a read of each file's last byte makes.
		lastByte map[string]int64
	}{
		{"default: whole files", nil, map[string]int64{"a.safetensors": 0, "config.json": 0}},
		{"the first 8 bytes", read8, map[string]int64{"a.safetensors": 1, "config.json": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			src, err := hub.NewOCI("oci://"+host+"/header/model:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous, ReadHeader: tt.read})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.List(ctx); err != nil {
				t.Fatal(err)
			}
			if tt.read != nil {
				want := []call{{"a.safetensors", int64(len(files["a.safetensors"]))}, {"config.json", int64(len(files["config.json"]))}}
				if diff := cmp.Diff(want, calls, cmp.AllowUnexported(call{})); diff != "" {
					t.Errorf("ReadHeader calls (-want +got):\n%s", diff)
				}
			}
			for _, name := range names {
				f, err := src.Open(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				before := src.Stats().Requests
				want := files[name]
				got := make([]byte, 1)
				if _, err := f.ReadAt(got, int64(len(want))-1); err != nil || got[0] != want[len(want)-1] {
					t.Errorf("%s: ReadAt(its last byte) = %q, %v, want %q", name, got, err, want[len(want)-1:])
				}
				if n := src.Stats().Requests - before; n != tt.lastByte[name] {
					t.Errorf("%s: reading its last byte made %d requests, want %d", name, n, tt.lastByte[name])
				}
				f.Close()
			}
		})
	}
}

// TestOCITarRangeIgnored reads an uncompressed tar layer from a registry
// that ignores Range and sends whole blobs: the walk over member headers
// cannot skip data there, so the layer is streamed instead, and the files
// load as from any registry.
func TestOCITarRangeIgnored(t *testing.T) {
	var ranged atomic.Int64
	host, tr := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Range") != "" {
				ranged.Add(1)
				r.Header.Del("Range")
			}
			next.ServeHTTP(w, r)
		})
	})
	files := map[string][]byte{"a.safetensors": bigSafetensors(64<<10, 1), "b.safetensors": bigSafetensors(64<<10, 2)}
	names := []string{"a.safetensors", "b.safetensors"}
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
		layers: []ociLayer{{data: tarPlain(t, files, names), mt: hub.MediaModelPackWeightTar}}}
	pushImage(t, host, tr, "norange/tar:v1", a.image(t))
	// MaxRead 1 KiB: the second member's header lies beyond what a
	// Range-ignoring server may be read up to.
	src, err := hub.NewOCI("oci://"+host+"/norange/tar:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous, FirstRead: 1 << 10, MaxRead: 1 << 10, ReadHeader: hub.ReadModelHeader})
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := loadLocal(t, files)
	if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
		t.Errorf("inventory (-local +oci):\n%s", diff)
	}
	if ranged.Load() == 0 {
		t.Errorf("no Range request was tried")
	}
	t.Logf("%+v for a %d-byte layer", src.Stats(), len(a.layers[0].data))
}

// A member of an uncompressed tar layer reads exactly what ReadExact asks
// for, as a raw file does (see TestReadExact): each exact read is one
// Range request for its bytes of the blob, shifted by where the member's
// data lies in the tar, with no read-ahead; a plain ReadAt where the last
// read ended reads ahead (the contrast), and an exact read of what that
// brought fetches nothing.
func TestOCITarReadExact(t *testing.T) {
	var mu sync.Mutex
	var ranges []string
	host, tr := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rg := r.Header.Get("Range"); rg != "" && strings.Contains(r.URL.Path, "/blobs/") {
				mu.Lock()
				ranges = append(ranges, rg)
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ranges...)
	}
	files := map[string][]byte{"a.safetensors": bigSafetensors(1<<20, 3), "b.safetensors": bigSafetensors(1<<20, 4)}
	names := []string{"a.safetensors", "b.safetensors"}
	layer := tarPlain(t, files, names)
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
		layers: []ociLayer{{data: layer, mt: hub.MediaModelPackWeightTar}}}
	pushImage(t, host, tr, "exact/tar:v1", a.image(t))
	src, err := hub.NewOCI("oci://"+host+"/exact/tar:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.List(ctx); err != nil {
		t.Fatal(err)
	}
	data := files["b.safetensors"]
	base := int64(bytes.Index(layer, data)) // where the member's bytes lie in the blob
	if base <= 0 {
		t.Fatal("b.safetensors not found in its layer")
	}
	f, err := src.Open(ctx, "b.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(exact bool, off, n int64) { t.Helper(); readChecked(t, f, data, exact, off, n) }
	before := len(seen())
	read(true, 4096, 512)
	read(true, 4608, 512) // where the last ended
	read(true, 300000, 100)
	var want []string
	for _, r := range [][2]int64{{4096, 512}, {4608, 512}, {300000, 100}} {
		want = append(want, fmt.Sprintf("bytes=%d-%d", base+r[0], base+r[0]+r[1]-1))
	}
	if got := seen()[before:]; !cmp.Equal(got, want) {
		t.Errorf("exact reads of a tar member: registry saw %q, want %q", got, want)
	}
	read(false, 300100, 10)
	got := seen()[before:]
	if len(got) != 4 || got[3] == fmt.Sprintf("bytes=%d-%d", base+300100, base+300109) {
		t.Fatalf("ReadAt after the exact reads: registry saw %q, want one more fetch from %d, reading ahead", got, base+300100)
	}
	read(true, 300110, 200)
	if n := len(seen()) - before; n != 4 {
		t.Errorf("an exact read of bytes held: %d fetches, want still 4", n)
	}
}

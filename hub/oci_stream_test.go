package hub_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/weightaudit/weightaudit/hub"
)

// blobGets counts the GET requests of each blob a registry serves, by
// digest, and can change the bytes of one blob from its Nth request on.
type blobGets struct {
	mu     sync.Mutex
	n      map[string]int
	digest string // the blob to change, "sha256:…"
	from   int    // the first request (1-based) to change
	change func(b []byte) []byte
	// cut, when set with change, sends the changed body's length but only
	// that many of its bytes, then drops the connection.
	cut int
}

func (g *blobGets) count(d string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n[d]
}

func (g *blobGets) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, d, ok := strings.Cut(r.URL.Path, "/blobs/")
		if r.Method != http.MethodGet || !ok {
			next.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		if g.n == nil {
			g.n = map[string]int{}
		}
		g.n[d]++
		change := d == g.digest && g.change != nil && g.n[d] >= g.from
		fn, cut := g.change, g.cut
		g.mu.Unlock()
		if !change {
			next.ServeHTTP(w, r)
			return
		}
		rec := &bufferedResponse{header: http.Header{}}
		next.ServeHTTP(rec, r)
		body := fn(rec.body.Bytes())
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(rec.code)
		if cut > 0 && cut < len(body) {
			body = body[:cut] // the server then closes the connection
		}
		w.Write(body)
	})
}

// bufferedResponse keeps a response to change it before it is sent.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}

// visited is what a visit saw of one file.
type visited struct {
	Name string
	Size int64
	Data []byte // what visit read of it
}

// collect returns a visit that reads at most limit bytes of each file (-1:
// all of them) and keeps what it saw.
func collect(out *[]visited, limit int64) func(string, int64, io.Reader) error {
	return func(name string, size int64, r io.Reader) error {
		if limit >= 0 {
			r = io.LimitReader(r, limit)
		}
		b, err := io.ReadAll(r)
		*out = append(*out, visited{Name: name, Size: size, Data: b})
		return err
	}
}

func sum256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// streamFiles are the files of the layers of TestOCIStreamLayer, in
// archive order.
func streamFiles() (map[string][]byte, []string) {
	files := map[string][]byte{
		"model-00001-of-00002.safetensors": bigSafetensors(300<<10, 1),
		"model-00002-of-00002.safetensors": bigSafetensors(200<<10, 2),
		"docs/README.md":                   []byte("# a model\n"),
		"config.json":                      []byte(`{"model_type":"qwen3"}`),
		"empty":                            {},
	}
	return files, []string{"config.json", "model-00001-of-00002.safetensors", "docs/README.md", "empty", "model-00002-of-00002.safetensors"}
}

// StreamLayer reads a compressed tar layer (and an uncompressed one from a
// registry that ignores Range) with one request, hands every file to visit
// in archive order with its exact bytes, drains what visit leaves, and
// returns the sha256 of the blob, which is the layer's digest. Files of
// raw layers and of uncompressed tar layers read in place are not
// streamed.
func TestOCIStreamLayer(t *testing.T) {
	files, names := streamFiles()
	tests := []struct {
		name    string
		layer   func(testing.TB) []byte
		mt      string
		noRange bool
	}{
		{"tar+zstd", func(tb testing.TB) []byte { return tarZstd(tb, files, names) }, hub.MediaModelPackWeightTarZstd, false},
		{"tar+gzip", func(tb testing.TB) []byte { return tarGzip(tb, files, names) }, hub.MediaModelPackWeightTarGzip, false},
		{"tar, Range ignored", func(tb testing.TB) []byte { return tarPlain(tb, files, names) }, hub.MediaModelPackWeightTar, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gets := &blobGets{}
			host, tr := newRegistry(t, func(next http.Handler) http.Handler {
				h := gets.wrap(next)
				if !tt.noRange {
					return h
				}
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					r.Header.Del("Range")
					h.ServeHTTP(w, r)
				})
			})
			layer := tt.layer(t)
			digest := "sha256:" + sum256(layer)
			raw := bigSafetensors(1<<10, 3)
			a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig, layers: []ociLayer{
				{data: layer, mt: tt.mt},
				{data: raw, mt: hub.MediaModelPackWeightRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "raw.safetensors"}},
			}}
			pushImage(t, host, tr, "stream/model:v1", a.image(t))
			src, err := hub.NewOCI("oci://"+host+"/stream/model:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous, FirstRead: 1 << 10, MaxRead: 1 << 10, ReadHeader: hub.ReadModelHeader})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, ok := src.StreamedLayer(names[0]); ok {
				t.Errorf("StreamedLayer(%q) before the listing = true, want false", names[0])
			}
			if _, err := src.List(ctx); err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				if d, ok := src.StreamedLayer(n); d != digest || !ok {
					t.Errorf("StreamedLayer(%q) = %q, %v, want %q, true", n, d, ok, digest)
				}
			}
			if d, ok := src.StreamedLayer("raw.safetensors"); ok {
				t.Errorf("StreamedLayer(raw layer) = %q, true, want false", d)
			}
			listed := gets.count(digest)

			for _, limit := range []int64{-1, 0, 100} {
				before := src.Stats()
				var got []visited
				sum, err := src.StreamLayer(ctx, digest, collect(&got, limit))
				if err != nil {
					t.Fatalf("StreamLayer(%s) = %v", digest, err)
				}
				if "sha256:"+sum != digest {
					t.Errorf("StreamLayer(%s) = sha256 %s, want the digest", digest, sum)
				}
				var want []visited
				for _, n := range names {
					d := files[n]
					if limit >= 0 {
						d = d[:min(int64(len(d)), limit)]
					}
					want = append(want, visited{Name: n, Size: int64(len(files[n])), Data: d})
				}
				if diff := cmp.Diff(want, got, cmp.Comparer(bytes.Equal)); diff != "" {
					t.Errorf("StreamLayer(%s) reading %d bytes of each file visited (-want +got):\n%s", digest, limit, diff)
				}
				if after := src.Stats(); after.Requests-before.Requests != 1 || after.Bytes-before.Bytes < int64(len(layer)) {
					t.Errorf("StreamLayer: %d requests, %d bytes; want one request and the %d bytes of the layer",
						after.Requests-before.Requests, after.Bytes-before.Bytes, len(layer))
				}
			}
			if n := gets.count(digest) - listed; n != 3 {
				t.Errorf("three StreamLayer calls made %d GET requests of the blob, want 3", n)
			}
		})
	}
}

// A plain tar layer from a registry that honours Range is read in place:
// nothing to stream.
func TestOCIStreamedLayerInPlace(t *testing.T) {
	files, names := streamFiles()
	host, tr := newRegistry(t, nil)
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
		layers: []ociLayer{{data: tarPlain(t, files, names), mt: hub.MediaModelPackWeightTar}}}
	pushImage(t, host, tr, "stream/plain:v1", a.image(t))
	src, err := hub.NewOCI("oci://"+host+"/stream/plain:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if d, ok := src.StreamedLayer(n); ok {
			t.Errorf("StreamedLayer(%q) = %q, true; want false (read in place)", n, d)
		}
	}
}

// flipAt returns a change that flips the byte at off of a blob.
func flipAt(off int) func([]byte) []byte {
	return func(b []byte) []byte {
		b = bytes.Clone(b)
		if off < len(b) {
			b[off] ^= 0x40
		}
		return b
	}
}

// StreamLayer's errors: a damaged layer is a *LayerError wrapping
// ErrBadArchive that names the file being read and the offset in it,
// returned with the sha256 of the bytes served (the rest of the blob is
// read); an error of visit's own is returned as it is, with no sha256; a
// blob cut short is an error of the blob, not a damaged archive; a digest
// of no streamed layer is ErrNotExist.
func TestOCIStreamLayerErrors(t *testing.T) {
	files, names := streamFiles()
	layer := tarZstd(t, files, names)
	digest := "sha256:" + sum256(layer)
	// The middle of the first shard's data, compressed.
	mid := len(layer) / 3
	gets := &blobGets{digest: digest, from: 2}
	host, tr := newRegistry(t, gets.wrap)
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
		layers: []ociLayer{{data: layer, mt: hub.MediaModelPackWeightTarZstd}}}
	pushImage(t, host, tr, "stream/errors:v1", a.image(t))
	src, err := hub.NewOCI("oci://"+host+"/stream/errors:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.List(ctx); err != nil { // the first GET: untouched
		t.Fatal(err)
	}

	t.Run("damaged", func(t *testing.T) {
		gets.mu.Lock()
		gets.change = flipAt(mid)
		gets.mu.Unlock()
		var got []visited
		sum, err := src.StreamLayer(ctx, digest, collect(&got, -1))
		var le *hub.LayerError
		if !errors.As(err, &le) || !errors.Is(err, hub.ErrBadArchive) {
			t.Fatalf("StreamLayer(damaged) = %v, want a *LayerError wrapping ErrBadArchive", err)
		}
		if want := sum256(flipAt(mid)(layer)); sum != want {
			t.Errorf("StreamLayer(damaged) = sha256 %s, want %s (the bytes served)", sum, want)
		}
		// The stream's checksum, at its end, shows the damage: the file
		// being read then is named, not the one the byte changed.
		if _, ok := files[le.File]; le.Digest != digest || !ok || le.Offset <= 0 || le.Offset > int64(len(files[le.File])) {
			t.Errorf("LayerError %+v; want layer %s, a file of it, an offset inside that file", le, digest)
		}
		if msg := err.Error(); !strings.Contains(msg, digest) || !strings.Contains(msg, le.File) || !strings.Contains(msg, fmt.Sprint(le.Offset)) {
			t.Errorf("error %q does not name the layer, the file and the offset", msg)
		}
	})

	t.Run("visit error", func(t *testing.T) {
		gets.mu.Lock()
		gets.change = nil
		gets.mu.Unlock()
		mine := errors.New("my error")
		sum, err := src.StreamLayer(ctx, digest, func(name string, size int64, r io.Reader) error {
			if name == "model-00001-of-00002.safetensors" {
				return mine
			}
			return nil
		})
		var le *hub.LayerError
		if !errors.Is(err, mine) || errors.As(err, &le) || sum != "" || !strings.Contains(err.Error(), "model-00001-of-00002.safetensors") {
			t.Errorf("StreamLayer(visit failing) = %q, %v; want no sha256 and visit's error, naming the file", sum, err)
		}
	})

	t.Run("short blob", func(t *testing.T) {
		// A body that ends early but cleanly is the blob the registry
		// serves: the archive is cut short (damaged), and the sha256 is
		// that of the bytes served.
		half := func(b []byte) []byte { return b[:len(b)/2] }
		gets.mu.Lock()
		gets.change = half
		gets.mu.Unlock()
		sum, err := src.StreamLayer(ctx, digest, collect(new([]visited), -1))
		if !errors.Is(err, hub.ErrBadArchive) || sum != sum256(half(layer)) {
			t.Errorf("StreamLayer(a short blob) = %q, %v; want the sha256 of the bytes served and ErrBadArchive", sum, err)
		}
	})

	t.Run("connection dropped", func(t *testing.T) {
		// A body cut short of its Content-Length is an error of the
		// blob: no sha256, no damaged archive.
		gets.mu.Lock()
		gets.change, gets.cut = bytes.Clone, len(layer)/2
		gets.mu.Unlock()
		defer func() {
			gets.mu.Lock()
			gets.cut = 0
			gets.mu.Unlock()
		}()
		sum, err := src.StreamLayer(ctx, digest, collect(new([]visited), -1))
		t.Logf("connection dropped: %v", err)
		if err == nil || errors.Is(err, hub.ErrBadArchive) || sum != "" || !strings.Contains(err.Error(), digest) {
			t.Errorf("StreamLayer(connection dropped) = %q, %v; want an error of the blob naming the layer", sum, err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		gets.mu.Lock()
		gets.change = nil
		gets.mu.Unlock()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		sum, err := src.StreamLayer(cctx, digest, func(name string, size int64, r io.Reader) error {
			cancel()
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if !errors.Is(err, context.Canceled) || sum != "" {
			t.Errorf("StreamLayer(cancelled) = %q, %v; want context.Canceled", sum, err)
		}
	})

	t.Run("unknown digest", func(t *testing.T) {
		_, err := src.StreamLayer(ctx, "sha256:"+strings.Repeat("0", 64), collect(new([]visited), -1))
		if !errors.Is(err, hub.ErrNotExist) {
			t.Errorf("StreamLayer(unknown digest) = %v, want ErrNotExist", err)
		}
	})
}

// A model read from the local Ollama store streams its compressed layers
// from the store's blob, without a request.
func TestOCIStreamLayerLocalStore(t *testing.T) {
	files, names := streamFiles()
	host := "registry.example"
	dir := t.TempDir()
	layer := tarGzip(t, files, names)
	digest := "sha256:" + sum256(layer)
	a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
		layers: []ociLayer{{data: layer, mt: hub.MediaModelPackWeightTarGzip}}}
	storeModel(t, dir, host, "library", "streamed", "v1", a.image(t))
	src, err := hub.NewOllama("ollama://"+host+"/library/streamed:v1", hub.OCIOptions{Transport: noNetwork{t}, Keychain: anonymous, OllamaModels: dir, ReadHeader: hub.ReadModelHeader})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d, ok := src.StreamedLayer(names[1]); d != digest || !ok {
		t.Fatalf("StreamedLayer(%q) = %q, %v, want %q, true", names[1], d, ok, digest)
	}
	var got []visited
	sum, err := src.StreamLayer(context.Background(), digest, collect(&got, -1))
	if err != nil || "sha256:"+sum != digest || len(got) != len(names) {
		t.Fatalf("StreamLayer from the store = %q, %v, %d files; want the digest and %d files", sum, err, len(got), len(names))
	}
	for i, v := range got {
		if v.Name != names[i] || !bytes.Equal(v.Data, files[v.Name]) {
			t.Errorf("file %d: %s, %d bytes; want %s and its bytes", i, v.Name, len(v.Data), names[i])
		}
	}
	if st := src.Stats(); st != (hub.Stats{}) {
		t.Errorf("Stats() from the store = %+v, want none", st)
	}
}

// BenchmarkOCIStreamLayer streams a layer of two 32 MiB safetensors files
// from an in-process registry through StreamLayer, every file read whole,
// per compression; the baseline decompresses and walks the same bytes
// from memory, without the request, the sha256 of the blob or the walk's
// bookkeeping. Bytes are the files' (uncompressed).
func BenchmarkOCIStreamLayer(b *testing.B) {
	files := map[string][]byte{"a.safetensors": bigSafetensors(32<<20, 1), "b.safetensors": bigSafetensors(32<<20, 2)}
	names := []string{"a.safetensors", "b.safetensors"}
	var total int64
	for _, f := range files {
		total += int64(len(f))
	}
	host, tr := newRegistry(b, nil)
	for _, k := range []struct {
		name string
		mt   string
		pack func(testing.TB, map[string][]byte, []string) []byte
	}{
		{"zstd", hub.MediaModelPackWeightTarZstd, tarZstd},
		{"gzip", hub.MediaModelPackWeightTarGzip, tarGzip},
	} {
		layer := k.pack(b, files, names)
		a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig, layers: []ociLayer{{data: layer, mt: k.mt}}}
		pushImage(b, host, tr, "bench/"+k.name+":v1", a.image(b))
		src, err := hub.NewOCI("oci://"+host+"/bench/"+k.name+":v1", hub.OCIOptions{Transport: tr, Keychain: anonymous, ReadHeader: hub.ReadModelHeader})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if _, err := src.List(ctx); err != nil {
			b.Fatal(err)
		}
		digest, _ := src.StreamedLayer("a.safetensors")
		b.Run(k.name+"/baseline", func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				var r io.Reader
				if k.name == "zstd" {
					zr, err := zstd.NewReader(bytes.NewReader(layer), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
					if err != nil {
						b.Fatal(err)
					}
					r = zr
					defer zr.Close()
				} else {
					zr, err := gzip.NewReader(bytes.NewReader(layer))
					if err != nil {
						b.Fatal(err)
					}
					r = zr
				}
				tr := tar.NewReader(r)
				for {
					if _, err := tr.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, tr); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(k.name+"/StreamLayer", func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				sum, err := src.StreamLayer(ctx, digest, func(_ string, _ int64, r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				})
				if err != nil || "sha256:"+sum != digest {
					b.Fatalf("StreamLayer = %s, %v", sum, err)
				}
			}
			b.ReportMetric(float64(len(layer))/float64(total), "compressed/raw")
		})
	}
}

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
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

const tinyDir = "../testdata/tiny"

// anonymous is a keychain with no credentials, so that tests do not read
// the user's ~/.docker/config.json.
var anonymous = authn.NewMultiKeychain()

// newRegistry starts go-containerregistry's in-process registry behind
// wrap (nil for none) and returns its host:port and its transport.
func newRegistry(tb testing.TB, wrap func(http.Handler) http.Handler) (string, http.RoundTripper) {
	tb.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), srv.Client().Transport
}

func readFixture(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(tinyDir, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ociLayer is one layer of a test artifact.
type ociLayer struct {
	data []byte
	mt   string
	ann  map[string]string
}

// ociArtifact is a test artifact: its layers, and the files a local
// source holding the same model has.
type ociArtifact struct {
	name     string
	manifest types.MediaType
	config   string
	layers   []ociLayer
	local    map[string][]byte // the same model as local files
	raw      bool              // every model layer is raw: range-read, with digests
	ranged   bool              // every model file is range-read (members of plain tars)
}

func (a ociArtifact) image(tb testing.TB) v1.Image {
	tb.Helper()
	img := mutate.MediaType(empty.Image, a.manifest)
	img = mutate.ConfigMediaType(img, types.MediaType(a.config))
	var adds []mutate.Addendum
	for _, l := range a.layers {
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(l.data, types.MediaType(l.mt)), Annotations: l.ann})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

func tarZstd(tb testing.TB, files map[string][]byte, names []string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	writeTar(tb, zw, files, names)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// tarPlain archives the named files, uncompressed.
func tarPlain(tb testing.TB, files map[string][]byte, names []string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	writeTar(tb, &buf, files, names)
	return buf.Bytes()
}

func writeTar(tb testing.TB, w io.Writer, files map[string][]byte, names []string) {
	tb.Helper()
	tw := tar.NewWriter(w)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
}

// hex12 returns the first 12 hex digits of data's sha256: the name an
// unannotated raw weight layer gets.
func hex12(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// artifacts returns the test artifacts, built from the tiny fixtures.
func artifacts(tb testing.TB) []ociArtifact {
	shard1 := readFixture(tb, "gguf/tiny-q8_0-00001-of-00002.gguf")
	shard2 := readFixture(tb, "gguf/tiny-q8_0-00002-of-00002.gguf")
	single := readFixture(tb, "gguf/tiny-q8_0.gguf")
	hfNames := []string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}
	hf := map[string][]byte{}
	for _, n := range hfNames {
		hf[n] = readFixture(tb, "hf-f32/"+n)
	}
	h1, h2 := hex12(hf[hfNames[1]]), hex12(hf[hfNames[2]])
	g1 := hex12(shard1)
	var mpRaw []ociLayer
	for _, n := range hfNames {
		mt := hub.MediaModelPackWeightRaw
		if strings.HasSuffix(n, ".json") {
			mt = hub.MediaModelPackWeightConfigRaw
		}
		mpRaw = append(mpRaw, ociLayer{data: hf[n], mt: mt, ann: map[string]string{hub.AnnotationModelPackFilepath: n}})
	}
	return []ociArtifact{
		{
			name: "docker-gguf-shards", manifest: types.OCIManifestSchema1, config: hub.MediaDockerConfigV01,
			layers: []ociLayer{{data: shard1, mt: hub.MediaDockerGGUF}, {data: shard2, mt: hub.MediaDockerGGUF}},
			local:  map[string][]byte{"model-00001-of-00002.gguf": shard1, "model-00002-of-00002.gguf": shard2},
			raw:    true,
		},
		{
			name: "modelpack-safetensors-raw", manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
			layers: mpRaw, local: hf, raw: true,
		},
		{
			name: "modelpack-safetensors-tar-zstd", manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
			layers: []ociLayer{{data: tarZstd(tb, hf, hfNames), mt: hub.MediaModelPackWeightTarZstd}},
			local:  hf,
		},
		{
			name: "modelpack-safetensors-tar", manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
			layers: []ociLayer{{data: tarPlain(tb, hf, hfNames), mt: hub.MediaModelPackWeightTar}},
			local:  hf, ranged: true,
		},
		{
			// Raw weights without annotations: named by their first bytes.
			name: "modelpack-raw-unannotated", manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
			layers: []ociLayer{
				{data: hf[hfNames[1]], mt: hub.MediaModelPackWeightRaw},
				{data: hf[hfNames[2]], mt: hub.MediaModelPackWeightRaw},
				{data: hf["config.json"], mt: hub.MediaModelPackWeightConfigRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "config.json"}},
			},
			local: map[string][]byte{h1 + ".safetensors": hf[hfNames[1]], h2 + ".safetensors": hf[hfNames[2]], "config.json": hf["config.json"]},
			raw:   true,
		},
		{
			name: "modelpack-gguf-split-unannotated", manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig,
			layers: []ociLayer{{data: shard1, mt: hub.MediaModelPackWeightRaw}, {data: shard2, mt: hub.MediaModelPackWeightRaw}},
			local:  map[string][]byte{g1 + "-00001-of-00002.gguf": shard1, g1 + "-00002-of-00002.gguf": shard2},
			raw:    true,
		},
		{
			name: "ollama", manifest: types.DockerManifestSchema2, config: "application/vnd.docker.container.image.v1+json",
			layers: []ociLayer{
				{data: single, mt: hub.MediaOllamaModel},
				{data: []byte("{{ .Prompt }}"), mt: "application/vnd.ollama.image.template"},
			},
			local: map[string][]byte{"model.gguf": single},
			raw:   true,
		},
	}
}

// artifact returns the test artifact called name.
func artifact(tb testing.TB, name string) ociArtifact {
	tb.Helper()
	for _, a := range artifacts(tb) {
		if a.name == name {
			return a
		}
	}
	tb.Fatalf("no test artifact %q", name)
	return ociArtifact{}
}

func pushImage(tb testing.TB, host string, tr http.RoundTripper, repo string, img v1.Image) {
	tb.Helper()
	ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(tr), remote.WithAuthFromKeychain(anonymous)); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
}

// pushIndex pushes an image index whose first manifest is not a model's
// and whose second is img.
func pushIndex(tb testing.TB, host string, tr http.RoundTripper, repo string, img v1.Image) {
	tb.Helper()
	other, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer([]byte("not a model"), types.OCILayer)})
	if err != nil {
		tb.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: other}, mutate.IndexAddendum{Add: img})
	ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithTransport(tr), remote.WithAuthFromKeychain(anonymous)); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
}

// extentReader records how far into a file reads went.
type extentReader struct {
	r   io.ReaderAt
	end atomic.Int64
}

func (e *extentReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	for {
		cur := e.end.Load()
		if off+int64(n) <= cur || e.end.CompareAndSwap(cur, off+int64(n)) {
			break
		}
	}
	return n, err
}

// loadLocal loads files from memory and returns the checkpoint and the
// bytes the loader read (headers, config, index).
func loadLocal(tb testing.TB, files map[string][]byte) (*checkpoint.Checkpoint, int64) {
	tb.Helper()
	m := hub.NewMem("local")
	var ers []*extentReader
	for n, b := range files {
		er := &extentReader{r: bytes.NewReader(b)}
		ers = append(ers, er)
		m.Add(n, er, int64(len(b)))
	}
	ck, err := checkpoint.Load(context.Background(), m)
	if err != nil {
		tb.Fatal(err)
	}
	var head int64
	for _, er := range ers {
		head += er.end.Load()
	}
	return ck, head
}

// checkArtifacts pushes every test artifact (and an index of the first)
// to the registry at host and audits each through an OCISource.
func checkArtifacts(t *testing.T, host string, tr http.RoundTripper, prefix string) {
	const firstRead = 4 << 10
	for _, a := range artifacts(t) {
		for _, index := range []bool{false, true} {
			if index && a.name != "docker-gguf-shards" {
				continue
			}
			name := a.name
			if index {
				name += "-index"
			}
			t.Run(name, func(t *testing.T) {
				repo := prefix + name + ":v1"
				if index {
					pushIndex(t, host, tr, repo, a.image(t))
				} else {
					pushImage(t, host, tr, repo, a.image(t))
				}
				want, head := loadLocal(t, a.local)
				ctx := context.Background()
				src, err := hub.NewOCI("oci://"+host+"/"+repo, hub.OCIOptions{Transport: tr, Keychain: anonymous, FirstRead: firstRead, ReadHeader: hub.ReadModelHeader})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := src.List(ctx); err != nil {
					t.Fatal(err)
				}
				listed := src.Stats()
				got, err := checkpoint.Load(ctx, src, checkpoint.WithJobs(src.Jobs()))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
					t.Errorf("inventory from the registry (-local +oci):\n%s", diff)
				}
				if !bytes.Equal(got.Config, want.Config) {
					t.Errorf("config.json differs")
				}
				st := src.Stats()
				fetched := st.Bytes - listed.Bytes
				if a.raw || a.ranged {
					limit := 2*head + int64(len(a.local))*firstRead
					if fetched > limit {
						t.Errorf("fetched %d bytes for %d bytes of headers; want at most %d", fetched, head, limit)
					}
					for n, b := range a.local {
						sum := sha256.Sum256(b)
						if d, ok := src.Digest(n); a.raw && (!ok || d != hex.EncodeToString(sum[:])) {
							t.Errorf("Digest(%q) = %q, %v, want %x, true", n, d, ok, sum)
						}
					}
				}
				t.Logf("%s: listing %d requests %d bytes; load %d requests, %d bytes fetched for %d bytes of headers (%.2fx)",
					name, listed.Requests, listed.Bytes, st.Requests-listed.Requests, fetched, head, float64(fetched)/float64(head))
			})
		}
	}
}

// TestOCILoad audits every kind of model artifact in the in-process
// registry and compares it with the same files loaded locally.
func TestOCILoad(t *testing.T) {
	host, tr := newRegistry(t, nil)
	checkArtifacts(t, host, tr, "models/")
}

// TestOCIRealRegistry does the same against the registry .ci/run starts
// (Debian's docker-registry), named by WEIGHTAUDIT_TEST_REGISTRY.
func TestOCIRealRegistry(t *testing.T) {
	host := os.Getenv("WEIGHTAUDIT_TEST_REGISTRY")
	if host == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("WEIGHTAUDIT_TEST_REGISTRY is not set under CI=true: .ci/run must start the registry")
		}
		t.Skip("WEIGHTAUDIT_TEST_REGISTRY is not set: no real registry to test against (.ci/run starts one)")
	}
	checkArtifacts(t, host, http.DefaultTransport, "weightaudit-test/")
}

// tokenAuth wraps a registry so that it demands a bearer token, which its
// /token endpoint hands out unless refuse is set.
func tokenAuth(refuse *atomic.Bool, srvURL *string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				if refuse.Load() {
					http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusUnauthorized)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"token":"good"}`)
				return
			}
			if r.Header.Get("Authorization") != "Bearer good" {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test"`, *srvURL))
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestOCIBearerToken reads an artifact from a registry that requires a
// bearer token, and fails clearly when the token endpoint refuses.
func TestOCIBearerToken(t *testing.T) {
	var refuse atomic.Bool
	var srvURL string
	host, tr := newRegistry(t, tokenAuth(&refuse, &srvURL))
	srvURL = "http://" + host
	a := artifact(t, "docker-gguf-shards")
	pushImage(t, host, tr, "secret/model:v1", a.image(t))
	ctx := context.Background()

	src, err := hub.NewOCI("oci://"+host+"/secret/model:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Load(ctx, src); err != nil {
		t.Fatalf("Load with a token: %v", err)
	}

	refuse.Store(true)
	src, err = hub.NewOCI("oci://"+host+"/secret/model:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.List(ctx)
	if !errors.Is(err, hub.ErrAuth) {
		t.Fatalf("List with the token refused = %v, want ErrAuth", err)
	}
	t.Logf("refused: %v", err)
	for _, want := range []string{"secret/model", host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("List error %q does not name %q", err, want)
		}
	}
}

// TestOCIErrors checks the errors for a missing reference, a manifest
// without model layers, a source that is not an oci:// reference, and a
// read beyond the front of a file inside a compressed layer.
func TestOCIErrors(t *testing.T) {
	host, tr := newRegistry(t, nil)
	plain, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer([]byte("hello"), types.OCILayer)})
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, host, tr, "app/plain:v1", plain)
	tarred := artifact(t, "modelpack-safetensors-tar-zstd")
	pushImage(t, host, tr, "models/tarred:v1", tarred.image(t))
	ctx := context.Background()

	tests := []struct {
		name    string
		spec    string
		wantErr error
		wantMsg []string
	}{
		{"missing tag", "oci://" + host + "/models/none:v9", hub.ErrNotFound, []string{"models/none:v9"}},
		{"no model layers", "oci://" + host + "/app/plain:v1", hub.ErrNoModelLayers, []string{string(types.OCILayer)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := hub.NewOCI(tt.spec, hub.OCIOptions{Transport: tr, Keychain: anonymous})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(ctx)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("List() = %v, want %v", err, tt.wantErr)
			}
			t.Logf("%v", err)
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("List() error %q does not say %q", err, m)
				}
			}
		})
	}

	for _, spec := range []string{"oci://", "oci://model", "oci://" + host, "oci://" + host + "/Bad:tag"} {
		if _, err := hub.NewOCI(spec, hub.OCIOptions{}); !errors.Is(err, hub.ErrBadSource) {
			t.Errorf("NewOCI(%q) = %v, want ErrBadSource", spec, err)
		}
	}

	src, err := hub.NewOCI("oci://"+host+"/models/tarred:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous, ReadHeader: hub.ReadModelHeader})
	if err != nil {
		t.Fatal(err)
	}
	f, err := src.Open(ctx, "model-00001-of-00002.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 16) // tensor data, past the front kept at listing: the layer is streamed
	if _, err := f.ReadAt(buf, f.Size()-16); err != nil || !bytes.Equal(buf, tarred.local["model-00001-of-00002.safetensors"][f.Size()-16:]) {
		t.Errorf("ReadAt(tensor data) = %v or other bytes, want the file's last 16 bytes", err)
	}
	if _, ok := src.Digest("model-00001-of-00002.safetensors"); ok {
		t.Errorf("Digest of a file in a tar layer = _, true, want false")
	}
	if _, err := src.Open(ctx, "nope"); !errors.Is(err, hub.ErrNotExist) {
		t.Errorf("Open(nope) = %v, want ErrNotExist", err)
	}
}

// TestOCIResolve checks that Resolve routes oci:// and ollama:// to an
// OCISource without touching the network.
func TestOCIResolve(t *testing.T) {
	for _, spec := range []string{"oci://localhost:5000/models/x:y", "ollama://qwen3:8b"} {
		src, focus, err := hub.Resolve(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := src.(*hub.OCISource); !ok || focus != "" || src.String() != spec {
			t.Errorf("Resolve(%q) = %T %v, %q, want *hub.OCISource %s, \"\"", spec, src, src, focus, spec)
		}
	}
	if src, _, err := hub.Resolve("oci://nohost"); !errors.Is(err, hub.ErrBadSource) || src != nil {
		t.Errorf("Resolve(oci://nohost) = %v, %v, want nil, ErrBadSource", src, err)
	}
}

// TestOCIRedirect serves blobs through a redirect to a second host, as
// registries backed by a CDN do: the bearer token goes to the registry
// only, never to the storage host.
func TestOCIRedirect(t *testing.T) {
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var storageReqs, storageAuth atomic.Int64
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		storageReqs.Add(1)
		if r.Header.Get("Authorization") != "" {
			storageAuth.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(storage.Close)
	var refuse atomic.Bool
	var srvURL string
	host, tr := newRegistry(t, func(http.Handler) http.Handler {
		return tokenAuth(&refuse, &srvURL)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
				http.Redirect(w, r, storage.URL+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			inner.ServeHTTP(w, r)
		}))
	})
	srvURL = "http://" + host
	a := artifact(t, "modelpack-safetensors-raw") // raw safetensors layers
	pushImage(t, host, tr, "cdn/model:v1", a.image(t))

	src, err := hub.NewOCI("oci://"+host+"/cdn/model:v1", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := loadLocal(t, a.local)
	if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
		t.Errorf("inventory through the redirect (-local +oci):\n%s", diff)
	}
	if storageReqs.Load() == 0 {
		t.Errorf("the storage host saw no request: the redirect was not followed")
	}
	if n := storageAuth.Load(); n != 0 {
		t.Errorf("the storage host saw an Authorization header in %d requests, want 0", n)
	}
}

// BenchmarkOCILoad loads each test artifact from the in-process registry
// as checkpoint.Load does for an oci:// SOURCE (listing included), and from a
// local Ollama store holding the same manifest and blobs, against the
// same files loaded from memory, the baseline. It reports requests and
// bytes fetched per Load.
func BenchmarkOCILoad(b *testing.B) {
	host, tr := newRegistry(b, nil)
	store := b.TempDir()
	ctx := context.Background()
	for _, a := range artifacts(b) {
		var size int64
		m := hub.NewMem("local")
		for n, data := range a.local {
			m.Add(n, bytes.NewReader(data), int64(len(data)))
			size += int64(len(data))
		}
		b.Run(a.name+"/memory", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := checkpoint.Load(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		})
		repo := "bench/" + a.name + ":v1"
		pushImage(b, host, tr, repo, a.image(b))
		b.Run(a.name+"/oci", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			var total hub.Stats
			loads := 0
			for b.Loop() {
				src, err := hub.NewOCI("oci://"+host+"/"+repo, hub.OCIOptions{Transport: tr, Keychain: anonymous, ReadHeader: hub.ReadModelHeader})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := checkpoint.Load(ctx, src); err != nil {
					b.Fatal(err)
				}
				st := src.Stats()
				total.Requests += st.Requests
				total.Bytes += st.Bytes
				loads++
			}
			b.ReportMetric(float64(total.Requests)/float64(loads), "requests/op")
			b.ReportMetric(float64(total.Bytes)/float64(loads), "bytes-fetched/op")
		})
		storeModel(b, store, host, "bench", a.name, "v1", a.image(b))
		b.Run(a.name+"/ollama-store", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				src, err := hub.NewOllama("ollama://"+host+"/bench/"+a.name+":v1", hub.OCIOptions{Transport: noNetwork{b}, OllamaModels: store, ReadHeader: hub.ReadModelHeader})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := checkpoint.Load(ctx, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestParseOllama checks how Ollama model names map to references.
func TestParseOllama(t *testing.T) {
	tests := []struct {
		name, spec, want string
		wantErr          error
	}{
		{name: "model", spec: "ollama://qwen3", want: "registry.ollama.ai/library/qwen3:latest"},
		{name: "tag", spec: "ollama://qwen3:30b-a3b", want: "registry.ollama.ai/library/qwen3:30b-a3b"},
		{name: "namespace", spec: "ollama://someone/model:q4", want: "registry.ollama.ai/someone/model:q4"},
		{name: "host", spec: "ollama://localhost:11434/library/tiny", want: "localhost:11434/library/tiny:latest"},
		{name: "empty", spec: "ollama://", wantErr: hub.ErrBadSource},
		{name: "too deep", spec: "ollama://a/b/c/d", wantErr: hub.ErrBadSource},
		{name: "empty model", spec: "ollama://library/", wantErr: hub.ErrBadSource},
		{name: "bad tag", spec: "ollama://qwen3:", wantErr: hub.ErrBadSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := hub.ParseOllama(tt.spec, false)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseOllama(%q) = %v, %v, want %v", tt.spec, ref, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ref.Name(); got != tt.want {
				t.Errorf("ParseOllama(%q) = %s, want %s", tt.spec, got, tt.want)
			}
		})
	}
}

// TestOllamaLoad reads an Ollama-style model (manifest defaults: namespace
// library, tag latest) from the in-process registry by its Ollama name.
func TestOllamaLoad(t *testing.T) {
	host, tr := newRegistry(t, nil)
	a := artifact(t, "ollama")
	pushImage(t, host, tr, "library/tiny:latest", a.image(t))
	src, err := hub.NewOllama("ollama://"+host+"/library/tiny", hub.OCIOptions{Transport: tr, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := loadLocal(t, a.local)
	if diff := cmp.Diff(want.Inventory(), got.Inventory()); diff != "" {
		t.Errorf("inventory from the registry (-local +ollama):\n%s", diff)
	}
}

// TestOCINames checks the file names given to layers: the annotation's
// when there is one, else names that checkpoint.Load recognizes as shards.
func TestOCINames(t *testing.T) {
	host, tr := newRegistry(t, nil)
	l := func(data, mt string, ann map[string]string) ociLayer {
		return ociLayer{data: []byte(data), mt: mt, ann: ann}
	}
	tests := []struct {
		name   string
		layers []ociLayer
		want   []string
	}{
		{"one gguf", []ociLayer{l("a", hub.MediaDockerGGUF, nil)}, []string{"model.gguf"}},
		{"safetensors shards", []ociLayer{l("a", hub.MediaDockerSafetensors, nil), l("b", hub.MediaDockerSafetensors, nil)},
			[]string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}},
		{"annotated", []ociLayer{
			l("a", hub.MediaModelPackWeightRaw, map[string]string{hub.AnnotationModelPackFilepath: "sub/../w.safetensors"}),
			l("b", hub.MediaModelPackWeightConfigRaw, map[string]string{hub.AnnotationTitle: "tokenizer.json"}),
			l("c", hub.MediaModelPackWeightConfigRaw, map[string]string{hub.AnnotationTitle: "../escape.json"}),
			l("d", "application/vnd.docker.ai.license", nil),
		}, []string{"tokenizer.json", "w.safetensors", "weight-config-00002-of-00002"}},
		{"sniffed gguf", []ociLayer{l(ggufHead, hub.MediaModelPackWeightRaw, nil)}, []string{hex12([]byte(ggufHead)) + ".gguf"}},
		{"sniffed safetensors", []ociLayer{l(stHead, hub.MediaModelPackWeightRaw, nil), l(stHead+" ", hub.MediaModelPackWeightRaw, nil)},
			[]string{hex12([]byte(stHead)) + ".safetensors", hex12([]byte(stHead+" ")) + ".safetensors"}},
		{"sniffed gguf split", []ociLayer{l(ggufHead+"1", hub.MediaModelPackWeightRaw, nil), l(ggufHead+"2", hub.MediaModelPackWeightRaw, nil)},
			[]string{hex12([]byte(ggufHead+"1")) + "-00001-of-00002.gguf", hex12([]byte(ggufHead+"1")) + "-00002-of-00002.gguf"}},
		{"unknown next to a model", []ociLayer{
			l("not a model file", hub.MediaModelPackWeightRaw, nil),
			l(ggufHead, hub.MediaModelPackWeightRaw, map[string]string{hub.AnnotationModelPackFilepath: "m.gguf"}),
		}, []string{"m.gguf", "weight-00001-of-00002"}},
		{"annotated raw weights are not read", []ociLayer{
			l("GGUF but named", hub.MediaModelPackWeightRaw, map[string]string{hub.AnnotationModelPackFilepath: "x.bin"}),
			l(ggufHead, hub.MediaModelPackWeightRaw, map[string]string{hub.AnnotationTitle: "m.gguf"}),
		}, []string{"m.gguf", "x.bin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaDockerConfigV01, layers: tt.layers}
			repo := "names/" + strings.ReplaceAll(tt.name, " ", "-") + ":v1"
			pushImage(t, host, tr, repo, a.image(t))
			src, err := hub.NewOCI("oci://"+host+"/"+repo, hub.OCIOptions{Transport: tr, Keychain: anonymous})
			if err != nil {
				t.Fatal(err)
			}
			files, err := src.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				got = append(got, f.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List() names (-want +got):\n%s", diff)
			}
		})
	}
}

// Heads of files as an unannotated raw weight layer's first bytes are
// sniffed: a GGUF magic, and a safetensors header length and brace.
const (
	ggufHead = "GGUF\x03\x00\x00\x00 and the rest"
	stHead   = "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}"
)

// TestOCISniff checks what sniffing an unannotated raw weight layer
// costs (one request of 16 bytes per layer, counted in Stats, and none for
// annotated layers), and that a manifest whose weights are all
// unrecognized fails with ErrNoModelLayers naming each layer's media type
// and digest.
func TestOCISniff(t *testing.T) {
	host, tr := newRegistry(t, nil)
	ctx := context.Background()
	list := func(t *testing.T, repo string, layers ...ociLayer) (*hub.OCISource, error) {
		t.Helper()
		a := ociArtifact{manifest: types.OCIManifestSchema1, config: hub.MediaModelPackConfig, layers: layers}
		pushImage(t, host, tr, repo, a.image(t))
		src, err := hub.NewOCI("oci://"+host+"/"+repo, hub.OCIOptions{Transport: tr, Keychain: anonymous})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.List(ctx)
		return src, err
	}
	big := ggufHead + strings.Repeat("x", 1<<20)
	annotated, err := list(t, "sniff/annotated:v1",
		ociLayer{data: []byte(big), mt: hub.MediaModelPackWeightRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "a.gguf"}},
		ociLayer{data: []byte(big + "2"), mt: hub.MediaModelPackWeightRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "b.gguf"}})
	if err != nil {
		t.Fatal(err)
	}
	sniffed, err := list(t, "sniff/unannotated:v1",
		ociLayer{data: []byte(big), mt: hub.MediaModelPackWeightRaw},
		ociLayer{data: []byte(big + "2"), mt: hub.MediaModelPackWeightRaw})
	if err != nil {
		t.Fatal(err)
	}
	a, s := annotated.Stats(), sniffed.Stats()
	t.Logf("listing: annotated %+v, unannotated %+v", a, s)
	if s.Requests-a.Requests != 2 || s.Bytes > a.Bytes+2*16 {
		t.Errorf("sniffing 2 layers cost %d requests and %d bytes (%d listing annotated ones), want 2 more requests and at most 32 more bytes",
			s.Requests-a.Requests, s.Bytes, a.Bytes)
	}

	l1, l2 := []byte("PK\x03\x04 a zip file, longer than what is sniffed"), []byte{}
	_, err = list(t, "sniff/unknown:v1",
		ociLayer{data: l1, mt: hub.MediaModelPackWeightRaw},
		ociLayer{data: l2, mt: hub.MediaModelPackWeightRaw},
		ociLayer{data: []byte("{}"), mt: hub.MediaModelPackWeightConfigRaw, ann: map[string]string{hub.AnnotationModelPackFilepath: "config.json"}})
	if !errors.Is(err, hub.ErrNoModelLayers) {
		t.Fatalf("List() of unrecognized weights = %v, want ErrNoModelLayers", err)
	}
	t.Logf("%v", err)
	for _, want := range []string{hub.MediaModelPackWeightRaw, "sha256:" + hex12(l1), "sha256:" + hex12(l2), "layer 0", "layer 1", `"PK\x03\x04 a zip file,"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("List() error %q does not say %q", err, want)
		}
	}
}

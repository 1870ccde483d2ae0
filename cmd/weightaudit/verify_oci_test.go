package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"github.com/weightaudit/weightaudit/hub"
)

// tamper flips one byte of the bytes a registry serves for one blob: the
// byte at offset off of the blob, in whichever response (whole or ranged)
// carries it. The zero value tampers with nothing.
type tamper struct {
	digest atomic.Value // string: the blob's digest, "sha256:…"
	off    atomic.Int64
	hits   atomic.Int64 // responses that carried the flipped byte
}

func (tp *tamper) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := tp.digest.Load().(string)
		if r.Method != http.MethodGet || d == "" || !strings.HasSuffix(r.URL.Path, "/blobs/"+d) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&flipWriter{ResponseWriter: w, tp: tp, target: tp.off.Load()}, r)
	})
}

// flipWriter flips the byte at target (an offset in the blob) as the body
// passes.
type flipWriter struct {
	http.ResponseWriter
	tp      *tamper
	target  int64
	pos     int64 // offset in the blob of the next body byte
	started bool
}

func (f *flipWriter) start() {
	if f.started {
		return
	}
	f.started = true
	var a, b, size int64
	if _, err := fmt.Sscanf(f.Header().Get("Content-Range"), "bytes %d-%d/%d", &a, &b, &size); err == nil {
		f.pos = a
	}
}

func (f *flipWriter) WriteHeader(code int) {
	f.start()
	f.ResponseWriter.WriteHeader(code)
}

func (f *flipWriter) Write(p []byte) (int, error) {
	f.start()
	if i := f.target - f.pos; i >= 0 && i < int64(len(p)) {
		p = bytes.Clone(p)
		p[i] ^= 0x40
		f.tp.hits.Add(1)
	}
	f.pos += int64(len(p))
	return f.ResponseWriter.Write(p)
}

// ociRegistry starts go-containerregistry's in-process registry behind a
// tamper and returns its host:port and the tamper. Credentials are read
// from an empty Docker config.
func ociRegistry(tb testing.TB) (string, *tamper) {
	tb.Helper()
	tb.Setenv("DOCKER_CONFIG", tb.TempDir())
	tp := &tamper{}
	srv := httptest.NewServer(tp.wrap(registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), tp
}

// pushModel pushes an artifact of layers (data and media type, with a
// ModelPack file path when path is set) to host/repo and returns the
// layers' digests.
func pushModel(tb testing.TB, host, repo, config string, layers []testLayer) []v1.Hash {
	tb.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.MediaType(config))
	var adds []mutate.Addendum
	var digests []v1.Hash
	for _, l := range layers {
		layer := static.NewLayer(l.data, types.MediaType(l.mt))
		d, err := layer.Digest()
		if err != nil {
			tb.Fatal(err)
		}
		digests = append(digests, d)
		add := mutate.Addendum{Layer: layer}
		if l.path != "" {
			add.Annotations = map[string]string{hub.AnnotationModelPackFilepath: l.path}
		}
		adds = append(adds, add)
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(authn.Anonymous)); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
	return digests
}

type testLayer struct {
	data     []byte
	mt, path string
}

func readTiny(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/tiny", rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ociVerifyJSON is the part of `verify --json` the OCI tests read.
type ociVerifyJSON struct {
	Pass  bool `json:"pass"`
	Files []struct {
		Name         string `json:"name"`
		SHA256       string `json:"sha256"`
		Expected     string `json:"expected_sha256"`
		ExpectedFrom string `json:"expected_from"`
		Status       string `json:"status"`
		Note         string `json:"note"`
	} `json:"files"`
	Tensors []struct {
		File       string `json:"file"`
		Incomplete bool   `json:"incomplete"`
	} `json:"tensors"`
	Findings []struct {
		Check, File, Expected, Actual, Message string
	} `json:"findings"`
}

// verify of a Docker model artifact with two raw GGUF layers reads both
// and checks each against its layer digest; a registry serving one byte
// changed is caught, naming the file, the layer digest and the sha256 of
// what was served.
func TestVerifyOCIRawLayers(t *testing.T) {
	host, tp := ociRegistry(t)
	parts := [][]byte{readTiny(t, "gguf/tiny-q8_0-00001-of-00002.gguf"), readTiny(t, "gguf/tiny-q8_0-00002-of-00002.gguf")}
	digests := pushModel(t, host, "models/tiny:q8", hub.MediaDockerConfigV01,
		[]testLayer{{data: parts[0], mt: hub.MediaDockerGGUF}, {data: parts[1], mt: hub.MediaDockerGGUF}})
	src := "oci://" + host + "/models/tiny:q8"
	names := []string{"model-00001-of-00002.gguf", "model-00002-of-00002.gguf"}

	stdout, stderr, code := cli(t, "verify", src, "--json")
	if code != 0 {
		t.Fatalf("verify %s: exit %d: %s\n%s", src, code, stderr, stdout)
	}
	var r ociVerifyJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Pass || len(r.Files) != 2 {
		t.Fatalf("verify %s: pass %v, %d files; want a pass over 2", src, r.Pass, len(r.Files))
	}
	for i, f := range r.Files {
		if f.Name != names[i] || f.Status != "ok" || f.ExpectedFrom != "OCI layer digest" || f.Expected != digests[i].Hex || f.SHA256 != digests[i].Hex {
			t.Errorf("file %d = %+v; want %s ok against the OCI layer digest %s", i, f, names[i], digests[i].Hex)
		}
	}
	text, _, code := cli(t, "verify", src)
	if code != 0 || strings.Count(text, "ok (OCI layer digest)") != 2 {
		t.Errorf("verify %s (text): exit %d, want both files ok (OCI layer digest)\n%s", src, code, text)
	}

	// inspect keeps the headers in the header cache (here, the whole of
	// these tiny files); verify must not take them from there.
	if _, stderr, code := cli(t, "inspect", src); code != 0 {
		t.Fatalf("inspect %s: exit %d: %s", src, code, stderr)
	}

	// The registry now serves the second layer with one byte of its last
	// tensor's data changed.
	tampered := bytes.Clone(parts[1])
	off := int64(len(tampered) - 10)
	tampered[off] ^= 0x40
	sum := sha256.Sum256(tampered)
	actual := hex.EncodeToString(sum[:])
	tp.off.Store(off)
	tp.digest.Store(digests[1].String())
	stdout, stderr, code = cli(t, "verify", src, "--json")
	if code != 1 || tp.hits.Load() == 0 {
		t.Fatalf("verify of a tampered layer: exit %d (%d tampered responses): %s\n%s", code, tp.hits.Load(), stderr, stdout)
	}
	r = ociVerifyJSON{}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 {
		t.Fatalf("findings %+v, want one", r.Findings)
	}
	f := r.Findings[0]
	if f.Check != "VERIFY-SHA256" || f.File != names[1] || f.Expected != digests[1].Hex || f.Actual != actual ||
		!strings.Contains(f.Message, digests[1].Hex) || !strings.Contains(f.Message, actual) {
		t.Errorf("finding %+v; want VERIFY-SHA256 naming %s, expected %s, actual %s", f, names[1], digests[1].Hex, actual)
	}
	if r.Files[0].Status != "ok" || r.Files[1].Status != "mismatch" {
		t.Errorf("file statuses %q, %q; want ok, mismatch", r.Files[0].Status, r.Files[1].Status)
	}
}

func tarZstd(tb testing.TB, names []string, files map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// The files of a ModelPack tar+zstd layer cannot be range-read: verify
// says of each weight file that its data is inside a compressed layer and
// that neither its sha256 nor its tensors' data was checked (a finding,
// exit 1), and of the small files read whole from the stream that no
// digest covers them alone. Nothing is reported "ok".
func TestVerifyOCICompressedLayer(t *testing.T) {
	host, _ := ociRegistry(t)
	names := []string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}
	files := map[string][]byte{}
	for _, n := range names {
		files[n] = readTiny(t, "hf-f32/"+n)
	}
	pushModel(t, host, "models/tiny:tar-zstd", hub.MediaModelPackConfig,
		[]testLayer{{data: tarZstd(t, names, files), mt: hub.MediaModelPackWeightTarZstd}})
	src := "oci://" + host + "/models/tiny:tar-zstd"

	stdout, stderr, code := cli(t, "verify", src, "--json")
	if code != 1 {
		t.Fatalf("verify %s: exit %d, want 1: %s\n%s", src, code, stderr, stdout)
	}
	var r ociVerifyJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Pass || len(r.Files) != 4 {
		t.Fatalf("pass %v, %d files; want a failed report of 4 files", r.Pass, len(r.Files))
	}
	unread := map[string]bool{}
	for _, f := range r.Findings {
		if f.Check != "VERIFY-UNREAD" || !strings.Contains(f.Message, "inside a compressed layer") || !strings.Contains(f.Message, "no sha256") ||
			!strings.Contains(f.Message, "no data checks") {
			t.Errorf("finding %+v; want VERIFY-UNREAD saying the data is inside a compressed layer and what was not checked", f)
		}
		unread[f.File] = true
	}
	for _, f := range r.Files {
		weights := strings.HasSuffix(f.Name, ".safetensors")
		switch {
		case f.Status == "ok" || f.Expected != "":
			t.Errorf("file %s: status %q, expected digest %q; nothing covers a tar member alone", f.Name, f.Status, f.Expected)
		case weights && (f.Status != "unread" || !unread[f.Name] || f.SHA256 != ""):
			t.Errorf("weight file %s: status %q, sha256 %q, finding %v; want unread with a finding", f.Name, f.Status, f.SHA256, unread[f.Name])
		case !weights && (f.Status != "unchecked" || f.SHA256 == "" || unread[f.Name]):
			t.Errorf("small file %s: status %q, sha256 %q; want read whole and unchecked", f.Name, f.Status, f.SHA256)
		}
		if !strings.Contains(f.Note, "inside a tar layer") {
			t.Errorf("file %s: note %q, want it to say the file is inside a tar layer", f.Name, f.Note)
		}
	}
	if len(unread) != 2 {
		t.Errorf("unread files %v, want the two shards", unread)
	}
	for _, tn := range r.Tensors {
		if !tn.Incomplete {
			t.Errorf("a tensor of %s is complete; its data was not read", tn.File)
		}
	}
	text, _, _ := cli(t, "verify", src)
	if !strings.Contains(text, "FAIL") || strings.Count(text, "VERIFY-UNREAD") != 2 || !strings.Contains(text, "note: config.json: inside a tar layer") {
		t.Errorf("verify %s (text) does not say what was not verified:\n%s", src, text)
	}
}

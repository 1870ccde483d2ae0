package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/weightaudit/weightaudit/hub"
)

// tamper flips one byte of the bytes a registry serves for one blob: the
// byte at offset off of the blob, in whichever response (whole or ranged)
// carries it, leaving the first skip GET requests of the blob untouched.
// It also counts the GET requests of every blob. The zero value tampers
// with nothing.
type tamper struct {
	digest atomic.Value // string: the blob's digest, "sha256:…"
	off    atomic.Int64
	skip   atomic.Int64 // GET requests of the blob still to leave untouched
	hits   atomic.Int64 // responses that carried the flipped byte

	mu   sync.Mutex
	gets map[string]int // GET requests by blob digest
}

// blobGets returns how many GET requests of the blob d the registry served.
func (tp *tamper) blobGets(d string) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.gets[d]
}

func (tp *tamper) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, blob, ok := strings.Cut(r.URL.Path, "/blobs/"); ok && r.Method == http.MethodGet {
			tp.mu.Lock()
			if tp.gets == nil {
				tp.gets = map[string]int{}
			}
			tp.gets[blob]++
			tp.mu.Unlock()
		}
		d, _ := tp.digest.Load().(string)
		if r.Method != http.MethodGet || d == "" || !strings.HasSuffix(r.URL.Path, "/blobs/"+d) || tp.skip.Add(-1) >= 0 {
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
// layers' digests; ropts add to how it is pushed (the transport of a TLS
// registry).
func pushModel(tb testing.TB, host, repo, config string, layers []testLayer, ropts ...remote.Option) []v1.Hash {
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
	if err := remote.Write(ref, img, append([]remote.Option{remote.WithAuth(authn.Anonymous)}, ropts...)...); err != nil {
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

func tarGzip(tb testing.TB, names []string, files map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
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

// compressedKinds are the compressed tar layers of ModelPack, each with a
// function packing files into one.
var compressedKinds = []struct {
	name string
	mt   string
	pack func(testing.TB, []string, map[string][]byte) []byte
}{
	{"tar+zstd", hub.MediaModelPackWeightTarZstd, tarZstd},
	{"tar+gzip", hub.MediaModelPackWeightTarGzip, tarGzip},
}

// tinyFiles reads a checkpoint folder of testdata/tiny: its files, in the
// order they are packed (config, shards, index).
func tinyFiles(tb testing.TB, dir string) ([]string, map[string][]byte) {
	tb.Helper()
	names := []string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}
	files := map[string][]byte{}
	for _, n := range names {
		files[n] = readTiny(tb, dir+"/"+n)
	}
	return names, files
}

// streamReport is the part of `verify --json` the tests of streamed
// layers read.
type streamReport struct {
	Pass  bool `json:"pass"`
	Files []struct {
		Name     string `json:"name"`
		Read     int64  `json:"bytes_read"`
		SHA256   string `json:"sha256"`
		Expected string `json:"expected_sha256"`
		Status   string `json:"status"`
		Note     string `json:"note"`
	} `json:"files"`
	Tensors  json.RawMessage `json:"tensors"`
	Archives []struct {
		Digest   string   `json:"digest"`
		Files    []string `json:"files"`
		SHA256   string   `json:"sha256"`
		Expected string   `json:"expected_sha256"`
		Status   string   `json:"status"`
		Error    string   `json:"error"`
	} `json:"archives"`
	Findings []struct {
		Check, File, Tensor, Expected, Actual, Message, Layer string
		Offset                                                int64
		Files                                                 []string
	} `json:"findings"`
	Seconds float64 `json:"seconds"`
}

// verifyReport runs verify --json with args and parses the report; it
// fails the test unless the exit code is code.
func verifyReport(tb testing.TB, code int, args ...string) (streamReport, string) {
	tb.Helper()
	stdout, stderr, got := cli(tb, append([]string{"verify", "--json"}, args...)...)
	if got != code {
		tb.Fatalf("verify %s: exit %d, want %d: %s\n%s", strings.Join(args, " "), got, code, stderr, stdout)
	}
	var r streamReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		tb.Fatalf("verify %s: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	return r, stdout
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The files of a ModelPack compressed tar layer are verified as the layer
// streams: verify passes, every file is read and hashed (its sha256 is the
// original file's), its tensors are checked exactly as the same files'
// locally, and the layer's digest is checked over its compressed bytes.
// The blob is fetched twice in all, once by the listing and once by
// verify, not once per file. --jobs 1 and 4 give the same report; a
// manifest recorded from the artifact diffs identical with the local
// folder.
func TestVerifyOCICompressedLayer(t *testing.T) {
	host, tp := ociRegistry(t)
	names, files := tinyFiles(t, "hf-f32")
	local, _ := verifyReport(t, 0, "../../testdata/tiny/hf-f32")
	sorted := slices.Sorted(slices.Values(names))
	for _, k := range compressedKinds {
		t.Run(k.name, func(t *testing.T) {
			layer := k.pack(t, names, files)
			digest := pushModel(t, host, "models/tiny:"+strings.ReplaceAll(k.name, "+", "-"), hub.MediaModelPackConfig,
				[]testLayer{{data: layer, mt: k.mt}})[0]
			src := "oci://" + host + "/models/tiny:" + strings.ReplaceAll(k.name, "+", "-")

			// The listing alone streams the layer once (inspect, without
			// the header cache that would stand in for it)...
			before := tp.blobGets(digest.String())
			if _, stderr, code := cli(t, "inspect", "--no-cache", src); code != 0 {
				t.Fatalf("inspect %s: exit %d: %s", src, code, stderr)
			}
			if gets := tp.blobGets(digest.String()) - before; gets != 1 {
				t.Errorf("inspect fetched the layer's blob %d times, want once", gets)
			}
			// ... and verify once more, for all of its 4 files.
			before = tp.blobGets(digest.String())
			r, _ := verifyReport(t, 0, src)
			if gets := tp.blobGets(digest.String()) - before; gets != 2 {
				t.Errorf("verify fetched the layer's blob %d times, want 2 (the listing, then verify: once for its 4 files)", gets)
			}
			if !r.Pass || len(r.Files) != len(names) || len(r.Findings) != 0 {
				t.Fatalf("pass %v, %d files, findings %+v; want a pass over %d files", r.Pass, len(r.Files), r.Findings, len(names))
			}
			for _, f := range r.Files {
				if f.Status != "ok" || f.Expected != "" || f.SHA256 != sha256Hex(files[f.Name]) || f.Read != int64(len(files[f.Name])) {
					t.Errorf("file %s: status %q, expected %q, sha256 %s, read %d; want ok (by the layer's digest), read whole, sha256 %s",
						f.Name, f.Status, f.Expected, f.SHA256, f.Read, sha256Hex(files[f.Name]))
				}
				if !strings.Contains(f.Note, "inside layer "+digest.String()) || !strings.Contains(f.Note, "covers its bytes") {
					t.Errorf("file %s: note %q; want it to name the layer whose digest covers the file", f.Name, f.Note)
				}
			}
			if len(r.Archives) != 1 {
				t.Fatalf("archives %+v, want the layer", r.Archives)
			}
			a := r.Archives[0]
			if a.Digest != digest.String() || a.Status != "ok" || a.SHA256 != digest.Hex || a.Expected != digest.Hex || !slices.Equal(a.Files, sorted) {
				t.Errorf("archive %+v; want %s ok, sha256 %s, files %v", a, digest, digest.Hex, sorted)
			}
			if !bytes.Equal(compactJSON(t, r.Tensors), compactJSON(t, local.Tensors)) {
				t.Errorf("tensors of the artifact differ from those of the same files verified locally:\n%s\n%s", r.Tensors, local.Tensors)
			}

			// --jobs 1 and --jobs 4 give the same report.
			_, one := verifyReport(t, 0, src, "--jobs", "1")
			_, four := verifyReport(t, 0, src, "--jobs", "4")
			if diff := cmp.Diff(withoutSeconds(t, one), withoutSeconds(t, four)); diff != "" {
				t.Errorf("verify --jobs 1 and --jobs 4 differ (-1 +4):\n%s", diff)
			}

			// A manifest of the artifact is that of the local files.
			m := filepath.Join(t.TempDir(), "m.json")
			if _, stderr, code := cli(t, "verify", src, "--record", m); code != 0 {
				t.Fatalf("verify %s --record: exit %d: %s", src, code, stderr)
			}
			if out, stderr, code := cli(t, "diff", m, "../../testdata/tiny/hf-f32"); code != 0 {
				t.Errorf("diff of the artifact's manifest and the local folder: exit %d: %s\n%s", code, stderr, out)
			}

			text, _, code := cli(t, "verify", src)
			if code != 0 || !strings.Contains(text, "archives (layers read from their start)") || !strings.Contains(text, digest.String()) {
				t.Errorf("verify %s (text): exit %d, want the layer listed under archives:\n%s", src, code, text)
			}
		})
	}
}

func compactJSON(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// withoutSeconds decodes a report and drops its timing.
func withoutSeconds(tb testing.TB, report string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(report), &m); err != nil {
		tb.Fatal(err)
	}
	delete(m, "seconds")
	delete(m, "started")
	return m
}

// zstdSkippable appends a zstd skippable frame holding payload: decoders
// pass over it, and the layer's digest covers it.
func zstdSkippable(stream, payload []byte) []byte {
	out := append(bytes.Clone(stream), 0x50, 0x2a, 0x4d, 0x18)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(payload)))
	return append(out, payload...)
}

// A registry serving a compressed layer with one byte changed is caught by
// the layer's digest. When the change leaves the archive readable (a byte
// of the gzip header's time stamp, of a zstd skippable frame) every file
// is still read and checked, and the finding names the layer, the
// expected and the actual digest and the files inside it, whose rows say
// mismatch. When the change breaks the stream (a byte in the middle of
// the compressed data, served to verify but not to the listing), a
// VERIFY-ARCHIVE finding also names the layer, the file being read and
// the offset in it, and the files not read to their end are unread. Both
// exit 1: the artifact is at fault, not verify.
func TestVerifyOCICompressedLayerTampered(t *testing.T) {
	host, tp := ociRegistry(t)
	names, files := tinyFiles(t, "hf-f32")
	sorted := slices.Sorted(slices.Values(names))
	tests := []struct {
		name  string
		mt    string
		layer []byte
		off   func(layer []byte) int64 // the byte flipped
		skip  int64                    // requests served untouched
		// broken: the stream does not decompress: a VERIFY-ARCHIVE
		// finding, unread files.
		broken bool
	}{
		{"gzip time stamp", hub.MediaModelPackWeightTarGzip, tarGzip(t, names, files), func([]byte) int64 { return 4 }, 0, false},
		{"zstd skippable frame", hub.MediaModelPackWeightTarZstd, zstdSkippable(tarZstd(t, names, files), []byte("signed by nobody")),
			func(l []byte) int64 { return int64(len(l) - 3) }, 0, false},
		{"zstd data", hub.MediaModelPackWeightTarZstd, tarZstd(t, names, files), func(l []byte) int64 { return int64(len(l) / 2) }, 1, true},
		{"gzip data", hub.MediaModelPackWeightTarGzip, tarGzip(t, names, files), func(l []byte) int64 { return int64(len(l) / 2) }, 1, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := fmt.Sprintf("models/tampered:%d", i)
			digest := pushModel(t, host, repo, hub.MediaModelPackConfig, []testLayer{{data: tt.layer, mt: tt.mt}})[0]
			src := "oci://" + host + "/" + repo
			off := tt.off(tt.layer)
			tampered := bytes.Clone(tt.layer)
			tampered[off] ^= 0x40
			actual := sha256Hex(tampered)
			tp.hits.Store(0)
			tp.off.Store(off)
			tp.skip.Store(tt.skip)
			tp.digest.Store(digest.String())
			defer tp.digest.Store("")

			r, stdout := verifyReport(t, 1, src)
			if tp.hits.Load() == 0 {
				t.Fatalf("no tampered response was served")
			}
			var sha, archive int
			for _, f := range r.Findings {
				switch f.Check {
				case "VERIFY-SHA256":
					sha++
					if f.Layer != digest.String() || f.Expected != digest.Hex || f.Actual != actual || !slices.Equal(f.Files, sorted) ||
						!strings.Contains(f.Message, digest.Hex) || !strings.Contains(f.Message, actual) || !strings.Contains(f.Message, names[1]) {
						t.Errorf("finding %+v; want VERIFY-SHA256 of layer %s, expected %s, actual %s, naming its files", f, digest, digest.Hex, actual)
					}
				case "VERIFY-ARCHIVE":
					archive++
					if f.Layer != digest.String() || !strings.Contains(f.Message, "does not decompress") {
						t.Errorf("finding %+v; want VERIFY-ARCHIVE naming layer %s", f, digest)
					}
					if f.File != "" && (!slices.Contains(names, f.File) || !strings.Contains(f.Message, fmt.Sprintf("offset %d of file %s", f.Offset, f.File))) {
						t.Errorf("finding %+v; want the file being read and the offset in it", f)
					}
				case "VERIFY-UNREAD":
					if !tt.broken || !strings.Contains(f.Message, "layer "+digest.String()+" is damaged") {
						t.Errorf("finding %+v; an unread file only behind a damaged layer", f)
					}
				default:
					t.Errorf("finding %+v; want only the layer's", f)
				}
			}
			if sha != 1 || (archive == 1) != tt.broken {
				t.Errorf("%d VERIFY-SHA256 and %d VERIFY-ARCHIVE findings; want 1 and %v:\n%s", sha, archive, tt.broken, stdout)
			}
			if len(r.Archives) != 1 || r.Archives[0].Status != "mismatch" || r.Archives[0].SHA256 != actual || (r.Archives[0].Error != "") != tt.broken {
				t.Errorf("archives %+v; want the layer, a mismatch, sha256 %s", r.Archives, actual)
			}
			for _, f := range r.Files {
				switch {
				case f.Status == "mismatch":
					if f.SHA256 == "" {
						t.Errorf("file %s: a mismatch without a sha256", f.Name)
					}
					if !tt.broken && f.SHA256 != sha256Hex(files[f.Name]) {
						t.Errorf("file %s: sha256 %s, want the original's: the change left the files alone", f.Name, f.SHA256)
					}
				case f.Status == "unread" && tt.broken:
				default:
					t.Errorf("file %s: status %q; want mismatch (or unread, behind a damaged layer)", f.Name, f.Status)
				}
			}
			t.Logf("%s", stdout)
		})
	}
}

// A NaN written into a BF16 tensor of a shard before it is packed into a
// tar+zstd layer is found, named by file, tensor and offset, exactly as
// in the same files verified locally: the data checks run on the files of
// compressed layers.
func TestVerifyOCICompressedLayerNaN(t *testing.T) {
	host, _ := ociRegistry(t)
	names, files := tinyFiles(t, "hf-bf16")
	shard := "model-00001-of-00002.safetensors"
	b := files[shard]
	n := binary.LittleEndian.Uint64(b)
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var tensor string
	var at int64
	for name, raw := range header {
		var ti struct {
			DType   string  `json:"dtype"`
			Offsets []int64 `json:"data_offsets"`
		}
		if name == "__metadata__" || json.Unmarshal(raw, &ti) != nil || ti.DType != "BF16" || ti.Offsets[1]-ti.Offsets[0] < 8 {
			continue
		}
		if tensor == "" || name < tensor {
			tensor, at = name, 8+int64(n)+ti.Offsets[0]+6 // the fourth value
		}
	}
	if tensor == "" {
		t.Fatalf("%s has no BF16 tensor", shard)
	}
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint16(b[at:], 0x7fc1) // a quiet NaN
	files[shard] = b
	dir := t.TempDir()
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pushModel(t, host, "models/nan:v1", hub.MediaModelPackConfig, []testLayer{{data: tarZstd(t, names, files), mt: hub.MediaModelPackWeightTarZstd}})

	r, stdout := verifyReport(t, 1, "oci://"+host+"/models/nan:v1")
	want, _ := verifyReport(t, 1, dir)
	if len(r.Findings) != 1 {
		t.Fatalf("findings %+v, want the NaN:\n%s", r.Findings, stdout)
	}
	f := r.Findings[0]
	if f.Check != "VERIFY-NAN" || f.File != shard || f.Tensor != tensor || f.Offset != at {
		t.Errorf("finding %+v; want VERIFY-NAN in %s, tensor %s, offset %d", f, shard, tensor, at)
	}
	if diff := cmp.Diff(want.Findings, r.Findings); diff != "" {
		t.Errorf("findings differ from those of the same files verified locally (-local +oci):\n%s", diff)
	}
	if !bytes.Equal(compactJSON(t, r.Tensors), compactJSON(t, want.Tensors)) {
		t.Errorf("tensors differ from those of the same files verified locally")
	}
}

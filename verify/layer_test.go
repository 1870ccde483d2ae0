package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/verify"
)

// layeredSource is an in-memory source whose files lie in layers that
// must be streamed whole, as the files of an OCI artifact's compressed tar
// layers do: its files can be opened (to read headers), and each layer is
// streamed by StreamLayer, in archive order, as *hub.OCISource does.
type layeredSource struct {
	*hub.Mem
	data   map[string][]byte
	layers map[string][]string // digest → files, in archive order
	of     map[string]string   // file → digest

	// damage, when set, makes the layer holding that file fail at that
	// offset of it, as a damaged archive.
	damageFile string
	damageAt   int64
	// wrongSum, when set, is the sha256 the named layer's stream gives
	// instead of its digest.
	wrongSum map[string]string
	// blobErr, when set, is the error every StreamLayer call fails with
	// after its first file.
	blobErr error
	// visit, when set, is called at each file's visit.
	onVisit func(name string)

	mu    sync.Mutex
	calls map[string]int
}

// newLayeredSource packs the files of the tiny checkpoint folder dir into
// layers: each a list of file names in archive order. A layer's digest is
// the sha256 of its files' bytes, one after another.
func newLayeredSource(tb testing.TB, dir string, layers ...[]string) *layeredSource {
	tb.Helper()
	s := &layeredSource{Mem: hub.NewMem("oci://registry.example/model:tag"), data: map[string][]byte{},
		layers: map[string][]string{}, of: map[string]string{}, wrongSum: map[string]string{}, calls: map[string]int{}}
	for _, names := range layers {
		h := sha256.New()
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				tb.Fatal(err)
			}
			s.data[n] = b
			s.Add(n, bytes.NewReader(b), int64(len(b)))
			h.Write(b)
		}
		d := "sha256:" + hex.EncodeToString(h.Sum(nil))
		s.layers[d] = names
		for _, n := range names {
			s.of[n] = d
		}
	}
	return s
}

func (s *layeredSource) StreamedLayer(name string) (string, bool) {
	d, ok := s.of[name]
	return d, ok
}

func (s *layeredSource) StreamLayer(ctx context.Context, digest string, visit func(string, int64, io.Reader) error) (string, error) {
	s.mu.Lock()
	s.calls[digest]++
	s.mu.Unlock()
	for i, n := range s.layers[digest] {
		if i > 0 && s.blobErr != nil {
			return "", s.blobErr
		}
		if s.onVisit != nil {
			s.onVisit(n)
		}
		b := s.data[n]
		var r io.Reader = bytes.NewReader(b)
		damaged := n == s.damageFile
		if damaged {
			r = io.MultiReader(bytes.NewReader(b[:s.damageAt]), failingReader{})
		}
		if err := visit(n, int64(len(b)), r); err != nil && !damaged {
			return "", fmt.Errorf("layer %s: file %q: %w", digest, n, err)
		}
		if damaged {
			return digest[len("sha256:"):], &hub.LayerError{Digest: digest, File: n, Offset: s.damageAt, Err: fmt.Errorf("%w: zstd: corrupt block", hub.ErrBadArchive)}
		}
	}
	if sum := s.wrongSum[digest]; sum != "" {
		return sum, nil
	}
	return digest[len("sha256:"):], nil // the bytes of the layer as packed
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("corrupt block") }

// tinyLayers packs testdata/tiny/hf-f32 into two layers.
func tinyLayers(tb testing.TB) *layeredSource {
	return newLayeredSource(tb, filepath.Join(verifyTinyDir, "hf-f32"),
		[]string{"config.json", "model-00001-of-00002.safetensors"},
		[]string{"model-00002-of-00002.safetensors", "model.safetensors.index.json"})
}

func verifySource(tb testing.TB, src hub.Source, opts verify.Options) *verify.Report {
	tb.Helper()
	ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithPartialFiles())
	if err != nil {
		tb.Fatal(err)
	}
	r, err := verify.Run(context.Background(), ck, opts)
	if err != nil {
		tb.Fatalf("Run(%s) = %v", src, err)
	}
	return r
}

// The files of streamed layers are read as their layers stream, each
// layer once, and verified exactly as the same files read in place: the
// tensors' results (digests included) are those of the local folder, every
// file is hashed, and each layer's digest is checked. Jobs 1 and 4 give
// the same report.
func TestVerifyStreamedLayers(t *testing.T) {
	local := runVerify(t, filepath.Join(verifyTinyDir, "hf-f32"), verify.Options{TensorDigests: true})
	var reports []*verify.Report
	for _, jobs := range []int{1, 4} {
		src := tinyLayers(t)
		var mu sync.Mutex
		progress := map[string]int64{}
		r := verifySource(t, src, verify.Options{Jobs: jobs, TensorDigests: true, Progress: func(f string, n int64) {
			mu.Lock()
			progress[f] += n
			mu.Unlock()
		}})
		if !r.Pass || r.Incomplete {
			t.Fatalf("jobs %d: pass %v, incomplete %v, findings %+v; want a pass", jobs, r.Pass, r.Incomplete, r.Findings)
		}
		for d, n := range src.calls {
			if n != 1 {
				t.Errorf("jobs %d: layer %s streamed %d times, want once", jobs, d, n)
			}
		}
		if len(src.calls) != 2 {
			t.Errorf("jobs %d: %d layers streamed, want 2", jobs, len(src.calls))
		}
		if diff := cmp.Diff(local.Tensors, r.Tensors); diff != "" {
			t.Errorf("jobs %d: tensors (-local +streamed):\n%s", jobs, diff)
		}
		for _, f := range r.Files {
			if f.Status != "ok" || f.ExpectedFrom != "its layer's digest" || f.SHA256 != digest(string(src.data[f.Name])) || progress[f.Name] != f.Size ||
				!strings.Contains(f.Note, "inside layer "+src.of[f.Name]) {
				t.Errorf("jobs %d: file %+v (progress %d); want ok by its layer's digest, its sha256, its bytes reported, a note naming its layer", jobs, f, progress[f.Name])
			}
		}
		if len(r.Archives) != 2 {
			t.Fatalf("jobs %d: archives %+v, want 2", jobs, r.Archives)
		}
		for _, a := range r.Archives {
			want := slices.Sorted(slices.Values(src.layers[a.Digest]))
			if a.Status != "ok" || "sha256:"+a.SHA256 != a.Digest || a.Expected != a.SHA256 || !slices.Equal(a.Files, want) {
				t.Errorf("jobs %d: archive %+v; want ok, holding %v", jobs, a, want)
			}
		}
		r.Seconds, r.Started = 0, time.Time{}
		reports = append(reports, r)
	}
	if diff := cmp.Diff(reports[0], reports[1]); diff != "" {
		t.Errorf("reports differ (-jobs 1 +jobs 4):\n%s", diff)
	}

	// Given the manifest of the local folder, each file is ok.
	m, err := verify.NewManifest(local)
	if err != nil {
		t.Fatal(err)
	}
	r := verifySource(t, tinyLayers(t), verify.Options{Manifest: m})
	for _, f := range r.Files {
		if f.Status != "ok" || f.ExpectedFrom != "manifest" {
			t.Errorf("with the manifest: file %s: status %q from %q, want ok from the manifest", f.Name, f.Status, f.ExpectedFrom)
		}
	}
	if !r.Pass {
		t.Errorf("with the manifest: findings %+v, want none", r.Findings)
	}
}

// What a streamed layer's defects give: a sha256 that is not the digest
// is one VERIFY-SHA256 finding naming the layer, the digests and its
// files, which become mismatches (the files of a layer whose sha256 is its
// digest are ok by it); a damaged archive is a VERIFY-ARCHIVE
// finding naming the layer, the file and the offset, the file is unread
// and so are those after it in the layer, while the files of other layers
// are verified; a file the stream does not hold is unread. None is an
// error, and the report is complete.
func TestVerifyStreamedLayerDefects(t *testing.T) {
	const shard1, shard2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
	tests := []struct {
		name   string
		change func(s *layeredSource)
		want   []finding
		status map[string]string // file → status
	}{
		{
			name:   "sha256 mismatch",
			change: func(s *layeredSource) { s.wrongSum[s.of[shard2]] = strings.Repeat("ab", 32) },
			want:   []finding{{Check: verify.CheckSHA256}},
			status: map[string]string{"config.json": "ok", shard1: "ok", shard2: "mismatch", "model.safetensors.index.json": "mismatch"},
		},
		{
			name: "damaged archive",
			change: func(s *layeredSource) {
				s.layers[s.of[shard1]] = []string{shard1, "config.json"}
				s.damageFile, s.damageAt = shard1, 5000
			},
			want: []finding{
				{Check: verify.CheckArchive, File: shard1, Offset: 5000},
				{Check: verify.CheckUnread, File: "config.json"},
				{Check: verify.CheckUnread, File: shard1}, // no whole buffer read
			},
			status: map[string]string{"config.json": "unread", shard1: "unread", shard2: "ok", "model.safetensors.index.json": "ok"},
		},
		{
			name:   "file not in the stream",
			change: func(s *layeredSource) { s.layers[s.of[shard2]] = []string{shard2} },
			want:   []finding{{Check: verify.CheckUnread, File: "model.safetensors.index.json"}},
			status: map[string]string{"config.json": "ok", shard1: "ok", shard2: "ok", "model.safetensors.index.json": "unread"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tinyLayers(t)
			tt.change(src)
			r := verifySource(t, src, verify.Options{BufferSize: 64 << 10})
			if r.Pass || r.Incomplete {
				t.Errorf("pass %v, incomplete %v; want a complete, failed report", r.Pass, r.Incomplete)
			}
			got := findings(r)
			slices.SortFunc(got, func(a, b finding) int { return strings.Compare(a.Check+a.File, b.Check+b.File) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			for _, f := range r.Files {
				if f.Status != tt.status[f.Name] {
					t.Errorf("file %s: status %q, want %q", f.Name, f.Status, tt.status[f.Name])
				}
			}
			for _, f := range r.Findings {
				if f.Check == verify.CheckUnread && !strings.Contains(f.Message, "layer "+src.of[f.File]) {
					t.Errorf("finding %+v does not name the layer", f)
				}
				if (f.Check == verify.CheckSHA256 || f.Check == verify.CheckArchive) && (f.Layer == "" || len(f.Files) != 2) {
					t.Errorf("finding %+v; want it to name the layer and its files", f)
				}
				if f.Check == verify.CheckSHA256 && (f.Expected != strings.TrimPrefix(f.Layer, "sha256:") || f.Actual != strings.Repeat("ab", 32)) {
					t.Errorf("finding %+v; want the expected and the actual sha256", f)
				}
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, a := range r.Archives {
				if !strings.Contains(text.String(), a.Digest) {
					t.Errorf("text report does not list layer %s:\n%s", a.Digest, text.String())
				}
			}
		})
	}
}

// An error reading a layer's blob (the network) is an error of Verify, as
// for any file; a cancellation gives the partial report, the layers being
// read marked incomplete.
func TestVerifyStreamedLayerErrors(t *testing.T) {
	src := tinyLayers(t)
	blob := errors.New("connection reset")
	src.blobErr = blob
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := verify.Run(context.Background(), ck, verify.Options{}); !errors.Is(err, blob) || r != nil {
		t.Errorf("Run(blob error) = %v, %v; want no report and the error", r, err)
	}

	src = tinyLayers(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src.onVisit = func(name string) {
		if name == "model-00001-of-00002.safetensors" {
			cancel()
		}
	}
	ck, err = checkpoint.Load(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := verify.Run(ctx, ck, verify.Options{Jobs: 1})
	if !errors.Is(err, context.Canceled) || r == nil || !r.Incomplete || r.Pass {
		t.Fatalf("Run(cancelled) = %v; want a partial report and context.Canceled", err)
	}
	incomplete := 0
	for _, a := range r.Archives {
		if a.Status == "incomplete" {
			incomplete++
		}
	}
	if incomplete == 0 {
		t.Errorf("archives %+v; want the layer being read incomplete", r.Archives)
	}
}

// With a shard, only the layers holding the shard's files are streamed,
// and the shards' manifests merge into the unsharded one.
func TestVerifyStreamedLayersShard(t *testing.T) {
	whole := verifySource(t, tinyLayers(t), verify.Options{TensorDigests: true})
	want, err := verify.NewManifest(whole)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*verify.Manifest
	for i := 1; i <= 2; i++ {
		src := tinyLayers(t)
		r := verifySource(t, src, verify.Options{TensorDigests: true, Shard: verify.ShardSpec{Index: i, Count: 2}})
		layers := map[string]bool{}
		for _, f := range r.Files {
			layers[src.of[f.Name]] = true
		}
		if len(src.calls) != len(layers) || len(r.Archives) != len(layers) {
			t.Errorf("shard %d/2: %d layers streamed, %d archives; want the %d holding its files", i, len(src.calls), len(r.Archives), len(layers))
		}
		m, err := verify.NewManifest(r)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, m)
	}
	got, err := verify.MergeManifests(parts, []string{"1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Files, got.Files); diff != "" {
		t.Errorf("merged files (-unsharded +merged):\n%s", diff)
	}
	if diff := cmp.Diff(want.Tensors, got.Tensors); diff != "" {
		t.Errorf("merged tensors (-unsharded +merged):\n%s", diff)
	}
}

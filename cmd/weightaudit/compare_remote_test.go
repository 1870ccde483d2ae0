package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// served counts what a server sends in answer to GETs: the body bytes of
// each path and the Range header of each GET.
type served struct {
	mu     sync.Mutex
	bytes  map[string]int64    // GET body bytes by path
	ranges map[string][]string // Range headers of the GETs by path ("" for none)
}

func (s *served) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &bodyCounter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.bytes == nil {
			s.bytes, s.ranges = map[string]int64{}, map[string][]string{}
		}
		if r.Method == http.MethodGet {
			s.bytes[r.URL.Path] += cw.n
			s.ranges[r.URL.Path] = append(s.ranges[r.URL.Path], r.Header.Get("Range"))
		}
	})
}

// gets returns the Range headers of the GETs of the file named name.
func (s *served) gets(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for p, rs := range s.ranges {
		if strings.HasSuffix(p, "/"+name) {
			out = append(out, rs...)
		}
	}
	return out
}

// total returns the body bytes sent for the paths ending in suffix.
func (s *served) total(suffix string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for p, b := range s.bytes {
		if strings.HasSuffix(p, suffix) {
			n += b
		}
	}
	return n
}

type bodyCounter struct {
	http.ResponseWriter
	n int64
}

func (c *bodyCounter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// compare of a Hub repository (the tiny HF checkpoint, served by a fake
// Hub on loopback) against a local GGUF passes with the same pairs and
// measures as the local compare, and fetches the remote files with range
// requests only.
func TestCompareRemote(t *testing.T) {
	const tiny = "../../testdata/tiny/hf-f32"
	var s served
	srv := httptest.NewServer(s.wrap(repoHandler(t, tiny, "acme/tiny", "")))
	t.Cleanup(srv.Close)
	hubEnv(t, srv.URL)

	args := []string{"compare", "--json", "--no-cache", "--sample", "2", "--seed", "7"}
	local, _, code := cli(t, append(args, tiny, "../../testdata/tiny/gguf/tiny-q8_0.gguf")...)
	if code != exitOK {
		t.Fatalf("local compare: exit %d", code)
	}
	stdout, stderr, code := cli(t, append(args, "hf://acme/tiny", "../../testdata/tiny/gguf/tiny-q8_0.gguf")...)
	if code != exitOK {
		t.Fatalf("remote compare: exit %d: %s\n%s", code, stderr, stdout)
	}
	var l, r compareJSON
	if err := json.Unmarshal([]byte(local), &l); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	lj, _ := json.Marshal(l.Pairs)
	rj, _ := json.Marshal(r.Pairs)
	if !r.Pass || len(r.Pairs) != 45 || !bytes.Equal(lj, rj) {
		t.Errorf("remote: pass %v, %d pairs, the same pairs as local: %v", r.Pass, len(r.Pairs), bytes.Equal(lj, rj))
	}
	for _, shard := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		gets := s.gets(shard)
		if len(gets) == 0 {
			t.Errorf("%s: never fetched", shard)
		}
		for _, rg := range gets {
			if !strings.HasPrefix(rg, "bytes=") {
				t.Errorf("%s: a GET without a range (%q)", shard, rg)
			}
		}
	}
}

type compareJSON struct {
	Pass      bool  `json:"pass"`
	BytesRead int64 `json:"bytes_read"`
	Pairs     []struct {
		Role   string  `json:"role"`
		A      string  `json:"a"`
		RelRMS float64 `json:"rel_rmse"`
		Rows   int     `json:"rows"`
	} `json:"pairs"`
}

// A remote compare fetches each shard's header and the sampled rows, not
// whole tensors: a Qwen3-MoE checkpoint of 512-wide rows (2 KiB in F32)
// and tensors of up to 2,048 rows, served by a fake Hub and compared with
// its local copy, 2 rows a tensor (1 an expert's) on one job. Per shard:
// every GET is a range; the GETs are the header (8 + its length, which
// may cost what hub's planned first fetch adds: the 8-byte length read
// first, then up to a sixteenth more and a KiB rounding once a shard of
// the kind taught its size, hub/rangefile.go readAhead) and single rows,
// each exactly one row of one tensor, read with no read-ahead
// (checkpoint.Matrix.ReadRow through hub.ReadExact) even where two rows
// lie side by side, as every layer's one-row q_norm and k_norm do. So the
// bytes fetched are the header and the sampled rows, and no more than the
// header's planned fetch beyond them.
func TestCompareRemoteReadsSampledRows(t *testing.T) {
	c := qwen3.TinyMoE()
	c.VocabSize, c.HiddenSize, c.HeadDim, c.MoEIntermediateSize, c.IntermediateSize = 2048, 512, 128, 256, 512
	spec, err := qwen3.New(c)
	if err != nil {
		t.Fatal(err)
	}
	l, err := synth.HF("medium", spec, synth.HFOptions{DType: safetensors.F32, Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := l.WriteDir(context.Background(), dir, func(p synth.Placed) ([]byte, error) {
		out := make([]byte, p.Bytes)
		h := fnv.New64a()
		h.Write([]byte(p.Name))
		x := h.Sum64()
		for i := 0; i+4 <= len(out); i += 4 {
			x = x*6364136223846793005 + 1442695040888963407
			binary.LittleEndian.PutUint32(out[i:], math.Float32bits(float32(int32(x>>33))/(1<<31)))
		}
		return out, nil
	}); err != nil {
		t.Fatal(err)
	}
	var s served
	srv := httptest.NewServer(s.wrap(repoHandler(t, dir, "acme/medium", "")))
	t.Cleanup(srv.Close)
	hubEnv(t, srv.URL)

	const sample = 2
	stdout, stderr, code := cli(t, "compare", "--json", "--no-cache", "--jobs", "1", "--sample", fmt.Sprint(sample), "--seed", "3", "hf://acme/medium", dir)
	var r compareJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != exitOK || !r.Pass {
		t.Fatalf("remote compare: exit %d, pass %v, %v: %s", code, r.Pass, err, stderr)
	}
	var rowsRead int64 // the remote side's half of bytes_read
	for _, f := range l.Files {
		if !strings.HasSuffix(f.Name, ".safetensors") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		st, err := safetensors.Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		header := 8 + st.HeaderLen
		type span struct{ begin, end, row int64 } // a tensor's bytes in the file, and a row's
		var spans []span
		var rows, whole int64
		for _, tn := range st.Tensors {
			n, cols := int64(1), int64(1) // rows, and elements a row
			for i, d := range tn.Shape {
				if i == 0 && len(tn.Shape) > 1 {
					n = d
				} else {
					cols *= d
				}
			}
			k := int64(sample)
			if strings.Contains(tn.Name, ".mlp.experts.") {
				k = max(1, sample/8) // an expert's share of the sample (compare.DefaultSample)
			}
			rows += min(k, n) * cols * 4
			whole += tn.End - tn.Begin
			spans = append(spans, span{header + tn.Begin, header + tn.End, cols * 4})
		}
		rowsRead += rows
		slack := 8 + (header/16+1023)/1024*1024 + 1024
		for _, rg := range s.gets(f.Name) {
			var from, to int64
			if _, err := fmt.Sscanf(rg, "bytes=%d-%d", &from, &to); err != nil {
				t.Errorf("%s: a GET without a range (%q)", f.Name, rg)
				continue
			}
			n := to + 1 - from
			if from == 0 && n <= header+slack { // the header
				continue
			}
			i := slices.IndexFunc(spans, func(sp span) bool { return from >= sp.begin && from < sp.end })
			if i < 0 || (from-spans[i].begin)%spans[i].row != 0 || n != spans[i].row {
				t.Errorf("%s: a GET of %d bytes at %d: not the header, not one row of a tensor", f.Name, n, from)
			}
		}
		got := s.total("/" + f.Name)
		t.Logf("%s: %d bytes fetched: header %d, sampled rows %d; the tensors hold %d", f.Name, got, header, rows, whole)
		if got < header+rows || got > header+rows+slack {
			t.Errorf("%s: %d bytes fetched, want its header and the sampled rows, %d + %d, and at most %d more for the header's planned fetch",
				f.Name, got, header, rows, slack)
		}
	}
	if r.BytesRead != 2*rowsRead {
		t.Errorf("bytes_read %d, want the sampled rows of both sides, 2 × %d", r.BytesRead, rowsRead)
	}
}

// diff of two OCI artifacts (in go-containerregistry's registry on
// loopback) whose layers have the same digests reads their headers and
// no tensor byte: bytes_read is 0, and of the layer's blob the registry
// serves each side at most its GGUF header or the 16 KiB first read that
// fetches it (ggufFirstRead, checkpoint/plan.go), far less than the
// file. The layer pushed with one byte changed, in a third artifact, is
// read on both sides, and its last tensor found changed.
func TestDiffOCIByDigests(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var s served
	srv := httptest.NewServer(s.wrap(registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	model := readTiny(t, "gguf/tiny-f32.gguf")
	digest := pushModel(t, host, "models/a:v1", hub.MediaDockerConfigV01, []testLayer{{data: model, mt: hub.MediaDockerGGUF}})[0]
	pushModel(t, host, "models/b:v1", hub.MediaDockerConfigV01, []testLayer{{data: model, mt: hub.MediaDockerGGUF}})
	f, err := gguf.Read(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	var data int64 // the tensors' bytes
	for _, ti := range f.Tensors {
		data += ti.Size
	}

	var r struct {
		Identical bool  `json:"identical"`
		Same      int   `json:"same"`
		BytesRead int64 `json:"bytes_read"`
		Changed   []struct {
			Name string `json:"name"`
		} `json:"changed"`
	}
	stdout, stderr, code := cli(t, "diff", "--json", "--no-cache", "oci://"+host+"/models/a:v1", "oci://"+host+"/models/b:v1")
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != exitOK || !r.Identical || r.BytesRead != 0 || r.Same != len(f.Tensors) {
		t.Fatalf("identical layer digests: exit %d, %+v, %v: %s; want identical, %d tensors the same, no tensor byte read", code, r, err, stderr, len(f.Tensors))
	}
	served, limit := s.total("/blobs/"+digest.String()), 2*max(f.DataOffset, 16<<10)
	t.Logf("the layer's blob: %d bytes served (GETs %v); header %d bytes, file %d", served, s.gets(digest.String()), f.DataOffset, len(model))
	if served > limit {
		t.Errorf("the registry served %d bytes of the layer's blob, want each side's header read only (at most %d; the file has %d)", served, limit, len(model))
	}

	changed := bytes.Clone(model)
	changed[len(changed)-1] ^= 0x01
	pushModel(t, host, "models/c:v1", hub.MediaDockerConfigV01, []testLayer{{data: changed, mt: hub.MediaDockerGGUF}})
	r.Changed = nil
	stdout, stderr, code = cli(t, "diff", "--json", "--no-cache", "oci://"+host+"/models/a:v1", "oci://"+host+"/models/c:v1")
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != exitProblems || r.Identical ||
		len(r.Changed) != 1 || r.Changed[0].Name != f.Tensors[len(f.Tensors)-1].Name || r.BytesRead != 2*data {
		t.Errorf("one byte changed: exit %d, %+v, %v: %s; want %s changed, 2 × %d bytes read", code, r, err, stderr, f.Tensors[len(f.Tensors)-1].Name, data)
	}
}

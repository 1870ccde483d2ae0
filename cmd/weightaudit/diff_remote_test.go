package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/safetensors"
)

// diff of two Hub repositories compares what the Hub publishes first: with
// every file's LFS sha256 the same, it reads headers only, no tensor
// byte; with one tensor changed in one shard, it reads that shard's
// tensors alone and gives the changed one's first differing byte and its
// largest difference.
func TestDiffRemoteByDigests(t *testing.T) {
	const tiny = "../../testdata/tiny/hf-f32"
	changed := copyDir(t, tiny)
	// Add 0.5 to element 5 of one tensor of the second shard.
	shard := filepath.Join(changed, "model-00002-of-00002.safetensors")
	data, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	target := f.Tensors[len(f.Tensors)/2]
	at := 8 + f.HeaderLen + target.Begin + 5*4
	v := math.Float32frombits(binary.LittleEndian.Uint32(data[at:]))
	binary.LittleEndian.PutUint32(data[at:], math.Float32bits(v+0.5))
	if err := os.WriteFile(shard, data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, _ := fakeHubRepos(t, map[string]string{"acme/v1": tiny, "acme/v1b": tiny, "acme/v2": changed}, "")
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")

	var r struct {
		Identical bool  `json:"identical"`
		Same      int   `json:"same"`
		BytesRead int64 `json:"bytes_read"`
		Changed   []struct {
			Name        string   `json:"name"`
			FirstDiff   *int64   `json:"first_diff_offset"`
			MaxAbsDelta *float64 `json:"max_abs_delta"`
		} `json:"changed"`
		Files []struct {
			Name string `json:"name"`
		} `json:"files_changed"`
	}
	stdout, stderr, code := cli(t, "diff", "--json", "--no-cache", "hf://acme/v1", "hf://acme/v1b")
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != exitOK || !r.Identical || r.Same != 45 || r.BytesRead != 0 {
		t.Errorf("identical digests: exit %d, %+v, %v, %s; want identical with no tensor byte read", code, r, err, stderr)
	}
	r.Changed, r.Files = nil, nil
	stdout, stderr, code = cli(t, "diff", "--json", "--no-cache", "hf://acme/v1", "hf://acme/v2")
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != exitProblems {
		t.Fatalf("one tensor changed: exit %d, %v, %s", code, err, stderr)
	}
	var shard2 int64 // the tensor bytes of the changed shard: the only ones read, on both sides
	for _, tn := range f.Tensors {
		shard2 += tn.End - tn.Begin
	}
	if len(r.Changed) != 1 || r.Changed[0].Name != target.Name || r.Changed[0].FirstDiff == nil || *r.Changed[0].FirstDiff/4 != 5 ||
		math.Abs(*r.Changed[0].MaxAbsDelta-0.5) > 1e-6 || r.BytesRead != 2*shard2 || len(r.Files) != 1 || r.Files[0].Name != "model-00002-of-00002.safetensors" {
		t.Errorf("changed %+v, bytes read %d (shard holds %d), files %+v; want %s changed at element 5 by 0.5, %d bytes read",
			r.Changed, r.BytesRead, shard2, r.Files, target.Name, 2*shard2)
	}
}

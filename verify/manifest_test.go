package verify_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/verify"
)

func TestManifestRoundTrip(t *testing.T) {
	m := record(t, verifyTinyDir+"/gguf/tiny-q8_0-00001-of-00002.gguf")
	if m.Version != verify.ManifestVersion || !strings.HasPrefix(m.Tool, "weightaudit ") || len(m.Files) != 2 || len(m.Tensors) != 27 || m.Format != checkpoint.FormatGGUF {
		t.Fatalf("manifest: version %d, tool %q, %d files, %d tensors, format %s", m.Version, m.Tool, len(m.Files), len(m.Tensors), m.Format)
	}
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	// Upper-case digests are accepted and returned in lower case.
	up := strings.ReplaceAll(b.String(), m.Files[0].SHA256, strings.ToUpper(m.Files[0].SHA256))
	m2, err := verify.ParseManifest([]byte(up))
	if err != nil {
		t.Fatalf("ParseManifest(upper-case digest) = %v", err)
	}
	if diff := cmp.Diff(m, m2, cmpopts.IgnoreUnexported(verify.Manifest{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// FuzzParseManifest: no panic; a manifest that parses writes and parses
// back to the same value.
func FuzzParseManifest(f *testing.F) {
	m := record(f, verifyTinyDir+"/hf-f32")
	var b bytes.Buffer
	m.WriteJSON(&b)
	f.Add(b.Bytes())
	f.Add([]byte(`{"weightaudit_manifest": 1, "files": [], "tensors": [{"name": "t", "shape": [1, 2]}]}`))
	f.Add([]byte(`{"weightaudit_manifest": 2}`))
	f.Add([]byte(`{"weightaudit_manifest": 1, "files": [], "tensors": [], "shard": {"index": 1, "count": 2, "files": [{"name": "a", "shard": 2}]}}`))
	f.Add([]byte(`{"weightaudit_manifest": 1, "shard": {"index": 3, "count": 2, "files": []}}`))
	if b, _ := recordShard(f, verifyTinyDir+"/hf-f32", 2, 2); b != nil {
		f.Add(b)
	}
	f.Add([]byte(`{"metadata": {}, "weight_map": {"a": "b"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := verify.ParseManifest(data)
		if err != nil {
			if !errors.Is(err, verify.ErrNotManifest) && !errors.Is(err, verify.ErrManifest) {
				t.Fatalf("ParseManifest error %v wraps neither sentinel", err)
			}
			return
		}
		var b bytes.Buffer
		if err := m.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		m2, err := verify.ParseManifest(b.Bytes())
		if err != nil {
			t.Fatalf("ParseManifest(WriteJSON(m)) = %v", err)
		}
		if diff := cmp.Diff(m, m2, cmpopts.IgnoreUnexported(verify.Manifest{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		// Diff and MergeManifests take any parsed manifest.
		verify.Diff(m, m2)
		if merged, err := verify.MergeManifests([]*verify.Manifest{m, m2}, nil); err == nil {
			t.Fatalf("MergeManifests(m, m) = %+v, want the overlap refused", merged)
		}
		if merged, err := verify.MergeManifests([]*verify.Manifest{m}, nil); err == nil && (merged.Shard != nil || m.Shard.Count != 1) {
			t.Fatalf("MergeManifests(m) = %+v with shard %+v", merged, m.Shard)
		}
	})
}

// recordShard records shard i of n of path and returns the partial
// manifest as written.
func recordShard(tb testing.TB, path string, i, n int) ([]byte, *verify.Manifest) {
	tb.Helper()
	b, _ := recordJSON(tb, path, verify.ShardSpec{Index: i, Count: n})
	m, err := verify.ParseManifest(b)
	if err != nil {
		tb.Fatalf("ParseManifest(partial) = %v", err)
	}
	return b, m
}

func TestParseManifestShard(t *testing.T) {
	b, m := recordShard(t, verifyTinyDir+"/hf-bf16", 1, 2)
	if m.Shard == nil || m.Shard.Index != 1 || m.Shard.Count != 2 || len(m.Shard.Files) != 4 || !bytes.Contains(b, []byte(`"shard": {`)) {
		t.Fatalf("partial manifest shard = %+v", m.Shard)
	}
	whole := record(t, verifyTinyDir+"/hf-bf16")
	var wb bytes.Buffer
	whole.WriteJSON(&wb)
	if whole.Shard != nil || strings.Contains(wb.String(), `"shard"`) {
		t.Errorf("a whole manifest carries a shard: %+v", whole.Shard)
	}
	const head = `{"weightaudit_manifest": 1, "files": [], "tensors": [], "shard": `
	tests := []struct {
		name, shard, want string
	}{
		{"index zero", `{"index": 0, "count": 2, "files": []}`, "the index must be between 1"},
		{"index past count", `{"index": 3, "count": 2, "files": []}`, "the index must be between 1"},
		{"count zero", `{"index": 0, "count": 0, "files": []}`, "the count must be at least 1"},
		{"count over the limit", `{"index": 1, "count": 10001, "files": []}`, "over the limit"},
		{"empty name", `{"index": 1, "count": 2, "files": [{"name": "", "shard": 1}]}`, "files[0]: empty name"},
		{"twice", `{"index": 1, "count": 2, "files": [{"name": "a", "shard": 1}, {"name": "a", "shard": 2}]}`, `files[1] "a": listed twice`},
		{"part out of range", `{"index": 1, "count": 2, "files": [{"name": "a", "shard": 3}]}`, `files[0] "a": shard 3 is not between 1 and 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verify.ParseManifest([]byte(head + tt.shard + "}"))
			if !errors.Is(err, verify.ErrManifest) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseManifest(shard %s) = %v, want ErrManifest saying %q", tt.shard, err, tt.want)
			}
		})
	}
}

func TestParseManifestErrors(t *testing.T) {
	good := digest("x")
	tests := []struct {
		name string
		data string
		want error
	}{
		{"not-json", "GGUF....", verify.ErrNotManifest},
		{"safetensors-index", `{"metadata": {}, "weight_map": {}}`, verify.ErrNotManifest},
		{"array", `[1]`, verify.ErrNotManifest},
		{"version", `{"weightaudit_manifest": 2}`, verify.ErrManifest},
		{"bad-file-digest", `{"weightaudit_manifest": 1, "files": [{"name": "a", "size": 1, "sha256": "zz"}]}`, verify.ErrManifest},
		{"duplicate-file", `{"weightaudit_manifest": 1, "files": [{"name": "a", "size": 1, "sha256": "` + good + `"}, {"name": "a", "size": 1, "sha256": "` + good + `"}]}`, verify.ErrManifest},
		{"negative-size", `{"weightaudit_manifest": 1, "files": [{"name": "a", "size": -1, "sha256": "` + good + `"}]}`, verify.ErrManifest},
		{"duplicate-tensor", `{"weightaudit_manifest": 1, "tensors": [{"name": "t"}, {"name": "t"}]}`, verify.ErrManifest},
		{"negative-dim", `{"weightaudit_manifest": 1, "tensors": [{"name": "t", "shape": [-1]}]}`, verify.ErrManifest},
		{"wrong-type", `{"weightaudit_manifest": 1, "files": 3}`, verify.ErrManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := verify.ParseManifest([]byte(tt.data)); !errors.Is(err, tt.want) {
				t.Errorf("ParseManifest(%s) = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestVerifyManifestMissingAndExtra(t *testing.T) {
	dir := copyFixture(t, "hf-f32")
	m := record(t, dir)
	m.Files = append(m.Files, verify.ManifestFile{Name: "gone.safetensors", Size: 1, SHA256: digest("g")})
	m.Tensors = slices.DeleteFunc(m.Tensors, func(t verify.ManifestTensor) bool { return t.Name == "model.norm.weight" })
	m.Tensors = append(m.Tensors, verify.ManifestTensor{Name: "ghost.weight", File: "gone.safetensors", DType: "F32", Shape: []int64{1}, SHA256: digest("h")})
	var b bytes.Buffer
	m.WriteJSON(&b)
	m, err := verify.ParseManifest(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r := runVerify(t, dir, verify.Options{Manifest: m})
	var got []string
	for _, f := range r.Findings {
		got = append(got, fmt.Sprintf("%s %s %s", f.Check, f.File, f.Tensor))
	}
	slices.Sort(got)
	want := []string{
		verify.CheckManifest + " gone.safetensors ",
		verify.CheckManifest + " gone.safetensors ghost.weight",
		verify.CheckManifest + " model-00002-of-00002.safetensors model.norm.weight",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/verify"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    verify.ShardSpec
		wantErr string
	}{
		{"first", "1/2", verify.ShardSpec{Index: 1, Count: 2}, ""},
		{"last", "2/2", verify.ShardSpec{Index: 2, Count: 2}, ""},
		{"one", "1/1", verify.ShardSpec{Index: 1, Count: 1}, ""},
		{"limit", "10000/10000", verify.ShardSpec{Index: 10000, Count: 10000}, ""},
		{"index zero", "0/2", verify.ShardSpec{}, "the index must be between 1 and the count, 2"},
		{"index past count", "3/2", verify.ShardSpec{}, "the index must be between 1 and the count, 2"},
		{"negative", "-1/2", verify.ShardSpec{}, "the index must be between 1"},
		{"count zero", "1/0", verify.ShardSpec{}, "the count must be at least 1"},
		{"zero zero", "0/0", verify.ShardSpec{}, "the count must be at least 1"},
		{"over the limit", "1/10001", verify.ShardSpec{}, "over the limit of 10000"},
		{"letters", "a/b", verify.ShardSpec{}, "two whole numbers"},
		{"no slash", "1", verify.ShardSpec{}, "expected INDEX/COUNT"},
		{"empty", "", verify.ShardSpec{}, "expected INDEX/COUNT"},
		{"three parts", "1/2/3", verify.ShardSpec{}, "two whole numbers"},
		{"space", " 1/2", verify.ShardSpec{}, "two whole numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verify.ParseShard(tt.in)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseShard(%q) = %v, %v, want %v, nil", tt.in, got, err, tt.want)
				}
				if got.String() != tt.in {
					t.Errorf("ParseShard(%q).String() = %q", tt.in, got.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) {
				t.Errorf("ParseShard(%q) = %v, %v, want an error naming the input and saying %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}

func TestAssignShards(t *testing.T) {
	fi := func(name string, size int64) hub.FileInfo { return hub.FileInfo{Name: name, Size: size} }
	tests := []struct {
		name  string
		files []hub.FileInfo
		n     int
		want  []int
	}{
		{"largest first to the lightest", []hub.FileInfo{fi("a", 10), fi("b", 40), fi("c", 30), fi("d", 20), fi("e", 5)}, 2,
			// b→1 (40), c→2 (30), d→2 (50), a→1 (50), e→1 (tie on bytes 50/50 and files 2/2: lowest)
			[]int{1, 1, 2, 2, 1}},
		{"equal sizes in name order", []hub.FileInfo{fi("z", 7), fi("y", 7), fi("x", 7)}, 3, []int{3, 2, 1}},
		{"zero sizes spread by count", []hub.FileInfo{fi("a", 0), fi("b", 0), fi("c", 0), fi("d", 0)}, 2, []int{1, 2, 1, 2}},
		{"more parts than files", []hub.FileInfo{fi("a", 1), fi("b", 2)}, 5, []int{2, 1}},
		{"one part", []hub.FileInfo{fi("a", 1), fi("b", 2)}, 1, []int{1, 1}},
		{"no files", nil, 3, []int{}},
		{"huge sizes saturate", []hub.FileInfo{fi("a", 1<<62), fi("b", 1<<62), fi("c", 1<<62), fi("d", 1)}, 1, []int{1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verify.AssignShards(tt.files, tt.n)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AssignShards(%v, %d) (-want +got):\n%s", tt.files, tt.n, diff)
			}
		})
	}
}

// The dealing depends on the set of files only, not on their order, and
// the parts' bytes stay within the largest file of each other.
func TestAssignShardsStableAndBalanced(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var files []hub.FileInfo
	for i := range 118 {
		files = append(files, hub.FileInfo{Name: fmt.Sprintf("model-%05d-of-00118.safetensors", i+1), Size: 4<<30 + rng.Int64N(1<<28)})
	}
	files = append(files, hub.FileInfo{Name: "model.safetensors.index.json"}, hub.FileInfo{Name: "config.json", Size: 1234})
	for _, n := range []int{2, 3, 7, 16} {
		want := map[string]int{}
		for i, s := range verify.AssignShards(files, n) {
			want[files[i].Name] = s
		}
		shuffled := slices.Clone(files)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		load := make([]int64, n)
		var largest int64
		for i, s := range verify.AssignShards(shuffled, n) {
			if want[shuffled[i].Name] != s {
				t.Fatalf("n=%d: %s dealt to %d in one order, %d in another", n, shuffled[i].Name, want[shuffled[i].Name], s)
			}
			load[s-1] += shuffled[i].Size
			largest = max(largest, shuffled[i].Size)
		}
		if lo, hi := slices.Min(load), slices.Max(load); hi-lo > largest {
			t.Errorf("n=%d: parts hold %v bytes: spread %d over the largest file %d", n, load, hi-lo, largest)
		}
	}
}

// recordJSON verifies path (or its shard) with tensor digests and returns
// its manifest as the CLI writes it.
func recordJSON(tb testing.TB, path string, shard verify.ShardSpec) ([]byte, *verify.Report) {
	tb.Helper()
	r := runVerify(tb, path, verify.Options{TensorDigests: true, Shard: shard})
	m, err := verify.NewManifest(r)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes(), r
}

// Recording every shard and merging the partial manifests gives the
// manifest of an unsharded record, byte for byte; each shard's report
// covers its own files and their tensors, and the shards partition the
// checkpoint.
func TestShardRecordsMergeToUnsharded(t *testing.T) {
	for _, fixture := range []string{"hf-bf16", "gguf/tiny-q8_0-00001-of-00002.gguf"} {
		path := filepath.Join(verifyTinyDir, fixture)
		whole, wr := recordJSON(t, path, verify.ShardSpec{})
		for _, n := range []int{1, 2, 3, 5} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(fixture), n), func(t *testing.T) {
				var parts []*verify.Manifest
				files, tensors := map[string]int{}, 0
				for i := 1; i <= n; i++ {
					b, r := recordJSON(t, path, verify.ShardSpec{Index: i, Count: n})
					if r.Shard == nil || r.Shard.Index != i || r.Shard.Count != n || len(r.Shard.Files) != len(wr.Files) {
						t.Fatalf("shard %d/%d: report Shard = %+v", i, n, r.Shard)
					}
					covered := r.Shard.Covered()
					var got []string
					for _, f := range r.Files {
						got = append(got, f.Name)
						files[f.Name]++
					}
					if !slices.Equal(got, covered) && !(len(got) == 0 && len(covered) == 0) {
						t.Errorf("shard %d/%d: report files %q, plan covers %q", i, n, got, covered)
					}
					var listed []string
					for _, f := range verify.ShardFiles(load(t, path), verify.ShardSpec{Index: i, Count: n}) {
						listed = append(listed, f.Name)
					}
					if !slices.Equal(listed, got) {
						t.Errorf("ShardFiles(%d/%d) = %q, the report read %q", i, n, listed, got)
					}
					for _, tc := range r.Tensors {
						if !slices.Contains(covered, tc.File) || tc.SHA256 == "" {
							t.Errorf("shard %d/%d: tensor %s of file %s (sha256 %q) is not the shard's", i, n, tc.Name, tc.File, tc.SHA256)
						}
					}
					tensors += len(r.Tensors)
					if !r.Pass || r.Totals.Files != len(r.Files) || r.Totals.Tensors != len(r.Tensors) {
						t.Errorf("shard %d/%d: pass %v, totals %+v", i, n, r.Pass, r.Totals)
					}
					m, err := verify.ParseManifest(b)
					if err != nil || m.Shard == nil || m.Shard.Spec() != (verify.ShardSpec{Index: i, Count: n}) {
						t.Fatalf("partial manifest %d/%d: %v, shard %+v", i, n, err, m)
					}
					parts = append(parts, m)
				}
				for _, f := range wr.Files {
					if files[f.Name] != 1 {
						t.Errorf("file %s verified by %d shards, want 1", f.Name, files[f.Name])
					}
				}
				if tensors != len(wr.Tensors) {
					t.Errorf("shards verified %d tensors, the checkpoint has %d", tensors, len(wr.Tensors))
				}
				// Any order of the parts merges to the same manifest.
				slices.Reverse(parts)
				merged, err := verify.MergeManifests(parts, nil)
				if err != nil {
					t.Fatalf("MergeManifests = %v", err)
				}
				var b bytes.Buffer
				merged.WriteJSON(&b)
				if diff := cmp.Diff(string(whole), b.String()); diff != "" {
					t.Errorf("merged manifest differs from the unsharded one (-unsharded +merged):\n%s", diff)
				}
			})
		}
	}
}

func TestMergeManifestsRefuses(t *testing.T) {
	path := filepath.Join(verifyTinyDir, "hf-bf16")
	part := func(i, n int) *verify.Manifest {
		b, _ := recordJSON(t, path, verify.ShardSpec{Index: i, Count: n})
		m, err := verify.ParseManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	whole := record(t, path)
	p1, p2 := part(1, 2), part(2, 2)
	otherSource := part(2, 2)
	otherSource.Source = "/elsewhere"
	otherCount := part(1, 3)
	tampered := part(2, 2)
	tampered.Files = tampered.Files[1:]
	stray := part(2, 2)
	stray.Tensors = append(stray.Tensors, p1.Tensors[0])
	tests := []struct {
		name  string
		parts []*verify.Manifest
		want  string
	}{
		{"none", nil, "no manifests given"},
		{"whole manifest", []*verify.Manifest{p1, whole}, "B is not a partial manifest"},
		{"overlap", []*verify.Manifest{p1, p1}, "A and B both hold shard 1/2: the shards overlap"},
		{"missing", []*verify.Manifest{p2}, "shard(s) 1/2 missing (1 of 2 given)"},
		{"other source", []*verify.Manifest{p1, otherSource}, `source "` + p1.Source + `" and "/elsewhere"`},
		{"other count", []*verify.Manifest{p1, otherCount}, "shard count"},
		{"files not dealt", []*verify.Manifest{p1, tampered}, "B (shard 2/2) holds the files"},
		{"tensor of another shard", []*verify.Manifest{p1, stray}, "which is not in the shard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := verify.MergeManifests(tt.parts, []string{"A", "B"})
			if !errors.Is(err, verify.ErrMerge) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("MergeManifests = %v, %v; want ErrMerge saying %q", m, err, tt.want)
			}
		})
	}
}

// A shard compared with the whole manifest passes: the other shards' files
// and tensors are not missing. A partial manifest is refused.
func TestShardWithManifest(t *testing.T) {
	path := filepath.Join(verifyTinyDir, "hf-bf16")
	m := record(t, path)
	for i := 1; i <= 2; i++ {
		r := runVerify(t, path, verify.Options{Manifest: m, Shard: verify.ShardSpec{Index: i, Count: 2}})
		if !r.Pass || len(r.Findings) != 0 {
			t.Errorf("shard %d/2 against the whole manifest: findings %+v", i, r.Findings)
		}
		for _, f := range r.Files {
			if f.Status != "ok" || f.ExpectedFrom != "manifest" {
				t.Errorf("shard %d/2: file %+v, want ok against the manifest", i, f)
			}
		}
	}
	b, _ := recordJSON(t, path, verify.ShardSpec{Index: 1, Count: 2})
	partial, err := verify.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.Run(context.Background(), load(t, path), verify.Options{Manifest: partial})
	if !errors.Is(err, verify.ErrPartialManifest) {
		t.Errorf("Verify with a partial manifest = %v, want ErrPartialManifest", err)
	}
	_, err = verify.Run(context.Background(), load(t, path), verify.Options{Shard: verify.ShardSpec{Index: 3, Count: 2}})
	if err == nil || !strings.Contains(err.Error(), "shard 3/2") {
		t.Errorf("Verify with shard 3/2 = %v, want an error naming it", err)
	}
}

// copies records the FileCopy values of a Verify call, which come from
// several goroutines.
type copies struct {
	mu    sync.Mutex
	files map[string]*memCopy
	ended map[string]string // "commit" or "abort"
}

func newCopies() *copies {
	return &copies{files: map[string]*memCopy{}, ended: map[string]string{}}
}

func (cs *copies) add(name string) *memCopy {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := &memCopy{name: name, cs: cs}
	cs.files[name] = c
	return c
}

func (cs *copies) end(name, how string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.ended[name] = how
}

// memCopy is a FileCopy that keeps the bytes in memory.
type memCopy struct {
	name      string
	buf       bytes.Buffer
	failWrite bool
	failEnd   bool
	cs        *copies
}

func (c *memCopy) Write(p []byte) (int, error) {
	if c.failWrite {
		return 0, errors.New("disk full")
	}
	return c.buf.Write(p)
}

func (c *memCopy) Commit() error {
	c.cs.end(c.name, "commit")
	if c.failEnd {
		return errors.New("sha256 differs")
	}
	return nil
}

func (c *memCopy) Abort() { c.cs.end(c.name, "abort") }

// With Options.Copy every file's bytes reach its copy in order,
// which is then committed; a copy that fails or refuses is reported per
// file and changes nothing else in the report.
func TestVerifyCopy(t *testing.T) {
	dir := filepath.Join(verifyTinyDir, "hf-f32")
	opts := verify.Options{Jobs: 3, BufferSize: 64 << 10}
	plain := runVerify(t, dir, opts)
	cs := newCopies()
	opts.Copy = func(name string, size int64) (verify.FileCopy, error) {
		switch name {
		case "config.json":
			return nil, nil // the destination has it
		case "model.safetensors.index.json":
			return nil, errors.New("read-only cache")
		}
		c := cs.add(name)
		c.failWrite = name == "model-00001-of-00002.safetensors"
		c.failEnd = name == "model-00002-of-00002.safetensors"
		return c, nil
	}
	r := runVerify(t, dir, opts)
	want := map[string][2]string{
		"config.json":                      {verify.CopyPresent, ""},
		"model.safetensors.index.json":     {verify.CopyNotStored, "read-only cache"},
		"model-00001-of-00002.safetensors": {verify.CopyNotStored, "disk full"},
		"model-00002-of-00002.safetensors": {verify.CopyNotStored, "sha256 differs"},
	}
	for i, f := range r.Files {
		if got := [2]string{f.Copy, f.CopyError}; got != want[f.Name] {
			t.Errorf("file %s: copy %q, %q; want %q", f.Name, got[0], got[1], want[f.Name])
		}
		r.Files[i].Copy, r.Files[i].CopyError = "", ""
	}
	r.Seconds, r.Started = plain.Seconds, plain.Started
	if diff := cmp.Diff(plain, r); diff != "" {
		t.Errorf("report with copies differs (-plain +copies):\n%s", diff)
	}
	if cs.ended["model-00001-of-00002.safetensors"] != "abort" || cs.ended["model-00002-of-00002.safetensors"] != "commit" {
		t.Errorf("copies ended %v; want the failed write aborted and the other committed", cs.ended)
	}

	// A copy that takes every byte gets each file whole.
	cs = newCopies()
	opts.Copy = func(name string, size int64) (verify.FileCopy, error) { return cs.add(name), nil }
	r = runVerify(t, dir, opts)
	for _, f := range r.Files {
		want, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if c := cs.files[f.Name]; !bytes.Equal(c.buf.Bytes(), want) || cs.ended[f.Name] != "commit" || f.Copy != verify.CopyStored {
			t.Errorf("copy of %s: %d bytes, ended %q, status %q; want its %d bytes, committed, stored", f.Name, c.buf.Len(), cs.ended[f.Name], f.Copy, len(want))
		}
	}
}

// compressedFile serves the first n bytes of a file and fails past them
// as a file inside a compressed OCI layer does.
type compressedFile struct {
	r    io.ReaderAt
	n    int64
	name string
}

func (c *compressedFile) ReadAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if end <= c.n {
		return c.r.ReadAt(p, off)
	}
	k := 0
	if off < c.n {
		k, _ = c.r.ReadAt(p[:c.n-off], off)
	}
	return k, fmt.Errorf("%s: bytes %d-%d: %w", c.name, off, end-1, hub.ErrCompressedLayer)
}

// A file whose data lies inside a compressed layer is not an error: it is
// reported unread, with a finding that says what was not checked, and
// the other files are verified.
func TestVerifyUnreadFile(t *testing.T) {
	dir := filepath.Join(verifyTinyDir, "hf-f32")
	mem := hub.NewMem("oci://registry/model:tag")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	const unread = "model-00002-of-00002.safetensors"
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var r io.ReaderAt = bytes.NewReader(b)
		if e.Name() == unread {
			r = &compressedFile{r: r, n: 64 << 10, name: e.Name()}
		}
		mem.Add(e.Name(), r, int64(len(b)))
	}
	ck, err := checkpoint.Load(context.Background(), mem)
	if err != nil {
		t.Fatal(err)
	}
	r, err := verify.Run(context.Background(), ck, verify.Options{Expected: map[string]string{unread: strings.Repeat("ab", 32)}, ExpectedFrom: "OCI layer digest"})
	if err != nil {
		t.Fatalf("Verify = %v, want a report", err)
	}
	if r.Pass || r.Incomplete {
		t.Errorf("pass %v, incomplete %v; want a failed, complete report", r.Pass, r.Incomplete)
	}
	got := findings(r)
	want := []finding{{Check: verify.CheckUnread, File: unread}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	msg := r.Findings[0].Message
	for _, s := range []string{"inside a compressed layer", "no sha256 to compare with the OCI layer digest " + strings.Repeat("ab", 32), "no data checks", "tensor(s)"} {
		if !strings.Contains(msg, s) {
			t.Errorf("finding message %q does not say %q", msg, s)
		}
	}
	for _, f := range r.Files {
		want := "unchecked"
		if f.Name == unread {
			want = "unread"
		}
		if f.Status != want || (f.Name == unread) != (f.SHA256 == "") {
			t.Errorf("file %s: status %q, sha256 %q; want %s", f.Name, f.Status, f.SHA256, want)
		}
	}
	for _, tc := range r.Tensors {
		if (tc.File == unread) != tc.Incomplete {
			t.Errorf("tensor %s of %s: incomplete %v", tc.Name, tc.File, tc.Incomplete)
		}
	}
	var text bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "VERIFY-UNREAD") || !strings.Contains(text.String(), "unread") {
		t.Errorf("text report does not show the unread file:\n%s", text.String())
	}
}

func ExampleAssignShards() {
	files := []hub.FileInfo{
		{Name: "model-00001-of-00003.safetensors", Size: 5 << 30},
		{Name: "model-00002-of-00003.safetensors", Size: 5 << 30},
		{Name: "model-00003-of-00003.safetensors", Size: 2 << 30},
		{Name: "model.safetensors.index.json", Size: 0},
		{Name: "config.json", Size: 700},
	}
	for i, part := range verify.AssignShards(files, 2) {
		fmt.Printf("%d/2 %s\n", part, files[i].Name)
	}
	// Output:
	// 1/2 model-00001-of-00003.safetensors
	// 2/2 model-00002-of-00003.safetensors
	// 1/2 model-00003-of-00003.safetensors
	// 2/2 model.safetensors.index.json
	// 2/2 config.json
}

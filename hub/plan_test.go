package hub_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
)

// storageRanges returns the Range headers storage saw, in order.
func (fh *fakeHub) storageRanges() []string {
	var out []string
	for _, r := range fh.requests("storage") {
		out = append(out, r.header.Get("Range"))
	}
	return out
}

// A plan is fetched in one request, exactly: nothing before the read,
// nothing past the plan's end; reads inside it are served from that fetch,
// and a read outside it is served as without a plan.
func TestPlanRead(t *testing.T) {
	data := randomBytes(1<<20, 7)
	fh := newFakeHub(t, memFiles(map[string][]byte{"model.safetensors": data}))
	src := newSource(t, fh, "", hub.HFOptions{}, nil)
	ctx := context.Background()
	f, err := src.Open(ctx, "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !hub.PlanRead(f, 1000, 5000) {
		t.Fatal("PlanRead: a Hub file takes no plan")
	}
	read := func(off, n int64) {
		t.Helper()
		p := make([]byte, n)
		if _, err := f.ReadAt(p, off); err != nil {
			t.Fatal(err)
		}
		if string(p) != string(data[off:off+n]) {
			t.Fatalf("ReadAt(%d bytes at %d): wrong bytes", n, off)
		}
	}
	read(1000, 100)
	read(1100, 3900)
	if got, want := fh.storageRanges(), []string{"bytes=1000-4999"}; !cmp.Equal(got, want) {
		t.Errorf("planned reads of [1000, 5000): storage saw %q, want %q", got, want)
	}
	// Reading on past the plan's end reads ahead, as without a plan.
	read(5000, 10)
	if got := fh.storageRanges(); len(got) != 2 || got[1] == "bytes=5000-5009" || !strings.HasPrefix(got[1], "bytes=5000-") {
		t.Errorf("a read past the plan: storage saw %q, want one more fetch from 5000, reading ahead", got)
	}
	// A plan reaching past the end of the file stops at it.
	hub.PlanRead(f, 1<<20-10, 1<<21)
	read(1<<20-10, 10)
	if got := fh.storageRanges(); got[len(got)-1] != fmt.Sprintf("bytes=%d-%d", 1<<20-10, 1<<20-1) {
		t.Errorf("a plan past the end: storage saw %q", got)
	}
}

// ReadExact fetches what it is asked for and no more: reads running on
// from each other, which ReadAt would serve with a read-ahead (64 KiB,
// minRead), each fetch exactly their bytes, whatever plan the file holds;
// what the file holds already is served without a fetch.
func TestReadExact(t *testing.T) {
	data := randomBytes(1<<20, 9)
	fh := newFakeHub(t, memFiles(map[string][]byte{"model.safetensors": data}))
	src := newSource(t, fh, "", hub.HFOptions{}, nil)
	ctx := context.Background()
	f, err := src.Open(ctx, "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(exact bool, off, n int64) { t.Helper(); readChecked(t, f, data, exact, off, n) }
	read(true, 4096, 512)
	read(true, 4608, 512) // where the last ended
	read(true, 5120, 100)
	hub.PlanRead(f, 0, 1000) // another reader's plan
	read(true, 5220, 50)
	want := []string{"bytes=4096-4607", "bytes=4608-5119", "bytes=5120-5219", "bytes=5220-5269"}
	if got := fh.storageRanges(); !cmp.Equal(got, want) {
		t.Errorf("exact reads: storage saw %q, want %q", got, want)
	}
	// ReadAt, where the last read ended, fetches ahead (the contrast that
	// makes the exact reads above mean something); an exact read of bytes
	// the read-ahead brought fetches nothing.
	read(false, 5270, 10)
	got := fh.storageRanges()
	if len(got) != 5 || got[4] == "bytes=5270-5279" || !strings.HasPrefix(got[4], "bytes=5270-") {
		t.Fatalf("ReadAt after the exact reads: storage saw %q, want one more fetch from 5270, reading ahead", got)
	}
	read(true, 5280, 200)
	if n := len(fh.storageRanges()); n != 5 {
		t.Errorf("an exact read of bytes held: %d fetches, want still 5", n)
	}
}

// readChecked reads n bytes of f at off, with ReadExact or ReadAt, and
// fails the test unless they are data's.
func readChecked(t *testing.T, f hub.File, data []byte, exact bool, off, n int64) {
	t.Helper()
	p := make([]byte, n)
	var err error
	if exact {
		_, err = hub.ReadExact(f, p, off)
	} else {
		_, err = f.ReadAt(p, off)
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(p) != string(data[off:off+n]) {
		t.Fatalf("read of %d bytes at %d: wrong bytes", n, off)
	}
}

// A planned header's first fetch is what the reader asks for until files of
// its kind have been read; then as much as their headers took, and a
// sixty-fourth more.
func TestPlanHeader(t *testing.T) {
	files := map[string][]byte{}
	for i := range 3 {
		files[fmt.Sprintf("model-%d.safetensors", i)] = randomBytes(1<<20, uint64(i))
	}
	fh := newFakeHub(t, memFiles(files))
	src := newSource(t, fh, "", hub.HFOptions{}, nil)
	ctx := context.Background()
	readHeader := func(name string, n int64) {
		t.Helper()
		f, err := src.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if !hub.PlanHeader(f, 8) {
			t.Fatal("PlanHeader: a Hub file takes no plan")
		}
		var p [8]byte
		if _, err := f.ReadAt(p[:], 0); err != nil {
			t.Fatal(err)
		}
		hub.PlanRead(f, 0, n)
		if _, err := f.ReadAt(make([]byte, n), 0); err != nil {
			t.Fatal(err)
		}
	}
	readHeader("model-0.safetensors", 40000)
	readHeader("model-1.safetensors", 39000)
	readHeader("model-2.safetensors", 41000)
	want := []string{
		"bytes=0-7", "bytes=0-39999", // nothing learned: 8 bytes, then the header
		"bytes=0-40624",                      // 40000 + 40000/64
		"bytes=0-40624", "bytes=40625-40999", // outgrown: exactly the rest
	}
	if got := fh.storageRanges(); !cmp.Equal(got, want) {
		t.Errorf("storage saw %q, want %q", got, want)
	}
}

// fetchCase is a built-in layout served by the fake Hub.
type fetchCase struct {
	fh   *fakeHub
	head int64 // the bytes of every file's head (headers, config, index)
	want *checkpoint.Inventory
}

func newFetchCase(tb testing.TB, name string, latency time.Duration) *fetchCase {
	tb.Helper()
	l, err := synth.Builtin(name)
	if err != nil {
		tb.Fatal(err)
	}
	want, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		tb.Fatal(err)
	}
	fh, head := layoutHub(tb, l)
	fh.latency = latency
	return &fetchCase{fh: fh, head: head, want: want.Inventory()}
}

// load loads the layout through the Hub, as a remote SOURCE is, and
// returns the inventory, what was fetched and its ratio to the heads.
func (c *fetchCase) load(tb testing.TB) (*checkpoint.Inventory, hub.Stats, float64) {
	tb.Helper()
	src := newSource(tb, c.fh, "", hub.HFOptions{}, nil)
	ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithJobs(src.Jobs()))
	if err != nil {
		tb.Fatal(err)
	}
	st := src.Stats()
	return ck.Inventory(), st, float64(st.Bytes) / float64(c.head)
}

// A header audit of the 235B layouts fetches at most 1.1 times the bytes
// of their headers, config and index (listing included): the first read of
// a file is sized by what its format says, the rest fetched to the byte.
// (Bytes do not depend on timing beyond which shards finish first; the
// bound holds for any order.)
func TestHeaderFetchRatio(t *testing.T) {
	for _, name := range []string{"safetensors", "gguf"} {
		t.Run(name, func(t *testing.T) {
			c := newFetchCase(t, name, 0)
			inv, st, ratio := c.load(t)
			if diff := cmp.Diff(c.want, inv); diff != "" {
				t.Fatalf("inventory over the Hub (-memory +hub):\n%s", diff)
			}
			if ratio > 1.1 {
				t.Errorf("fetched %d bytes in %d requests, %.3f times the heads; want at most 1.1", st.Bytes, st.Requests, ratio)
			}
			t.Logf("%d requests, %d bytes, %.4f times the heads", st.Requests, st.Bytes, ratio)
		})
	}
}

// BenchmarkHeaderFetch loads the 235B layouts (118 safetensors shards with
// their index and config; the Q4_K_M GGUF in 5 parts) through the fake Hub
// adding 20 ms to every request, and reports the bytes fetched over the
// bytes of the heads, requests, and the wall time in round trips.
func BenchmarkHeaderFetch(b *testing.B) {
	for _, name := range []string{"safetensors", "gguf"} {
		b.Run(name, func(b *testing.B) {
			const latency = 20 * time.Millisecond
			c := newFetchCase(b, name, latency)
			var ratio float64
			var requests int64
			var inv *checkpoint.Inventory
			for b.Loop() {
				var st hub.Stats
				var r float64
				inv, st, r = c.load(b)
				ratio += r
				requests += st.Requests
			}
			if !cmp.Equal(c.want, inv) {
				b.Fatal("inventory over the Hub differs from memory")
			}
			b.ReportMetric(ratio/float64(b.N), "fetched/header")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(latency), "round-trips/op")
		})
	}
}

// plannedSource serves a Mem source's files as files that take plans, as a
// remote file does, recording how far reads went: the GGUF reader's planned
// path runs without a network.
type plannedSource struct {
	*hub.Mem
	mu      sync.Mutex
	reached int64 // the furthest byte read, of any file
}

func (s *plannedSource) Open(ctx context.Context, name string) (hub.File, error) {
	f, err := s.Mem.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return &plannedFile{File: f, s: s}, nil
}

type plannedFile struct {
	hub.File
	s *plannedSource
}

func (f *plannedFile) PlanRead(off, end int64) {}
func (f *plannedFile) PlanHeader(n int64)      {}

func (f *plannedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.s.mu.Lock()
	f.s.reached = max(f.s.reached, off+int64(n))
	f.s.mu.Unlock()
	return n, err
}

// loadBoth loads the GGUF file head (of size bytes, zeros after head) as a
// local file and as a remote one read by plan, and returns both results as
// text: the inventory, or the error.
func loadBoth(tb testing.TB, head []byte, size int64) (local, planned string, reached int64) {
	tb.Helper()
	mem := hub.NewMem("m")
	mem.Add("m.gguf", &hub.Virtual{Head: head, Len: size}, size)
	ps := &plannedSource{Mem: mem}
	text := func(src hub.Source) string {
		ck, err := checkpoint.Load(context.Background(), src)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%+v", *ck.Inventory())
	}
	return text(mem), text(ps), ps.reached
}

// ggufSeeds returns GGUF headers covering what the planned read walks:
// every value type, strings long and short, arrays of each element type,
// an array of arrays (which it does not follow: the last three), and
// tensor infos. Their tensors' data fits in 4 MiB.
func ggufSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	long := strings.Repeat("x", 40<<10)
	tokens := make([]string, 5000)
	for i := range tokens {
		tokens[i] = strings.Repeat("t", 1+i%23)
	}
	tensors := func(n int) []gguf.TensorInfo {
		var ts []gguf.TensorInfo
		for i := range n {
			ts = append(ts, gguf.TensorInfo{Name: fmt.Sprintf("blk.%d.ffn_down.weight", i), Dims: []int64{64, 2, 3}, Type: gguf.TypeF32})
		}
		return ts
	}
	sets := [][]gguf.KV{
		nil,
		{{Key: "general.architecture", Value: gguf.String("llama")}, {Key: "general.alignment", Value: gguf.Uint32(64)}},
		{
			{Key: "u8", Value: gguf.Uint8(1)}, {Key: "i8", Value: gguf.Int8(-1)}, {Key: "u16", Value: gguf.Uint16(2)},
			{Key: "i16", Value: gguf.Int16(-2)}, {Key: "u32", Value: gguf.Uint32(3)}, {Key: "i32", Value: gguf.Int32(-3)},
			{Key: "f32", Value: gguf.Float32(0.5)}, {Key: "bool", Value: gguf.Bool(true)}, {Key: "u64", Value: gguf.Uint64(4)},
			{Key: "i64", Value: gguf.Int64(-4)}, {Key: "f64", Value: gguf.Float64(0.25)}, {Key: "long", Value: gguf.String(long)},
		},
		{
			{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray(tokens)},
			{Key: "tokenizer.ggml.scores", Value: gguf.Float32Array(make([]float32, len(tokens)))},
			{Key: "tokenizer.ggml.token_type", Value: gguf.Int32Array(make([]int32, len(tokens)))},
			{Key: "tokenizer.ggml.merges", Value: gguf.StringArray(tokens[:4000])},
		},
		{{Key: "nested", Value: gguf.Array(gguf.ValueArray, gguf.Array(gguf.ValueUint8, gguf.Uint8(1)), gguf.Array(gguf.ValueString, gguf.String("a")))}},
	}
	var out [][]byte
	for i, kvs := range sets {
		for _, n := range []int{0, 3, 700} {
			head, _, err := gguf.EncodeHeader(uint32(2+i%2), kvs, tensors(n))
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, head)
		}
	}
	return out
}

// The planned read of a remote GGUF file finds what the parser finds in
// the same bytes read where they are: the walk that sizes its reads only
// decides what is fetched. For a well-formed header it reads no more than
// a sixteenth and a few KiB past the header (the first read, 16 KiB, may
// hold a small header many times over).
func TestPlannedGGUF(t *testing.T) {
	seeds := ggufSeeds(t)
	for i, head := range seeds {
		for _, cut := range []int{len(head), len(head) - 1, len(head) / 2, 20} {
			local, planned, reached := loadBoth(t, head[:cut], int64(len(head))+4<<20)
			if local != planned {
				t.Errorf("seed %d cut at %d of %d: planned read\n%.300s\nwant\n%.300s", i, cut, len(head), planned, local)
			}
			if cut == len(head) && strings.HasPrefix(local, "error") {
				t.Errorf("seed %d cut at %d of %d: %s", i, cut, len(head), local)
			}
			if cut == len(head) && i < len(seeds)-3 && reached > max(int64(len(head))*17/16+4<<10, 16<<10) {
				t.Errorf("seed %d: read up to byte %d of a %d-byte header", i, reached, len(head))
			}
		}
	}
}

// FuzzPlannedGGUF checks the planned read against the plain one on any
// bytes.
func FuzzPlannedGGUF(f *testing.F) {
	for _, head := range ggufSeeds(f) {
		if len(head) < 64<<10 {
			f.Add(head, uint16(0))
		}
	}
	f.Fuzz(func(t *testing.T, head []byte, extra uint16) {
		local, planned, _ := loadBoth(t, head, int64(len(head))+int64(extra))
		if local != planned {
			t.Errorf("planned read\n%.300s\nwant\n%.300s", planned, local)
		}
	})
}

var _ io.ReaderAt = (*plannedFile)(nil)

package safetensors_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/safetensors"
)

// kimiIndex returns an index laid out as the int4 releases of Kimi-K2 lay
// theirs out (compressed-tensors: weight_packed, weight_scale and
// weight_shape for each projection of each of 384 experts in 60 MoE
// layers, 62 shards), cut or extended to n tensors named by name(i).
func kimiIndex(n int) []byte {
	parts := [...]string{"weight_packed", "weight_scale", "weight_shape"}
	projs := [...]string{"gate_proj", "up_proj", "down_proj"}
	var b bytes.Buffer
	b.Grow(n * 100)
	fmt.Fprintf(&b, "{\n  \"metadata\": {\n    \"total_size\": %d\n  },\n  \"weight_map\": {\n", 594_000_000_000)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		layer, e := 1+i/(384*9), i%(384*9)
		fmt.Fprintf(&b, "    \"model.layers.%d.mlp.experts.%d.%s.%s\": \"model-%05d-of-00062.safetensors\"",
			layer, e/9, projs[e%9/3], parts[e%3], 1+layer)
	}
	b.WriteString("\n  }\n}\n")
	return b.Bytes()
}

// shortIndex returns an index naming n tensors "t0", "t1", …, and where
// the key of tensor i starts.
func shortIndex(n int) (doc []byte, keyAt func(i int) int64) {
	var b bytes.Buffer
	b.WriteString(`{"weight_map":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"t%d":"s.safetensors"`, i)
	}
	b.WriteString(`}}`)
	doc = b.Bytes()
	return doc, func(i int) int64 { return int64(bytes.Index(doc, fmt.Appendf(nil, `"t%d"`, i))) }
}

// unreadable is a ReaderAt that fails the test if it is read.
type unreadable struct{ tb testing.TB }

func (u unreadable) ReadAt(p []byte, off int64) (int, error) {
	u.tb.Errorf("ReadAt(%d bytes at %d): the index should be rejected unread", len(p), off)
	return 0, errors.New("unreadable")
}

func TestIndexLimits(t *testing.T) {
	atCap, _ := shortIndex(safetensors.MaxIndexEntries)
	overCap, keyAt := shortIndex(safetensors.MaxIndexEntries + 1)
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name  string
		read  func() (*safetensors.Index, error)
		want  int    // tensors, when it is accepted
		field string // else the field at fault,
		off   int64  // its offset,
		msg   string // and a piece of the message
	}{
		{
			name: "entries at the cap",
			read: func() (*safetensors.Index, error) { return safetensors.ParseIndex(atCap) },
			want: safetensors.MaxIndexEntries,
		},
		{
			name:  "one entry over the cap",
			read:  func() (*safetensors.Index, error) { return safetensors.ParseIndex(overCap) },
			field: fmt.Sprintf(`tensor "t%d"`, safetensors.MaxIndexEntries),
			off:   keyAt(safetensors.MaxIndexEntries),
			msg:   "more than 262144 tensors",
		},
		{
			name: "one byte over MaxIndexLen, rejected unread",
			read: func() (*safetensors.Index, error) {
				return safetensors.ReadIndex(unreadable{t}, safetensors.MaxIndexLen+1)
			},
			field: "index",
			off:   safetensors.MaxIndexLen,
			msg:   "33554433 bytes is over the 33554432-byte cap",
		},
		{
			name: "metadata over 1 MiB",
			read: func() (*safetensors.Index, error) {
				return safetensors.ParseIndex([]byte(`{"metadata":{"note":"` + big + `"},"weight_map":{}}`))
			},
			field: `key "metadata"`,
			off:   int64(len(`{"metadata":`)),
			msg:   `the "metadata" object is over the 1048576-byte cap`,
		},
		{
			name: "another key's value over 1 MiB",
			read: func() (*safetensors.Index, error) {
				return safetensors.ParseIndex([]byte(`{"weight_map":{},"extra":["` + big + `"]}`))
			},
			field: "index",
			off:   int64(len(`{"weight_map":{},"extra":`)),
			msg:   `the value of key "extra" is over`,
		},
		{
			name: "tensor name over 1 MiB",
			read: func() (*safetensors.Index, error) {
				return safetensors.ParseIndex([]byte(`{"weight_map":{"` + big + `":"s.safetensors"}}`))
			},
			field: `key "weight_map"`,
			off:   int64(len(`{"weight_map":{`)),
			msg:   "a weight_map entry is over",
		},
		{
			name: "metadata and another key just under 1 MiB",
			read: func() (*safetensors.Index, error) {
				v := big[:1<<20-100]
				return safetensors.ParseIndex([]byte(`{"metadata":{"note":"` + v + `"},"extra":"` + v + `","weight_map":{"a":"s.safetensors"}}`))
			},
			want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := tt.read()
			if tt.field == "" {
				if err != nil || ix.Len() != tt.want {
					t.Fatalf("got %d tensors, %v; want %d, nil", ix.Len(), err, tt.want)
				}
				return
			}
			var fe *safetensors.FormatError
			if !errors.Is(err, safetensors.ErrLimit) || !errors.As(err, &fe) {
				t.Fatalf("error = %v, want a *FormatError wrapping ErrLimit", err)
			}
			if fe.Field != tt.field || fe.Offset != tt.off || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v; want field %s, offset %d, message with %q", err, tt.field, tt.off, tt.msg)
			}
		})
	}
}

// allocated returns the bytes f allocates in all.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadIndexLargestReal reads an index the size of the largest real
// ones and bounds what that allocates and keeps: the document is streamed
// through 64 KiB windows, not held, so ReadIndex allocates a few times its
// size in all (each window's string, the names, the map) and keeps less
// than its size and a half (the names and the map).
func TestReadIndexLargestReal(t *testing.T) {
	doc := kimiIndex(60 * 384 * 9)
	if len(doc) > safetensors.MaxIndexLen {
		t.Fatalf("bad test: %d bytes", len(doc))
	}
	var ix *safetensors.Index
	var err error
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix, err = safetensors.ReadIndex(bytes.NewReader(doc), int64(len(doc)))
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 60*384*9 || len(ix.Shards()) != 60 {
		t.Fatalf("%d tensors in %d shards, want %d in 60", ix.Len(), len(ix.Shards()), 60*384*9)
	}
	n := float64(len(doc))
	t.Logf("%d-byte index, %d tensors: %d bytes allocated (%.2f× the document), %d kept (%.2f×)",
		len(doc), ix.Len(), alloc, float64(alloc)/n, kept, float64(kept)/n)
	if float64(alloc) > 3*n || float64(kept) > 1.5*n {
		t.Errorf("ReadIndex allocated %d bytes and kept %d for a %d-byte index, want at most 3× and 1.5× its size", alloc, kept, len(doc))
	}
	runtime.KeepAlive(ix)
}

// TestReadIndexWindows reads every parse test's document through windows
// of a few bytes, so that every entry, string, escape and number crosses a
// window's end somewhere: the result, or the error, is what ParseIndex
// returns.
func TestReadIndexWindows(t *testing.T) {
	docs := []string{
		`{"metadata":{"total_size":1234567890,"x":[1.5e3,-0,true,null,"\ud83d\ude00"]},"weight_map":{"a\u00e9\ud83d\ude00":"s-1.safetensors","b":"s-1.safetensors","c":"s-2.safetensors"},"z":{"k":[1,2,{"q":"\n"}]}}   `,
		"{\"weight_map\":{\"é😀\":\"s.safetensors\"}}",
	}
	for _, tt := range indexParseTests {
		docs = append(docs, tt.in)
	}
	for _, doc := range docs {
		want, wantErr := safetensors.ParseIndex([]byte(doc))
		for window := 1; window <= 9; window++ {
			got, err := safetensors.ReadIndexWindow(strings.NewReader(doc), int64(len(doc)), window)
			if diff := cmp.Diff(viewOf(want), viewOf(got)); diff != "" {
				t.Errorf("window %d: index differs (-whole +windows):\n%s\ndoc %q", window, diff, doc)
			}
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("window %d: error %v, want %v\ndoc %q", window, err, wantErr, doc)
			}
		}
	}
}

// TestReadLimits checks the caps of a header: each just over is rejected
// naming the tensor or key and its offset.
func TestReadLimits(t *testing.T) {
	scalar := func(name string, begin int) string {
		return fmt.Sprintf(`"%s":{"dtype":"U8","shape":[],"data_offsets":[%d,%d]}`, name, begin, begin+1)
	}
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(scalar(fmt.Sprintf("t%d", i), i))
		}
		b.WriteString("}")
		return b.String()
	}
	var meta strings.Builder
	meta.WriteString(`{"__metadata__":{`)
	for i := range 1<<16 + 1 {
		if i > 0 {
			meta.WriteString(",")
		}
		fmt.Fprintf(&meta, `"k%d":""`, i)
	}
	meta.WriteString(`}}`)
	dims := `{"x":{"dtype":"U8","shape":[` + strings.Repeat("1,", 64) + `1],"data_offsets":[0,1]}}`
	tests := []struct {
		name     string
		header   string
		dataSize int
		opts     []safetensors.Option
		field    string
		at       string // the offset is where this is in the header
		msg      string
	}{
		{name: "tensors over WithMaxTensors", header: many(4), dataSize: 4, opts: []safetensors.Option{safetensors.WithMaxTensors(3)},
			field: `tensor "t3"`, at: `"t3"`, msg: "more than 3 tensors"},
		{name: "tensors over the default cap", header: many(safetensors.DefaultMaxTensors + 1), dataSize: safetensors.DefaultMaxTensors + 1,
			field: `tensor "t262144"`, at: `"t262144"`, msg: "more than 262144 tensors"},
		{name: "65 dimensions", header: dims, dataSize: 1, field: `tensor "x"`, at: `1],"data`, msg: "more than 64 dimensions"},
		{name: "metadata entries", header: meta.String(), field: `metadata "k65536"`, at: `"k65536"`, msg: "more than 65536 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := rawFile(tt.header, tt.dataSize)
			_, err := safetensors.Read(bytes.NewReader(b), int64(len(b)), tt.opts...)
			var fe *safetensors.FormatError
			if !errors.Is(err, safetensors.ErrLimit) || !errors.As(err, &fe) {
				t.Fatalf("Read() = %v, want a *FormatError wrapping ErrLimit", err)
			}
			off := 8 + int64(strings.Index(tt.header, tt.at))
			if fe.Field != tt.field || fe.Offset != off || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Read() = %v; want field %s, offset %d, message with %q", err, tt.field, off, tt.msg)
			}
		})
	}
	t.Run("at the caps", func(t *testing.T) {
		b := rawFile(many(safetensors.DefaultMaxTensors), safetensors.DefaultMaxTensors)
		f, err := safetensors.Read(bytes.NewReader(b), int64(len(b)))
		if err != nil || len(f.Tensors) != safetensors.DefaultMaxTensors {
			t.Fatalf("Read(%d tensors) = %v", safetensors.DefaultMaxTensors, err)
		}
		b = rawFile(strings.Replace(dims, "1,", "", 1), 1)
		if _, err := safetensors.Read(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatalf("Read(64 dimensions) = %v", err)
		}
	})
}

// TestReadMillionTensors bounds what a header of a million tensors costs,
// with the cap raised to admit it: a small multiple of the header's size
// (the header held once, a TensorInfo and a name-set entry per tensor,
// and the 1 MiB chunks it was counted in as it was read, since a header
// this long could hold more entries than the cap: 2.45× before that
// count, 3.45× with it).
func TestReadMillionTensors(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 200 MB")
	}
	const n = 1 << 20
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"model.layers.%d.mlp.experts.%d.w":{"dtype":"BF16","shape":[1],"data_offsets":[%d,%d]}`, i/1024, i%1024, 2*i, 2*i+2)
	}
	b.WriteString("}")
	file := rawFile(b.String(), 2*n)
	header := int64(b.Len())
	var f *safetensors.File
	var err error
	alloc := allocated(func() {
		f, err = safetensors.Read(bytes.NewReader(file), int64(len(file)), safetensors.WithMaxTensors(n))
	})
	if err != nil || len(f.Tensors) != n {
		t.Fatalf("Read(%d tensors) = %v", n, err)
	}
	t.Logf("%d-byte header, %d tensors: %d bytes allocated (%.2f× the header)", header, n, alloc, float64(alloc)/float64(header))
	if limit := 4 * uint64(header); alloc > limit {
		t.Errorf("Read allocated %d bytes for a %d-byte header, want at most %d", alloc, header, limit)
	}
}

// endlessHeader is a safetensors file of size 8+n whose header is "{"
// followed by the same fixed-width tensor entry over and over, generated
// as it is read: a hostile header of any length without holding it. It
// counts the bytes read.
type endlessHeader struct {
	n    int64
	read int64
}

// entryTemplate is one entry of endlessHeader and its comma, numbered in
// bytes 2 to 8; entryWidth is its length.
const (
	entryTemplate = `"t0000000":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},`
	entryWidth    = len(entryTemplate)
)

func (h *endlessHeader) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		k := off + int64(i)
		switch {
		case k >= 8+h.n:
			h.read += int64(i)
			return i, io.EOF
		case k < 8:
			p[i] = byte(uint64(h.n) >> (8 * k))
		case k == 8:
			p[i] = '{'
		default:
			// Entry u is the template with u's seven digits in place.
			u, j := (k-9)/int64(entryWidth), (k-9)%int64(entryWidth)
			p[i] = entryTemplate[j]
			if j >= 2 && j < 9 {
				for range 8 - j {
					u /= 10
				}
				p[i] = '0' + byte(u%10)
			}
		}
	}
	h.read += int64(len(p))
	return len(p), nil
}

// TestReadHostileHeaderRefusedEarly reads a header at the 100 MiB cap made
// of tiny entries (1.7 M of them): it is refused at the first key past the
// tensor cap and the __metadata__ key it may hold, having read and
// allocated about what comes before that key, not the 100 MiB the length
// prefix claims (before counting while reading: 100 MiB read and held, and
// the cap's worth of entries decoded, before the refusal).
func TestReadHostileHeaderRefusedEarly(t *testing.T) {
	for _, maxTensors := range []int{1000, safetensors.DefaultMaxTensors} {
		t.Run(fmt.Sprint(maxTensors), func(t *testing.T) {
			h := &endlessHeader{n: safetensors.DefaultMaxHeaderLen}
			var err error
			alloc := allocated(func() {
				_, err = safetensors.Read(h, 8+h.n, safetensors.WithMaxTensors(maxTensors))
			})
			// The keys are t0000000, t0000001, …: the one past the tensors
			// and __metadata__ is number maxTensors+1, at 1 + (maxTensors+1)
			// entries into the header.
			key := fmt.Sprintf("t%07d", maxTensors+1)
			at := 8 + 1 + int64(maxTensors+1)*int64(entryWidth)
			var fe *safetensors.FormatError
			if !errors.Is(err, safetensors.ErrLimit) || !errors.As(err, &fe) {
				t.Fatalf("Read() = %v, want a *FormatError wrapping ErrLimit", err)
			}
			if fe.Field != fmt.Sprintf("tensor %q", key) || fe.Offset != at {
				t.Errorf("Read() = %v; want field tensor %q at offset %d", err, key, at)
			}
			// What is read and allocated: up to the key and the rest of
			// its 1 MiB read, plus the counter's and the error's few bytes.
			const chunk, slack = 1 << 20, 64 << 10
			t.Logf("%d-byte header refused at offset %d: %d bytes read, %d allocated", h.n, at, h.read, alloc)
			if h.read > at+chunk {
				t.Errorf("read %d bytes, want at most %d (the key at %d and one read)", h.read, at+chunk, at)
			}
			if limit := uint64(at + chunk + slack); alloc > limit {
				t.Errorf("allocated %d bytes, want at most %d", alloc, limit)
			}
		})
	}
}

// TestReadCountsTopLevelKeys checks the count made while a header streams
// in against headers whose strings and nested objects hold what looks
// like keys: a header over the cap's worth of bytes with exactly the cap of
// tensors and a large __metadata__ whose values hold quotes, commas and
// braces is read; one with two tensors more is refused.
func TestReadCountsTopLevelKeys(t *testing.T) {
	var meta strings.Builder
	meta.WriteString(`"__metadata__":{`)
	for i := range 200 {
		if i > 0 {
			meta.WriteString(",")
		}
		fmt.Fprintf(&meta, `"k%d,\"x\":{":"{\"a\":1},\"b\":[\\\"],"`, i)
	}
	meta.WriteString(`}`)
	entry := func(i int) string {
		return fmt.Sprintf(`"t,\"%d\":{":{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}`, i, i, i+1)
	}
	header := func(n int) string {
		parts := []string{meta.String()}
		for i := range n {
			parts = append(parts, entry(i))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	const max = 3
	b := rawFile(header(max), max)
	f, err := safetensors.Read(bytes.NewReader(b), int64(len(b)), safetensors.WithMaxTensors(max))
	if err != nil || len(f.Tensors) != max || len(f.Metadata) != 200 {
		t.Fatalf("Read(%d tensors, 200 metadata entries) = %v", max, err)
	}
	h := header(max + 2)
	b = rawFile(h, max+2)
	_, err = safetensors.Read(bytes.NewReader(b), int64(len(b)), safetensors.WithMaxTensors(max))
	var fe *safetensors.FormatError
	if !errors.Is(err, safetensors.ErrLimit) || !errors.As(err, &fe) {
		t.Fatalf("Read(%d tensors) = %v, want ErrLimit", max+2, err)
	}
	// The fifth key (after __metadata__ and three tensors) is the fourth
	// tensor's.
	if at := 8 + int64(strings.Index(h, entry(max))); fe.Offset != at {
		t.Errorf("Read(%d tensors) = %v, want offset %d", max+2, err, at)
	}
}

// TestReadIndexPrefaulted reads an index long enough for its name blocks
// to be faulted in ahead of the parse (1 MiB and more): every name, one
// longer than a block among them, comes back whole and in order, with its
// shard; with -race, the blocks pass between the goroutines cleanly.
func TestReadIndexPrefaulted(t *testing.T) {
	var names, shards []string
	var doc strings.Builder
	doc.WriteString(`{"weight_map":{`)
	for i := range 30000 {
		name := fmt.Sprintf("model.layers.%d.mlp.experts.%d.%s.weight", i/300, i%300, strings.Repeat("é", i%17))
		if i == 12345 {
			name = strings.Repeat("x", 70000) // longer than a block
		}
		shard := fmt.Sprintf("model-%05d-of-00100.safetensors", i/300+1)
		if i > 0 {
			doc.WriteString(",")
		}
		fmt.Fprintf(&doc, "%q:%q", name, shard)
		names, shards = append(names, name), append(shards, shard)
	}
	doc.WriteString("}}")
	if doc.Len() < 1<<20 {
		t.Fatalf("bad test: a %d-byte index is not prefaulted", doc.Len())
	}
	ix, err := safetensors.ParseIndex([]byte(doc.String()))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for name, shard := range ix.All() {
		if i >= len(names) || name != names[i] || shard != shards[i] {
			t.Fatalf("entry %d = %.40q in %q, want %.40q in %q", i, name, shard, names[i], shards[i])
		}
		i++
	}
	if i != len(names) {
		t.Fatalf("%d entries, want %d", i, len(names))
	}
	if s, ok := ix.Shard(names[12345]); !ok || s != shards[12345] {
		t.Errorf("Shard(the long name) = %q, %v, want %q", s, ok, shards[12345])
	}
}

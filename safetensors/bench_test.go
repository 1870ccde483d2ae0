package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/weightaudit/weightaudit/safetensors"
)

// qwenShard returns the header of a shard shaped like one of
// Qwen3-235B-A22B's: n BF16 expert projections named as the checkpoint names
// them, plus a norm, and the size of the whole (virtual) file.
func qwenShard(tb testing.TB, n int) (header []byte, size int64) {
	tb.Helper()
	var ts []safetensors.TensorInfo
	for e := 0; len(ts) < n-1; e++ {
		layer, expert := 12+e/128, e%128
		for _, p := range []struct {
			proj  string
			shape []int64
		}{{"gate_proj", []int64{1536, 4096}}, {"up_proj", []int64{1536, 4096}}, {"down_proj", []int64{4096, 1536}}} {
			if len(ts) == n-1 {
				break
			}
			ts = append(ts, safetensors.TensorInfo{
				Name:  fmt.Sprintf("model.layers.%d.mlp.experts.%d.%s.weight", layer, expert, p.proj),
				DType: safetensors.BF16,
				Shape: p.shape,
			})
		}
	}
	ts = append(ts, safetensors.TensorInfo{Name: "model.layers.12.post_attention_layernorm.weight", DType: safetensors.BF16, Shape: []int64{4096}})
	h, dataSize, err := safetensors.EncodeHeader(map[string]string{"format": "pt"}, ts)
	if err != nil {
		tb.Fatal(err)
	}
	return h, int64(len(h)) + dataSize
}

// BenchmarkRead parses shard headers with Read and, as the baseline, with
// the encoding/json reference decoder. The reader holds only the header, as
// Read touches nothing else.
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{313, 3000} {
		h, size := qwenShard(b, n)
		r := bytes.NewReader(h)
		decoders := []struct {
			name string
			read func() (*safetensors.File, error)
		}{
			{"scanner", func() (*safetensors.File, error) { return safetensors.Read(r, size) }},
			{"encoding-json", func() (*safetensors.File, error) {
				return safetensors.ReadReference(r, size, safetensors.DefaultMaxHeaderLen)
			}},
			{"encoding-json-unmarshal", func() (*safetensors.File, error) { return naiveRead(r, size, n) }},
		}
		for _, d := range decoders {
			b.Run(fmt.Sprintf("tensors=%d/%s", n, d.name), func(b *testing.B) {
				if f, err := d.read(); err != nil || len(f.Tensors) != n {
					b.Fatalf("read: %v", err)
				}
				b.SetBytes(int64(len(h)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.read(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/tensor")
			})
		}
	}
}

// naiveRead decodes a header the way most readers do, with json.Unmarshal
// and no checks beyond sorting: a second, lower baseline. want is the
// tensor count, so that the benchmark can check the result.
func naiveRead(r *bytes.Reader, size int64, want int) (*safetensors.File, error) {
	var p [8]byte
	if _, err := r.ReadAt(p[:], 0); err != nil {
		return nil, err
	}
	h := make([]byte, binary.LittleEndian.Uint64(p[:]))
	if _, err := r.ReadAt(h, 8); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(h, &raw); err != nil {
		return nil, err
	}
	f := &safetensors.File{Size: size, HeaderLen: int64(len(h))}
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &f.Metadata); err != nil {
				return nil, err
			}
			continue
		}
		var e struct {
			DType       string   `json:"dtype"`
			Shape       []int64  `json:"shape"`
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, err
		}
		dt, _ := safetensors.ParseDType(e.DType)
		f.Tensors = append(f.Tensors, safetensors.TensorInfo{Name: name, DType: dt, Shape: e.Shape, Begin: e.DataOffsets[0], End: e.DataOffsets[1]})
	}
	sort.Slice(f.Tensors, func(i, j int) bool { return f.Tensors[i].Begin < f.Tensors[j].Begin })
	if len(f.Tensors) != want {
		return nil, fmt.Errorf("%d tensors, want %d", len(f.Tensors), want)
	}
	return f, nil
}

// BenchmarkParseIndex parses an index shaped like Qwen3-235B-A22B's: about
// 37,000 tensors over 118 shards.
func BenchmarkParseIndex(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"metadata":{"total_size":470187269120},"weight_map":{`)
	for i := 0; i < 37000; i++ {
		if i > 0 {
			buf.WriteString(",\n")
		}
		fmt.Fprintf(&buf, `"model.layers.%d.mlp.experts.%d.%s.weight":"model-%05d-of-00118.safetensors"`, i/384, i%384/3, [3]string{"gate_proj", "up_proj", "down_proj"}[i%3], 1+i*118/37000)
	}
	buf.WriteString("}}")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := safetensors.ParseIndex(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadIndex streams indexes through ReadIndex: one shaped like
// Qwen3-235B-A22B's (36,945 tensors over 118 shards) and one like the
// largest real ones, Kimi-K2's int4 release (207,360 expert tensors over
// 62 shards). Besides bytes a second it reports tensors a second.
func BenchmarkReadIndex(b *testing.B) {
	for _, bc := range []struct {
		name string
		doc  []byte
	}{
		{"qwen3-235b", qwenIndex(36945)},
		{"kimi-k2-int4", kimiIndex(60 * 384 * 9)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := bytes.NewReader(bc.doc)
			var ix *safetensors.Index
			b.SetBytes(int64(len(bc.doc)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if ix, err = safetensors.ReadIndex(r, int64(len(bc.doc))); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(ix.Len())
			b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds(), "tensors/s")
		})
	}
}

// qwenIndex returns an index of n tensors shaped like Qwen3-235B-A22B's.
func qwenIndex(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("{\n  \"metadata\": {\n    \"total_size\": 470187269120\n  },\n  \"weight_map\": {\n")
	for i := range n {
		if i > 0 {
			buf.WriteString(",\n")
		}
		fmt.Fprintf(&buf, `    "model.layers.%d.mlp.experts.%d.%s.weight": "model-%05d-of-00118.safetensors"`, i/393, i%393/3, [3]string{"gate_proj", "up_proj", "down_proj"}[i%3], 1+i*118/n)
	}
	buf.WriteString("\n  }\n}\n")
	return buf.Bytes()
}

// TestReadAllocs guards the decoder's design: a fixed number of allocations
// however many tensors the header holds (names and shapes are not allocated
// one by one).
func TestReadAllocs(t *testing.T) {
	for _, n := range []int{313, 3000} {
		h, size := qwenShard(t, n)
		r := bytes.NewReader(h)
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := safetensors.Read(r, size); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 40 {
			t.Errorf("Read of %d tensors: %v allocations, want at most 40", n, allocs)
		}
	}
}

// BenchmarkDecode decodes one row of 4,096 values (compare's unit of work,
// reused: the row stays in cache) of each float type; "bytewise" is the
// value-at-a-time loop BF16 had before internal/half's rows, the baseline
// in the same run. MB/s of source.
func BenchmarkDecode(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(5, 5))
	src := make([]byte, 4*n)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	dst := make([]float32, n)
	for _, d := range []safetensors.DType{safetensors.BF16, safetensors.F16, safetensors.F32} {
		in := src[:n*d.Bits()/8]
		b.Run(d.String(), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if err := safetensors.Decode(d, dst, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("BF16/bytewise", func(b *testing.B) {
		in := src[:2*n]
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			for i := range dst {
				dst[i] = math.Float32frombits(uint32(in[2*i])<<16 | uint32(in[2*i+1])<<24)
			}
		}
	})
}

// BenchmarkCheckIndex checks a Qwen3-235B-A22B-shaped index (36,945
// tensors) against its 118 shards, as inspect does once every header is
// read; with -cpu 1,2 it compares one core (GOMAXPROCS=1 checks on one)
// with two.
func BenchmarkCheckIndex(b *testing.B) {
	doc := qwenIndex(36945)
	ix, err := safetensors.ReadIndex(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		b.Fatal(err)
	}
	byShard := map[string][]safetensors.TensorInfo{}
	var off int64
	for name, s := range ix.All() {
		byShard[s] = append(byShard[s], safetensors.TensorInfo{Name: name, DType: safetensors.BF16, Shape: []int64{4096, 1536}, Begin: off, End: off + 4096*1536*2})
		off += 4096 * 1536 * 2
	}
	shards := map[string]*safetensors.File{}
	for s, ts := range byShard {
		shards[s] = &safetensors.File{Tensors: ts}
	}
	ix.TotalSize = -1
	b.ReportAllocs()
	for b.Loop() {
		if m := safetensors.CheckIndex(ix, shards); m != nil {
			b.Fatal(m)
		}
	}
}

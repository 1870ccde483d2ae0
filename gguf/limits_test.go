package gguf_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// emptyTensors writes a header of n empty F32 tensors (ne {0}, all at
// offset 0) named blk.L.ffn_gate.E.weight, with kvs key-value pairs before
// them, and returns the file (it has no data) and where each tensor's
// name starts.
func emptyTensors(n, kvs int) (file []byte, nameAt func(i int) int64) {
	w := &raw{}
	w.header(3, uint64(n), uint64(kvs))
	for i := range kvs {
		w.kvU32(fmt.Sprintf("k.%d", i), uint32(i))
	}
	at := make([]int64, n)
	for i := range n {
		at[i] = w.off()
		w.tensor(fmt.Sprintf("blk.%d.ffn_gate.%d.weight", i/1024, i%1024), []uint64{0}, gguf.TypeF32, 0)
	}
	w.pad(32)
	return w.b, func(i int) int64 { return at[i] }
}

// TestReadLimits checks each cap of a header just over it: rejected with
// ErrLimit naming the field and its offset; and at it: accepted.
func TestReadLimits(t *testing.T) {
	tensors, _ := emptyTensors(gguf.DefaultMaxTensors+1, 0)
	kvs, _ := emptyTensors(0, 1<<16+1)
	nested := (&raw{}).header(3, 0, 1).str("bomb").u32(uint32(gguf.ValueArray)).u32(uint32(gguf.ValueArray))
	nestedCount := nested.off()
	nested.u64(1<<16 + 1)
	for range 1<<16 + 1 {
		nested.u32(uint32(gguf.ValueUint8)).u64(0)
	}
	long, nameAt := emptyTensors(1000, 0) // 37,834 bytes of header
	tests := []struct {
		name  string
		file  []byte
		opts  []gguf.Option
		want  error
		field string
		off   int64
		msg   string
	}{
		{name: "tensors", file: tensors, want: gguf.ErrLimit, field: "header", off: 8, msg: "65537 tensors, at most 65536"},
		{name: "key-value pairs", file: kvs, want: gguf.ErrLimit, field: "header", off: 16, msg: "65537 pairs, at most 65536"},
		{name: "arrays in arrays", file: nested.b, want: gguf.ErrLimit, field: `key "bomb"`, off: nestedCount, msg: "more than 65536 arrays inside arrays"},
		{name: "header length", file: long, opts: []gguf.Option{gguf.WithMaxHeaderLen(nameAt(500) + 10)},
			want: gguf.ErrLimit, field: "tensor #500", off: nameAt(500), msg: "under the " + fmt.Sprint(nameAt(500)+10) + "-byte header cap"},
		{name: "header length in a file that ends first", file: long[:nameAt(500)+10], opts: []gguf.Option{gguf.WithMaxHeaderLen(nameAt(500) + 10)},
			want: gguf.ErrTruncated, field: "tensor #500", off: nameAt(500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readBytes(tt.file, tt.opts...)
			var fe *gguf.FormatError
			if !errors.Is(err, tt.want) || !errors.As(err, &fe) {
				t.Fatalf("Read() = %v, want a *FormatError wrapping %v", err, tt.want)
			}
			if fe.Field != tt.field || fe.Offset != tt.off || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Read() = %v; want field %s, offset %d, message with %q", err, tt.field, tt.off, tt.msg)
			}
		})
	}
	t.Run("at the caps", func(t *testing.T) {
		for _, c := range []struct {
			name string
			file []byte
			opts []gguf.Option
		}{
			{"tensors", tensors[:0:0], nil},
			{"header length", long, []gguf.Option{gguf.WithMaxHeaderLen(int64(len(long)))}},
		} {
			file := c.file
			if len(file) == 0 {
				file, _ = emptyTensors(gguf.DefaultMaxTensors, 0)
			}
			if _, err := readBytes(file, c.opts...); err != nil {
				t.Errorf("%s: Read() = %v", c.name, err)
			}
		}
	})
}

// TestReadLargestReal reads a header the size of the largest real ones (a
// 262,144-token vocabulary with its scores and types, 280,147 merges,
// 1,138 tensors) and bounds what that allocates: about the header's size.
func TestReadLargestReal(t *testing.T) {
	tokens := make([]string, 262144)
	scores := make([]float32, len(tokens))
	types := make([]int32, len(tokens))
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%d", i)
		scores[i], types[i] = float32(-i), 1
	}
	merges := make([]string, 280147)
	for i := range merges {
		merges[i] = fmt.Sprintf("m%d n%d", i/512, i%512)
	}
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Float32Array(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32Array(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.StringArray(merges)},
		{Key: "tokenizer.chat_template", Value: gguf.String(strings.Repeat("{% if x %}", 3000))},
	}
	var tensors []gguf.TensorInfo
	for i := range 1138 {
		tensors = append(tensors, gguf.TensorInfo{Name: fmt.Sprintf("blk.%d.t%d.weight", i/9, i%9), Dims: []int64{0}, Type: gguf.TypeF32})
	}
	h, _, err := gguf.EncodeHeader(3, kvs, tensors)
	if err != nil {
		t.Fatal(err)
	}
	var f *gguf.File
	alloc := allocated(func() { f, err = readBytes(h) })
	if err != nil || len(f.Tensors) != 1138 {
		t.Fatalf("Read() = %v", err)
	}
	t.Logf("%d-byte header: %d bytes allocated (%.2f× the header)", len(h), alloc, float64(alloc)/float64(len(h)))
	if limit := 2 * uint64(len(h)); alloc > limit {
		t.Errorf("Read allocated %d bytes for a %d-byte header, want at most %d", alloc, len(h), limit)
	}
}

// TestReadMillionTensors bounds what a header of a million tensors costs,
// with the cap raised to admit it: a small multiple of its size.
func TestReadMillionTensors(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 150 MB")
	}
	const n = 1 << 20
	file, _ := emptyTensors(n, 0)
	var f *gguf.File
	var err error
	alloc := allocated(func() { f, err = readBytes(file, gguf.WithMaxTensors(n)) })
	if err != nil || len(f.Tensors) != n {
		t.Fatalf("Read(%d tensors) = %v", n, err)
	}
	t.Logf("%d-byte header, %d tensors: %d bytes allocated (%.2f× the header)", len(file), n, alloc, float64(alloc)/float64(len(file)))
	if limit := 3 * uint64(len(file)); alloc > limit {
		t.Errorf("Read allocated %d bytes for a %d-byte header, want at most %d", alloc, len(file), limit)
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

package gguf_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// virtualFile is a file of size bytes whose header is real and whose data
// section reads as zeros, so a 235B-parameter layout costs only its header.
type virtualFile struct {
	header []byte
	size   int64
}

func (v virtualFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= v.size {
		return 0, io.EOF
	}
	n := 0
	if off < int64(len(v.header)) {
		n = copy(p, v.header[off:])
	}
	want := min(int64(len(p)), v.size-off)
	clear(p[n:want])
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return len(p), nil
}

// qwen3Layout returns the metadata and tensor infos of a Qwen3-235B-A22B
// Q4_K_M GGUF: 94 blocks of 128 experts, a 151,936-token vocabulary with
// 151,387 merges, 1,131 tensors.
func qwen3Layout() ([]gguf.KV, []gguf.TensorInfo) {
	const (
		vocab, merges = 151936, 151387
		d, layers     = 4096, 94
		heads, kv, hd = 64, 4, 128
		experts, ffn  = 128, 1536
	)
	tokens := make([]string, vocab)
	types := make([]int32, vocab)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%d", i)
		types[i] = 1
	}
	merge := make([]string, merges)
	for i := range merge {
		merge[i] = fmt.Sprintf("tok%d tok%d", i%5000, i/5000)
	}
	u32 := func(k string, x uint32) gguf.KV { return gguf.KV{Key: k, Value: gguf.Uint32(x)} }
	str := func(k, s string) gguf.KV { return gguf.KV{Key: k, Value: gguf.String(s)} }
	kvs := []gguf.KV{
		str("general.architecture", "qwen3moe"),
		str("general.type", "model"),
		str("general.name", "Qwen3 235B A22B"),
		str("general.basename", "Qwen3"),
		str("general.size_label", "235B-A22B"),
		str("general.license", "apache-2.0"),
		{Key: "general.tags", Value: gguf.StringArray([]string{"text-generation"})},
		u32("qwen3moe.block_count", layers),
		u32("qwen3moe.context_length", 40960),
		u32("qwen3moe.embedding_length", d),
		u32("qwen3moe.feed_forward_length", 12288),
		u32("qwen3moe.attention.head_count", heads),
		u32("qwen3moe.attention.head_count_kv", kv),
		{Key: "qwen3moe.rope.freq_base", Value: gguf.Float32(1e6)},
		{Key: "qwen3moe.attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-6)},
		u32("qwen3moe.expert_used_count", 8),
		u32("qwen3moe.attention.key_length", hd),
		u32("qwen3moe.attention.value_length", hd),
		u32("qwen3moe.expert_count", experts),
		u32("qwen3moe.expert_feed_forward_length", ffn),
		str("tokenizer.ggml.model", "gpt2"),
		str("tokenizer.ggml.pre", "qwen2"),
		{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray(tokens)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32Array(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.StringArray(merge)},
		u32("tokenizer.ggml.eos_token_id", 151645),
		u32("tokenizer.ggml.padding_token_id", 151643),
		u32("tokenizer.ggml.bos_token_id", 151643),
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(false)},
		str("tokenizer.chat_template", strings.Repeat("{%- if messages -%}{{ message.content }}", 100)),
		u32("general.quantization_version", 2),
		u32("general.file_type", 15),
	}
	f32 := func(name string, dims ...int64) gguf.TensorInfo {
		return gguf.TensorInfo{Name: name, Dims: dims, Type: gguf.TypeF32}
	}
	q := func(typ gguf.Type, name string, dims ...int64) gguf.TensorInfo {
		return gguf.TensorInfo{Name: name, Dims: dims, Type: typ}
	}
	tensors := []gguf.TensorInfo{q(gguf.TypeQ4_K, "token_embd.weight", d, vocab)}
	for l := range layers {
		p := fmt.Sprintf("blk.%d.", l)
		tensors = append(tensors,
			f32(p+"attn_norm.weight", d),
			q(gguf.TypeQ4_K, p+"attn_q.weight", d, heads*hd),
			q(gguf.TypeQ4_K, p+"attn_k.weight", d, kv*hd),
			q(gguf.TypeQ6_K, p+"attn_v.weight", d, kv*hd),
			q(gguf.TypeQ4_K, p+"attn_output.weight", heads*hd, d),
			f32(p+"attn_q_norm.weight", hd),
			f32(p+"attn_k_norm.weight", hd),
			f32(p+"ffn_norm.weight", d),
			f32(p+"ffn_gate_inp.weight", d, experts),
			q(gguf.TypeQ4_K, p+"ffn_gate_exps.weight", d, ffn, experts),
			q(gguf.TypeQ4_K, p+"ffn_up_exps.weight", d, ffn, experts),
			q(gguf.TypeQ6_K, p+"ffn_down_exps.weight", ffn, d, experts),
		)
	}
	tensors = append(tensors, f32("output_norm.weight", d), q(gguf.TypeQ6_K, "output.weight", d, vocab))
	return kvs, tensors
}

var qwen3Once = sync.OnceValues(func() ([]byte, int64) {
	kvs, tensors := qwen3Layout()
	h, dataSize, err := gguf.EncodeHeader(3, kvs, tensors)
	if err != nil {
		panic(err)
	}
	return h, int64(len(h)) + dataSize
})

// qwen3File returns the Qwen3-235B header and a virtual file holding it.
func qwen3File() ([]byte, virtualFile) {
	h, size := qwen3Once()
	return h, virtualFile{h, size}
}

func TestReadQwen3Layout(t *testing.T) {
	h, vf := qwen3File()
	f, err := gguf.Read(vf, vf.size)
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	if len(f.Tensors) != 1131 || f.DataOffset != int64(len(h)) {
		t.Errorf("Read: %d tensors, DataOffset %d, want 1131, %d", len(f.Tensors), f.DataOffset, len(h))
	}
	tokens, err := f.GetStrings("tokenizer.ggml.tokens")
	if err != nil || len(tokens) != 151936 || tokens[151935] != "tok151935" {
		t.Errorf("GetStrings(tokens) = %d tokens, %v", len(tokens), err)
	}
	var params int64
	for i := range f.Tensors {
		params += f.Tensors[i].Elements()
	}
	if params != 235_093_634_560 {
		t.Errorf("parameters = %d, want 235,093,634,560", params)
	}
	if err := f.CheckContiguous(); err != nil {
		t.Errorf("CheckContiguous() = %v", err)
	}
}

func BenchmarkRead(b *testing.B) {
	qh, qf := qwen3File()
	small := buildFile(b, 3, everyValueKVs(), sampleTensors())
	cases := []struct {
		name   string
		header int64
		r      io.ReaderAt
		size   int64
	}{
		{"small", int64(len(small)), strings.NewReader(string(small)), int64(len(small))},
		{"qwen3-235b-q4_k_m", int64(len(qh)), qf, qf.size},
	}
	for _, c := range cases {
		b.Run(c.name+"/gguf.Read", func(b *testing.B) {
			b.SetBytes(c.header)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gguf.Read(c.r, c.size); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/naive-binary.Read", func(b *testing.B) {
			b.SetBytes(c.header)
			b.ReportAllocs()
			for b.Loop() {
				if err := naiveRead(bufio.NewReader(io.NewSectionReader(c.r, 0, c.size))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStrings(b *testing.B) {
	_, qf := qwen3File()
	f, err := gguf.Read(qf, qf.size)
	if err != nil {
		b.Fatal(err)
	}
	v, _ := f.Get("tokenizer.ggml.tokens")
	b.ReportAllocs()
	for b.Loop() {
		if s, ok := v.Strings(); !ok || len(s) != 151936 {
			b.Fatal("Strings failed")
		}
	}
}

// naiveRead is the baseline: the obvious parser, one encoding/binary.Read
// per field and one Go value per array element ([]string for string arrays,
// []any otherwise), without validation.
func naiveRead(r io.Reader) error {
	var hdr struct {
		Magic    [4]byte
		Version  uint32
		NTensors uint64
		NKV      uint64
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return err
	}
	readString := func() (string, error) {
		var n uint64
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return "", err
		}
		if n > 1<<30 {
			return "", errors.New("string too long")
		}
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return string(b), err
	}
	var readValue func(t uint32) (any, error)
	readValue = func(t uint32) (any, error) {
		switch gguf.ValueType(t) {
		case gguf.ValueUint8, gguf.ValueBool:
			var x uint8
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueInt8:
			var x int8
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueUint16:
			var x uint16
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueInt16:
			var x int16
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueUint32:
			var x uint32
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueInt32:
			var x int32
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueFloat32:
			var x float32
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueUint64:
			var x uint64
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueInt64:
			var x int64
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueFloat64:
			var x float64
			return x, binary.Read(r, binary.LittleEndian, &x)
		case gguf.ValueString:
			return readString()
		case gguf.ValueArray:
			var at struct {
				Type uint32
				N    uint64
			}
			if err := binary.Read(r, binary.LittleEndian, &at); err != nil {
				return nil, err
			}
			if at.N > 1<<26 {
				return nil, errors.New("array too long")
			}
			if gguf.ValueType(at.Type) == gguf.ValueString {
				s := make([]string, at.N)
				for i := range s {
					var err error
					if s[i], err = readString(); err != nil {
						return nil, err
					}
				}
				return s, nil
			}
			out := make([]any, at.N)
			for i := range out {
				var err error
				if out[i], err = readValue(at.Type); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		return nil, fmt.Errorf("bad type %d", t)
	}
	kvs := make(map[string]any)
	for range hdr.NKV {
		k, err := readString()
		if err != nil {
			return err
		}
		var t uint32
		if err := binary.Read(r, binary.LittleEndian, &t); err != nil {
			return err
		}
		if kvs[k], err = readValue(t); err != nil {
			return err
		}
	}
	type tensor struct {
		name   string
		dims   []uint64
		typ    uint32
		offset uint64
	}
	var tensors []tensor
	for range hdr.NTensors {
		var t tensor
		var err error
		if t.name, err = readString(); err != nil {
			return err
		}
		var nd uint32
		if err := binary.Read(r, binary.LittleEndian, &nd); err != nil {
			return err
		}
		if nd > 4 {
			return errors.New("too many dims")
		}
		t.dims = make([]uint64, nd)
		if err := binary.Read(r, binary.LittleEndian, t.dims); err != nil {
			return err
		}
		if err := binary.Read(r, binary.LittleEndian, &t.typ); err != nil {
			return err
		}
		if err := binary.Read(r, binary.LittleEndian, &t.offset); err != nil {
			return err
		}
		tensors = append(tensors, t)
	}
	return nil
}

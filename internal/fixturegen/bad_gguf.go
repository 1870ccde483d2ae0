package main

import (
	"encoding/binary"
	"strings"
)

// GGUF metadata value types and ggml tensor types used by the corpus
// (gguf.md, "enum gguf_metadata_value_type"; ggml.h, "enum ggml_type").
const (
	vtUint8   = 0
	vtUint16  = 2
	vtUint32  = 4
	vtInt32   = 5
	vtString  = 8
	vtArray   = 9
	ggmlF32   = 0
	ggmlQ4_2  = 4 // removed from ggml
	ggmlQ8_0  = 8
	ggufAlign = 32 // the default general.alignment
)

// ggufKV is one metadata pair: its key, its value type as written (which a
// case may set to an undefined id), and the encoded value.
type ggufKV struct {
	key   string
	vtype uint32
	value []byte // the encoded value, without its type
}

// ggufTensor is one tensor info.
type ggufTensor struct {
	name   string
	dims   []uint64
	typ    uint32
	offset uint64
}

// ggufBuild describes a GGUF file field by field, so that a case can break
// exactly one of them.
type ggufBuild struct {
	order       binary.AppendByteOrder
	magic       string
	version     uint32
	tensorCount *uint64 // nil: len(tensors)
	kvCount     *uint64 // nil: len(kvs)
	kvs         []ggufKV
	tensors     []ggufTensor
	data        []byte // the data section, after padding to ggufAlign
}

// validGGUF returns the valid file every GGUF case starts from: version 3,
// two string keys, tensor "a" (F32 ne {8}, data offset 0) and "b" (F32 ne
// {4, 2}, offset 32), and 64 data bytes.
func validGGUF() *ggufBuild {
	b := &ggufBuild{order: binary.LittleEndian, magic: "GGUF", version: 3}
	b.kvs = []ggufKV{
		b.str("general.architecture", "llama"),
		b.str("general.name", "corpus"),
	}
	b.tensors = []ggufTensor{
		{name: "a", dims: []uint64{8}, typ: ggmlF32, offset: 0},
		{name: "b", dims: []uint64{4, 2}, typ: ggmlF32, offset: 32},
	}
	b.data = stData(64)
	return b
}

func (b *ggufBuild) u32(x uint32) []byte { return b.order.AppendUint32(nil, x) }
func (b *ggufBuild) u64(x uint64) []byte { return b.order.AppendUint64(nil, x) }

// strBytes encodes a gguf_string_t: u64 length, then the bytes.
func (b *ggufBuild) strBytes(s string) []byte { return append(b.u64(uint64(len(s))), s...) }

func (b *ggufBuild) str(key, val string) ggufKV {
	return ggufKV{key: key, vtype: vtString, value: b.strBytes(val)}
}

func (b *ggufBuild) uint32KV(key string, x uint32) ggufKV {
	return ggufKV{key: key, vtype: vtUint32, value: b.u32(x)}
}

// bytes assembles the file: header, KVs, tensor infos, zero padding to
// ggufAlign, data.
func (b *ggufBuild) bytes() []byte {
	out := []byte(b.magic)
	out = append(out, b.u32(b.version)...)
	tc, kc := uint64(len(b.tensors)), uint64(len(b.kvs))
	if b.tensorCount != nil {
		tc = *b.tensorCount
	}
	if b.kvCount != nil {
		kc = *b.kvCount
	}
	out = append(out, b.u64(tc)...)
	out = append(out, b.u64(kc)...)
	for _, kv := range b.kvs {
		out = append(out, b.strBytes(kv.key)...)
		out = append(out, b.u32(kv.vtype)...)
		out = append(out, kv.value...)
	}
	for _, t := range b.tensors {
		out = append(out, b.strBytes(t.name)...)
		out = append(out, b.u32(uint32(len(t.dims)))...)
		for _, d := range t.dims {
			out = append(out, b.u64(d)...)
		}
		out = append(out, b.u32(t.typ)...)
		out = append(out, b.u64(t.offset)...)
	}
	for len(out)%ggufAlign != 0 {
		out = append(out, 0)
	}
	return append(out, b.data...)
}

// kvEnd returns the offset just past the i-th KV pair of the assembled file.
func (b *ggufBuild) kvEnd(i int) int {
	n := 4 + 4 + 8 + 8
	for _, kv := range b.kvs[:i+1] {
		n += 8 + len(kv.key) + 4 + len(kv.value)
	}
	return n
}

func ptr(x uint64) *uint64 { return &x }

// with returns the bytes of the valid file changed by f.
func with(f func(b *ggufBuild)) []byte {
	b := validGGUF()
	f(b)
	return b.bytes()
}

func ggufCases() []badFile {
	// The depth bomb: an array whose single element is an array whose
	// single element is ..., 1,000 deep, around one u8.
	bomb := func(b *ggufBuild) ggufKV {
		var v []byte
		for range 1000 {
			v = append(v, b.u32(vtArray)...)
			v = append(v, b.u64(1)...)
		}
		v = append(v, b.u32(vtUint8)...)
		v = append(v, b.u64(1)...)
		v = append(v, 7)
		return ggufKV{key: "bomb", vtype: vtArray, value: v}
	}
	truncated := validGGUF()
	truncated.kvs = append(truncated.kvs, truncated.str("general.description", strings.Repeat("d", 40)))
	cut := truncated.kvEnd(1) + 8 + len("general.description") + 4 + 8 + 10

	cases := []badFile{
		{name: "gguf-bad-magic.gguf", expect: []string{`header`, `not a GGUF file`}, broken: "the magic is PK\\x03\\x04 (a zip archive, such as a PyTorch checkpoint), not GGUF",
			data: with(func(b *ggufBuild) { b.magic = "PK\x03\x04" })},
		{name: "gguf-ggml-magic.gguf", expect: []string{`not a GGUF file`, `GGML`}, broken: "the legacy GGML magic (0x67676d6c, bytes \"lmgg\") of pre-GGUF llama.cpp files",
			data: with(func(b *ggufBuild) { b.magic = "lmgg" })},
		{name: "gguf-v1.gguf", expect: []string{`unsupported GGUF version`, `version 1`}, broken: "version 1",
			data: with(func(b *ggufBuild) { b.version = 1 })},
		{name: "gguf-v4.gguf", expect: []string{`unsupported GGUF version`, `version 4`}, broken: "version 4",
			data: with(func(b *ggufBuild) { b.version = 4 })},
		{name: "gguf-big-endian.gguf", expect: []string{`header`, `big-endian or byte-swapped file`}, broken: "the whole file big-endian: version 3 reads as 0x03000000",
			data: with(func(b *ggufBuild) {
				b.order = binary.BigEndian
				b.kvs = []ggufKV{b.str("general.architecture", "llama"), b.str("general.name", "corpus")}
			})},
		{name: "gguf-tensor-count.gguf", expect: []string{`tensor count`, `truncated`}, broken: "tensor_count 2^62",
			data: with(func(b *ggufBuild) { b.tensorCount = ptr(1 << 62) })},
		{name: "gguf-kv-count.gguf", expect: []string{`kv count`, `truncated`}, broken: "kv_count 2^62",
			data: with(func(b *ggufBuild) { b.kvCount = ptr(1 << 62) })},
		{name: "gguf-string-length.gguf", expect: []string{`key "general.name"`, `truncated`}, broken: "the value of key \"general.name\" claims 2^60 bytes",
			data: with(func(b *ggufBuild) { b.kvs[1].value = append(b.u64(1<<60), "corpus"...) })},
		{name: "gguf-array-count.gguf", expect: []string{`key "tokenizer.ggml.scores"`, `truncated`}, broken: "key \"tokenizer.ggml.scores\" is an f32 array claiming 2^62 elements",
			data: with(func(b *ggufBuild) {
				v := append(b.u32(6), b.u64(1<<62)...)
				b.kvs = append(b.kvs, ggufKV{key: "tokenizer.ggml.scores", vtype: vtArray, value: append(v, 0, 0, 0x80, 0x3f)})
			})},
		{name: "gguf-array-depth.gguf", expect: []string{`key "bomb"`, `limit exceeded`}, broken: "key \"bomb\" nests arrays 1,000 deep",
			data: with(func(b *ggufBuild) { b.kvs = append(b.kvs, bomb(b)) })},
		{name: "gguf-value-type-13.gguf", expect: []string{`key "general.name"`, `unknown type`, `13`}, broken: "key \"general.name\" has value type 13, one past f64",
			data: with(func(b *ggufBuild) { b.kvs[1].vtype = 13 })},
		{name: "gguf-value-type-99.gguf", expect: []string{`key "general.name"`, `unknown type`, `99`}, broken: "key \"general.name\" has value type 99",
			data: with(func(b *ggufBuild) { b.kvs[1].vtype = 99 })},
		{name: "gguf-duplicate-key.gguf", expect: []string{`key "general.name"`, `duplicate`}, broken: "key \"general.name\" twice",
			data: with(func(b *ggufBuild) { b.kvs = append(b.kvs, b.str("general.name", "again")) })},
		{name: "gguf-ggml-type-200.gguf", expect: []string{`tensor "b"`, `unknown type`, `200`}, broken: "tensor \"b\" has ggml type 200",
			data: with(func(b *ggufBuild) { b.tensors[1].typ = 200 })},
		{name: "gguf-ggml-type-removed.gguf", expect: []string{`tensor "b"`, `unknown type`, `removed`}, broken: "tensor \"b\" has ggml type 4 (Q4_2, removed)",
			data: with(func(b *ggufBuild) { b.tensors[1].typ = ggmlQ4_2 })},
		{name: "gguf-ndims-5.gguf", expect: []string{`tensor "b"`, `invalid value`, `n_dims`}, broken: "tensor \"b\" has 5 dimensions {4,2,1,1,1}",
			data: with(func(b *ggufBuild) { b.tensors[1].dims = []uint64{4, 2, 1, 1, 1} })},
		{name: "gguf-block-size.gguf", expect: []string{`tensor "b"`, `invalid value`, `block size`}, broken: "tensor \"b\" is Q8_0 with ne[0] = 33, not a multiple of the block size 32",
			data: with(func(b *ggufBuild) { b.tensors[1].typ, b.tensors[1].dims = ggmlQ8_0, []uint64{33, 1} })},
		{name: "gguf-misaligned.gguf", expect: []string{`tensor "b"`, `bad alignment`}, broken: "tensor \"b\" at data offset 40, not a multiple of the alignment 32",
			data: with(func(b *ggufBuild) { b.tensors[1].offset, b.data = 40, stData(72) })},
		{name: "gguf-alignment-0.gguf", expect: []string{`key "general.alignment"`, `bad alignment`}, broken: "general.alignment = 0",
			data: with(func(b *ggufBuild) { b.kvs = append(b.kvs, b.uint32KV("general.alignment", 0)) })},
		{name: "gguf-alignment-24.gguf", expect: []string{`key "general.alignment"`, `bad alignment`}, broken: "general.alignment = 24, not a power of two",
			data: with(func(b *ggufBuild) { b.kvs = append(b.kvs, b.uint32KV("general.alignment", 24)) })},
		{name: "gguf-past-eof.gguf", expect: []string{`tensor "b"`, `out of bounds`}, broken: "tensor \"b\" needs data bytes 32-64 but the file ends 16 bytes short",
			data: with(func(b *ggufBuild) { b.data = stData(48) })},
		{name: "gguf-overlap.gguf", expect: []string{`tensor "b"`, `overlapping tensors`, `tensor "a"`}, broken: "tensor \"a\" is F32 ne {16}, data 0-64, overlapping \"b\" at 32-64",
			data: with(func(b *ggufBuild) { b.tensors[0].dims = []uint64{16} })},
		{name: "gguf-truncated-kv.gguf", expect: []string{`key "general.description"`, `truncated`}, broken: "the file ends 10 bytes into the value of key \"general.description\"",
			data: truncated.bytes()[:cut]},
	}
	// A split set of three parts with the second missing.
	for _, no := range []int{1, 3} {
		b := validGGUF()
		b.kvs = append(b.kvs,
			ggufKV{key: "split.no", vtype: vtUint16, value: b.order.AppendUint16(nil, uint16(no-1))},
			ggufKV{key: "split.count", vtype: vtUint16, value: b.order.AppendUint16(nil, 3)},
			ggufKV{key: "split.tensors.count", vtype: vtInt32, value: b.u32(6)})
		for i := range b.tensors {
			b.tensors[i].name += "." + string(rune('0'+no))
		}
		c := badFile{name: "split-missing/corpus-0000" + string(rune('0'+no)) + "-of-00003.gguf", data: b.bytes()}
		if no == 1 {
			c.broken = "a split set of 3 parts with part 2 missing"
			c.expect = []string{"missing", "corpus-00002-of-00003.gguf"}
		} else {
			c.companion = true
		}
		cases = append(cases, c)
	}
	return cases
}

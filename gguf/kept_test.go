package gguf_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/gguf"
)

// keptFile encodes a header with a long string array (one element longer
// than 64 bytes, to cross a small read buffer), a long i32 array, a long
// bool array, a short string array and an array of arrays; edit changes
// the vocabulary's token i.
func keptFile(tb testing.TB, edit int) []byte {
	tb.Helper()
	tokens := make([]string, 3000)
	types := make([]int32, len(tokens))
	flags := make([]gguf.Value, 200)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%d", i)
		types[i] = int32(i % 5)
	}
	for i := range flags {
		flags[i] = gguf.Bool(i%3 == 0)
	}
	tokens[7] = strings.Repeat("long token ", 12)
	if edit >= 0 {
		tokens[edit] += "!"
	}
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray(tokens)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32Array(types)},
		{Key: "flags", Value: gguf.Array(gguf.ValueBool, flags...)},
		{Key: "short", Value: gguf.StringArray([]string{"a", "bc"})},
		{Key: "nested", Value: gguf.Array(gguf.ValueArray, gguf.Int32Array([]int32{1, 2, 3}), gguf.Int32Array([]int32{4}))},
	}
	return buildFile(tb, 3, kvs, []gguf.TensorInfo{{Name: "w", Dims: []int64{4}, Type: gguf.TypeF32}})
}

func TestKeptArrayLen(t *testing.T) {
	file := keptFile(t, -1)
	full, err := readBytes(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, buf := range []int{16, 64 << 10} {
		t.Run(fmt.Sprintf("buffer %d", buf), func(t *testing.T) {
			f, err := readBytes(file, gguf.WithKeptArrayLen(2), gguf.WithBufferSize(buf))
			if err != nil {
				t.Fatal(err)
			}
			if f.DataOffset != full.DataOffset || len(f.KVs) != len(full.KVs) {
				t.Fatalf("DataOffset %d, %d KVs; want %d, %d", f.DataOffset, len(f.KVs), full.DataOffset, len(full.KVs))
			}
			// The long arrays of strings and of fixed-size values are not
			// kept, the short one and the array of arrays (of 2) are.
			wantKept := map[string]bool{"general.architecture": true, "tokenizer.ggml.tokens": false,
				"tokenizer.ggml.token_type": false, "flags": false, "short": true, "nested": true}
			for i, kv := range f.KVs {
				w := full.KVs[i].Value
				if got := kv.Value.Kept(); got != wantKept[kv.Key] {
					t.Errorf("%s: Kept() = %v, want %v", kv.Key, got, wantKept[kv.Key])
				}
				if kv.Value.Type() != w.Type() || kv.Value.ElemType() != w.ElemType() || kv.Value.Len() != w.Len() {
					t.Errorf("%s: %v of %v × %d, want %v of %v × %d", kv.Key, kv.Value.Type(), kv.Value.ElemType(), kv.Value.Len(), w.Type(), w.ElemType(), w.Len())
				}
				if kv.Value.Kept() && !kv.Value.Equal(w) {
					t.Errorf("%s = %v, want %v", kv.Key, kv.Value, w)
				}
			}
			toks, _ := f.Get("tokenizer.ggml.tokens")
			if toks.Len() != 3000 || toks.Any() != nil {
				t.Errorf("tokens: Len() = %d, Any() = %v; want 3000, nil", toks.Len(), toks.Any())
			}
			if s, ok := toks.Strings(); ok || s != nil {
				t.Errorf("tokens: Strings() = %d strings, %v; want none, false", len(s), ok)
			}
			if got, want := toks.String(), "[... (3000 string, not kept)]"; got != want {
				t.Errorf("tokens: String() = %q, want %q", got, want)
			}
			if _, err := f.GetStrings("tokenizer.ggml.tokens"); !errors.Is(err, gguf.ErrNotKept) {
				t.Errorf("GetStrings(tokens) error = %v, want ErrNotKept", err)
			}
			if _, _, err := gguf.EncodeHeader(3, f.KVs, f.Tensors); !errors.Is(err, gguf.ErrNotKept) {
				t.Errorf("EncodeHeader error = %v, want ErrNotKept", err)
			}
			if toks.Equal(full.KVs[1].Value) {
				t.Error("an array not kept equals the same array kept")
			}
		})
	}
}

// TestKeptArrayLenEqual: arrays not kept compare by their elements' hash,
// whatever the buffer they were read through; one changed token (the long
// one read in pieces, or a short one) makes them differ.
func TestKeptArrayLenEqual(t *testing.T) {
	read := func(edit, buf int) gguf.Value {
		t.Helper()
		f, err := readBytes(keptFile(t, edit), gguf.WithKeptArrayLen(0), gguf.WithBufferSize(buf))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := f.Get("tokenizer.ggml.tokens")
		return v
	}
	a, b := read(-1, 16), read(-1, 64<<10)
	if !a.Equal(b) || !a.Equal(a) {
		t.Error("the same array read through two buffer sizes differs")
	}
	for _, edit := range []int{0, 7, 2999} {
		if a.Equal(read(edit, 64<<10)) || a.Equal(read(edit, 16)) {
			t.Errorf("token %d changed: arrays still equal", edit)
		}
	}
	x, _ := readBytes(keptFile(t, -1), gguf.WithKeptArrayLen(0))
	y, _ := readBytes(keptFile(t, -1), gguf.WithKeptArrayLen(0))
	for _, p := range []*gguf.File{x, y} {
		if p == nil {
			t.Fatal("read failed")
		}
	}
	for i := range x.KVs {
		if !x.KVs[i].Value.Equal(y.KVs[i].Value) {
			t.Errorf("%s: two reads of one file differ", x.KVs[i].Key)
		}
	}
}

// TestWithoutDroppedHash: arrays not kept and not hashed are read as
// hashed ones are, through any buffer, but equal no other array: not
// themselves, not the same array hashed.
func TestWithoutDroppedHash(t *testing.T) {
	hashed, err := readBytes(keptFile(t, -1), gguf.WithKeptArrayLen(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, buf := range []int{16, 64 << 10} {
		bare, err := readBytes(keptFile(t, -1), gguf.WithKeptArrayLen(0), gguf.WithoutDroppedHash(), gguf.WithBufferSize(buf))
		if err != nil {
			t.Fatal(err)
		}
		if bare.DataOffset != hashed.DataOffset || len(bare.KVs) != len(hashed.KVs) || len(bare.Tensors) != len(hashed.Tensors) {
			t.Fatalf("buffer %d: DataOffset %d, %d KVs, %d tensors; want %d, %d, %d", buf,
				bare.DataOffset, len(bare.KVs), len(bare.Tensors), hashed.DataOffset, len(hashed.KVs), len(hashed.Tensors))
		}
		dropped := 0
		for i, kv := range bare.KVs {
			h := hashed.KVs[i]
			if kv.Key != h.Key || kv.Value.Type() != h.Value.Type() || kv.Value.Len() != h.Value.Len() || kv.Value.Kept() != h.Value.Kept() {
				t.Errorf("buffer %d: kv %d is %q (%v), want %q (%v)", buf, i, kv.Key, kv.Value, h.Key, h.Value)
			}
			if kv.Value.Kept() {
				if !kv.Value.Equal(h.Value) {
					t.Errorf("buffer %d: %q = %v, want %v", buf, kv.Key, kv.Value, h.Value)
				}
				continue
			}
			dropped++
			if kv.Value.Equal(kv.Value) || kv.Value.Equal(h.Value) || h.Value.Equal(kv.Value) {
				t.Errorf("buffer %d: %q, not hashed, equals an array", buf, kv.Key)
			}
		}
		if dropped == 0 {
			t.Fatal("no array was dropped")
		}
	}
}

// TestKeptArrayLenChecks: an array not kept is checked as one kept is: the
// same error, at the same offset, for a bad bool, an over-long string and
// a truncated array.
func TestKeptArrayLenChecks(t *testing.T) {
	file := keptFile(t, -1)
	// The flags array's elements follow its key, value type, element type
	// and count.
	at := strings.Index(string(file), "flags") + len("flags") + 4 + 4 + 8
	badBool := append([]byte(nil), file...)
	badBool[at+4] = 2 // element 4 (false) becomes 2
	cases := []struct {
		name string
		file []byte
		opts []gguf.Option
	}{
		{"bool byte 2", badBool, nil},
		{"string over the cap", file, []gguf.Option{gguf.WithMaxStringLen(100)}},
		{"string over the cap, small buffer", file, []gguf.Option{gguf.WithMaxStringLen(100), gguf.WithBufferSize(16)}},
		{"truncated in the tokens", file[:200], nil},
		{"truncated in the token types", file[:strings.Index(string(file), "token_type")+40], nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, want := readBytes(c.file, c.opts...)
			if want == nil {
				t.Fatal("kept: no error")
			}
			_, got := readBytes(c.file, append(c.opts, gguf.WithKeptArrayLen(1))...)
			if got == nil || got.Error() != want.Error() {
				t.Errorf("not kept: error %v, want %v", got, want)
			}
			_, got = readBytes(c.file, append(c.opts, gguf.WithKeptArrayLen(1), gguf.WithoutDroppedHash())...)
			if got == nil || got.Error() != want.Error() {
				t.Errorf("not kept, not hashed: error %v, want %v", got, want)
			}
		})
	}
	if _, err := readBytes(file, gguf.WithKeptArrayLen(-1)); err == nil {
		t.Error("Read with WithKeptArrayLen(-1) succeeded")
	}
}

// TestKeptArrayLenMemory: a header like Llama 3's (a 128k vocabulary and
// 280k merges) read without its arrays allocates a small part of what
// their bytes alone take.
func TestKeptArrayLenMemory(t *testing.T) {
	tokens := make([]string, 128256)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%d", i)
	}
	merges := make([]string, 280147)
	for i := range merges {
		merges[i] = fmt.Sprintf("m%d n%d", i/512, i%512)
	}
	arrays := 0
	for _, s := range append(tokens, merges...) {
		arrays += len(s)
	}
	h := buildFile(t, 3, []gguf.KV{
		{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray(tokens)},
		{Key: "tokenizer.ggml.merges", Value: gguf.StringArray(merges)},
	}, nil)
	var err error
	kept := allocated(func() { _, err = readBytes(h) })
	if err != nil {
		t.Fatal(err)
	}
	dropped := allocated(func() { _, err = readBytes(h, gguf.WithKeptArrayLen(4096)) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes of strings: %d bytes allocated kept, %d not kept", arrays, kept, dropped)
	if kept < uint64(arrays) {
		t.Errorf("kept: %d bytes allocated for %d bytes of strings", kept, arrays)
	}
	if dropped > uint64(arrays)/10 {
		t.Errorf("not kept: %d bytes allocated, want at most a tenth of the %d bytes of strings", dropped, arrays)
	}
}

// TestReadVocabularyNoRegrowth: a vocabulary's strings are stored once,
// not copied as their store grows. The Qwen3 layout's tokens average 8.3
// bytes and its merges 12.4 (real merges, "Ġt he", take about 11), more
// than a store sized at 8 bytes a string held: it was copied as it grew,
// 9.6 MB allocated for the 6.3 MB header. Now what Read allocates is the
// header's strings, their ends (4 bytes each) and the token types, and
// the room left in the stores: at most 1.2 times the header.
func TestReadVocabularyNoRegrowth(t *testing.T) {
	h, vf := qwen3File()
	var err error
	alloc := allocated(func() { _, err = gguf.Read(vf, vf.size) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d-byte header: %d bytes allocated (%.2f×)", len(h), alloc, float64(alloc)/float64(len(h)))
	if limit := uint64(len(h)) * 12 / 10; alloc > limit {
		t.Errorf("Read allocated %d bytes for a %d-byte header, want at most %d", alloc, len(h), limit)
	}
}

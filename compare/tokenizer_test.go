package compare_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/gguf"
)

// hfWithTokenizer copies testdata/tiny/hf-f32 (vocab_size 64, an
// embedding of 64 rows) into a temporary folder with a tokenizer.json of
// a BPE vocab of ids 0..vocab−1 and added tokens of the given ids, and
// loads it.
func hfWithTokenizer(t *testing.T, vocab int, added []int) *checkpoint.Checkpoint {
	t.Helper()
	dir := t.TempDir()
	from := filepath.Join("..", "testdata", "tiny", "hf-f32")
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int{}
	for i := range vocab {
		ids[fmt.Sprintf("t%d", i)] = i
	}
	type addedToken struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	}
	var at []addedToken
	for _, id := range added {
		at = append(at, addedToken{ID: id, Content: fmt.Sprintf("<|a%d|>", id), Special: true})
	}
	doc := map[string]any{"version": "1.0", "added_tokens": at, "model": map[string]any{"type": "BPE", "vocab": ids, "merges": []string{}}}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return loadPath(t, dir)
}

// ggufWithTokens rewrites testdata/tiny/gguf/tiny-f32.gguf (64 tokens, an
// embedding of 64 rows) with a tokenizer.ggml.tokens of n tokens, the
// tensors unchanged, and loads it.
func ggufWithTokens(t *testing.T, n int) *checkpoint.Checkpoint {
	t.Helper()
	path := filepath.Join("..", "testdata", "tiny", "gguf", "tiny-f32.gguf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	kvs := slices.Clone(f.KVs)
	found := false
	for i, kv := range kvs {
		switch kv.Key {
		case "tokenizer.ggml.tokens":
			toks := make([]string, n)
			for j := range toks {
				toks[j] = fmt.Sprintf("t%d", j)
			}
			kvs[i].Value, found = gguf.StringArray(toks), true
		case "tokenizer.ggml.token_type":
			kvs[i].Value = gguf.Int32Array(make([]int32, n))
		}
	}
	if !found {
		t.Fatal("the fixture has no tokenizer.ggml.tokens")
	}
	head, size, err := gguf.EncodeHeader(f.Version, kvs, slices.Clone(f.Tensors))
	if err != nil {
		t.Fatal(err)
	}
	out := append(head, data[f.DataOffset:f.DataOffset+size]...)
	dst := filepath.Join(t.TempDir(), "tiny-f32.gguf")
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return loadPath(t, dst)
}

// The tokenizers' sizes against the embeddings (64 rows on both sides):
// a tokenizer.json short of the embedding is padding and passes (as
// Qwen3's 151,669 ids against 151,936 rows); added tokens that reuse ids
// of the vocab do not add to the size; one with more ids than the rows
// fails naming both numbers; a GGUF token list of another length than
// its embedding fails naming both.
func TestTokenizerSize(t *testing.T) {
	tests := []struct {
		name      string
		a         func(t *testing.T) *checkpoint.Checkpoint
		b         func(t *testing.T) *checkpoint.Checkpoint
		wantField string   // "" for a pass
		wantIn    []string // in the finding's message
	}{
		{"padded: 56 of vocab + 4 added against 64 rows",
			func(t *testing.T) *checkpoint.Checkpoint { return hfWithTokenizer(t, 56, []int{56, 57, 58, 59}) },
			func(t *testing.T) *checkpoint.Checkpoint { return load(t, "gguf/tiny-f32.gguf") }, "", nil},
		{"added tokens inside the vocab: 64 ids",
			func(t *testing.T) *checkpoint.Checkpoint { return hfWithTokenizer(t, 64, []int{0, 1, 63}) },
			func(t *testing.T) *checkpoint.Checkpoint { return load(t, "gguf/tiny-f32.gguf") }, "", nil},
		{"tokenizer.json of 70 ids against 64 rows",
			func(t *testing.T) *checkpoint.Checkpoint {
				return hfWithTokenizer(t, 64, []int{64, 65, 66, 67, 68, 69})
			},
			func(t *testing.T) *checkpoint.Checkpoint { return load(t, "gguf/tiny-f32.gguf") },
			"tokenizer.json", []string{"defines 70 token ids", "has 64 rows"}},
		{"GGUF of 60 tokens against its 64 rows",
			func(t *testing.T) *checkpoint.Checkpoint { return load(t, "hf-f32") },
			func(t *testing.T) *checkpoint.Checkpoint { return ggufWithTokens(t, 60) },
			"tokenizer.ggml.tokens", []string{"holds 60 tokens", "token_embd.weight has 64 rows"}},
		{"GGUF of 60 tokens short of tokenizer.json's 62",
			func(t *testing.T) *checkpoint.Checkpoint { return hfWithTokenizer(t, 60, []int{60, 61}) },
			func(t *testing.T) *checkpoint.Checkpoint { return ggufWithTokens(t, 60) },
			"tokenizer.ggml.tokens", []string{"defines 62 token ids", "only 60"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := compare.Run(context.Background(), tt.a(t), tt.b(t), compare.Options{Sample: 4})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantField == "" {
				if !r.Pass {
					t.Errorf("%s; metadata %+v", r.Headline, r.Metadata)
				}
				return
			}
			hit := slices.ContainsFunc(r.Metadata, func(f compare.Finding) bool {
				if f.Field != tt.wantField {
					return false
				}
				for _, w := range tt.wantIn {
					if !strings.Contains(f.Message, w) {
						return false
					}
				}
				return true
			})
			if r.Pass || !hit {
				t.Errorf("%s; metadata %+v, want a %s finding with %q", r.Headline, r.Metadata, tt.wantField, tt.wantIn)
			}
		})
	}
}

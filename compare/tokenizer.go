package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
)

// maxTokenizerBytes caps tokenizer.json, which is read whole: Gemma 3's,
// the largest published, is 33 MB.
const maxTokenizerBytes = 128 << 20

// vocabulary is what one side says of its tokens.
type vocabulary struct {
	source string
	format checkpoint.Format
	// tokens is the tokenizer's size, -1 when the side has no tokenizer:
	// for GGUF the length of tokenizer.ggml.tokens; for Hugging Face
	// tokenizer.json's highest token id + 1 over model.vocab and
	// added_tokens (an added token may reuse an id of the vocab).
	tokens int64
	// rows is the embedding's rows, -1 without an embedding; embedding
	// names the tensor.
	rows      int64
	embedding string
}

// tokenizerFrom reads what side s says of its vocabulary; an unreadable
// tokenizer.json is a finding, a failure to read it at all an error.
func tokenizerFrom(ctx context.Context, s *side) (vocabulary, []Finding, error) {
	v := vocabulary{source: s.ck.Source, format: s.ck.Format, tokens: -1, rows: -1}
	for i, r := range s.roles {
		if r.Known && r.Component == arch.CompEmbedding && len(s.inv.Tensors[i].Logical) == 2 {
			v.rows, v.embedding = s.inv.Tensors[i].Logical[0], s.inv.Tensors[i].Name
			break
		}
	}
	switch s.ck.Format {
	case checkpoint.FormatGGUF:
		if len(s.ck.GGUF) > 0 {
			if toks, ok := s.ck.GGUF[0].Get("tokenizer.ggml.tokens"); ok && toks.Type() == gguf.ValueArray {
				v.tokens = int64(toks.Len())
			}
		}
		return v, nil, nil
	}
	src := s.ck.Origin()
	if src == nil {
		return v, nil, nil
	}
	data, err := hub.ReadFile(ctx, src, "tokenizer.json", maxTokenizerBytes)
	switch {
	case errors.Is(err, hub.ErrNotExist):
		return v, nil, nil
	case errors.As(err, new(*hub.LimitError)):
		return v, []Finding{{Field: "tokenizer.json", Message: err.Error()}}, nil
	case err != nil:
		return v, nil, fmt.Errorf("%s: %w", hub.Path(src, "tokenizer.json"), err)
	}
	n, err := tokenizerSize(data)
	if err != nil {
		return v, []Finding{{Field: "tokenizer.json", Message: fmt.Sprintf("%s: %v", hub.Path(src, "tokenizer.json"), err)}}, nil
	}
	v.tokens = n
	return v, nil, nil
}

// tokenizerSize returns the number of token ids a Hugging Face
// tokenizer.json defines: the highest id + 1 over model.vocab (an object
// of token → id for BPE, WordPiece and WordLevel; an array of [token,
// score] pairs, the id the index, for Unigram) and added_tokens (objects
// with an id), as the tokenizers library numbers them.
func tokenizerSize(data []byte) (int64, error) {
	var doc struct {
		Model struct {
			Vocab json.RawMessage `json:"vocab"`
		} `json:"model"`
		AddedTokens []struct {
			ID *int64 `json:"id"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("not a tokenizer: %w", err)
	}
	var n int64
	see := func(id int64) error {
		if id < 0 || id >= arch.MaxDim {
			return fmt.Errorf("token id %d out of range", id)
		}
		n = max(n, id+1)
		return nil
	}
	switch vocab := bytes.TrimSpace(doc.Model.Vocab); {
	case len(vocab) == 0 || string(vocab) == "null":
	case vocab[0] == '[':
		var pairs []json.RawMessage
		if err := json.Unmarshal(vocab, &pairs); err != nil {
			return 0, fmt.Errorf("model.vocab: %w", err)
		}
		n = int64(len(pairs))
	default:
		var ids map[string]int64
		if err := json.Unmarshal(vocab, &ids); err != nil {
			return 0, fmt.Errorf("model.vocab: %w", err)
		}
		for tok, id := range ids {
			if err := see(id); err != nil {
				return 0, fmt.Errorf("model.vocab %q: %w", tok, err)
			}
		}
	}
	for i, a := range doc.AddedTokens {
		if a.ID == nil {
			return 0, fmt.Errorf("added_tokens[%d] has no id", i)
		}
		if err := see(*a.ID); err != nil {
			return 0, fmt.Errorf("added_tokens[%d]: %w", i, err)
		}
	}
	return n, nil
}

// maxEmbeddingPadding is how many more rows an embedding may have than
// its tokenizer has ids. Training code pads the embedding to a round size
// or reserves slots the tokenizer does not define, and those rows are
// never looked up; the published gaps (tokenizer ids against embedding
// rows) are: Llama 3 none (128,256 both); Gemma 3 63 (ids through its
// image token 262,144, so 262,145, against vocab_size 262,208); Qwen3 267
// (151,669 ids, the last added token </think> 151,668, against 151,936);
// DeepSeek-V3 465 (128,815 against 129,280); gpt-oss 1,069, the most
// (o200k_harmony's ids through <|endofprompt|> 200,018, so 200,019,
// against vocab_size 201,088). The limit is about twice that; a tokenizer
// of another model passes it only if its size is within 2,048 of the
// right one (Llama 2's 32,000 ids against Qwen3's 151,936 rows is off by
// 119,936).
const maxEmbeddingPadding = 2048

// tokenizerFindings checks the tokenizers' sizes against the embeddings
// and against each other. The rule: an embedding may have more rows than
// the tokenizer has tokens, by at most maxEmbeddingPadding, never fewer.
// So a Hugging Face tokenizer may fall short of its embedding and of the
// GGUF token list by that much. A GGUF token list equals its embedding's
// rows exactly: llama.cpp's converter pads the list to vocab_size with
// "[PAD<id>]" tokens (convert_hf_to_gguf.py, get_vocab_base and the
// SentencePiece path), and llama.cpp creates token_embd.weight as
// [n_embd, n_tokens] and refuses a file whose tensor has another shape
// (src/llama-model.cpp). For the same reason the GGUF list equals the
// Hugging Face config's vocab_size: every family's [arch.ConfigComparer]
// compares vocab_size with the list's length, so that is not said twice
// here.
func tokenizerFindings(vs [2]vocabulary) []Finding {
	var out []Finding
	for _, v := range vs {
		switch {
		case v.tokens < 0 || v.rows < 0:
		case v.format == checkpoint.FormatGGUF && v.tokens != v.rows:
			out = append(out, Finding{Field: "tokenizer.ggml.tokens", Tensor: v.embedding, Message: fmt.Sprintf(
				"%s: tokenizer.ggml.tokens holds %d tokens, %s has %d rows: llama.cpp loads the embedding as one row per token and refuses the file",
				v.source, v.tokens, v.embedding, v.rows)})
		case v.format != checkpoint.FormatGGUF && v.tokens > v.rows:
			out = append(out, Finding{Field: "tokenizer.json", Tensor: v.embedding, Message: fmt.Sprintf(
				"%s: tokenizer.json defines %d token ids, %s has %d rows: ids %d and above have no embedding",
				v.source, v.tokens, v.embedding, v.rows, v.rows)})
		case v.format != checkpoint.FormatGGUF && v.rows-v.tokens > maxEmbeddingPadding:
			out = append(out, Finding{Field: "tokenizer.json", Tensor: v.embedding, Message: fmt.Sprintf(
				"%s: tokenizer.json defines %d token ids, %s has %d rows: %d rows without a token, more than the %d of padding a model has (gpt-oss, the most published, 1,069): the tokenizer of another model?",
				v.source, v.tokens, v.embedding, v.rows, v.rows-v.tokens, maxEmbeddingPadding)})
		}
	}
	g, h := vs[0], vs[1]
	if g.format != checkpoint.FormatGGUF {
		g, h = h, g
	}
	if g.format != checkpoint.FormatGGUF || h.format == checkpoint.FormatGGUF || g.tokens < 0 {
		return out
	}
	switch {
	case h.tokens > g.tokens:
		out = append(out, Finding{Field: "tokenizer.ggml.tokens", Message: fmt.Sprintf(
			"%s's tokenizer.json defines %d token ids, %s's tokenizer.ggml.tokens only %d: the GGUF lacks %d of its tokens",
			h.source, h.tokens, g.source, g.tokens, h.tokens-g.tokens)})
	case h.tokens >= 0 && h.rows < 0 && g.tokens-h.tokens > maxEmbeddingPadding:
		// With an embedding, the Hugging Face side's own check says it.
		out = append(out, Finding{Field: "tokenizer.ggml.tokens", Message: fmt.Sprintf(
			"%s's tokenizer.json defines %d token ids, %s's tokenizer.ggml.tokens %d: %d more, beyond the %d of padding a model has: the tokenizer of another model?",
			h.source, h.tokens, g.source, g.tokens, g.tokens-h.tokens, maxEmbeddingPadding)})
	}
	return out
}

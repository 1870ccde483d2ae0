package compare

import (
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// The padding rule on published sizes (tokenizer ids against embedding
// rows; sources in maxEmbeddingPadding's comment) and on both sides of
// its limit, worked by hand: 2,048 rows more than the ids pass, 2,049 do
// not; a tokenizer of another model (Llama 2's 32,000 ids against
// Qwen3's 151,936 rows) fails, as does a GGUF token list far beyond a
// Hugging Face tokenizer that has no embedding beside it.
func TestEmbeddingPadding(t *testing.T) {
	hf := func(tokens, rows int64) vocabulary {
		return vocabulary{source: "hf", format: checkpoint.FormatSafetensors, tokens: tokens, rows: rows, embedding: "model.embed_tokens.weight"}
	}
	gg := func(n int64) vocabulary {
		return vocabulary{source: "gg", format: checkpoint.FormatGGUF, tokens: n, rows: n, embedding: "token_embd.weight"}
	}
	tests := []struct {
		name   string
		a, b   vocabulary
		wantIn string // in the one finding's message; "" for none
	}{
		{"Llama 3", hf(128256, 128256), gg(128256), ""},
		{"Gemma 3", hf(262145, 262208), gg(262208), ""},
		{"Qwen3", hf(151669, 151936), gg(151936), ""},
		{"DeepSeek-V3", hf(128815, 129280), gg(129280), ""},
		{"gpt-oss", hf(200019, 201088), gg(201088), ""},
		{"2,048 rows of padding", hf(100000, 102048), gg(102048), ""},
		{"2,049 rows of padding", hf(100000, 102049), gg(102049), "2049 rows without a token"},
		{"Llama 2's tokenizer on Qwen3", hf(32000, 151936), gg(151936), "119936 rows without a token"},
		{"no embedding: GGUF 2,048 beyond", hf(100000, -1), gg(102048), ""},
		{"no embedding: GGUF 2,049 beyond", hf(100000, -1), gg(102049), "2049 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tokenizerFindings([2]vocabulary{tt.a, tt.b})
			switch {
			case tt.wantIn == "" && len(got) != 0:
				t.Errorf("tokenizerFindings = %+v, want none", got)
			case tt.wantIn != "" && (len(got) != 1 || !strings.Contains(got[0].Message, tt.wantIn)):
				t.Errorf("tokenizerFindings = %+v, want one with %q", got, tt.wantIn)
			}
		})
	}
}

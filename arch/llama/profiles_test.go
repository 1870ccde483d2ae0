package llama_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch/llama"
)

func TestFindSizeLabel(t *testing.T) {
	tests := []struct {
		names       []string
		label, from string
	}{
		{[]string{"Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"}, "8B", "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"},
		{[]string{"meta-llama/Llama-3.2-1B"}, "1B", "meta-llama/Llama-3.2-1B"},
		{[]string{"1.2B"}, "1.2B", "1.2B"},
		{[]string{"mistral-7b-v0.1.Q8_0.gguf"}, "7B", "mistral-7b-v0.1.Q8_0.gguf"},
		{[]string{"Mixtral-8x7B-Instruct-v0.1"}, "8x7B", "Mixtral-8x7B-Instruct-v0.1"},
		{[]string{"8x7.2B"}, "8x7.2B", "8x7.2B"},
		{[]string{"llama3.1_70b"}, "70B", "llama3.1_70b"},
		// No label: bf16, the ".1b" of a version, a digit glued to letters,
		// Qwen's A22B.
		{[]string{"model-bf16.gguf", "llama-v3.1b", "tinyllama1b", "A22B"}, "", ""},
		{[]string{"model.gguf", "/models/Llama-2-7b-hf"}, "7B", "/models/Llama-2-7b-hf"},
	}
	for _, tt := range tests {
		label, from := llama.FindSizeLabel(tt.names...)
		if label != tt.label || from != tt.from {
			t.Errorf("FindSizeLabel(%q) = %q, %q; want %q, %q", tt.names, label, from, tt.label, tt.from)
		}
	}
}

// Profiles apply by dimensions, or by a name; a bare size label names none
// (Llama 2 7B and Mistral 7B share "7B"). The labels llama.cpp writes
// ("1.2B", "8.0B", "8x7.2B") fit their models as the model's own do.
func TestRecognize(t *testing.T) {
	mutate := func(c *llama.Config, f func(*llama.Config)) *llama.Config { f(c); return c }
	tests := []struct {
		name      string
		cfg       *llama.Config
		names     []string
		profile   string // "" for none
		conflicts []string
	}{
		{"Llama-3.1-8B by dimensions", llama.Llama31_8B(), nil, "Llama-3.1-8B", nil},
		{"Llama-3-8B: the same dimensions, no llama3 RoPE", llama.Llama3_8B(), nil, "Llama-3-8B", nil},
		{"Llama-3-8B's dimensions named 3.1", llama.Llama3_8B(), []string{"Meta-Llama-3.1-8B-Instruct"}, "Llama-3.1-8B", nil},
		{"Llama-3.2-1B with llama.cpp's label", llama.Llama32_1B(), []string{"1.2B", "Llama-3.2-1B-Instruct"}, "Llama-3.2-1B", nil},
		{"Llama-3.1-8B with llama.cpp's label", llama.Llama31_8B(), []string{"8.0B"}, "Llama-3.1-8B", nil},
		{"Mixtral with llama.cpp's label", llama.Mixtral8x7B_v01(), []string{"8x7.2B"}, "Mixtral-8x7B-v0.1", nil},
		{"Mixtral with its own", llama.Mixtral8x7B_v01(), []string{"Mixtral-8x7B-Instruct-v0.1"}, "Mixtral-8x7B-v0.1", nil},
		{"Mistral named 7B", llama.Mistral7B_v01(), []string{"mistral-7b-instruct-v0.1.Q4_K_M.gguf"}, "Mistral-7B-v0.1", nil},
		{"Llama-2-7B named 7B", llama.Llama2_7B(), []string{"Llama-2-7b-chat-hf"}, "Llama-2-7B", nil},
		{"a 7B of no profile: the label alone applies none", mutate(llama.Llama2_7B(), func(c *llama.Config) { c.IntermediateSize = 11264 }),
			[]string{"some-7b-model"}, "", nil},
		{"Llama-3.1-8B's dimensions labelled 1B", llama.Llama31_8B(), []string{"Llama-3.2-1B"}, "Llama-3.1-8B", []string{""}},
		{"Mistral's dimensions named Llama-3.1-8B", llama.Mistral7B_v01(), []string{"Llama-3.1-8B"}, "Mistral-7B-v0.1", []string{""}},
		{"named Llama-3.1-8B, another width", mutate(llama.Llama31_8B(), func(c *llama.Config) { c.IntermediateSize = 14208 }),
			[]string{"Meta-Llama-3.1-8B"}, "Llama-3.1-8B", []string{"intermediate_size"}},
		{"Llama-3.2-1B untied", mutate(llama.Llama32_1B(), func(c *llama.Config) { c.TieWordEmbeddings = false }),
			nil, "Llama-3.2-1B", []string{"tie_word_embeddings"}},
		{"Mixtral at top-3", mutate(llama.Mixtral8x7B_v01(), func(c *llama.Config) { c.NumExpertsPerTok = 3 }),
			nil, "Mixtral-8x7B-v0.1", []string{"num_experts_per_tok"}},
		{"a fine-tune with a longer context is the model", mutate(llama.Mistral7B_v01(), func(c *llama.Config) {
			c.MaxPositionEmbeddings, c.RopeTheta, c.SlidingWindow = 131072, 1e6, nil
		}), nil, "Mistral-7B-v0.1", nil},
		{"a Mixtral name does not apply to a llama", llama.TinyDense(), []string{"Mixtral-8x7B"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := llama.MustNew(tt.cfg).Recognize(tt.names...)
			var got string
			if r.Profile != nil {
				got = r.Profile.Name
			}
			var fields []string
			for _, c := range r.Conflicts {
				fields = append(fields, c.Field)
			}
			if got != tt.profile || !cmp.Equal(fields, tt.conflicts) {
				t.Errorf("Recognize(%q) = profile %q, conflicts %+v; want %q with conflicts on %q", tt.names, got, r.Conflicts, tt.profile, tt.conflicts)
			}
		})
	}
}

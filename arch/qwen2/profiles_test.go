package qwen2_test

import (
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch/qwen2"
)

func TestFindDenseLabel(t *testing.T) {
	tests := []struct {
		names []string
		label string
	}{
		{[]string{"Qwen/Qwen2.5-7B"}, "7B"},
		{[]string{"Qwen2.5-0.5B-Instruct"}, "0.5B"},
		{[]string{"qwen2.5-0_5b-instruct-fp16.gguf"}, "0.5B"},
		{[]string{"Qwen2.5-72B-Instruct-Q4_K_M.gguf"}, "72B"},
		{[]string{"7.6B", "Qwen2.5-7B"}, "7.6B"}, // llama.cpp's computed general.size_label comes first
		{[]string{"494M"}, "494M"},
		{[]string{"Qwen2.5-7B-Instruct-1M"}, "7B"},
		{[]string{"Qwen2.5"}, ""},
		{[]string{"Qwen2-57B-A14B"}, ""}, // a mixture of experts: not a dense label
		{[]string{"Qwen2-57B-A14B", "qwen2-7b"}, "7B"},
		{[]string{"model-00001-of-00004.safetensors", "Q4_K_M", "IQ2_M", "bf16"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		label, where := qwen2.FindDenseLabel(tt.names...)
		if label != tt.label || (label != "" && !strings.Contains(strings.ToUpper(strings.ReplaceAll(where, "_", ".")), label)) {
			t.Errorf("FindDenseLabel(%q) = %q in %q, want %q", tt.names, label, where, tt.label)
		}
	}
}

func TestRecognize(t *testing.T) {
	untied := qwen2.Qwen2_5_0_5B()
	untied.TieWordEmbeddings = false
	longer := qwen2.Qwen2_5_7B()
	longer.MaxPositionEmbeddings, longer.RopeTheta, longer.RMSNormEps, longer.MaxWindowLayers = 32768, 5e6, 1e-5, 70
	other := qwen2.Tiny()
	tests := []struct {
		name      string
		cfg       *qwen2.Config
		names     []string
		profile   string
		conflicts []string // the fields in conflict, "label" for a label naming another profile
	}{
		{"by name and dimensions", qwen2.Qwen2_5_7B(), []string{"Qwen/Qwen2.5-7B"}, "Qwen2.5-7B", nil},
		{"llama.cpp's computed label", qwen2.Qwen2_5_7B(), []string{"7.6B", "Qwen2.5-7B-F16"}, "Qwen2.5-7B", nil},
		{"computed label of 0.5B", qwen2.Qwen2_5_0_5B(), []string{"494M"}, "Qwen2.5-0.5B", nil},
		{"computed label of 72B", qwen2.Qwen2_5_72B(), []string{"73B"}, "Qwen2.5-72B", nil},
		{"dimensions alone", qwen2.Qwen2_5_72B(), []string{"model.gguf"}, "Qwen2.5-72B", nil},
		{"instruct-like context and epsilon", longer, []string{"Qwen2.5-7B-Instruct"}, "Qwen2.5-7B", nil},
		{"label of another profile", qwen2.Qwen2_5_7B(), []string{"Qwen2.5-72B"}, "Qwen2.5-7B", []string{"label"}},
		{"untied 0.5B", untied, []string{"Qwen2.5-0.5B"}, "Qwen2.5-0.5B", []string{"tie_word_embeddings"}},
		{"a label, other dimensions", other, []string{"Qwen2.5-7B"}, "Qwen2.5-7B",
			[]string{"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim"}},
		{"nothing known", other, []string{"tiny"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := qwen2.MustNew(tt.cfg).Recognize(tt.names...)
			got := ""
			if r.Profile != nil {
				got = r.Profile.Name
			}
			var fields []string
			for _, c := range r.Conflicts {
				if c.Field == "" {
					fields = append(fields, "label")
				} else {
					fields = append(fields, c.Field)
				}
			}
			if got != tt.profile || strings.Join(fields, ",") != strings.Join(tt.conflicts, ",") {
				t.Errorf("Recognize(%q) = profile %q, conflicts %+v; want %q, %v", tt.names, got, r.Conflicts, tt.profile, tt.conflicts)
			}
		})
	}
}

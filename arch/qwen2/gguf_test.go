package qwen2_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
)

// The GGUF metadata written from the key table reads back, through a
// synthesized file, as the config it was written from: every field the
// metadata carries, the vocabulary from the tokenizer (or, without one,
// from token_embd's rows) and the tying from output.weight's absence.
func TestGGUFRoundTrip(t *testing.T) {
	for name, cfg := range configs() {
		if name == "72B" || name == "7B" {
			continue // the same keys as 0.5B, at the cost of a 152,064-token tokenizer each
		}
		for _, noTok := range []bool{false, true} {
			spec := qwen2.MustNew(cfg)
			syn := archtest.Default
			syn.GGUF.NoTokenizer = noTok
			got, conflicts, err := syn.Read(t, "Qwen2.5-test", spec, checkpoint.FormatGGUF)
			if err != nil {
				t.Fatalf("%s: FromCheckpoint = %v", name, err)
			}
			if got.Family() != "qwen2" || len(conflicts) != 0 {
				t.Errorf("%s: family %q, conflicts %+v; want qwen2 and none", name, got.Family(), conflicts)
			}
			want := *cfg
			// What GGUF metadata does not carry: the architectures list,
			// the dtype, the sliding window (llama.cpp has none for
			// qwen2).
			want.Architectures, want.TorchDType = nil, ""
			want.UseSlidingWindow, want.SlidingWindow, want.MaxWindowLayers, want.LayerTypes = false, nil, 0, nil
			// GGUF holds the floats as float32.
			want.RopeTheta, want.RMSNormEps = f32(want.RopeTheta), f32(want.RMSNormEps)
			if diff := cmp.Diff(&want, got.Config()); diff != "" {
				t.Errorf("%s (no tokenizer %v): config read back (-want +got):\n%s", name, noTok, diff)
			}
			if c := spec.CompareConfig(got); len(c) != 0 {
				t.Errorf("%s: CompareConfig = %+v, want none", name, c)
			}
			if got.Predict().Total != spec.Predict().Total {
				t.Errorf("%s: %d parameters read back, want %d", name, got.Predict().Total, spec.Predict().Total)
			}
		}
	}
}

// Keys a converter may leave out take the values llama.cpp assumes; those
// its loader requires are reported among the config problems, naming the
// key; those without which nothing can be counted stop the count, naming
// the key.
func TestGGUFAbsentKeys(t *testing.T) {
	wide := qwen2.Tiny()
	wide.HeadDim = 12 // not hidden_size / heads = 8: key_length says so
	tests := []struct {
		name     string
		cfg      *qwen2.Config
		drop     []string
		edit     func(c *qwen2.Config) // what is read back, from cfg
		problems []string              // the fields ConfigProblems names
		compare  []string              // the fields CompareConfig against cfg names
		err      string                // the key an error names
	}{
		{name: "head_count_kv is head_count", cfg: qwen2.Tiny(), drop: []string{"qwen2.attention.head_count_kv"},
			edit: func(c *qwen2.Config) { c.NumKeyValueHeads = c.NumAttentionHeads }, compare: []string{"num_key_value_heads"}},
		{name: "key_length is embedding_length / head_count", cfg: qwen2.Tiny(),
			drop: []string{"qwen2.attention.key_length", "qwen2.attention.value_length"}},
		// The heads of 12 are read as 32 / 4 = 8: the files' attention
		// tensors then differ from the spec's (the audit's tensor check
		// names them), and CompareConfig says why.
		{name: "key_length of a wider head", cfg: wide, drop: []string{"qwen2.attention.key_length", "qwen2.attention.value_length"},
			edit: func(c *qwen2.Config) { c.HeadDim = 8 }, compare: []string{"head_dim"}},
		{name: "rope.freq_base is 10000", cfg: qwen2.Tiny(), drop: []string{"qwen2.rope.freq_base"},
			edit: func(c *qwen2.Config) { c.RopeTheta = 10000 }, compare: []string{"rope_theta"}},
		{name: "no rms epsilon", cfg: qwen2.Tiny(), drop: []string{"qwen2.attention.layer_norm_rms_epsilon"},
			edit: func(c *qwen2.Config) { c.RMSNormEps = 0 }, problems: []string{"rms_norm_eps"}},
		{name: "no context length", cfg: qwen2.Tiny(), drop: []string{"qwen2.context_length"},
			edit: func(c *qwen2.Config) { c.MaxPositionEmbeddings = 0 }, problems: []string{"max_position_embeddings"}},
		{name: "no feed_forward_length", cfg: qwen2.Tiny(), drop: []string{"qwen2.feed_forward_length"}, err: "qwen2.feed_forward_length"},
		{name: "no block_count", cfg: qwen2.Tiny(), drop: []string{"qwen2.block_count"}, err: "qwen2.block_count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := qwen2.MustNew(tt.cfg)
			got, conflicts, err := archtest.Default.Read(t, "tiny", archtest.Edited{Spec: src, Meta: archtest.DropKeys(tt.drop...)}, checkpoint.FormatGGUF)
			if tt.err != "" {
				if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("FromCheckpoint = %v, want arch.ErrConfig naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := *tt.cfg
			want.Architectures, want.TorchDType, want.SlidingWindow, want.MaxWindowLayers = nil, "", nil, 0
			want.RopeTheta, want.RMSNormEps = f32(want.RopeTheta), f32(want.RMSNormEps)
			if tt.edit != nil {
				tt.edit(&want)
			}
			if diff := cmp.Diff(&want, got.Config()); diff != "" {
				t.Errorf("config read back (-want +got):\n%s", diff)
			}
			var problems []string
			for _, c := range conflicts {
				problems = append(problems, c.Field)
				if !strings.Contains(c.Message, "qwen2.") {
					t.Errorf("problem %+v does not name the metadata key", c)
				}
			}
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
			var compare []string
			for _, c := range src.CompareConfig(got) {
				compare = append(compare, c.Field)
				if !strings.Contains(c.Message, "absent: what llama.cpp assumes") {
					t.Errorf("CompareConfig: %+v does not say the key is absent", c)
				}
			}
			if diff := cmp.Diff(tt.compare, compare); diff != "" {
				t.Errorf("CompareConfig fields (-want +got):\n%s", diff)
			}
		})
	}
}

// A GGUF file's metadata of another family is a conflict of config.json's,
// not a comparison of unrelated fields.
func TestCompareConfigOtherFamily(t *testing.T) {
	c := qwen2.MustNew(qwen2.Tiny()).CompareConfig(other{})
	if len(c) != 1 || c[0].Field != "model_type" {
		t.Errorf("CompareConfig(other family) = %+v, want one model_type conflict", c)
	}
}

func f32(x float64) float64 { return float64(float32(x)) }

type other struct{ arch.Spec }

func (other) Family() string { return "other" }

// A dimension too large to count is refused with arch.ErrConfig, naming
// the metadata key.
func TestGGUFTooLarge(t *testing.T) {
	big := archtest.Edited{Spec: qwen2.MustNew(qwen2.Tiny()), Meta: func(kvs []gguf.KV) []gguf.KV {
		for i := range kvs {
			if kvs[i].Key == "qwen2.block_count" {
				kvs[i].Value = gguf.Uint32(1 << 31)
			}
		}
		return kvs
	}}
	_, _, err := archtest.Default.Read(t, "tiny", big, checkpoint.FormatGGUF)
	if !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), "qwen2.block_count") {
		t.Errorf("FromCheckpoint = %v, want arch.ErrConfig naming qwen2.block_count", err)
	}
}

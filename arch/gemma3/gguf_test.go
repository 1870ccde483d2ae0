package gemma3_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
)

// filtered is a spec whose GGUF metadata leaves out some keys, to
// synthesize files a converter wrote without them.
type filtered struct {
	*gemma3.Spec
	drop []string
}

func (s filtered) GGUFMetadata() []gguf.KV {
	return slices.DeleteFunc(s.Spec.GGUFMetadata(), func(kv gguf.KV) bool { return slices.Contains(s.drop, kv.Key) })
}

// loadGGUF synthesizes spec as an F16 GGUF file and reads its architecture
// back as the audit does.
func loadGGUF(tb testing.TB, spec arch.Spec, opts synth.GGUFOptions) (arch.Spec, []arch.Conflict, error) {
	tb.Helper()
	opts.Type = "F16"
	l, err := synth.GGUF("gemma-3-test", spec, opts)
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		tb.Fatal(err)
	}
	return arch.FromCheckpoint(ck)
}

// readBack is what a config reads back as from GGUF metadata: what the
// metadata does not carry (the architectures list, the dtype, the
// layer_types, the activation) dropped, the local RoPE base, the pattern
// and query_pre_attn_scalar llama.cpp's (head_dim: none of these configs
// has 62 layers), the floats through float32.
func readBack(c *gemma3.Config) *gemma3.Config {
	w := *c
	w.Architectures, w.TorchDType, w.LayerTypes, w.HiddenActivation = nil, "", nil, ""
	w.RopeLocalBaseFreq, w.SlidingWindowPattern, w.QueryPreAttnScalar = 10000, 6, float64(w.HeadDim)
	w.RopeTheta, w.RMSNormEps = float64(float32(w.RopeTheta)), float64(float32(w.RMSNormEps))
	return &w
}

// The GGUF metadata written from the key table reads back, through a
// synthesized file, as the config it was written from: every field the
// metadata carries, the vocabulary from the tokenizer (or, without one,
// from token_embd's rows), the tying from output.weight's absence.
func TestGGUFRoundTrip(t *testing.T) {
	untied := gemma3.Tiny()
	untied.TieWordEmbeddings = false
	for name, cfg := range map[string]*gemma3.Config{"tiny": gemma3.Tiny(), "untied": untied} {
		for _, noTok := range []bool{false, true} {
			spec := gemma3.MustNew(cfg)
			got, conflicts, err := loadGGUF(t, spec, synth.GGUFOptions{NoTokenizer: noTok})
			if err != nil {
				t.Fatalf("%s: FromCheckpoint = %v", name, err)
			}
			if got.Family() != "gemma3" || len(conflicts) != 0 {
				t.Errorf("%s: family %q, conflicts %+v; want gemma3 and none", name, got.Family(), conflicts)
			}
			if diff := cmp.Diff(readBack(cfg), got.Config(), cmpopts.IgnoreUnexported(gemma3.Config{})); diff != "" {
				t.Errorf("%s (no tokenizer %v): config read back (-want +got):\n%s", name, noTok, diff)
			}
			if c := spec.CompareConfig(got); len(c) != 0 {
				t.Errorf("%s: CompareConfig = %+v, want none", name, c)
			}
			if got.Predict().Total != spec.Predict().Total || got.Count(checkpoint.FormatGGUF) != spec.Count(checkpoint.FormatGGUF) {
				t.Errorf("%s: %d parameters in %d tensors read back, want %d in %d", name, got.Predict().Total,
					got.Count(checkpoint.FormatGGUF), spec.Predict().Total, spec.Count(checkpoint.FormatGGUF))
			}
		}
	}
}

// The metadata keys are gemma3's, in the converter's order
// (Gemma3Model.set_gguf_parameters).
func TestGGUFMetadataKeys(t *testing.T) {
	var keys []string
	for _, kv := range gemma3.MustNew(gemma3.Gemma3_1B()).GGUFMetadata() {
		keys = append(keys, kv.Key)
	}
	want := []string{"gemma3.context_length", "gemma3.embedding_length", "gemma3.block_count", "gemma3.feed_forward_length",
		"gemma3.attention.head_count", "gemma3.attention.layer_norm_rms_epsilon", "gemma3.attention.key_length",
		"gemma3.attention.value_length", "gemma3.rope.freq_base", "gemma3.attention.sliding_window", "gemma3.attention.head_count_kv"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("GGUFMetadata keys (-want +got):\n%s", diff)
	}
}

// Keys a converter may leave out take the values llama.cpp assumes; those
// its loader requires are reported among the config problems, naming the
// key; those without which nothing can be counted stop the count.
func TestGGUFAbsentKeys(t *testing.T) {
	tests := []struct {
		name     string
		drop     string
		edit     func(c *gemma3.Config)
		problems []string
		compare  []string
		err      bool
	}{
		{name: "head_count_kv is head_count", drop: "gemma3.attention.head_count_kv",
			edit: func(c *gemma3.Config) { c.NumKeyValueHeads = c.NumAttentionHeads }, compare: []string{"num_key_value_heads"}},
		{name: "no sliding window", drop: "gemma3.attention.sliding_window",
			edit: func(c *gemma3.Config) { c.SlidingWindow = 0 }, problems: []string{"sliding_window"}}, // not compared: its problem says why
		// llama.cpp scales the attention by 1/√n_embd_head_k.
		{name: "no key_length: embedding_length / head_count", drop: "gemma3.attention.key_length",
			edit: func(c *gemma3.Config) { c.HeadDim, c.QueryPreAttnScalar = 8, 8 }, compare: []string{"head_dim"}},
		{name: "no feed_forward_length", drop: "gemma3.feed_forward_length", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := gemma3.MustNew(gemma3.Tiny())
			got, conflicts, err := loadGGUF(t, filtered{src, []string{tt.drop}}, synth.GGUFOptions{})
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.drop) {
					t.Fatalf("FromCheckpoint = %v, want an error naming %s", err, tt.drop)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := readBack(gemma3.Tiny())
			if tt.edit != nil {
				tt.edit(want)
			}
			if diff := cmp.Diff(want, got.Config(), cmpopts.IgnoreUnexported(gemma3.Config{})); diff != "" {
				t.Errorf("config read back (-want +got):\n%s", diff)
			}
			var problems []string
			for _, c := range conflicts {
				problems = append(problems, c.Field)
			}
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s\n%+v", diff, conflicts)
			}
			var compare []string
			for _, c := range src.CompareConfig(got) {
				compare = append(compare, c.Field)
			}
			if diff := cmp.Diff(tt.compare, compare); diff != "" {
				t.Errorf("CompareConfig fields (-want +got):\n%s", diff)
			}
		})
	}
}

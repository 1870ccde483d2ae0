package phi3_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The GGUF metadata written from the key table reads back, through a
// synthesized file, as the config it was written from: every field the
// metadata carries, the vocabulary from the tokenizer (or, without one,
// from token_embd's rows), the tying from output.weight's absence and the
// LongRoPE scaling from rope_factors_long.weight's presence.
func TestGGUFRoundTrip(t *testing.T) {
	for name, cfg := range configs() {
		for _, noTok := range []bool{false, true} {
			if noTok && name != "tiny" {
				continue
			}
			spec := phi3.MustNew(cfg)
			syn := archtest.Default
			syn.GGUF.NoTokenizer = noTok
			got, conflicts, err := syn.Read(t, "Phi-3-test", spec, checkpoint.FormatGGUF)
			if err != nil {
				t.Fatalf("%s: FromCheckpoint = %v", name, err)
			}
			if got.Family() != "phi3" || len(conflicts) != 0 {
				t.Errorf("%s: family %q, conflicts %+v; want phi3 and none", name, got.Family(), conflicts)
			}
			want := *cfg
			// What GGUF metadata does not carry: the architectures list,
			// the dtype, the LongRoPE factors (only that there are some,
			// and the attention factor the converter computed).
			want.Architectures, want.TorchDType = nil, ""
			if want.RopeScaling != nil {
				want.RopeScaling = longRoPE(cfg)
			}
			if name == "wide" {
				// The converter writes rope.dimension_count from
				// hidden_size / heads, which a head_dim given apart
				// breaks: llama.cpp does not load such a model.
				continue
			}
			want.RopeTheta, want.RMSNormEps = f32(want.RopeTheta), f32(want.RMSNormEps)
			if diff := cmp.Diff(&want, got.Config()); diff != "" {
				t.Errorf("%s (no tokenizer %v): config read back (-want +got):\n%s", name, noTok, diff)
			}
			if c := spec.CompareConfig(got); len(c) != 0 {
				t.Errorf("%s: CompareConfig = %+v, want none", name, c)
			}
			if got.Predict().Total != spec.Predict().Total || got.Count(checkpoint.FormatGGUF) != spec.Count(checkpoint.FormatGGUF) {
				t.Errorf("%s: %d parameters in %d tensors read back, want %d in %d", name, got.Predict().Total, got.Count(checkpoint.FormatGGUF),
					spec.Predict().Total, spec.Count(checkpoint.FormatGGUF))
			}
		}
	}
}

// The metadata keys are phi3's, in the converter's order.
func TestGGUFMetadataKeys(t *testing.T) {
	var keys []string
	for _, kv := range phi3.MustNew(phi3.Phi3Mini4K()).GGUFMetadata() {
		keys = append(keys, kv.Key)
	}
	want := []string{"phi3.context_length", "phi3.rope.scaling.original_context_length", "phi3.embedding_length",
		"phi3.feed_forward_length", "phi3.block_count", "phi3.attention.head_count", "phi3.attention.head_count_kv",
		"phi3.attention.layer_norm_rms_epsilon", "phi3.rope.dimension_count", "phi3.rope.freq_base", "phi3.attention.sliding_window"}
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
		edit     func(c *phi3.Config)
		problems []string
		compare  []string
		err      bool
	}{
		{name: "head_count_kv is head_count", drop: "phi3.attention.head_count_kv",
			edit: func(c *phi3.Config) { c.NumKeyValueHeads = c.NumAttentionHeads }, compare: []string{"num_key_value_heads"}},
		{name: "rope.dimension_count is embedding_length / head_count", drop: "phi3.rope.dimension_count"},
		{name: "no rms epsilon", drop: "phi3.attention.layer_norm_rms_epsilon",
			edit: func(c *phi3.Config) { c.RMSNormEps = 0 }, problems: []string{"rms_norm_eps"}},
		{name: "no feed_forward_length", drop: "phi3.feed_forward_length", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := phi3.MustNew(phi3.Tiny())
			got, conflicts, err := archtest.Default.Read(t, "tiny", archtest.Edited{Spec: src, Meta: archtest.DropKeys(tt.drop)}, checkpoint.FormatGGUF)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.drop) {
					t.Fatalf("FromCheckpoint = %v, want an error naming %s", err, tt.drop)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := *phi3.Tiny()
			want.Architectures, want.TorchDType = nil, ""
			want.RopeScaling = longRoPE(phi3.Tiny())
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
			}
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
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

func f32(x float64) float64 { return float64(float32(x)) }

// longRoPE is the scaling a LongRoPE config reads back as from GGUF: the
// type, and the attention factor the converter wrote, through float32
// (Phi3MiniModel.generate_extra_tensors, √(1 + ln s / ln original) with s
// the ratio of the context lengths). Worked by hand: Tiny's 256 over 64
// is s = 4, ln 4 / ln 64 = 2/6, √(4/3) = 1.1547005383792515; Phi-3.5's
// 131072 over 4096 is s = 32, ln 32 / ln 4096 = 5/12, √(17/12) =
// 1.1902380714238083.
func longRoPE(c *phi3.Config) *phi3.RopeScaling {
	f := map[int64]float64{256: 1.1547005383792515, 131072: 1.1902380714238083}[c.MaxPositionEmbeddings]
	f = f32(f)
	return &phi3.RopeScaling{Type: "longrope", AttentionFactor: &f}
}

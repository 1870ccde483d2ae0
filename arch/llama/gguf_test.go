package llama_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
)

// without leaves the tensors called names out of spec's layouts.
func without(spec *llama.Spec, names ...string) arch.Spec {
	return archtest.Edited{Spec: spec, Edit: archtest.Drop(names...)}
}

// editGGUF re-encodes the GGUF file of src after edit changes its metadata.
func editGGUF(tb testing.TB, l *synth.Layout, src *hub.Mem, edit func([]gguf.KV) []gguf.KV) {
	tb.Helper()
	f := l.Files[0]
	gf, err := gguf.Read(&hub.Virtual{Head: f.Head, Len: f.Size}, f.Size)
	if err != nil {
		tb.Fatal(err)
	}
	head, data, err := gguf.EncodeHeader(gf.Version, edit(slices.Clone(gf.KVs)), slices.Clone(gf.Tensors))
	if err != nil {
		tb.Fatal(err)
	}
	src.Add(f.Name, &hub.Virtual{Head: head, Len: int64(len(head)) + data}, int64(len(head))+data)
}

// withConfig puts c's config.json beside the files of src.
func withConfig(tb testing.TB, src *hub.Mem, c *llama.Config) {
	tb.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	src.Add("config.json", bytes.NewReader(b), int64(len(b)))
}

func load(tb testing.TB, src *hub.Mem) *checkpoint.Checkpoint {
	tb.Helper()
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

// Written with GGUFMetadata and read back with ConfigFromGGUF, a config
// is the same in every field GGUF carries: Mistral comes back as "llama"
// (the metadata does not tell them apart) and Mixtral as "mixtral"
// through the llama family's reader (llama.expert_count); the llama3 RoPE
// scaling comes back from rope_freqs.weight, the tied embeddings from the
// absence of output.weight; the floats within float32's rounding.
func TestGGUFRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *llama.Config
		family string
		mt     string
	}{
		{"tiny llama", llama.TinyDense(), "llama", llama.TypeLlama},
		{"tiny mistral", llama.TinyMistral(), "llama", llama.TypeLlama},
		{"tiny mixtral", llama.TinyMoE(), "mixtral", llama.TypeMixtral},
		{"Llama-3.2-1B (tied)", llama.Llama32_1B(), "llama", llama.TypeLlama},
		{"Llama-3.1-8B", llama.Llama31_8B(), "llama", llama.TypeLlama},
		{"Mixtral-8x7B", llama.Mixtral8x7B_v01(), "mixtral", llama.TypeMixtral},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := llama.MustNew(tt.cfg)
			ck := archtest.Default.Load(t, "m", want, checkpoint.FormatGGUF)
			if ck.GGUF[0].Architecture() != "llama" {
				t.Errorf("general.architecture %q, want llama", ck.GGUF[0].Architecture())
			}
			spec, conflicts, err := arch.FromCheckpoint(ck)
			if err != nil {
				t.Fatal(err)
			}
			if len(conflicts) != 0 {
				t.Errorf("conflicts %+v", conflicts)
			}
			if spec.Family() != tt.family {
				t.Fatalf("family %q, want %q", spec.Family(), tt.family)
			}
			got := spec.Config().(*llama.Config)
			wantCfg := *tt.cfg
			wantCfg.ModelType = tt.mt
			if diff := cmp.Diff(&wantCfg, got, cmpopts.EquateApprox(0x1p-23, 0),
				cmpopts.IgnoreFields(llama.Config{}, "Architectures", "TorchDType", "RopeScaling", "SlidingWindow")); diff != "" {
				t.Errorf("ConfigFromGGUF (-want +got):\n%s", diff)
			}
			if got.Llama3Rope() != tt.cfg.Llama3Rope() {
				t.Errorf("llama3 RoPE %v, want %v", got.Llama3Rope(), tt.cfg.Llama3Rope())
			}
			if c := want.CompareConfig(spec); len(c) != 0 && tt.cfg.ModelType != llama.TypeMistral {
				t.Errorf("CompareConfig(written, read) = %+v", c)
			}
			if spec.Predict().Total != want.Predict().Total || spec.Count(checkpoint.FormatGGUF) != want.Count(checkpoint.FormatGGUF) {
				t.Errorf("read back: %d params in %d tensors, want %d in %d", spec.Predict().Total, spec.Count(checkpoint.FormatGGUF),
					want.Predict().Total, want.Count(checkpoint.FormatGGUF))
			}
		})
	}
}

// The keys the metadata must have are errors wrapping arch.ErrConfig that
// name the key; those llama.cpp assumes are filled as it fills them; those
// its loader needs but the count does not, and keys that contradict the
// head dimension, are the spec's config problems.
func TestGGUFMetadataKeys(t *testing.T) {
	drop := func(keys ...string) func([]gguf.KV) []gguf.KV {
		return func(kvs []gguf.KV) []gguf.KV {
			return slices.DeleteFunc(kvs, func(kv gguf.KV) bool { return slices.Contains(keys, kv.Key) })
		}
	}
	set := func(key string, v gguf.Value) func([]gguf.KV) []gguf.KV {
		return func(kvs []gguf.KV) []gguf.KV {
			for i := range kvs {
				if kvs[i].Key == key {
					kvs[i].Value = v
				}
			}
			return kvs
		}
	}
	tests := []struct {
		name     string
		cfg      *llama.Config
		edit     func([]gguf.KV) []gguf.KV
		wantErr  string // a key the error names
		check    func(t *testing.T, c *llama.Config)
		problems []string // the fields of the config problems
	}{
		{name: "no block_count", cfg: llama.TinyDense(), edit: drop("llama.block_count"), wantErr: "llama.block_count"},
		{name: "no feed_forward_length", cfg: llama.TinyDense(), edit: drop("llama.feed_forward_length"), wantErr: "llama.feed_forward_length"},
		{name: "expert_count without expert_used_count", cfg: llama.TinyMoE(), edit: drop("llama.expert_used_count"), wantErr: "llama.expert_used_count"},
		{name: "expert_count a string", cfg: llama.TinyMoE(), edit: set("llama.expert_count", gguf.String("4")), wantErr: "llama.expert_count"},
		{name: "no head_count_kv, key_length, value_length, dimension_count, vocab_size: llama.cpp's fallbacks", cfg: llama.TinyDense(),
			edit: drop("llama.attention.head_count_kv", "llama.attention.key_length", "llama.attention.value_length", "llama.rope.dimension_count", "llama.vocab_size"),
			check: func(t *testing.T, c *llama.Config) {
				if c.NumKeyValueHeads != 4 || c.HeadDim != 8 || c.VocabSize != 64 {
					t.Errorf("kv heads %d, head_dim %d, vocab %d; want 4 (head_count), 8 (32/4), 64 (the tokenizer's)", c.NumKeyValueHeads, c.HeadDim, c.VocabSize)
				}
			}},
		{name: "no rms epsilon nor context length", cfg: llama.TinyDense(),
			edit: drop("llama.attention.layer_norm_rms_epsilon", "llama.context_length"), problems: []string{"max_position_embeddings", "rms_norm_eps"}},
		{name: "rope.dimension_count other than the head dimension", cfg: llama.TinyDense(),
			edit: set("llama.rope.dimension_count", gguf.Uint32(4)), problems: []string{"head_dim"}},
		{name: "no rope.freq_base: llama.cpp's 10000", cfg: llama.TinyDense(), edit: drop("llama.rope.freq_base"),
			check: func(t *testing.T, c *llama.Config) {
				if c.RopeTheta != 10000 {
					t.Errorf("rope_theta %v, want 10000", c.RopeTheta)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := archtest.Default.Layout(t, "m", llama.MustNew(tt.cfg), checkpoint.FormatGGUF)
			src := l.Source()
			editGGUF(t, l, src, tt.edit)
			ck := load(t, src)
			_, err := llama.ConfigFromGGUF(&arch.GGUFMeta{Arch: "llama", Parts: ck.GGUF})
			spec, conflicts, err2 := arch.FromCheckpoint(ck)
			if tt.wantErr != "" {
				for _, e := range []error{err, err2} {
					if !errors.Is(e, arch.ErrConfig) || !strings.Contains(fmtErr(e), tt.wantErr) {
						t.Errorf("error %v, want arch.ErrConfig naming %s", e, tt.wantErr)
					}
				}
				return
			}
			if err != nil || err2 != nil {
				t.Fatal(err, err2)
			}
			if tt.check != nil {
				tt.check(t, spec.Config().(*llama.Config))
			}
			var fields []string
			for _, c := range conflicts {
				fields = append(fields, c.Field)
			}
			slices.Sort(fields)
			if diff := cmp.Diff(tt.problems, fields); diff != "" {
				t.Errorf("problem fields (-want +got):\n%s\n%+v", diff, conflicts)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// config.json beside a GGUF file is compared with the file: its keys, and
// what its tensors say (output.weight for untied embeddings, rope_freqs for
// the llama3 RoPE scaling).
func TestCompareConfigWithGGUF(t *testing.T) {
	tests := []struct {
		name string
		spec arch.Spec     // what the GGUF file is made from
		cfg  *llama.Config // config.json
		edit func(*llama.Config)
		want []string // the fields in conflict
	}{
		{"agree", llama.MustNew(llama.TinyDense()), llama.TinyDense(), nil, nil},
		{"Mistral's config.json, llama GGUF", llama.MustNew(llama.TinyMistral()), llama.TinyMistral(), nil, nil},
		{"Mixtral agrees", llama.MustNew(llama.TinyMoE()), llama.TinyMoE(), nil, nil},
		{"rope_freqs dropped from a Llama 3.1 GGUF", without(llama.MustNew(llama.TinyDense()), "rope_freqs.weight"), llama.TinyDense(), nil, []string{"rope_scaling"}},
		{"output.weight dropped", without(llama.MustNew(llama.TinyDense()), "output.weight"), llama.TinyDense(), nil, []string{"tie_word_embeddings"}},
		{"another epsilon", llama.MustNew(llama.TinyDense()), llama.TinyDense(), func(c *llama.Config) { c.RMSNormEps = 1e-6 }, []string{"rms_norm_eps"}},
		{"another hidden size", llama.MustNew(llama.TinyDense()), llama.TinyDense(), func(c *llama.Config) { c.IntermediateSize = 128 }, []string{"intermediate_size"}},
		{"a llama config.json beside a Mixtral GGUF", llama.MustNew(llama.TinyMoE()), llama.TinyDense(), func(c *llama.Config) { c.RopeScaling, c.RopeTheta = nil, 1e6 },
			[]string{"model_type", "num_local_experts", "num_experts_per_tok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := archtest.Default.Layout(t, "m", tt.spec, checkpoint.FormatGGUF).Source()
			if tt.edit != nil {
				tt.edit(tt.cfg)
			}
			withConfig(t, src, tt.cfg)
			_, conflicts, err := arch.FromCheckpoint(load(t, src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range conflicts {
				if c.File != "config.json" {
					t.Errorf("conflict %+v not in config.json", c)
				}
				got = append(got, c.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s\n%+v", diff, conflicts)
			}
		})
	}
}

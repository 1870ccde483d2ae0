package gemma3_test

import (
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// Locate and Assign must agree with the expected list they stand in for,
// entry by entry, for tied and untied configs and both formats, and know
// nothing else.
func TestLocateMatchesExpected(t *testing.T) {
	untied := gemma3.Tiny()
	untied.TieWordEmbeddings = false
	for name, cfg := range map[string]*gemma3.Config{"1B": gemma3.Gemma3_1B(), "tiny": gemma3.Tiny(), "untied": untied} {
		spec := gemma3.MustNew(cfg)
		for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
			exp := spec.Expected(f)
			if spec.Count(f) != len(exp) {
				t.Errorf("%s %s: Count = %d, len(Expected) = %d", name, f, spec.Count(f), len(exp))
			}
			for i, want := range exp {
				got, idx, ok := spec.Locate(f, want.Name)
				if !ok || idx != i || got.Name != want.Name || !slices.Equal(got.Shape, want.Shape) ||
					got.Layer != want.Layer || got.Component != want.Component || got.Expert != want.Expert {
					t.Fatalf("%s %s: Locate(%q) = %+v, %d, %v; want %+v, %d", name, f, want.Name, got, idx, ok, want, i)
				}
				var r arch.Role
				if !spec.Assign(f, want.Name, &r) || r.Index != i || !r.Known || r.Component != want.Component || r.Group != want.Component.Group() {
					t.Fatalf("%s %s: Assign(%q) = %+v, want index %d", name, f, want.Name, r, i)
				}
			}
			for _, bad := range []string{"", "model.layers.", "model.layers.26.self_attn.q_proj.weight", "model.layers.01.input_layernorm.weight",
				"blk.0.attn_q.bias", "model.layers.0.self_attn.q_proj.bias", "blk.99.post_ffw_norm.weight", "model.layers.-1.input_layernorm.weight",
				"language_model.model.layers.0.input_layernorm.weight", "vision_tower.vision_model.post_layernorm.weight"} {
				if e, _, ok := spec.Locate(f, bad); ok && !slices.ContainsFunc(exp, func(x arch.Expected) bool { return x.Name == bad }) {
					t.Errorf("%s %s: Locate(%q) = %+v, want not found", name, f, bad, e)
				}
			}
			_, _, head := spec.Locate(f, map[checkpoint.Format]string{checkpoint.FormatSafetensors: "lm_head.weight", checkpoint.FormatGGUF: "output.weight"}[f])
			if head == cfg.TieWordEmbeddings {
				t.Errorf("%s %s: lm_head located %v with tie_word_embeddings %v", name, f, head, cfg.TieWordEmbeddings)
			}
		}
	}
}

// The four norms of a layer, by name in each format, with their
// components and groups.
func TestFourNorms(t *testing.T) {
	spec := gemma3.MustNew(gemma3.Tiny())
	tests := []struct {
		hf, gguf string
		comp     arch.Component
		n        int64
	}{
		{"model.layers.3.input_layernorm.weight", "blk.3.attn_norm.weight", arch.CompAttnNorm, 32},
		{"model.layers.3.post_attention_layernorm.weight", "blk.3.post_attention_norm.weight", gemma3.CompAttnPostNorm, 32},
		{"model.layers.3.pre_feedforward_layernorm.weight", "blk.3.ffn_norm.weight", arch.CompFFNNorm, 32},
		{"model.layers.3.post_feedforward_layernorm.weight", "blk.3.post_ffw_norm.weight", gemma3.CompFFNPostNorm, 32},
		{"model.layers.3.self_attn.q_norm.weight", "blk.3.attn_q_norm.weight", arch.CompAttnQNorm, 16},
		{"model.layers.3.self_attn.k_norm.weight", "blk.3.attn_k_norm.weight", arch.CompAttnKNorm, 16},
	}
	for _, tt := range tests {
		for f, name := range map[checkpoint.Format]string{checkpoint.FormatSafetensors: tt.hf, checkpoint.FormatGGUF: tt.gguf} {
			e, _, ok := spec.Locate(f, name)
			if !ok || e.Component != tt.comp || e.Layer != 3 || !slices.Equal(e.Shape, []int64{tt.n}) {
				t.Errorf("Locate(%s, %q) = %+v, %v; want %s [%d] in layer 3", f, name, e, ok, tt.comp, tt.n)
			}
		}
	}
	if gemma3.CompAttnPostNorm.Group() != arch.GroupNorms || gemma3.CompFFNPostNorm.Group() != arch.GroupNorms {
		t.Errorf("post norms not in the norms group")
	}
}

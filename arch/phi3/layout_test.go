package phi3_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// configs are the shapes of config the layout tests go through: the
// published models, the example (LongRoPE), one without RoPE scaling, one
// tied, and one whose query width is not hidden_size.
func configs() map[string]*phi3.Config {
	plain := phi3.Tiny()
	plain.RopeScaling = nil
	tied := phi3.Tiny()
	tied.TieWordEmbeddings, tied.NumHiddenLayers = true, 11
	wide := phi3.Tiny()
	wide.HeadDim, wide.NumKeyValueHeads, wide.RopeScaling = 12, 1, nil
	return map[string]*phi3.Config{"mini": phi3.Phi3Mini4K(), "3.5-mini": phi3.Phi3_5Mini(), "medium": phi3.Phi3Medium4K(),
		"tiny": phi3.Tiny(), "plain": plain, "tied": tied, "wide": wide}
}

// Locate and Assign must agree with the expected list they stand in for,
// entry by entry, for every shape of config and both formats, and know
// nothing else.
func TestLocateMatchesExpected(t *testing.T) {
	for name, cfg := range configs() {
		spec := phi3.MustNew(cfg)
		for _, f := range archtest.Formats {
			bad := []string{"", "model.layers.", "blk.", "model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight",
				"model.layers.0.mlp.gate_proj.weight", "blk.0.ffn_gate.weight", "model.layers.01.input_layernorm.weight",
				"blk.01.attn_norm.weight", "model.layers.-1.input_layernorm.weight", "rope_freqs.weight",
				"blk.0.rope_factors_long.weight", "model.layers.0.self_attn.qkv_proj.bias", "blk.0.attn_qkv.bias",
				fmt.Sprintf("model.layers.%d.self_attn.qkv_proj.weight", cfg.NumHiddenLayers), fmt.Sprintf("blk.%d.attn_qkv.weight", cfg.NumHiddenLayers),
				fmt.Sprintf("model.layers.%d.mlp.gate_up_proj.weight", 1<<40)}
			if cfg.TieWordEmbeddings {
				bad = append(bad, "lm_head.weight", "output.weight")
			}
			if f == checkpoint.FormatSafetensors || !cfg.RopeFactors() {
				bad = append(bad, "rope_factors_long.weight", "rope_factors_short.weight")
			}
			t.Run(name+"/"+string(f), func(t *testing.T) { archtest.CheckTable(t, spec, f, bad...) })
		}
	}
}

// The fused projections have the widths of their parts, in both formats
// and their groups; the LongRoPE factors are in GGUF only, head_dim/2
// long, first, and no parameters.
func TestFusedShapes(t *testing.T) {
	spec := phi3.MustNew(phi3.Tiny()) // d 32, q 4·8 = 32, k = v = 2·8 = 16, f 48
	want := map[string][]int64{
		"model.layers.1.self_attn.qkv_proj.weight": {64, 32}, "blk.1.attn_qkv.weight": {32, 64},
		"model.layers.1.mlp.gate_up_proj.weight": {96, 32}, "blk.1.ffn_up.weight": {32, 96},
		"model.layers.1.mlp.down_proj.weight": {32, 48}, "blk.1.ffn_down.weight": {48, 32},
		"model.layers.1.self_attn.o_proj.weight": {32, 32}, "blk.1.attn_output.weight": {32, 32},
	}
	for n, shape := range want {
		f := checkpoint.FormatSafetensors
		if n[:4] == "blk." {
			f = checkpoint.FormatGGUF
		}
		e, _, ok := spec.Locate(f, n)
		if !ok || !slices.Equal(e.Shape, shape) || e.Layer != 1 {
			t.Errorf("Locate(%q) = %+v, %v; want shape %v in layer 1", n, e, ok, shape)
		}
	}
	if phi3.CompAttnQKV.Group() != arch.GroupAttention || phi3.CompMLPGateUp.Group() != arch.GroupMLP ||
		phi3.CompRopeFactorsLong.Group() != arch.GroupAttention || phi3.CompRopeFactorsShort.Group() != arch.GroupAttention {
		t.Errorf("groups: qkv %v, gate_up %v, rope factors %v and %v; want attention, mlp, attention, attention",
			phi3.CompAttnQKV.Group(), phi3.CompMLPGateUp.Group(), phi3.CompRopeFactorsLong.Group(), phi3.CompRopeFactorsShort.Group())
	}
	exp := spec.Expected(checkpoint.FormatGGUF)
	for i, f := range []struct {
		name string
		comp arch.Component
	}{{"rope_factors_long.weight", phi3.CompRopeFactorsLong}, {"rope_factors_short.weight", phi3.CompRopeFactorsShort}} {
		if e := exp[i]; e.Name != f.name || e.Part != arch.PartCompanion || !slices.Equal(e.Shape, []int64{4}) || e.Layer != -1 || e.Component != f.comp {
			t.Errorf("GGUF entry %d = %+v, want %s [4] of %s, a companion", i, e, f.name, f.comp)
		}
	}
}

// The closed-form prediction and the layout table are two derivations
// from the same config: for every config with each dimension in {1, 2, 3}
// (heads grouping, tied and untied, with and without LongRoPE) they agree
// on the total, on every component's sum and on every layer, in both
// formats.
func TestPredictMatchesLayout(t *testing.T) {
	n := 0
	one := []int64{1, 2, 3}
	for _, v := range one {
		for _, d := range one {
			for _, l := range one {
				for _, h := range one {
					for kv := int64(1); kv <= h; kv++ {
						if h%kv != 0 {
							continue
						}
						for _, hd := range one {
							for _, ff := range one {
								for _, tied := range []bool{false, true} {
									c := &phi3.Config{ModelType: "phi3", VocabSize: v, HiddenSize: d, NumHiddenLayers: l,
										NumAttentionHeads: h, NumKeyValueHeads: kv, HeadDim: hd, IntermediateSize: ff, TieWordEmbeddings: tied}
									if tied {
										c.RopeScaling = &phi3.RopeScaling{Type: "su"}
									}
									n++
									if err := predictMatchesLayout(c); err != nil {
										t.Fatalf("%+v: %v", *c, err)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	for name, c := range configs() {
		if err := predictMatchesLayout(c); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	t.Logf("%d small configurations", n)
}

func predictMatchesLayout(c *phi3.Config) error {
	spec, err := phi3.New(c)
	if err != nil {
		return err
	}
	return archtest.CheckPredictions(spec)
}

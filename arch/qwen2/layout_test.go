package qwen2_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// configs are the shapes of config the layout tests go through: the three
// published models, the example, one tied and one whose query width is not
// hidden_size (head_dim given apart from hidden_size / heads).
func configs() map[string]*qwen2.Config {
	tied := qwen2.Tiny()
	tied.TieWordEmbeddings, tied.NumHiddenLayers = true, 11
	wide := qwen2.Tiny()
	wide.HeadDim, wide.NumKeyValueHeads = 12, 1
	return map[string]*qwen2.Config{"7B": qwen2.Qwen2_5_7B(), "0.5B": qwen2.Qwen2_5_0_5B(), "72B": qwen2.Qwen2_5_72B(),
		"tiny": qwen2.Tiny(), "tied": tied, "wide": wide}
}

// Locate and Assign must agree with the expected list they stand in for,
// entry by entry, for every shape of config and both formats, and know
// nothing else.
func TestLocateMatchesExpected(t *testing.T) {
	for name, cfg := range configs() {
		spec := qwen2.MustNew(cfg)
		for _, f := range archtest.Formats {
			bad := []string{"", "model.layers.", "blk.", "model.layers.0.self_attn.o_proj.bias", "blk.0.attn_output.bias",
				"model.layers.0.self_attn.q_norm.weight", "blk.0.attn_q_norm.weight", "model.layers.01.input_layernorm.weight",
				"blk.01.attn_norm.weight", "model.layers.-1.input_layernorm.weight", "rope_freqs.weight",
				fmt.Sprintf("model.layers.%d.self_attn.q_proj.bias", cfg.NumHiddenLayers), fmt.Sprintf("blk.%d.attn_q.bias", cfg.NumHiddenLayers),
				fmt.Sprintf("model.layers.%d.mlp.up_proj.weight", 1<<40), "model.layers.0.self_attn.q_proj.bias.x"}
			if cfg.TieWordEmbeddings {
				bad = append(bad, "lm_head.weight", "output.weight")
			}
			t.Run(name+"/"+string(f), func(t *testing.T) { archtest.CheckTable(t, spec, f, bad...) })
		}
	}
}

// The biases have the lengths of their projections' outputs, in both
// formats, and belong to the attention group.
func TestBiases(t *testing.T) {
	cfg := qwen2.Tiny() // q width 4·8 = 32, k and v width 2·8 = 16
	spec := qwen2.MustNew(cfg)
	want := map[string][]int64{
		"model.layers.1.self_attn.q_proj.bias": {32}, "model.layers.1.self_attn.k_proj.bias": {16}, "model.layers.1.self_attn.v_proj.bias": {16},
		"blk.1.attn_q.bias": {32}, "blk.1.attn_k.bias": {16}, "blk.1.attn_v.bias": {16},
		"model.layers.1.self_attn.k_proj.weight": {16, 32}, "blk.1.attn_k.weight": {32, 16}, // [out, in] and ne order
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
	for _, c := range []arch.Component{qwen2.CompAttnQBias, qwen2.CompAttnKBias, qwen2.CompAttnVBias} {
		if c.Group() != arch.GroupAttention {
			t.Errorf("%s in group %v, want attention", c, c.Group())
		}
	}
}

// The closed-form prediction and the layout table are two derivations
// from the same config: for every config with each dimension in {1, 2, 3}
// (heads grouping, tied and untied) they agree on the total, on every
// component's sum and on every layer, in both formats.
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
									c := &qwen2.Config{ModelType: "qwen2", VocabSize: v, HiddenSize: d, NumHiddenLayers: l,
										NumAttentionHeads: h, NumKeyValueHeads: kv, HeadDim: hd, IntermediateSize: ff, TieWordEmbeddings: tied}
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

func predictMatchesLayout(c *qwen2.Config) error {
	spec, err := qwen2.New(c)
	if err != nil {
		return err
	}
	return archtest.CheckPredictions(spec)
}

package gptoss_test

import (
	"fmt"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// gpt-oss-120b worked by hand from its config.json (d 2880, V 201088, 64
// heads and 8 KV heads of 64, 36 layers of 128 experts of width 2880, top
// 4):
//
//	attention  2880·4096 + 4096 + 2·(2880·512 + 512) + 4096·2880 + 2880 + 64 = 26,550,144
//	norms      2·2880                                                        = 5,760
//	router     128·2880 + 128                                                = 368,768
//	experts    128·(3·2880·2880 + 2·2880 + 2880)                              = 3,186,155,520
//	model      2·201088·2880 + 2880 + 36·3,213,080,192                        = 116,829,156,672
//
// the card's 116.83 B. Active: 4 of 128 experts, 99,567,360 a layer:
// 36·126,492,032 + 1,158,269,760 = 5,711,982,912 with the embedding,
// 5,132,849,472 without (the card's 5.13 B). gpt-oss-20b, 24 layers of 32
// experts: 24·823,186,976 + 1,158,269,760 = 20,914,757,184 (card 20.91 B),
// active 4,187,440,704 and 3,608,307,264 without the embedding (3.61 B).
// A listing of openai/gpt-oss-20b's files gives 459 tensors: 24·19 + 3.
func TestPublishedCounts(t *testing.T) {
	for _, tt := range []struct {
		c                            *gptoss.Config
		total, active, noEmb, scales int64
		tensors                      int
	}{
		{gptoss.GptOss120B(), 116_829_156_672, 5_711_982_912, 5_132_849_472, 36 * 128 * (2*2880*2880 + 2880*2880) / 32, 36*19 + 3},
		{gptoss.GptOss20B(), 20_914_757_184, 4_187_440_704, 3_608_307_264, 24 * 32 * (2*2880*2880 + 2880*2880) / 32, 459},
	} {
		spec := gptoss.MustNew(tt.c)
		p := spec.Predict()
		if p.Total != tt.total || p.Active != tt.active || p.Active-p.Components[arch.CompEmbedding] != tt.noEmb || p.Companions != tt.scales {
			t.Errorf("%d layers: total %d, active %d, without embedding %d, scales %d; want %d, %d, %d, %d",
				tt.c.NumHiddenLayers, p.Total, p.Active, p.Active-p.Components[arch.CompEmbedding], p.Companions, tt.total, tt.active, tt.noEmb, tt.scales)
		}
		if n := spec.Count(checkpoint.FormatSafetensors); n != tt.tensors {
			t.Errorf("%d layers: %d tensors, want %d", tt.c.NumHiddenLayers, n, tt.tensors)
		}
	}
}

// The table and the closed form agree in both formats: the stored
// elements by part (MXFP4 blocks counted twice) equal the prediction's
// Total and Companions, and in GGUF, whose experts' projections are the
// prediction's components, the sums by component and layer its
// Components and Layers.
func TestTableMatchesPrediction(t *testing.T) {
	plain := gptoss.Tiny()
	plain.QuantizationConfig = nil
	for _, c := range []*gptoss.Config{gptoss.GptOss120B(), gptoss.GptOss20B(), gptoss.Tiny(), plain} {
		spec := gptoss.MustNew(c)
		p := spec.Predict()
		for _, f := range archtest.Formats {
			scales := p.Companions
			if f == checkpoint.FormatGGUF {
				scales = 0 // ggml's MXFP4 blocks hold their scales
			}
			if parts := archtest.Parts(spec, f); parts[arch.PartModel] != p.Total || parts[arch.PartCompanion] != scales {
				t.Errorf("%d layers, %s: table %v, prediction %d and %d scales", c.NumHiddenLayers, f, parts, p.Total, scales)
			}
		}
		if err := archtest.CheckPrediction(spec, checkpoint.FormatGGUF); err != nil {
			t.Errorf("%d layers: %v", c.NumHiddenLayers, err)
		}
	}
}

// Locate and Assign agree with the expected list, entry by entry, in both
// formats (MXFP4 or dequantized), and know nothing else.
func TestTable(t *testing.T) {
	plain := gptoss.Tiny()
	plain.QuantizationConfig = nil
	for name, c := range map[string]*gptoss.Config{"120b": gptoss.GptOss120B(), "tiny": gptoss.Tiny(), "dequantized": plain} {
		spec := gptoss.MustNew(c)
		bad := []string{"", "model.layers.", "blk.", fmt.Sprintf("model.layers.%d.self_attn.sinks", c.NumHiddenLayers),
			"model.layers.0.mlp.experts.0.gate_up_proj", "model.layers.0.mlp.experts.gate_proj.weight", "blk.0.ffn_gate_up_exps.weight"}
		if c.QuantizationConfig != nil {
			bad = append(bad, "model.layers.0.mlp.experts.gate_up_proj")
		} else {
			bad = append(bad, "model.layers.0.mlp.experts.gate_up_proj_blocks")
		}
		for _, f := range archtest.Formats {
			t.Run(name+"/"+string(f), func(t *testing.T) { archtest.CheckTable(t, spec, f, bad...) })
		}
	}
}

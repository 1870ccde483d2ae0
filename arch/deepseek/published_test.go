package deepseek_test

import (
	"fmt"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// DeepSeek-V3's counts worked by hand from its config.json (d 7168, V
// 129280, 128 heads, q rank 1536, kv rank 512, nope 128, rope 64, v 128,
// 3 dense layers of f 18432, 58 MoE layers of 256 experts of 2048 with
// one shared expert, top 8):
//
//	attention per layer  7168·1536 + 1536 + 1536·24576 + 7168·576 + 512 + 512·32768 + 16384·7168 + 2·7168 = 187,121,664
//	dense MLP            3·7168·18432                                         = 396,361,728
//	MoE                  256·7168 + 256 + 256·3·2048·7168 + 3·2048·7168         = 11,320,164,608
//	model                2·129280·7168 + 7168 + 3·583,483,392 + 58·11,507,286,272 = 671,026,419,200
//
// the model card's "671B". Active: the 58·256 routed experts hold
// 653,908,770,816, of which 8/256 run: 671,026,419,200 − 653,908,770,816 +
// 20,434,649,088 = 37,552,297,472, and 36,625,618,432 without the input
// embedding (926,679,040): the card's "36.6B".
//
// The multi-token-prediction layer: an MoE layer (11,507,286,272) plus
// enorm, hnorm, eh_proj [7168, 14336], shared_head.norm = 11,610,068,224
// (README_WEIGHTS.md: "11.5B unique parameters"), plus its embedding and
// head copies 2·926,679,040. The FP8 scales: per layer q_a 12·56, q_b
// 192·12, kv_a 5·56, kv_b 256·4, o 56·128 = 11,448 over 62 layers; a dense
// MLP 3·144·56 = 24,192 over 3; an MoE MLP 257·3·16·56 = 690,816 over 59:
// 41,540,496.
//
// Independently, a listing of the published DeepSeek-R1 files (the same
// architecture; 163 shards) gives 91,991 tensors and 684,531,386,000
// elements in all: the sum of the four figures.
func TestDeepSeekV3Counts(t *testing.T) {
	spec := deepseek.MustNew(deepseek.DeepSeekV3())
	p := spec.Predict()
	if p.Total != 671_026_419_200 || p.Active != 37_552_297_472 || p.Active-p.Components[arch.CompEmbedding] != 36_625_618_432 {
		t.Errorf("total %d, active %d (without embedding %d); want 671,026,419,200, 37,552,297,472, 36,625,618,432", p.Total, p.Active, p.Active-p.Components[arch.CompEmbedding])
	}
	if p.MTP != 11_610_068_224+1_853_358_080 || p.Companions != 41_540_496 {
		t.Errorf("MTP %d, companions %d; want 13,463,426,304 and 41,540,496", p.MTP, p.Companions)
	}
	if all := p.Total + p.MTP + p.Companions; all != 684_531_386_000 {
		t.Errorf("every element: %d, want the published files' 684,531,386,000", all)
	}
	if n := spec.Count(checkpoint.FormatSafetensors); n != 91_991 {
		t.Errorf("%d tensors, want the published files' 91,991", n)
	}
	// llama.cpp: 1 + 3·13 + 58·18 + 2 tensors with kv_b split in two.
	if n := spec.Count(checkpoint.FormatGGUF); n != 1_086 {
		t.Errorf("%d GGUF tensors, want 1,086", n)
	}
}

// The table and the closed form agree on every part, for every published
// config and the tiny one: the sums of the expected tensors' elements by
// part equal the prediction's Total, MTP and Companions, and the model's
// sums by component and layer its Components and Layers. (The GGUF table
// splits kv_b, which the prediction counts whole.)
func TestTableMatchesPrediction(t *testing.T) {
	for _, c := range []*deepseek.Config{deepseek.DeepSeekV3(), deepseek.KimiK2(), deepseek.Tiny()} {
		spec := deepseek.MustNew(c)
		p := spec.Predict()
		if err := archtest.CheckPrediction(spec, checkpoint.FormatSafetensors); err != nil {
			t.Errorf("%s: %v", c.ModelType, err)
		}
		if parts := archtest.Parts(spec, checkpoint.FormatSafetensors); parts[arch.PartMTP] != p.MTP || parts[arch.PartCompanion] != p.Companions {
			t.Errorf("%s: table %v, prediction %d/%d/%d", c.ModelType, parts, p.Total, p.MTP, p.Companions)
		}
	}
}

// Locate and Assign agree with the expected list, entry by entry, in both
// formats, and know nothing else: not a layer past the MTP layers, not
// an expert past the last, not an MTP tensor in a model layer nor in GGUF.
func TestTable(t *testing.T) {
	for _, c := range []*deepseek.Config{deepseek.DeepSeekV3(), deepseek.Tiny()} {
		spec := deepseek.MustNew(c)
		l, e := c.NumHiddenLayers+c.NumNextNPredictLayers, c.NRoutedExperts
		bad := []string{"", "model.layers.", "blk.", fmt.Sprintf("model.layers.%d.input_layernorm.weight", l),
			fmt.Sprintf("model.layers.%d.mlp.experts.%d.up_proj.weight", l-1, e), "model.layers.0.eh_proj.weight",
			fmt.Sprintf("blk.%d.attn_norm.weight", c.NumHiddenLayers), "blk.0.attn_kv_b.weight", "model.layers.0.self_attn.kv_b_proj.bias"}
		for _, f := range archtest.Formats {
			t.Run(c.ModelType+"/"+string(f), func(t *testing.T) { archtest.CheckTable(t, spec, f, bad...) })
		}
	}
}

// Kimi K2 worked by hand (d 7168, V 163840, 64 heads, 1 dense layer, 60
// MoE layers of 384 experts): attention 101,138,432 per layer, the dense
// layer 497,500,160, an MoE layer 17,059,365,248, in all 2·163840·7168 +
// 7168 + 497,500,160 + 60·17,059,365,248 = 1,026,408,232,448 (the model
// card's "1T"); active 32,861,500,928 with the embedding, 31,687,095,808
// without (the card's "32B").
func TestKimiK2Counts(t *testing.T) {
	p := deepseek.MustNew(deepseek.KimiK2()).Predict()
	if p.Total != 1_026_408_232_448 || p.Active != 32_861_500_928 || p.MTP != 0 {
		t.Errorf("total %d, active %d, MTP %d; want 1,026,408,232,448, 32,861,500,928, 0", p.Total, p.Active, p.MTP)
	}
}

// Stored as published (FP8 E4M3 weights with float32 block scales, the
// rest BF16), the layout's tensors take the 641.29 GiB the listing of the
// DeepSeek-R1 files gives (its e_score_correction_bias, float32 there,
// is 30 KB more than BF16: below the last digit).
func TestDeepSeekV3Bytes(t *testing.T) {
	l, err := synth.Builtin("deepseek-v3")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range l.Tensors {
		n += p.Bytes
	}
	if gib := float64(n) / (1 << 30); gib < 641.285 || gib >= 641.295 {
		t.Errorf("%d bytes = %.3f GiB, want 641.29", n, gib)
	}
}

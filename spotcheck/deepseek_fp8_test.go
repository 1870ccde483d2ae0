package spotcheck_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// DeepSeek-V3 as its releases store it: every linear weight FP8 E4M3 with
// block scales (weight_scale_inv, blocks of 24 × 20 here so that edges are
// partial; the releases' 128 × 128 on these small matrices would be one
// block). The spot-check of the dense layer 0 and the MoE layer 1 matches
// the definition (the float64 DeepseekV3DecoderLayer of the DeepSeek
// tests) on the dequantized values within 1e-5, and the same definition on
// the values decoded without their scales differs.
func TestDeepSeekFP8(t *testing.T) {
	c := dsTiny(true)
	qc := *c
	qc.QuantizationConfig = &arch.QuantConfig{QuantMethod: "fp8", Fmt: "e4m3", ActivationScheme: "dynamic", WeightBlockSize: []int64{24, 20}}
	plain, quant := deepseek.MustNew(c), deepseek.MustNew(&qc)
	qm := newQuantModel(t, plain, quant, quantCase{name: "fp8-e4m3", qc: *qc.QuantizationConfig})
	l, err := synth.HF("ds-fp8", quant, synth.HFOptions{Shards: 2, DType: safetensors.F32, FP8Blocks: true})
	if err != nil {
		t.Fatal(err)
	}
	ck := loadBytes(t, l, func(p synth.Placed) []byte {
		if b, ok := qm.stored[p.Name]; ok {
			return b
		}
		return f32Bytes(qm.orig[p.Name])
	})
	fp8 := 0
	for _, tn := range ck.Inventory().Tensors {
		if tn.DType == "F8_E4M3" {
			fp8++
		}
	}
	if fp8 == 0 {
		t.Fatal("the layout stores no FP8 tensor")
	}
	model := func(vals map[string][]float64) *dsModel {
		m := &dsModel{c: c, vals: map[role][]float32{}}
		for _, x := range plain.Expected(checkpoint.FormatSafetensors) {
			v := vals[x.Name]
			if v == nil {
				t.Fatalf("no values for %s", x.Name)
			}
			f := make([]float32, len(v))
			for i, y := range v {
				f[i] = float32(y)
			}
			m.vals[role{x.Layer, x.Component, x.Expert}] = f
		}
		return m
	}
	ref, unscaled := &dsRef{m: model(qm.deq)}, &dsRef{m: model(qm.wrong)}
	tokens := []int{3, 17, 42, 0, 63, 9}
	for layer := range 2 {
		r := spot(t, ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
		want, _ := ref.block(layer, ref.embed(tokens))
		wrong, _ := unscaled.block(layer, unscaled.embed(tokens))
		d, dw := relDiff(r.Output, flat(want)), relDiff(r.Output, flat(wrong))
		t.Logf("layer %d: %.3g from the definition on the dequantized weights, %.3g from the unscaled (%d FP8 tensors)", layer, d, dw, fp8)
		if d > 1e-5 || !r.Passes() {
			t.Errorf("layer %d: differs from the definition by %g; passes %v, float32 vs float64 %g, dead %v", layer, d, r.Passes(), r.MaxRelErr, r.Dead)
		}
		if dw < 1e-3 {
			t.Errorf("layer %d: control: the values without their block scales differ by only %g", layer, dw)
		}
	}
}

package spotcheck_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// Qwen3 with the rope_scaling its model cards give for long contexts
// ({"rope_type": "yarn", "factor": 4, "original_max_position_embeddings":
// …}; here 32 positions, so that the ramp falls inside the tiny head):
// the spot-check matches the definition with YaRN's frequencies and
// attention factor (naiveMoEBlock), and the definition without the
// scaling differs; the same config written to GGUF and read back gives
// the same RoPE; a rope_scaling it does not compute is declined.
func TestQwen3YaRN(t *testing.T) {
	c := qwen3.TinyMoE()
	c.RopeScaling = json.RawMessage(`{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32}`)
	spec := qwen3.MustNew(c)
	vals := map[string][]float32{}
	for _, e := range spec.Expected(checkpoint.FormatSafetensors) {
		n := 1
		for _, s := range e.Shape {
			n *= int(s)
		}
		rng := quantRNG(e.Name)
		v := make([]float32, n)
		for i := range v {
			switch z := rng.NormFloat64(); {
			case len(e.Shape) == 1:
				v[i] = float32(1 + 0.1*z)
			default:
				v[i] = float32(z / math.Sqrt(float64(e.Shape[len(e.Shape)-1])))
			}
		}
		vals[e.Name] = v
	}
	l, err := synth.HF("yarn", spec, synth.HFOptions{Shards: 1, DType: safetensors.F32})
	if err != nil {
		t.Fatal(err)
	}
	ck := loadBytes(t, l, func(p synth.Placed) []byte { return f32Bytes(vals[p.Name]) })
	plain := *c
	plain.RopeScaling = nil
	tokens := []int{5, 9, 60, 17, 33, 2}
	w := func(name string) []float64 { return widen(vals[name]) }
	for layer := range 2 {
		got := spot(t, ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
		want, _ := naiveMoEBlock(c, w, layer, tokens)
		unscaled, _ := naiveMoEBlock(&plain, w, layer, tokens)
		d, du := relDiff(got.Output, want), relDiff(got.Output, unscaled)
		t.Logf("layer %d: %.3g from the definition with YaRN, %.3g from it without", layer, d, du)
		if d > 1e-5 || !got.Passes() {
			t.Errorf("layer %d: differs from the definition by %g (passes %v)", layer, d, got.Passes())
		}
		if du < 1e-3 {
			t.Errorf("layer %d: control: the definition without rope_scaling differs by only %g", layer, du)
		}
	}

	// GGUF: the keys llama.cpp's converter writes, read back from a file.
	gl, err := synth.GGUF("yarn", spec, synth.GGUFOptions{Type: "F32", NoTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	gck := loadBytes(t, gl, func(p synth.Placed) []byte { return make([]byte, p.Bytes) })
	back, _, err := arch.FromCheckpoint(gck)
	if err != nil {
		t.Fatal(err)
	}
	hf, gg := spec.Forward(checkpoint.FormatSafetensors).Scaling, back.(arch.Forwarder).Forward(checkpoint.FormatGGUF).Scaling
	if hf.Type != forward.RopeYaRN || gg.Type != forward.RopeYaRN || hf.Factor != gg.Factor || hf.OriginalMaxPositions != gg.OriginalMaxPositions || !gg.Truncate ||
		math.Abs(hf.AttnFactor-gg.AttnFactor) > 1e-6 || math.Abs(hf.AttnFactor-(0.1*math.Log(4)+1)) > 1e-12 {
		t.Errorf("RoPE from config.json %+v, from GGUF %+v: want the same YaRN (llama.cpp truncates)", hf, gg)
	}

	dyn := *c
	dyn.RopeScaling = json.RawMessage(`{"rope_type":"dynamic","factor":2.0}`)
	if fc := qwen3.MustNew(&dyn).Forward(checkpoint.FormatSafetensors); fc.Scaling.Type != forward.RopeUnsupported {
		t.Errorf("rope_scaling dynamic: scaling %+v, want unsupported (declined)", fc.Scaling)
	}
}

package spotcheck_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck"
)

type ossCase struct {
	name     string
	c        *gptoss.Config
	ggufType string
}

func ossCases() []ossCase {
	deq := gptoss.Tiny()
	deq.QuantizationConfig = nil
	return []ossCase{{"mxfp4/F32", gptoss.Tiny(), "F32"}, {"dequantized/F32", deq, "F32"}, {"mxfp4/MXFP4", gptoss.Tiny(), "MXFP4"}}
}

// gpt-oss in both formats against the definition: layer 0 slides over 8
// positions, layer 1 attends to all of the 11 tokens; the two formats
// agree to float32 rounding, and the definition without each feature
// does not.
func TestGptOssMatchesDefinition(t *testing.T) {
	tokens := []int{3, 17, 42, 0, 63, 9, 5, 11, 29, 40, 7}
	for _, tc := range ossCases() {
		t.Run(tc.name, func(t *testing.T) {
			m := newOSSModel(tc.c, tc.ggufType == "MXFP4")
			hf, gg := layOSS(t, tc.c, m, tc.ggufType)
			ref := &ossRef{m: m}
			controls := map[string]*ossRef{"sinks": {m: m, noSinks: true}, "the clamp": {m: m, noClamp: true},
				"alpha 1.702": {m: m, alphaOne: true}, "the +1": {m: m, noPlusOne: true}, "the softmax after top-k": {m: m, softmaxFirst: true},
				"the sliding window": {m: m, noWindow: true}}
			ablated := map[string]float64{}
			for layer := range 2 {
				outs, routes := ref.block(layer, ref.embed(tokens))
				want := flat(outs)
				for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": hf, "gguf": gg} {
					r := spot(t, ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
					t.Logf("layer %d %s: %.3g from the definition (float32 vs float64 %.3g)", layer, f, relDiff(r.Output, want), r.MaxRelErr)
					if d := relDiff(r.Output, want); d > 1e-5 || !r.Passes() || r.MaxRelErr > 1e-5 {
						t.Errorf("layer %d %s: differs from the definition by %g; passes %v, float32 vs float64 %g, dead %v", layer, f, d, r.Passes(), r.MaxRelErr, r.Dead)
					}
					if !slices.EqualFunc(r.Experts, routes, slices.Equal) {
						t.Errorf("layer %d %s: experts %v, the definition routes to %v", layer, f, r.Experts, routes)
					}
				}
				a := spot(t, hf, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 1})
				b := spot(t, gg, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 3})
				if d := relDiff(b.Output, a.Output); d > 1e-6 {
					t.Errorf("layer %d: GGUF differs from safetensors by %g", layer, d)
				}
				for cn, cr := range controls {
					o, _ := cr.block(layer, cr.embed(tokens))
					ablated[cn] = math.Max(ablated[cn], relDiff(a.Output, flat(o)))
				}
			}
			want := ref.full(tokens)
			for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": hf, "gguf": gg} {
				r := spot(t, ck, spotcheck.Options{Full: true, Tokens: tokens, Jobs: 2})
				t.Logf("%s full: logits %.3g from the definition (float32 vs float64 %.3g)", f, relDiff(r.Output, want), r.MaxRelErr)
				if d := relDiff(r.Output, want); d > 1e-5 || !r.Passes() {
					t.Errorf("%s full: logits differ from the definition by %g; passes %v, dead %v", f, d, r.Passes(), r.Dead)
				}
			}
			for cn, d := range ablated {
				t.Logf("without %s: differs by %.3g", cn, d)
				if d < 1e-3 {
					t.Errorf("the definition without %s differs by only %g", cn, d)
				}
			}
		})
	}
}

// One token routes to 2 of the 4 experts: the spot-check reads those
// experts' rows of every stacked expert tensor (MXFP4 blocks and scales,
// the dequantized [E, in, out] stacks, the GGUF stacks) and their bias
// rows, and no byte of the others.
func TestGptOssReadsOnlyChosenExperts(t *testing.T) {
	tokens := []int{5}
	for _, tc := range ossCases() {
		name := tc.name
		hf, gg := layOSS(t, tc.c, newOSSModel(tc.c, tc.ggufType == "MXFP4"), tc.ggufType)
		for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": hf, "gguf": gg} {
			r := spot(t, ck, spotcheck.Options{Layer: 1, Tokens: tokens})
			if len(r.Experts) != 1 || len(r.Experts[0]) != 2 {
				t.Fatalf("%s %s: experts %v, want 2 of the 4", name, f, r.Experts)
			}
			var want int64
			for _, tn := range ck.Inventory().Tensors {
				switch {
				case tn.Name == "model.embed_tokens.weight" || tn.Name == "token_embd.weight":
					want += tn.Bytes / 64 * int64(len(tokens))
				case tn.Layer != 1:
				case strings.Contains(tn.Name, "experts") || strings.Contains(tn.Name, "_exps"):
					want += tn.Bytes / 4 * 2
				default:
					want += tn.Bytes
				}
			}
			if r.BytesRead != want {
				t.Errorf("%s %s: read %d bytes, want exactly %d (experts %v)", name, f, r.BytesRead, want, r.Experts)
			}
		}
	}
}

// The published models' YaRN (factor 32, beta_fast 32, beta_slow 1,
// 4096 original positions, truncate false) against the definition: the
// safetensors checkpoint as transformers computes it, the GGUF file as
// llama.cpp does, which always truncates the ramp; cos and sin times
// 0.1·ln 32 + 1 in both. Plain RoPE, and the other truncation, disagree.
func TestGptOssYaRN(t *testing.T) {
	c := gptoss.Tiny()
	c.QuantizationConfig = nil
	c.RopeScaling = json.RawMessage(`{"beta_fast":32.0,"beta_slow":1.0,"factor":32.0,"original_max_position_embeddings":4096,"rope_type":"yarn","truncate":false}`)
	m := newOSSModel(c)
	hf, gg := layOSS(t, c, m)
	tokens := []int{3, 17, 42, 0, 63, 9, 5, 11, 29, 40, 7}
	hd, attn := int(c.HeadDim), yarnMscale(32, 1)
	refs := map[bool]*ossRef{}
	for _, truncate := range []bool{false, true} {
		refs[truncate] = &ossRef{m: m, invFreq: yarnInvFreq(hd, c.RopeTheta, 32, 4096, 32, 1, truncate), attn: attn}
	}
	for layer := range 2 {
		for f, tc := range map[string]struct {
			ck       *checkpoint.Checkpoint
			truncate bool
		}{"safetensors": {hf, false}, "gguf": {gg, true}} {
			r := spot(t, tc.ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
			want, _ := refs[tc.truncate].block(layer, refs[tc.truncate].embed(tokens))
			other, _ := refs[!tc.truncate].block(layer, refs[!tc.truncate].embed(tokens))
			plain, _ := (&ossRef{m: m}).block(layer, refs[false].embed(tokens))
			d, dOther, dPlain := relDiff(r.Output, flat(want)), relDiff(r.Output, flat(other)), relDiff(r.Output, flat(plain))
			t.Logf("layer %d %s: %.3g from the definition, %.3g from the other truncation, %.3g from plain RoPE", layer, f, d, dOther, dPlain)
			if d > 1e-5 || !r.Passes() {
				t.Errorf("layer %d %s: differs from the definition by %g; passes %v", layer, f, d, r.Passes())
			}
			if dPlain < 1e-3 || dOther < 1e-4 {
				t.Errorf("layer %d %s: plain RoPE differs by only %g, the other truncation by %g", layer, f, dPlain, dOther)
			}
		}
	}
}

// A layer of zeros passes its input through: every output of the block
// is then the residual (the biases, the sinks and the experts' +1 of zero
// weights contribute nothing: RMSNorm(0)·0 = 0, and an expert of zero
// weights and biases gives (0 + 1)·0·sigmoid(0) = 0).
func TestGptOssDeadBlock(t *testing.T) {
	c := gptoss.Tiny()
	c.QuantizationConfig = nil
	m := newOSSModel(c)
	for k, v := range m.vals {
		if k.layer == 0 {
			clear(v)
		}
	}
	hf, gg := layOSS(t, c, m)
	tokens := []int{1, 2, 5}
	ref := &ossRef{m: m}
	want := flat(ref.embed(tokens))
	for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": hf, "gguf": gg} {
		r := spot(t, ck, spotcheck.Options{Layer: 0, Tokens: tokens})
		if !slices.Equal(r.Output, want) {
			t.Errorf("%s: a zero layer changes its input by %g", f, relDiff(r.Output, want))
		}
		if len(r.Dead) == 0 {
			t.Errorf("%s: a zero layer is not reported dead", f)
		}
	}
}

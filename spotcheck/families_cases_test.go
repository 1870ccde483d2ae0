package spotcheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/spotcheck"
)

type familyCase struct {
	name string
	spec arch.Spec
	ref  *ref
	// layers are the layers run one by one; 0 and 1 when nil.
	layers []int
	// ablate removes, by name, each feature the case tests from the
	// definition (the RoPE scaling, the window, the biases, Gemma's
	// 1 + w, …): the spot-check must then disagree with it, on one of
	// the layers or the logits, so that the test would see the feature
	// missing.
	ablate map[string]func(*ref)
	// exact says the GGUF file gives the same block output bit for bit
	// (it holds the same float32 values); false where llama.cpp stores
	// the RoPE scaling its own way (rope_freqs) or runs another window or
	// attention scale.
	exact bool
}

func familyCases(t testing.TB) []familyCase {
	ptr := func(n int64) *int64 { return &n }
	// Llama 3.1's RoPE scaling, with a base and an original context that
	// put one frequency of head_dim 8 in each band (kept, interpolated,
	// divided), as forward's TestRoPELlama3Frequencies works out.
	l3 := llama.TinyDense()
	l3.RopeTheta = 10000
	l3.RopeScaling = &llama.RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 1000}
	// Tied embeddings (Llama 3.2 1B and 3B) with a linear scaling.
	tied := llama.TinyDense()
	tied.TieWordEmbeddings = true
	tied.RopeScaling = &llama.RopeScaling{Type: "linear", Factor: 4}
	mistral := llama.TinyMistral()
	mistral.SlidingWindow = ptr(3)
	slide := qwen2.Tiny()
	slide.UseSlidingWindow, slide.SlidingWindow, slide.MaxWindowLayers = true, ptr(2), 1 // layer 1 slides
	plain := func(theta float64) map[string]func(*ref) {
		return map[string]func(*ref){"RoPE scaling": func(r *ref) { r.invFreq = plainInvFreq(r.hd, theta) }}
	}
	noWindow := map[string]func(*ref){"sliding window": func(r *ref) { r.window, r.windows = 0, nil }}

	// Gemma 3 with its local layers' window biting (3 of the 6 tokens),
	// the 4B's linear scaling of the global layers (layer 5 of 7) and a
	// final soft cap (Gemma 2's value; Gemma 3 sets none), text-only and
	// as the language model of a multimodal checkpoint.
	gemma := func(c *gemma3.Config) *gemma3.Config {
		softcap := 5.0
		c.SlidingWindow, c.RopeScaling, c.FinalLogitSoftcapping = 3, json.RawMessage(`{"factor": 8.0, "rope_type": "linear"}`), &softcap
		return c
	}
	// query_pre_attn_scalar apart from head_dim, as no published model
	// has it but the 27B (whose llama.cpp scale is its own rule): the
	// Hugging Face checkpoint scales by 1/√64, the GGUF file, as llama.cpp
	// runs it, by 1/√head_dim.
	scalar := gemma3.Tiny()
	scalar.QueryPreAttnScalar = 64
	// Tiny's layer 5 is its global layer (rope_theta 1e6), layer 4 a
	// local one.
	gemmaAblate := map[string]func(*ref){
		"1 + w":                 func(r *ref) { r.plusOne = false },
		"post norms":            func(r *ref) { r.postNorms = false },
		"√hidden_size":          func(r *ref) { r.embedScale = 0 },
		"GeGLU":                 func(r *ref) { r.gelu = false },
		"sliding window":        func(r *ref) { r.windows = nil },
		"final_logit_softcap":   func(r *ref) { r.softcap = 0 },
		"global linear scaling": func(r *ref) { r.invFreqs[5] = plainInvFreq(r.hd, 1e6) },
		"local RoPE base":       func(r *ref) { r.invFreqs[4] = r.invFreqs[5] },
	}
	// Phi-3 with LongRoPE's short factors unequal (Tiny's are all 1), its
	// window past the tokens; Phi-3-mini-4k's shape of no scaling with
	// the window biting.
	longrope := phi3.Tiny()
	longrope.RopeScaling.ShortFactor = []float64{1, 1.25, 1.5, 2}
	// Qwen2.5's model cards extend the context so (original 32768 there;
	// 16 here, so that the ramp falls inside the tiny head).
	llamaYarn := llama.TinyDense()
	llamaYarn.RopeScaling = &llama.RopeScaling{RopeType: "yarn", Factor: 4, OriginalMaxPositionEmbeddings: 16}
	yarn := qwen2.Tiny()
	yarn.RopeScaling = json.RawMessage(`{"type":"yarn","factor":4.0,"original_max_position_embeddings":16}`)
	window := phi3.Tiny()
	window.RopeScaling, window.MaxPositionEmbeddings, window.SlidingWindow = nil, 64, 3
	cases := []familyCase{
		{name: "llama, llama3 RoPE", spec: llama.MustNew(l3), ablate: plain(l3.RopeTheta)},
		{name: "llama, tied, linear RoPE", spec: llama.MustNew(tied), ablate: plain(tied.RopeTheta), exact: true},
		{name: "mistral, sliding window 3", spec: llama.MustNew(mistral), ablate: noWindow},
		{name: "mixtral", spec: llama.MustNew(llama.TinyMoE()), exact: true},
		{name: "qwen2, biases", spec: qwen2.MustNew(qwen2.Tiny()), ablate: map[string]func(*ref){"biases": func(r *ref) { r.bias = false }}, exact: true},
		{name: "qwen2, layer 1 sliding", spec: qwen2.MustNew(slide), ablate: noWindow},
		{name: "llama, YaRN", spec: llama.MustNew(llamaYarn), ablate: map[string]func(*ref){
			"YaRN's frequencies": func(r *ref) { r.invFreq = plainInvFreq(r.hd, llamaYarn.RopeTheta) },
			"attention factor":   func(r *ref) { r.ropeAttn = 0 },
		}},
		{name: "qwen2, YaRN", spec: qwen2.MustNew(yarn), ablate: map[string]func(*ref){
			"YaRN's frequencies": func(r *ref) { r.invFreq = plainInvFreq(r.hd, yarn.RopeTheta) },
			"attention factor":   func(r *ref) { r.ropeAttn = 0 },
		}},
		{name: "gemma3, local and global layers", spec: gemma3.MustNew(gemma(gemma3.Tiny())), layers: []int{4, 5}, ablate: gemmaAblate, exact: true},
		{name: "gemma3, multimodal language model", spec: gemma3.MustNew(gemma(gemma3.TinyMultimodal())), layers: []int{4, 5}, exact: true},
		{name: "gemma3, query_pre_attn_scalar 64", spec: gemma3.MustNew(scalar), layers: []int{5},
			ablate: map[string]func(*ref){"query_pre_attn_scalar": func(r *ref) { r.attnScale = 0 }}},
		{name: "phi3, LongRoPE", spec: phi3.MustNew(longrope), exact: true, ablate: map[string]func(*ref){
			"short factors":    func(r *ref) { r.invFreq = plainInvFreq(r.hd, 10000) },
			"attention factor": func(r *ref) { r.ropeAttn = 0 },
			"fused order":      func(r *ref) { r.swapFused = true },
		}},
		{name: "phi3, sliding window 3", spec: phi3.MustNew(window), ablate: noWindow},
	}
	for i := range cases {
		switch c := cases[i].spec.Config().(type) {
		case *llama.Config:
			cases[i].ref = refOfLlama(c)
		case *qwen2.Config:
			cases[i].ref = refOfQwen2(t, c)
		case *gemma3.Config:
			cases[i].ref = refOfGemma3(t, c, "model.")
		case *gemma3.MultimodalConfig:
			cases[i].ref = refOfGemma3(t, c.TextConfig, "language_model.model.")
		case *phi3.Config:
			cases[i].ref = refOfPhi3(c)
		}
		if cases[i].ref.prefix == "" {
			cases[i].ref.prefix = "model."
		}
		if cases[i].layers == nil {
			cases[i].layers = []int{0, 1}
		}
	}
	return cases
}

// ggufRef is the definition as llama.cpp computes the GGUF file: no
// sliding window unless its architecture has one (gemma3; neither llama,
// qwen2 nor phi3), and its own attention scale where it has one.
func (r *ref) ggufRef() *ref {
	g := *r
	if !r.ggufWindows {
		g.window, g.windows = 0, nil
	}
	if r.ggufAttnScale != 0 {
		g.attnScale = r.ggufAttnScale
	}
	return &g
}

// Each family's spot-check, of one layer and of the whole model, agrees
// with the definition within 1e-5 relative in float32 on F32 weights, in
// both formats, with the experts the definition routes to; the GGUF file
// gives the same output as the safetensors one (bit for bit where both
// hold the same values and llama.cpp runs the same window and scale); and
// the definition without each of the case's features disagrees, on a
// layer or the logits, so the feature is tested.
func TestFamiliesMatchDefinition(t *testing.T) {
	tokens := []int{3, 17, 42, 0, 63, 9}
	for _, fc := range familyCases(t) {
		t.Run(fc.name, func(t *testing.T) {
			m := layTiny(t, fc.spec, nil)
			// The largest difference from the spot-check of the
			// definition without each feature, over the layers and the
			// logits.
			ablated := map[string]float64{}
			for _, layer := range fc.layers {
				want, routes := fc.ref.layer(m.w, layer, tokens)
				hf := spot(t, m.hf, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
				t.Logf("layer %d: safetensors %.3g from the definition (float32 vs float64 %.3g)", layer, relDiff(hf.Output, want), hf.MaxRelErr)
				if d := relDiff(hf.Output, want); d > 1e-5 || !hf.Passes() || hf.MaxRelErr > 1e-5 {
					t.Errorf("layer %d: differs from the definition by %g; passes %v, float32 vs float64 %g, dead %v", layer, d, hf.Passes(), hf.MaxRelErr, hf.Dead)
				}
				if routes != nil && !slices.EqualFunc(hf.Experts, routes, slices.Equal) {
					t.Errorf("layer %d: experts %v, the definition routes to %v", layer, hf.Experts, routes)
				}
				gg := spot(t, m.gguf, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
				wantGG, _ := fc.ref.ggufRef().layer(m.w, layer, tokens)
				t.Logf("layer %d: GGUF %.3g from the definition, %.3g from safetensors", layer, relDiff(gg.Output, wantGG), relDiff(gg.Output, hf.Output))
				if d := relDiff(gg.Output, wantGG); d > 1e-5 || !gg.Passes() {
					t.Errorf("layer %d: GGUF differs from the definition by %g; passes %v", layer, d, gg.Passes())
				}
				if !slices.EqualFunc(gg.Experts, hf.Experts, slices.Equal) {
					t.Errorf("layer %d: GGUF experts %v, safetensors %v", layer, gg.Experts, hf.Experts)
				}
				if fc.exact && !slices.Equal(gg.Output, hf.Output) {
					t.Errorf("layer %d: GGUF output differs from safetensors by %g, want bit for bit", layer, relDiff(gg.Output, hf.Output))
				}
				for name, ablate := range fc.ablate {
					without := fc.ref.clone()
					ablate(without)
					other, _ := without.layer(m.w, layer, tokens)
					ablated[name] = math.Max(ablated[name], relDiff(hf.Output, other))
				}
			}
			for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": m.hf, "gguf": m.gguf} {
				want := fc.ref.full(m.w, tokens)
				if f == "gguf" {
					want = fc.ref.ggufRef().full(m.w, tokens)
				}
				r := spot(t, ck, spotcheck.Options{Full: true, Tokens: tokens, Jobs: 2})
				t.Logf("%s full: logits %.3g from the definition (float32 vs float64 %.3g)", f, relDiff(r.Output, want), r.MaxRelErr)
				if d := relDiff(r.Output, want); d > 1e-5 || !r.Passes() || !slices.Equal(r.ShapeOut, []int{len(tokens), 64}) {
					t.Errorf("%s full: logits %v differ from the definition by %g; passes %v, dead %v", f, r.ShapeOut, d, r.Passes(), r.Dead)
				}
				for name, ablate := range fc.ablate {
					if f == "safetensors" {
						without := fc.ref.clone()
						ablate(without)
						ablated[name] = math.Max(ablated[name], relDiff(r.Output, without.full(m.w, tokens)))
					}
				}
			}
			for name, d := range ablated {
				t.Logf("without %s: differs by %.3g", name, d)
				if d < 1e-3 {
					t.Errorf("the definition without %s differs by only %g", name, d)
				}
			}
		})
	}
}

// clone returns a copy of r whose per-layer frequencies a control may
// change.
func (r *ref) clone() *ref {
	c := *r
	c.invFreqs = slices.Clone(r.invFreqs)
	return &c
}

// With no more tokens than the window, the window does not bite: the
// GGUF file (whose llama.cpp architecture may have none) gives the
// safetensors output bit for bit, where llama.cpp scales the attention
// as transformers does.
func TestFamiliesWindowWithinTokens(t *testing.T) {
	for _, fc := range familyCases(t) {
		if fc.ref.window == 0 && slices.Max(append(fc.ref.windows, 0)) == 0 || fc.ref.ggufRef().attnScale != fc.ref.attnScale {
			continue
		}
		t.Run(fc.name, func(t *testing.T) {
			m := layTiny(t, fc.spec, nil)
			tokens := []int{3, 17} // within both windows (3 and 2)
			for _, layer := range []int{0, 1} {
				hf := spot(t, m.hf, spotcheck.Options{Layer: layer, Tokens: tokens})
				gg := spot(t, m.gguf, spotcheck.Options{Layer: layer, Tokens: tokens})
				if !slices.Equal(gg.Output, hf.Output) {
					t.Errorf("layer %d: GGUF differs from safetensors by %g", layer, relDiff(gg.Output, hf.Output))
				}
			}
		})
	}
}

// Mixtral's spot-check reads the layer's attention, norms and router,
// the embedding rows of the tokens and, of the experts, only those the
// router chose: per expert tensor in safetensors, the chosen experts'
// slices of each stacked GGUF tensor. The expectation is worked out from
// the inventory.
func TestMixtralReadsOnlyChosenExperts(t *testing.T) {
	m := layTiny(t, llama.MustNew(llama.TinyMoE()), nil)
	tokens := []int{5}
	for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": m.hf, "gguf": m.gguf} {
		r := spot(t, ck, spotcheck.Options{Layer: 1, Tokens: tokens})
		distinct := map[int]bool{}
		for _, ids := range r.Experts {
			for _, id := range ids {
				distinct[id] = true
			}
		}
		if len(distinct) != 2 {
			t.Fatalf("%s: experts %v, want 2 of the 4", f, r.Experts)
		}
		var want int64
		for _, tn := range ck.Inventory().Tensors {
			switch {
			case tn.Name == "model.embed_tokens.weight" || tn.Name == "token_embd.weight":
				want += tn.Bytes / 64 * int64(len(tokens)) // one row of the 64 per token
			case tn.Layer != 1:
			case len(tn.Logical) == 3: // stacked experts
				want += tn.Bytes / 4 * int64(len(distinct))
			default:
				if e := expertOf(tn.Name); e < 0 || distinct[e] {
					want += tn.Bytes
				}
			}
		}
		if r.BytesRead != want {
			t.Errorf("%s: read %d bytes, want exactly %d (experts %v)", f, r.BytesRead, want, r.Experts)
		}
	}
}

// The dead-block checks see these families' defects as Qwen3's: zero
// layer weights pass the input through, a zero Mixtral router ties every
// expert, a zero embedding row gives a dead token, in both formats. The
// expectations follow from the definition (RMSNorm(0) = 0, softmax of
// equal logits is uniform), as in TestSpotCheckDeadBlock.
func TestFamiliesDeadBlock(t *testing.T) {
	tokens := []int{1, 2, 5}
	zero := func(match func(role) bool) edit {
		return func(r role, v []float32) {
			if match(r) {
				clear(v)
			}
		}
	}
	type D = spotcheck.Dead
	tests := []struct {
		name string
		spec arch.Spec
		edit edit
		opts spotcheck.Options
		want []D
	}{
		{"llama layer 1 zero", llama.MustNew(llama.TinyDense()), zero(func(r role) bool { return r.layer == 1 }),
			spotcheck.Options{Layer: 1, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 1}}},
		{"mixtral router 0 zero", llama.MustNew(llama.TinyMoE()), zero(func(r role) bool { return r.layer == 0 && r.comp == arch.CompRouter }),
			spotcheck.Options{Layer: 0, Tokens: tokens}, []D{{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: tokens}}},
		// The embedding all zero: RMSNorm(0) = 0, so q, k and v are
		// Qwen2's biases and every token's attention returns v's bias;
		// from there on every token computes the same row. The rows are
		// not dead (the biases live) and not "the same although the
		// inputs differ" (they do not): only the embedding is named.
		{"qwen2 embedding zero, full", qwen2.MustNew(qwen2.Tiny()), zero(func(r role) bool { return r.comp == arch.CompEmbedding }),
			spotcheck.Options{Full: true, Tokens: tokens}, []D{{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: tokens}}},
		// Gemma's zero norm weights scale by 1 + 0 = 1 (the GGUF file
		// stores that 1), but the zero projections leave the attention and
		// the MLP nothing to add, and their post norms of zero are zero.
		{"gemma3 layer 5 zero", gemma3.MustNew(gemma3.Tiny()), zero(func(r role) bool { return r.layer == 5 }),
			spotcheck.Options{Layer: 5, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 5}}},
		{"gemma3 multimodal layer 0 zero", gemma3.MustNew(gemma3.TinyMultimodal()), zero(func(r role) bool { return r.layer == 0 }),
			spotcheck.Options{Layer: 0, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 0}}},
		{"phi3 layer 0 zero", phi3.MustNew(phi3.Tiny()), zero(func(r role) bool { return r.layer == 0 }),
			spotcheck.Options{Layer: 0, Tokens: tokens}, []D{{Kind: spotcheck.DeadPassThrough, Layer: 0}}},
		// The embedding all zero: √hidden_size·0 = 0, and without
		// biases every layer maps 0 to 0 (not named a pass-through: its
		// input is zero); the logits, tied to the zero embedding, are
		// zero.
		{"gemma3 embedding zero, full", gemma3.MustNew(gemma3.Tiny()), zero(func(r role) bool { return r.comp == arch.CompEmbedding }),
			spotcheck.Options{Full: true, Tokens: tokens}, []D{{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: tokens},
				{Kind: spotcheck.DeadZero, Layer: -1, Tokens: tokens}}},
	}
	for _, tt := range tests {
		m := layTiny(t, tt.spec, tt.edit)
		for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": m.hf, "gguf": m.gguf} {
			t.Run(tt.name+"/"+f, func(t *testing.T) {
				got := spot(t, ck, tt.opts)
				if diff := cmp.Diff(tt.want, got.Dead); diff != "" || got.Passes() {
					t.Errorf("Run(%+v).Dead mismatch (-want +got):\n%s; passes %v", tt.opts, diff, got.Passes())
				}
			})
		}
	}
}

// A RoPE scaling, or another feature, the kernels do not implement
// declines the spot-check as not applicable (audit --spotcheck then notes
// it) rather than run another block than the model's; for Gemma 3 also
// when the layer run is a local one, which the global layers' scaling
// does not touch.
func TestSpotCheckUnsupportedRopeScaling(t *testing.T) {
	llamaDynamic := llama.TinyDense()
	llamaDynamic.RopeScaling = &llama.RopeScaling{RopeType: "dynamic", Factor: 4}
	dynamic := gemma3.Tiny()
	dynamic.RopeScaling = json.RawMessage(`{"rope_type": "dynamic", "factor": 2.0}`)
	bidirectional := gemma3.Tiny()
	bidirectional.UseBidirectionalAttention = true
	partial := phi3.Tiny()
	partial.PartialRotaryFactor = 0.75
	phiYarn := phi3.Tiny()
	phiYarn.RopeScaling.Type = "yarn"
	for _, tt := range []struct {
		name, want string
		spec       arch.Spec
	}{
		{"llama dynamic", `"dynamic"`, llama.MustNew(llamaDynamic)},
		{"gemma3 dynamic", `"dynamic"`, gemma3.MustNew(dynamic)},
		{"gemma3 bidirectional", "use_bidirectional_attention", gemma3.MustNew(bidirectional)},
		{"phi3 partial rotary", "partial_rotary_factor 0.75", phi3.MustNew(partial)},
		{"phi3 yarn", `"yarn"`, phi3.MustNew(phiYarn)},
	} {
		m := layTiny(t, tt.spec, nil)
		_, err := spotcheck.Run(context.Background(), m.hf, spotcheck.Options{Layer: 0, Tokens: []int{1}})
		if !errors.Is(err, arch.ErrNotApplicable) || !errors.Is(err, spotcheck.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Run = %v, want arch.ErrNotApplicable naming %s", tt.name, err, tt.want)
		}
	}
}

package spotcheck_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/arch/deepseek/deepseektest"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// The spot-check of DeepSeek-V3 against DeepseekV3DecoderLayer written
// here from transformers' models/deepseek_v3/modeling_deepseek_v3.py and
// modeling_rope_utils.py in float64 with naive loops, on tiny models
// stored as F32 safetensors and as F32 GGUF files laid out as llama.cpp's
// converter writes them (convert_hf_to_gguf.py DeepseekV2Model: experts
// stacked, kv_b split per head into attn_k_b, the k rows transposed, and
// attn_v_b; or kv_b whole as attn_kv_b in the older files; the rows of
// q and kv_a as they are).

// dsTiny is a 2-layer DeepSeek-V3 (one dense layer, one MoE layer of 8
// experts in 2 groups of which 1 is kept, top-2, one shared expert) with
// the published YaRN (factor 40, mscale = mscale_all_dim = 1), in F32;
// without q LoRA (DeepSeek-V2-Lite's q_proj) when qLora is false.
func dsTiny(qLora bool) *deepseek.Config {
	c := deepseek.Tiny()
	c.QuantizationConfig, c.TorchDType = nil, "float32"
	c.NumHiddenLayers, c.NumNextNPredictLayers = 2, 0
	c.NRoutedExperts, c.NGroup, c.TopkGroup, c.NumExpertsPerTok = 8, 2, 1, 2
	c.RopeScaling = json.RawMessage(`{"beta_fast":32,"beta_slow":1,"factor":40,"mscale":1.0,"mscale_all_dim":1.0,"original_max_position_embeddings":4096,"type":"yarn"}`)
	if !qLora {
		c.QLoraRank = nil
	}
	return c
}

// dsModel holds the values of the Hugging Face tensors by role, matrices
// [out, in] row-major.
type dsModel struct {
	c    *deepseek.Config
	vals map[role][]float32
}

// newDSModel draws the values: norm weights 1 + N(0, 0.01), the
// correction bias N(0, 0.01), the embedding N(0, 1), matrices N(0,
// 1/cols).
func newDSModel(c *deepseek.Config) *dsModel {
	m := &dsModel{c: c, vals: map[role][]float32{}}
	for _, x := range deepseek.MustNew(c).Expected(checkpoint.FormatSafetensors) {
		n := 1
		for _, s := range x.Shape {
			n *= int(s)
		}
		cols := int(x.Shape[len(x.Shape)-1])
		r := role{x.Layer, x.Component, x.Expert}
		h := fnv.New64a()
		fmt.Fprintf(h, "ds/%d/%s/%d", r.layer, r.comp, r.expert)
		rng := rand.New(rand.NewPCG(h.Sum64(), 11))
		v := make([]float32, n)
		for i := range v {
			z := rng.NormFloat64()
			switch {
			case strings.Contains(string(r.comp), "norm"):
				v[i] = float32(1 + 0.1*z)
			case r.comp == deepseek.CompRouterBias:
				v[i] = float32(0.1 * z)
			case r.comp == arch.CompEmbedding:
				v[i] = float32(z)
			default:
				v[i] = float32(z / math.Sqrt(float64(cols)))
			}
		}
		m.vals[r] = v
	}
	return m
}

func (m *dsModel) v(layer int, comp arch.Component) []float32 { return m.vals[role{layer, comp, -1}] }

// layDS writes the model as F32 safetensors and as F32 GGUF, with kv_b
// split (today's converter) or whole (legacy).
func layDS(tb testing.TB, m *dsModel, legacy bool) (hf, gg *checkpoint.Checkpoint) {
	tb.Helper()
	c := m.c
	spec := deepseek.MustNew(c)
	byName := map[string]arch.Expected{}
	for _, x := range spec.Expected(checkpoint.FormatSafetensors) {
		byName[x.Name] = x
	}
	hl, err := synth.HF("ds", spec, synth.HFOptions{Shards: 2, DType: safetensors.F32})
	if err != nil {
		tb.Fatal(err)
	}
	hf = loadLayout(tb, hl, func(p synth.Placed) []float32 {
		x := byName[p.Name]
		return m.vals[role{x.Layer, x.Component, x.Expert}]
	})
	h, nope, v, rank := int(c.NumAttentionHeads), int(c.QKNopeHeadDim), int(c.VHeadDim), int(c.KVLoraRank)
	var w arch.Spec = spec
	if legacy {
		w = deepseektest.LegacyKVB(spec, c)
	}
	ggByName := map[string]arch.Expected{}
	for _, x := range w.Expected(checkpoint.FormatGGUF) {
		ggByName[x.Name] = x
	}
	gl, err := synth.GGUF("ds", w, synth.GGUFOptions{Type: "F32", NoTokenizer: true})
	if err != nil {
		tb.Fatal(err)
	}
	gg = loadLayout(tb, gl, func(p synth.Placed) []float32 {
		x := ggByName[p.Name]
		kvb := m.v(x.Layer, deepseek.CompAttnKVB)
		var out []float32
		switch {
		case x.Component == deepseek.CompAttnKB: // per head [rank, nope]: the k rows transposed
			for hd := range h {
				for r := range rank {
					for j := range nope {
						out = append(out, kvb[(hd*(nope+v)+j)*rank+r])
					}
				}
			}
		case x.Component == deepseek.CompAttnVB: // per head [v, rank]
			for hd := range h {
				out = append(out, kvb[(hd*(nope+v)+nope)*rank:(hd+1)*(nope+v)*rank]...)
			}
		case x.Component.Expert() && x.Expert < 0:
			for ex := range int(c.NRoutedExperts) {
				out = append(out, m.vals[role{x.Layer, x.Component, ex}]...)
			}
		default:
			out = m.vals[role{x.Layer, x.Component, -1}]
		}
		if out == nil {
			tb.Fatalf("no values for GGUF tensor %s", p.Name)
		}
		return out
	})
	return hf, gg
}

// DeepSeek-V3 in both formats (kv_b split and whole in GGUF; with and
// without q LoRA) against the definition: the dense layer 0, the MoE
// layer 1 and the full logits within 1e-5; GGUF = safetensors; and the
// definition without each feature disagrees.
func TestDeepSeekMatchesDefinition(t *testing.T) {
	tokens := []int{3, 17, 42, 0, 63, 9, 5, 11, 29, 40, 7}
	for _, qLora := range []bool{true, false} {
		c := dsTiny(qLora)
		m := newDSModel(c)
		hf, gg := layDS(t, m, false)
		_, legacy := layDS(t, m, true)
		name := map[bool]string{true: "q_lora", false: "q_proj"}[qLora]
		t.Run(name, func(t *testing.T) {
			ref := &dsRef{m: m}
			controls := map[string]*dsRef{"the bias only choosing": {m: m, biasWeights: true}, "the group limit": {m: m, noGroups: true},
				"routed_scaling_factor": {m: m, noRoutedScale: true}, "the mscale": {m: m, noMscale: true},
				"the interleaved rotary layout": {m: m, halfLayout: true}, "YaRN's frequencies": {m: m, plainRoPE: true}}
			ablated := map[string]float64{}
			cks := map[string]*checkpoint.Checkpoint{"safetensors": hf, "gguf k_b/v_b": gg, "gguf kv_b": legacy}
			for layer := range 2 {
				outs, routes := ref.block(layer, ref.embed(tokens))
				want := flat(outs)
				var base []float32
				for f, ck := range cks {
					r := spot(t, ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
					d := relDiff(r.Output, want)
					t.Logf("layer %d %s: %.3g from the definition (float32 vs float64 %.3g)", layer, f, d, r.MaxRelErr)
					if d > 1e-5 || !r.Passes() || r.MaxRelErr > 1e-5 {
						t.Errorf("layer %d %s: differs from the definition by %g; passes %v, float32 vs float64 %g, dead %v", layer, f, d, r.Passes(), r.MaxRelErr, r.Dead)
					}
					if layer == 1 {
						got := make([][]int, len(r.Experts))
						for i, ids := range r.Experts {
							got[i] = slices.Sorted(slices.Values(ids))
						}
						if !slices.EqualFunc(got, routes, slices.Equal) {
							t.Errorf("%s: experts %v, the definition routes to %v", f, got, routes)
						}
					}
					if f == "safetensors" {
						base = r.Output
					}
				}
				for f, ck := range cks {
					if r := spot(t, ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 1}); relDiff(r.Output, base) > 1e-6 {
						t.Errorf("layer %d: %s differs from safetensors by %g", layer, f, relDiff(r.Output, base))
					}
				}
				for cn, cr := range controls {
					o, _ := cr.block(layer, cr.embed(tokens))
					ablated[cn] = math.Max(ablated[cn], relDiff(base, flat(o)))
				}
			}
			want := ref.full(tokens)
			for f, ck := range cks {
				r := spot(t, ck, spotcheck.Options{Full: true, Tokens: tokens, Jobs: 2})
				t.Logf("%s full: logits %.3g from the definition", f, relDiff(r.Output, want))
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

// One token routes to 2 of the 8 experts: the spot-check reads those
// experts' tensors (their rows of GGUF's stacks) and no byte of the other
// six; everything else of the layer (attention, k_b and v_b of every
// head, router and bias, shared expert) once, and one embedding row.
func TestDeepSeekReadsOnlyChosenExperts(t *testing.T) {
	c := dsTiny(true)
	m := newDSModel(c)
	hf, gg := layDS(t, m, false)
	_, legacy := layDS(t, m, true)
	for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": hf, "gguf k_b/v_b": gg, "gguf kv_b": legacy} {
		r := spot(t, ck, spotcheck.Options{Layer: 1, Tokens: []int{5}})
		if len(r.Experts) != 1 || len(r.Experts[0]) != 2 {
			t.Fatalf("%s: experts %v, want 2 of the 8", f, r.Experts)
		}
		chosen := r.Experts[0]
		var want int64
		for _, tn := range ck.Inventory().Tensors {
			var ex int
			switch {
			case tn.Name == "model.embed_tokens.weight" || tn.Name == "token_embd.weight":
				want += tn.Bytes / c.VocabSize
			case tn.Layer != 1:
			case strings.Contains(tn.Name, "_exps"):
				want += tn.Bytes / c.NRoutedExperts * 2
			case strings.Contains(tn.Name, "mlp.experts."):
				if _, err := fmt.Sscanf(tn.Name[strings.Index(tn.Name, "mlp.experts.")+len("mlp.experts."):], "%d", &ex); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(chosen, ex) {
					want += tn.Bytes
				}
			default:
				want += tn.Bytes
			}
		}
		if r.BytesRead != want {
			t.Errorf("%s: read %d bytes, want exactly %d (experts %v)", f, r.BytesRead, want, chosen)
		}
	}
}

// A layer of zeros passes its input through (every projection of
// RMSNorm(0)·0 is 0, and so is the attention over zero values) and is
// reported dead; so is a MoE layer of zeros, whose router gives every
// expert sigmoid(0) = ½ and whose experts give 0.
func TestDeepSeekDeadBlock(t *testing.T) {
	for layer := range 2 {
		c := dsTiny(true)
		m := newDSModel(c)
		for k, v := range m.vals {
			if k.layer == layer {
				clear(v)
			}
		}
		hf, gg := layDS(t, m, false)
		tokens := []int{1, 2, 5}
		want := flat((&dsRef{m: m}).embed(tokens))
		for f, ck := range map[string]*checkpoint.Checkpoint{"safetensors": hf, "gguf": gg} {
			r := spot(t, ck, spotcheck.Options{Layer: layer, Tokens: tokens})
			if !slices.Equal(r.Output, want) {
				t.Errorf("layer %d %s: a zero layer changes its input by %g", layer, f, relDiff(r.Output, want))
			}
			if len(r.Dead) == 0 {
				t.Errorf("layer %d %s: a zero layer is not reported dead", layer, f)
			}
		}
	}
}

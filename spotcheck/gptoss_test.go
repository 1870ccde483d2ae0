package spotcheck_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// The spot-check of gpt-oss against GptOssDecoderLayer written here from
// transformers' models/gpt_oss/modeling_gpt_oss.py in float64 with naive
// loops, on tiny models stored as published (MXFP4 experts: *_blocks of
// two E2M1 codes a byte, low nibble first, and *_scales of E8M0
// exponents, integrations/mxfp4.py), dequantized (F32 experts [E, in,
// out], as GptOssExperts holds them) and as llama.cpp's converter writes
// GGUF (convert_hf_to_gguf.py GptOssModel: gate_up de-interleaved into
// ffn_gate_exps and ffn_up_exps, [E, out, in] with their biases; sinks as
// attn_sinks.weight), in F32 or in ggml's MXFP4 type (block_mxfp4: the
// exponent byte, then values 0–15 in the low nibbles and 16–31 in the
// high ones), all of the same values.

// e2m1Values are the E2M1 codes' values (OCP Microscaling v1.0, §5.3.3).
var e2m1Values = [16]float64{0, 0.5, 1, 1.5, 2, 3, 4, 6, 0, -0.5, -1, -1.5, -2, -3, -4, -6}

// ossKey names one of the tiny model's logical tensors: a layer (−1
// outside), a role and an expert (−1 for none).
type ossKey struct {
	layer  int
	role   string
	expert int
}

// ossModel holds the logical values (matrices [out, in], row-major) and,
// for the experts' matrices, their E2M1 codes and block exponents.
type ossModel struct {
	c     *gptoss.Config
	vals  map[ossKey][]float32
	codes map[ossKey][]byte // one code per value
	exps  map[ossKey][]byte // one exponent per 32 values of a row
}

func ossRNG(k ossKey) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", k.layer, k.role, k.expert)
	return rand.New(rand.NewPCG(h.Sum64(), 13))
}

// newOSSModel draws the values of c: norms near 1, biases and sinks
// N(0, 0.25), dense matrices N(0, 1/cols), the embedding N(0, 1), and
// each expert matrix MXFP4-representable (a random code times 2^(e − 127),
// e in 122…124 per block), so that every encoding holds it exactly.
//
// With allMX every matrix but the router, and the experts' biases, are
// drawn so (the embedding with exponents 125…127, the biases 124…126),
// for a GGUF file whose matrices are all of ggml's MXFP4 type.
func newOSSModel(c *gptoss.Config, allMX ...bool) *ossModel {
	m := &ossModel{c: c, vals: map[ossKey][]float32{}, codes: map[ossKey][]byte{}, exps: map[ossKey][]byte{}}
	d, q, kv, h, e, f, v := int(c.HiddenSize), int(c.NumAttentionHeads*c.HeadDim), int(c.NumKeyValueHeads*c.HeadDim),
		int(c.NumAttentionHeads), int(c.NumLocalExperts), int(c.IntermediateSize), int(c.VocabSize)
	normal := func(k ossKey, n int, std float64, mean float64) {
		rng := ossRNG(k)
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(mean + std*rng.NormFloat64())
		}
		m.vals[k] = x
	}
	mx := func(k ossKey, rows, cols, exp0 int) {
		rng := ossRNG(k)
		codes, exps, vals := make([]byte, rows*cols), make([]byte, rows*cols/32), make([]float32, rows*cols)
		for i := range exps {
			exps[i] = byte(exp0 + rng.IntN(3))
		}
		for i := range codes {
			codes[i] = byte(rng.IntN(16))
			vals[i] = float32(e2m1Values[codes[i]] * math.Ldexp(1, int(exps[i/32])-127))
		}
		m.codes[k], m.exps[k], m.vals[k] = codes, exps, vals
	}
	mxAll := len(allMX) > 0 && allMX[0]
	if mxAll {
		mx(ossKey{-1, "embed", -1}, v, d, 125)
		mx(ossKey{-1, "lm_head", -1}, v, d, 122)
	} else {
		normal(ossKey{-1, "embed", -1}, v*d, 1, 0)
		normal(ossKey{-1, "lm_head", -1}, v*d, 1/math.Sqrt(float64(d)), 0)
	}
	normal(ossKey{-1, "final_norm", -1}, d, 0.1, 1)
	for l := range int(c.NumHiddenLayers) {
		for _, r := range []struct {
			role      string
			n         int
			std, mean float64
		}{{"attn_norm", d, 0.1, 1}, {"ffn_norm", d, 0.1, 1}, {"q", q * d, 1 / math.Sqrt(float64(d)), 0}, {"q_b", q, 0.5, 0},
			{"k", kv * d, 1 / math.Sqrt(float64(d)), 0}, {"k_b", kv, 0.5, 0}, {"v", kv * d, 1 / math.Sqrt(float64(d)), 0}, {"v_b", kv, 0.5, 0},
			{"o", d * q, 1 / math.Sqrt(float64(q)), 0}, {"o_b", d, 0.5, 0}, {"sinks", h, 0.5, 0},
			{"router", e * d, 1 / math.Sqrt(float64(d)), 0}, {"router_b", e, 0.5, 0}} {
			normal(ossKey{l, r.role, -1}, r.n, r.std, r.mean)
		}
		if mxAll {
			mx(ossKey{l, "q", -1}, q, d, 122)
			mx(ossKey{l, "k", -1}, kv, d, 122)
			mx(ossKey{l, "v", -1}, kv, d, 122)
			mx(ossKey{l, "o", -1}, d, q, 122)
		}
		for x := range e {
			if mxAll { // synth types the 2-D [E, n] bias stacks as the matrices
				mx(ossKey{l, "gate_b", x}, 1, f, 124)
				mx(ossKey{l, "up_b", x}, 1, f, 124)
				mx(ossKey{l, "down_b", x}, 1, d, 124)
			} else {
				normal(ossKey{l, "gate_b", x}, f, 0.5, 0)
				normal(ossKey{l, "up_b", x}, f, 0.5, 0)
				normal(ossKey{l, "down_b", x}, d, 0.5, 0)
			}
			for _, r := range []struct {
				role       string
				rows, cols int
			}{{"gate", f, d}, {"up", f, d}, {"down", d, f}} {
				mx(ossKey{l, r.role, x}, r.rows, r.cols, 122)
			}
		}
	}
	return m
}

// hfGateUp returns row r of an expert's fused gate_up ([2f, d]): gate's
// row r/2 for even r, up's for odd (GptOssExperts: gate_up[..., ::2],
// gate_up[..., 1::2]).
func (m *ossModel) hfGateUp(layer, x, r int) ossKey {
	return ossKey{layer, []string{"gate", "up"}[r%2], x}
}

// hfTensor returns the bytes of a Hugging Face tensor of the model,
// stored as p.DType says.
func (m *ossModel) hfTensor(tb testing.TB, spec arch.Spec, p synth.Placed) []byte {
	tb.Helper()
	x, _, ok := spec.Locate(checkpoint.FormatSafetensors, p.Name)
	if !ok {
		tb.Fatalf("%s: not in the table", p.Name)
	}
	l, d, e, f := x.Layer, int(m.c.HiddenSize), int(m.c.NumLocalExperts), int(m.c.IntermediateSize)
	role := func(suffix string) bool { return strings.HasSuffix(p.Name, suffix) }
	var v []float32
	switch {
	case role("gate_up_proj_blocks"), role("down_proj_blocks"):
		var out []byte
		for ex := range e {
			fused, rows := role("gate_up_proj_blocks"), d
			if fused {
				rows = 2 * f
			}
			for r := range rows {
				k, row := ossKey{l, "down", ex}, r
				if fused {
					k, row = m.hfGateUp(l, ex, r), r/2
				}
				cols := d
				if k.role == "down" {
					cols = f
				}
				c := m.codes[k][row*cols : (row+1)*cols]
				for i := 0; i < cols; i += 2 {
					out = append(out, c[i]|c[i+1]<<4)
				}
			}
		}
		return out
	case role("gate_up_proj_scales"), role("down_proj_scales"):
		var out []byte
		for ex := range e {
			if role("down_proj_scales") {
				out = append(out, m.exps[ossKey{l, "down", ex}]...)
				continue
			}
			nb := d / 32
			for r := range 2 * f {
				k := m.hfGateUp(l, ex, r)
				out = append(out, m.exps[k][(r/2)*nb:(r/2+1)*nb]...)
			}
		}
		return out
	case role("gate_up_proj"): // [E, d, 2f]
		for ex := range e {
			for i := range d {
				for r := range 2 * f {
					v = append(v, m.vals[m.hfGateUp(l, ex, r)][(r/2)*d+i])
				}
			}
		}
	case role("down_proj"): // [E, f, d]
		for ex := range e {
			for i := range f {
				for o := range d {
					v = append(v, m.vals[ossKey{l, "down", ex}][o*f+i])
				}
			}
		}
	case role("gate_up_proj_bias"):
		for ex := range e {
			for j := range f {
				v = append(v, m.vals[ossKey{l, "gate_b", ex}][j], m.vals[ossKey{l, "up_b", ex}][j])
			}
		}
	case role("down_proj_bias"):
		for ex := range e {
			v = append(v, m.vals[ossKey{l, "down_b", ex}]...)
		}
	default:
		v = m.vals[ossKey{l, ossRoles[x.Component], -1}]
	}
	if v == nil {
		tb.Fatalf("no values for %s", p.Name)
	}
	return f32Bytes(v)
}

// ossRoles maps the components of the tensors that are not experts' to
// the model's roles, in both formats.
var ossRoles = map[arch.Component]string{
	arch.CompEmbedding: "embed", arch.CompFinalNorm: "final_norm", arch.CompLMHead: "lm_head",
	arch.CompAttnNorm: "attn_norm", arch.CompFFNNorm: "ffn_norm", arch.CompAttnQ: "q", arch.CompAttnK: "k", arch.CompAttnV: "v",
	arch.CompAttnO: "o", arch.CompAttnQBias: "q_b", arch.CompAttnKBias: "k_b", arch.CompAttnVBias: "v_b",
	gptoss.CompAttnOBias: "o_b", gptoss.CompAttnSinks: "sinks", arch.CompRouter: "router", gptoss.CompRouterBias: "router_b",
	arch.CompExpertGate: "gate", arch.CompExpertUp: "up", arch.CompExpertDown: "down",
	gptoss.CompExpertGateBias: "gate_b", gptoss.CompExpertUpBias: "up_b", gptoss.CompExpertDownBias: "down_b",
}

// ggufTensor returns the F32 bytes of a GGUF tensor of the model: the
// logical values, a stack of experts expert 0 first.
func (m *ossModel) ggufTensor(tb testing.TB, spec arch.Spec, p synth.Placed) []byte {
	tb.Helper()
	x, _, ok := spec.Locate(checkpoint.FormatGGUF, p.Name)
	if !ok {
		tb.Fatalf("%s: not in the table", p.Name)
	}
	role, ok := ossRoles[x.Component]
	if !ok {
		tb.Fatalf("%s: no role for %s", p.Name, x.Component)
	}
	keys := []ossKey{{x.Layer, role, -1}}
	if x.Component.Expert() || x.Component == gptoss.CompExpertGateBias || x.Component == gptoss.CompExpertUpBias || x.Component == gptoss.CompExpertDownBias {
		keys = keys[:0]
		for ex := range int(m.c.NumLocalExperts) {
			keys = append(keys, ossKey{x.Layer, role, ex})
		}
	}
	var out []byte
	for _, k := range keys {
		if p.DType != "MXFP4" {
			out = append(out, f32Bytes(m.vals[k])...)
			continue
		}
		// ggml's block_mxfp4 (ggml-common.h): the E8M0 byte, then 16
		// bytes whose low nibbles are values 0–15 and high nibbles
		// 16–31 (dequantize_row_mxfp4).
		codes, exps := m.codes[k], m.exps[k]
		if codes == nil {
			tb.Fatalf("%s: MXFP4 in the GGUF file but its values are not drawn for it", p.Name)
		}
		for b, e := range exps {
			out = append(out, e)
			for j := range 16 {
				out = append(out, codes[32*b+j]|codes[32*b+j+16]<<4)
			}
		}
	}
	return out
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// layOSS writes the model of c as Hugging Face safetensors (MXFP4 or F32
// experts, as c's quantization_config says) and as an F32 GGUF file.
func layOSS(tb testing.TB, c *gptoss.Config, m *ossModel, ggufType ...string) (hf, gg *checkpoint.Checkpoint) {
	tb.Helper()
	spec := gptoss.MustNew(c)
	hl, err := synth.HF("oss", spec, synth.HFOptions{Shards: 2, DType: safetensors.F32})
	if err != nil {
		tb.Fatal(err)
	}
	typ := "F32"
	if len(ggufType) > 0 {
		typ = ggufType[0]
	}
	gl, err := synth.GGUF("oss", spec, synth.GGUFOptions{Type: typ})
	if err != nil {
		tb.Fatal(err)
	}
	return loadBytes(tb, hl, func(p synth.Placed) []byte { return m.hfTensor(tb, spec, p) }),
		loadBytes(tb, gl, func(p synth.Placed) []byte { return m.ggufTensor(tb, spec, p) })
}

// loadBytes fills every tensor of l with the bytes data gives and loads
// the files from memory.
func loadBytes(tb testing.TB, l *synth.Layout, data func(synth.Placed) []byte) *checkpoint.Checkpoint {
	tb.Helper()
	files := map[string][]byte{}
	for _, f := range l.Files {
		files[f.Name] = make([]byte, f.Size)
		copy(files[f.Name], f.Head)
	}
	for _, p := range l.Tensors {
		b := data(p)
		if int64(len(b)) != p.Bytes {
			tb.Fatalf("tensor %s: %d bytes for %d", p.Name, len(b), p.Bytes)
		}
		copy(files[p.File][p.Offset:p.Offset+p.Bytes], b)
	}
	src := hub.NewMem(l.Name)
	for name, b := range files {
		src.Add(name, bytes.NewReader(b), int64(len(b)))
	}
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

// ossRef is GptOssDecoderLayer in float64 (modeling_gpt_oss.py), with
// switches that break one feature each for the controls.

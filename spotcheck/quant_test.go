package spotcheck_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// The spot-check of pre-quantized Qwen3-MoE checkpoints: a tiny model
// drawn in F32, quantized here as the formats define it, stored as the
// releases store it, and run against the float64 block of
// naiveMoEBlock on the values the definitions give back.
//
//   - FP8 with block scales (transformers' FineGrainedFP8Config, as
//     Qwen3's -FP8 releases and DeepSeek-V3 store it): weight [out, in]
//     of FP8 codes and weight_scale_inv [⌈out/b_r⌉, ⌈in/b_c⌉] F32, a
//     value its code's value times its block's scale. The codes' values
//     come from the OCP 8-bit floating point specification (fp8Value).
//   - GPTQ (AutoGPTQ): qweight [in·bits/32, out] int32, bits·j of word
//     (r, o) input r·32/bits + j; qzeros [groups, out·bits/32] stored
//     minus one (v1) or as is (checkpoint_format gptq_v2); scales
//     [groups, out] F16; g_idx [in], here act-order (a permutation).
//   - AWQ (AutoAWQ GEMM): qweight [in, out/8], nibble n of word (i, c)
//     output c·8 + [0 2 4 6 1 3 5 7][n]; qzeros likewise, as is.

// fp8Value is the value of an 8-bit float byte from the OCP 8-bit
// floating point specification (v1.0, §5.3): E4M3 has exponent bias 7,
// no infinities, and only S.1111.111 is NaN; E5M2 has bias 15 and
// IEEE-754 infinities (S.11111.00) and NaNs (S.11111.xx, xx ≠ 0).
// Subnormals (exponent 0) are m·2^(1−bias−mantissa bits).
func fp8Value(b byte, e5m2 bool) float64 {
	sign := 1.0
	if b&0x80 != 0 {
		sign = -1
	}
	expBits, mantBits, bias := 4, 3, 7
	if e5m2 {
		expBits, mantBits, bias = 5, 2, 15
	}
	e := int(b>>mantBits) & (1<<expBits - 1)
	m := int(b) & (1<<mantBits - 1)
	top := 1<<expBits - 1
	switch {
	case !e5m2 && e == top && m == 7:
		return math.NaN()
	case e5m2 && e == top && m == 0:
		return sign * math.Inf(1)
	case e5m2 && e == top:
		return math.NaN()
	case e == 0:
		return sign * float64(m) * math.Pow(2, float64(1-bias-mantBits))
	}
	return sign * (1 + float64(m)/float64(int(1)<<mantBits)) * math.Pow(2, float64(e-bias))
}

// nearestFP8 returns the finite code whose value is nearest x.
func nearestFP8(x float64, e5m2 bool) byte {
	best, bestD := byte(0), math.Inf(1)
	for c := range 256 {
		v := fp8Value(byte(c), e5m2)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if d := math.Abs(v - x); d < bestD {
			best, bestD = byte(c), d
		}
	}
	return best
}

// quantCase is one way of storing the tiny model.
type quantCase struct {
	name string
	qc   arch.QuantConfig
	e5m2 bool
}

var quantCases = []quantCase{
	{name: "fp8-e4m3", qc: arch.QuantConfig{QuantMethod: "fp8", Fmt: "e4m3", ActivationScheme: "dynamic", WeightBlockSize: []int64{24, 20}}},
	{name: "fp8-e5m2", qc: arch.QuantConfig{QuantMethod: "fp8", Fmt: "e5m2", ActivationScheme: "dynamic", WeightBlockSize: []int64{24, 20}}, e5m2: true},
	{name: "gptq", qc: arch.QuantConfig{QuantMethod: "gptq", Bits: 4, GroupSize: 8, DescAct: ptr(true), Sym: ptr(false)}},
	{name: "gptq-v2", qc: arch.QuantConfig{QuantMethod: "gptq", Bits: 4, GroupSize: 8, DescAct: ptr(true), Sym: ptr(false), CheckpointFormat: "gptq_v2"}},
	{name: "gptq-8bit", qc: arch.QuantConfig{QuantMethod: "gptq", Bits: 8, GroupSize: 16, DescAct: ptr(false), Sym: ptr(false)}},
	{name: "awq", qc: arch.QuantConfig{QuantMethod: "awq", Bits: 4, GroupSize: 8, ZeroPoint: ptr(true), Version: "gemm"}},
}

func ptr[T any](v T) *T { return &v }

// quantModel is the tiny model drawn in F32 (orig) and as c stores it:
// each tensor's bytes (stored) and the values the definition gives back
// (deq, float64, matrices [out, in]), and the same values decoded with one
// detail of the definition wrong (wrong: FP8 scales not applied, GPTQ v1
// zeros taken as stored, AWQ nibbles in sequential order).
type quantModel struct {
	orig   map[string][]float32
	stored map[string][]byte
	deq    map[string][]float64
	wrong  map[string][]float64
}

func quantRNG(name string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprint(h, name)
	return rand.New(rand.NewPCG(h.Sum64(), 17))
}

// newQuantModel draws the F32 model of the plain spec (norms near 1, the
// embedding N(0, 1), matrices N(0, 1/in)) and quantizes every weight the
// quantized spec stores with companions.
func newQuantModel(tb testing.TB, plain, quant arch.Spec, c quantCase) *quantModel {
	tb.Helper()
	m := &quantModel{orig: map[string][]float32{}, stored: map[string][]byte{}, deq: map[string][]float64{}, wrong: map[string][]float64{}}
	shapes := map[string][]int64{}
	for _, e := range plain.Expected(checkpoint.FormatSafetensors) {
		rng := quantRNG(e.Name)
		n := int(e.Shape[0])
		std, mean := 1.0, 0.0
		switch {
		case strings.Contains(e.Name, "norm"):
			std, mean = 0.1, 1
		case len(e.Shape) == 2 && e.Name != "model.embed_tokens.weight":
			n *= int(e.Shape[1])
			std = 1 / math.Sqrt(float64(e.Shape[1]))
		case len(e.Shape) == 2:
			n *= int(e.Shape[1])
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*rng.NormFloat64())
		}
		m.orig[e.Name] = v
		shapes[e.Name] = e.Shape
	}
	q := quant.(arch.Quantized).Quant()
	for _, e := range quant.Expected(checkpoint.FormatSafetensors) {
		var base string
		switch {
		case strings.HasSuffix(e.Name, ".weight_scale_inv"):
			base = strings.TrimSuffix(e.Name, "_scale_inv")
		case strings.HasSuffix(e.Name, ".qweight"):
			base = strings.TrimSuffix(e.Name, ".qweight") + ".weight"
		default:
			continue
		}
		w, shape := m.orig[base], shapes[base]
		if w == nil {
			tb.Fatalf("%s: no weight %s in the plain model", e.Name, base)
		}
		out, in := int(shape[0]), int(shape[1])
		switch q.Scheme {
		case arch.QuantFP8Block:
			m.fp8(strings.TrimSuffix(base, ".weight"), w, out, in, int(q.Block[0]), int(q.Block[1]), c.e5m2)
		case arch.QuantGPTQ, arch.QuantAWQ:
			m.int(strings.TrimSuffix(base, ".weight"), w, out, in, q, c.qc.CheckpointFormat == "gptq_v2", c.qc.DescAct != nil && *c.qc.DescAct)
		}
	}
	for name, v := range m.orig {
		if _, ok := m.deq[name]; !ok {
			m.deq[name] = widen(v)
			m.wrong[name] = m.deq[name]
		}
	}
	return m
}

// fp8 quantizes w [out, in] in blocks of br × bc: each block's scale its
// largest magnitude over the format's largest finite value (448 for
// E4M3, 57344 for E5M2), each code the nearest to value/scale.
func (m *quantModel) fp8(base string, w []float32, out, in, br, bc int, e5m2 bool) {
	maxFinite := 448.0
	if e5m2 {
		maxFinite = 57344
	}
	sr, sc := (out+br-1)/br, (in+bc-1)/bc
	scales := make([]float32, sr*sc)
	for bi := range sr {
		for bj := range sc {
			var amax float64
			for r := bi * br; r < min(out, (bi+1)*br); r++ {
				for col := bj * bc; col < min(in, (bj+1)*bc); col++ {
					amax = math.Max(amax, math.Abs(float64(w[r*in+col])))
				}
			}
			scales[bi*sc+bj] = float32(amax / maxFinite)
		}
	}
	codes := make([]byte, out*in)
	deq, wrong := make([]float64, out*in), make([]float64, out*in)
	for r := range out {
		for col := range in {
			s := float64(scales[(r/br)*sc+col/bc])
			codes[r*in+col] = nearestFP8(float64(w[r*in+col])/s, e5m2)
			v := fp8Value(codes[r*in+col], e5m2)
			deq[r*in+col], wrong[r*in+col] = v*s, v
		}
	}
	m.stored[base+".weight"], m.stored[base+".weight_scale_inv"] = codes, f32Bytes(scales)
	m.deq[base+".weight"], m.wrong[base+".weight"] = deq, wrong
}

// int quantizes w [out, in] as GPTQ or AWQ (q.Scheme) with q.Bits bits:
// per group and output an asymmetric grid, its scale the power of two
// (exact in F16) at or above (max − min)/(2^bits − 1), its zero
// round(−min/scale) in [1, 2^bits − 1] (v1 cannot store a zero of 0), a
// code round(w/scale) + zero clamped to the grid. With actOrder, the
// groups follow a permutation of the inputs, as GPTQ's desc_act stores
// them through g_idx.
func (m *quantModel) int(base string, w []float32, out, in int, q arch.Quant, v2, actOrder bool) {
	bits, awq := int(q.Bits), q.Scheme == arch.QuantAWQ
	levels := 1<<bits - 1
	groups := in / int(q.Group)
	groupOf := make([]int, in)
	perm := quantRNG(base + "/perm").Perm(in)
	for i := range groupOf {
		groupOf[i] = i / int(q.Group)
		if actOrder {
			groupOf[i] = perm[i] / int(q.Group)
		}
	}
	scaleExp, zero := make([]int, groups*out), make([]int, groups*out)
	for g := range groups {
		for o := range out {
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := range in {
				if groupOf[i] == g {
					lo, hi = math.Min(lo, float64(w[o*in+i])), math.Max(hi, float64(w[o*in+i]))
				}
			}
			k := int(math.Ceil(math.Log2((hi - lo) / float64(levels))))
			scaleExp[g*out+o] = k
			zero[g*out+o] = min(levels, max(1, int(math.Round(-lo/math.Ldexp(1, k)))))
		}
	}
	codes := make([]int, out*in)
	deq, wrong := make([]float64, out*in), make([]float64, out*in)
	for o := range out {
		for i := range in {
			g := groupOf[i]
			s, z := math.Ldexp(1, scaleExp[g*out+o]), zero[g*out+o]
			c := min(levels, max(0, int(math.Round(float64(w[o*in+i])/s))+z))
			codes[o*in+i] = c
			deq[o*in+i] = float64(c-z) * s
			wrong[o*in+i] = float64(c-(z-1)) * s // v1's zero taken as stored
		}
	}
	per := 32 / bits
	le := binary.LittleEndian
	var qw, qz []byte
	awqOrder := [8]int{0, 2, 4, 6, 1, 3, 5, 7}
	if awq {
		qw = make([]byte, 4*in*out/8)
		for i := range in {
			for col := range out / 8 {
				var word, seq uint32
				for n := range 8 {
					word |= uint32(codes[(col*8+awqOrder[n])*in+i]) << (4 * n)
					seq |= uint32(codes[(col*8+n)*in+i]) << (4 * n)
				}
				le.PutUint32(qw[4*(i*out/8+col):], word)
				for n := range 8 { // the nibbles read in sequential order
					o := col*8 + awqOrder[n]
					g := groupOf[i]
					wrong[o*in+i] = float64(int(seq>>(4*n)&15)-zero[g*out+o]) * math.Ldexp(1, scaleExp[g*out+o])
				}
			}
		}
	} else {
		qw = make([]byte, 4*in/per*out)
		for r := range in / per {
			for o := range out {
				var word uint32
				for j := range per {
					word |= uint32(codes[o*in+r*per+j]) << (bits * j)
				}
				le.PutUint32(qw[4*(r*out+o):], word)
			}
		}
		if v2 { // a v2 file read as v1 would add one: the wrong decoding is that
			for i := range wrong {
				wrong[i] = deq[i] - math.Ldexp(1, scaleExp[groupOf[i%in]*out+i/in])
			}
		}
	}
	qz = make([]byte, 4*groups*out/per)
	for g := range groups {
		for col := range out / per {
			var word uint32
			for n := range per {
				o := col*per + n
				if awq {
					o = col*8 + awqOrder[n]
				}
				z := zero[g*out+o]
				if !awq && !v2 {
					z-- // GPTQ v1 stores the zero minus one
				}
				word |= uint32(z) << (bits * n)
			}
			le.PutUint32(qz[4*(g*out/per+col):], word)
		}
	}
	sc := make([]byte, 2*groups*out)
	for i, k := range scaleExp {
		le.PutUint16(sc[2*i:], uint16(k+15)<<10) // 2^k in F16 (normal: k ≥ −14)
	}
	gidx := make([]byte, 4*in)
	for i, g := range groupOf {
		le.PutUint32(gidx[4*i:], uint32(g))
	}
	m.stored[base+".qweight"], m.stored[base+".qzeros"], m.stored[base+".scales"], m.stored[base+".g_idx"] = qw, qz, sc, gidx
	m.deq[base+".weight"], m.wrong[base+".weight"] = deq, wrong
}

// layQuant writes the tiny Qwen3-MoE model quantized as c says (the
// unquantized tensors in F32) and returns its checkpoint, its model, and
// the plain F32 checkpoint of the original.
func layQuant(tb testing.TB, c quantCase) (*checkpoint.Checkpoint, *quantModel, *qwen3.Config) {
	tb.Helper()
	cfg := qwen3.TinyMoE()
	qcfg := qwen3.TinyMoE()
	qc := c.qc
	qcfg.QuantizationConfig = &qc
	plain, quant := qwen3.MustNew(cfg), qwen3.MustNew(qcfg)
	m := newQuantModel(tb, plain, quant, c)
	opts := synth.HFOptions{Shards: 2, DType: safetensors.F32, FP8Blocks: qc.QuantMethod == "fp8"}
	if c.e5m2 {
		opts.FP8Type = safetensors.F8_E5M2
	}
	l, err := synth.HF("q", quant, opts)
	if err != nil {
		tb.Fatal(err)
	}
	ck := loadBytes(tb, l, func(p synth.Placed) []byte {
		if b, ok := m.stored[p.Name]; ok {
			return b
		}
		return f32Bytes(m.orig[p.Name])
	})
	return ck, m, cfg
}

// The spot-check of each stored form matches the definition's block on
// the dequantized values within 1e-5, and the F32 original's within the
// quantization error; decoding with one detail wrong would not match;
// exactly the layer's tensors, the embedding rows and the chosen experts'
// weights with their scales, zeros and g_idx are read.
func TestSpotCheckQuantized(t *testing.T) {
	tokens := []int{5, 9, 60, 17, 33}
	for _, c := range quantCases {
		t.Run(c.name, func(t *testing.T) {
			ck, m, cfg := layQuant(t, c)
			full1 := spot(t, ck, spotcheck.Options{Full: true, Tokens: tokens, Jobs: 1})
			full2 := spot(t, ck, spotcheck.Options{Full: true, Tokens: tokens, Jobs: 2})
			if !full1.Passes() || !slices.Equal(full1.Output, full2.Output) {
				t.Errorf("full: passes %v (dead %v, float32 vs float64 %g), jobs 1 and 2 agree %v", full1.Passes(), full1.Dead, full1.MaxRelErr, slices.Equal(full1.Output, full2.Output))
			}
			for _, layer := range []int{0, 1} {
				got := spot(t, ck, spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 2})
				want, experts := naiveMoEBlock(cfg, func(name string) []float64 { return m.deq[name] }, layer, tokens)
				if !slices.EqualFunc(got.Experts, experts, slices.Equal) {
					t.Errorf("layer %d: experts %v, the definition gives %v", layer, got.Experts, experts)
				}
				if d := relDiff(got.Output, want); d > 1e-5 || !got.Passes() {
					t.Errorf("layer %d: output differs from the definition on the dequantized weights by %g (passes %v)", layer, d, got.Passes())
				}
				wrong, _ := naiveMoEBlock(cfg, func(name string) []float64 { return m.wrong[name] }, layer, tokens)
				if d := relDiff(got.Output, wrong); d < 1e-3 {
					t.Errorf("layer %d: control: decoding with a detail of the format wrong differs by only %g", layer, d)
				}
				orig, _ := naiveMoEBlock(cfg, func(name string) []float64 { return widen(m.orig[name]) }, layer, tokens)
				bound := quantBound(m, layer)
				if d := relDiff(got.Output, orig); d > bound {
					t.Errorf("layer %d: output differs from the F32 original's by %g, over the quantization bound %g", layer, d, bound)
				}
				t.Logf("layer %d: vs definition %.2g, vs original %.2g (bound %.2g), control %.2g", layer, relDiff(got.Output, want), relDiff(got.Output, orig), bound, relDiff(got.Output, wrong))

				distinct := map[int]bool{}
				for _, ids := range got.Experts {
					for _, id := range ids {
						distinct[id] = true
					}
				}
				var wantBytes int64
				for _, tn := range ck.Inventory().Tensors {
					switch {
					case tn.Name == "model.embed_tokens.weight":
						wantBytes += tn.Bytes / int64(cfg.VocabSize) * int64(len(tokens))
					case tn.Layer != layer:
					case expertOf(tn.Name) < 0 || distinct[expertOf(tn.Name)]:
						wantBytes += tn.Bytes
					}
				}
				if got.BytesRead != wantBytes {
					t.Errorf("layer %d: read %d bytes, want exactly %d (the layer's tensors, %d embedding rows, experts %v with their companions)",
						layer, got.BytesRead, wantBytes, len(tokens), distinct)
				}
			}
		})
	}
}

// quantBound is the relative output error the quantization of layer's
// weights allows: 4 × the largest relative RMS error of a weight of the
// layer (a block's output error is about that of its weights, the factor
// leaving room for the attention and SiLU to amplify it).
func quantBound(m *quantModel, layer int) float64 {
	var worst float64
	prefix := fmt.Sprintf("model.layers.%d.", layer)
	for name, d := range m.deq {
		o := m.orig[name]
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		var num, den float64
		for i := range d {
			num += (d[i] - float64(o[i])) * (d[i] - float64(o[i]))
			den += float64(o[i]) * float64(o[i])
		}
		worst = math.Max(worst, math.Sqrt(num/den))
	}
	return 4 * worst
}

// FP8 weights stored with block scales under a config that names no
// quantization are refused rather than read without their scales.
func TestSpotCheckFP8WithoutQuantConfig(t *testing.T) {
	c := quantCases[0]
	qcfg := qwen3.TinyMoE()
	qc := c.qc
	qcfg.QuantizationConfig = &qc
	plain, quant := qwen3.MustNew(qwen3.TinyMoE()), qwen3.MustNew(qcfg)
	m := newQuantModel(t, plain, quant, c)
	l, err := synth.HF("q", quant, synth.HFOptions{DType: safetensors.F32, FP8Blocks: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := json.Marshal(plain.Config()) // the config without its quantization_config
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Files {
		if l.Files[i].Name == "config.json" {
			l.Files[i].Head, l.Files[i].Size = cfg, int64(len(cfg))
		}
	}
	ck := loadBytes(t, l, func(p synth.Placed) []byte {
		if b, ok := m.stored[p.Name]; ok {
			return b
		}
		return f32Bytes(m.orig[p.Name])
	})
	_, err = spotcheck.Run(context.Background(), ck, spotcheck.Options{Layer: 0, Tokens: []int{1, 2}})
	if err == nil || !strings.Contains(err.Error(), "weight_scale_inv") {
		t.Errorf("Run = %v, want an error naming the block scales", err)
	}
}

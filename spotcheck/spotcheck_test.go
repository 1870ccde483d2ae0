package spotcheck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

const tinyDir = "../testdata/tiny"

func loadLocal(tb testing.TB, path string) *checkpoint.Checkpoint {
	tb.Helper()
	src, focus, err := hub.Local(path)
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), src, checkpoint.WithFocus(focus))
	if err != nil {
		tb.Fatal(err)
	}
	return ck
}

func spot(tb testing.TB, ck *checkpoint.Checkpoint, opts spotcheck.Options) *spotcheck.Result {
	tb.Helper()
	r, err := spotcheck.Run(context.Background(), ck, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// relDiff is max|a-b| / max|b| over two outputs.
func relDiff(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		s = math.Max(s, math.Abs(float64(b[i])))
	}
	return d / s
}

// The same weights in safetensors F32 and GGUF F32 give the same block
// output; BF16, F16 and Q8_0 stay close; every path is finite and the
// float32 and float64 paths agree.
func TestSpotCheckFormatsAgree(t *testing.T) {
	tokens := []int{3, 17, 42, 0, 63}
	for _, layer := range []int{0, 1} {
		ref := spot(t, loadLocal(t, filepath.Join(tinyDir, "hf-f32")), spotcheck.Options{Layer: layer, Tokens: tokens})
		tests := []struct {
			path string
			tol  float64
		}{
			{"gguf/tiny-f32.gguf", 1e-5},
			{"hf-bf16", 2e-2},
			{"gguf/tiny-f16.gguf", 5e-3},
			{"gguf/tiny-q8_0.gguf", 3e-2},
			{"gguf/tiny-q8_0-00002-of-00002.gguf", 3e-2},
		}
		for _, tt := range tests {
			t.Run(strconv.Itoa(layer)+"/"+tt.path, func(t *testing.T) {
				r := spot(t, loadLocal(t, filepath.Join(tinyDir, tt.path)), spotcheck.Options{Layer: layer, Tokens: tokens, Jobs: 3})
				if !r.Finite || r.MaxRelErr > 1e-5 {
					t.Errorf("finite %v, float32 vs float64 %g", r.Finite, r.MaxRelErr)
				}
				if !slices.Equal(r.ShapeOut, []int{len(tokens), 32}) {
					t.Errorf("shape out %v", r.ShapeOut)
				}
				if d := relDiff(r.Output, ref.Output); d > tt.tol {
					t.Errorf("output differs from safetensors F32 by %g, tolerance %g", d, tt.tol)
				}
				if tt.tol <= 1e-5 && !slices.EqualFunc(r.Experts, ref.Experts, slices.Equal) {
					t.Errorf("experts %v, safetensors F32 chose %v", r.Experts, ref.Experts)
				}
			})
		}
	}
}

// A block computed here from the definition, in float64, with naive loops
// and none of the forward package, on the F32 weights read directly.
func TestSpotCheckMatchesNaiveBlock(t *testing.T) {
	w := readF32Tensors(t, filepath.Join(tinyDir, "hf-f32"))
	tokens := []int{5, 9, 60}
	const layer = 1
	got := spot(t, loadLocal(t, filepath.Join(tinyDir, "hf-f32")), spotcheck.Options{Layer: layer, Tokens: tokens})
	want, experts := naiveMoEBlock(qwen3.TinyMoE(), func(name string) []float64 { return widen(w[name]) }, layer, tokens)
	for tok := range tokens {
		if !slices.Equal(experts[tok], got.Experts[tok]) {
			t.Errorf("token %d: experts %v, the definition gives %v", tok, got.Experts[tok], experts[tok])
		}
	}
	if dd := relDiff(got.Output, want); dd > 1e-5 {
		t.Errorf("block output differs from the definition by %g (relative)", dd)
	}
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// naiveMoEBlock computes layer of the Qwen3-MoE model cfg on the
// embedding rows of tokens from the definition (transformers'
// Qwen3MoeDecoderLayer), in float64 with naive loops: w gives each
// tensor's values by Hugging Face name, matrices [out, in] row-major. It
// returns the block output and, per token, the experts chosen.
func naiveMoEBlock(cfg *qwen3.Config, w func(name string) []float64, layer int, tokens []int) ([]float32, [][]int) {
	d, nh, nkv, hd := int(cfg.HiddenSize), int(cfg.NumAttentionHeads), int(cfg.NumKeyValueHeads), int(cfg.HeadDim)
	p := "model.layers." + strconv.Itoa(layer) + "."
	matvec := func(name string, x []float64) []float64 {
		m := w(name)
		in := len(x)
		out := make([]float64, len(m)/in)
		for i := range out {
			for j := 0; j < in; j++ {
				out[i] += m[i*in+j] * x[j]
			}
		}
		return out
	}
	rms := func(x []float64, weight []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		r := 1 / math.Sqrt(ss/float64(len(x))+cfg.RMSNormEps)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * r * weight[i]
		}
		return out
	}
	// The rotary frequencies: θ^(−2i/d), or YaRN's when rope_scaling says
	// so (transformers' _compute_yarn_parameters with its defaults: betas
	// 32 and 1, truncate true, cos and sin times 0.1·ln(factor) + 1).
	invFreq := make([]float64, hd/2)
	for i := range invFreq {
		invFreq[i] = math.Pow(cfg.RopeTheta, -float64(2*i)/float64(hd))
	}
	attn := 1.0
	var ys struct {
		RopeType string  `json:"rope_type"`
		Factor   float64 `json:"factor"`
		Orig     float64 `json:"original_max_position_embeddings"`
	}
	if len(cfg.RopeScaling) > 0 {
		if err := json.Unmarshal(cfg.RopeScaling, &ys); err != nil || ys.RopeType != "yarn" {
			panic(fmt.Sprintf("the reference knows no rope_scaling %s", cfg.RopeScaling))
		}
		invFreq = yarnInvFreq(hd, cfg.RopeTheta, ys.Factor, ys.Orig, 32, 1, true)
		attn = yarnMscale(ys.Factor, 1)
	}
	rope := func(x []float64, pos int) {
		half := hd / 2
		for i := 0; i < half; i++ {
			ang := float64(pos) * invFreq[i]
			c, s := attn*math.Cos(ang), attn*math.Sin(ang)
			a, b := x[i], x[i+half]
			x[i] = a*c - b*s
			x[i+half] = b*c + a*s
		}
	}
	n := len(tokens)
	xs := make([][]float64, n)
	qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for t, id := range tokens {
		xs[t] = slices.Clone(w("model.embed_tokens.weight")[id*d : (id+1)*d])
		h := rms(xs[t], w(p+"input_layernorm.weight"))
		qs[t], ks[t], vs[t] = matvec(p+"self_attn.q_proj.weight", h), matvec(p+"self_attn.k_proj.weight", h), matvec(p+"self_attn.v_proj.weight", h)
		for hh := 0; hh < nh; hh++ {
			copy(qs[t][hh*hd:], rms(qs[t][hh*hd:(hh+1)*hd], w(p+"self_attn.q_norm.weight")))
			rope(qs[t][hh*hd:(hh+1)*hd], t)
		}
		for hh := 0; hh < nkv; hh++ {
			copy(ks[t][hh*hd:], rms(ks[t][hh*hd:(hh+1)*hd], w(p+"self_attn.k_norm.weight")))
			rope(ks[t][hh*hd:(hh+1)*hd], t)
		}
	}
	want := make([]float32, 0, n*d)
	chosen := make([][]int, n)
	for tok := 0; tok < n; tok++ {
		att := make([]float64, nh*hd)
		for hh := 0; hh < nh; hh++ {
			kvh := hh / (nh / nkv)
			scores := make([]float64, tok+1)
			var mx float64 = math.Inf(-1)
			for s := 0; s <= tok; s++ {
				for i := 0; i < hd; i++ {
					scores[s] += qs[tok][hh*hd+i] * ks[s][kvh*hd+i]
				}
				scores[s] /= math.Sqrt(float64(hd))
				mx = math.Max(mx, scores[s])
			}
			var z float64
			for s := range scores {
				scores[s] = math.Exp(scores[s] - mx)
				z += scores[s]
			}
			for s := range scores {
				for i := 0; i < hd; i++ {
					att[hh*hd+i] += scores[s] / z * vs[s][kvh*hd+i]
				}
			}
		}
		x1 := matvec(p+"self_attn.o_proj.weight", att)
		for i := range x1 {
			x1[i] += xs[tok][i]
		}
		h2 := rms(x1, w(p+"post_attention_layernorm.weight"))
		logits := matvec(p+"mlp.gate.weight", h2)
		probs := make([]float64, len(logits))
		var z float64
		for i, l := range logits {
			probs[i] = math.Exp(l)
			z += probs[i]
		}
		ids := make([]int, len(probs))
		for i := range ids {
			ids[i] = i
			probs[i] /= z
		}
		sort.SliceStable(ids, func(a, b int) bool { return probs[ids[a]] > probs[ids[b]] })
		ids = ids[:cfg.NumExpertsPerTok]
		chosen[tok] = ids
		var norm float64
		for _, id := range ids {
			norm += probs[id]
		}
		for _, id := range ids {
			ep := p + "mlp.experts." + strconv.Itoa(id) + "."
			g, u := matvec(ep+"gate_proj.weight", h2), matvec(ep+"up_proj.weight", h2)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			y := matvec(ep+"down_proj.weight", g)
			for i := range y {
				x1[i] += probs[id] / norm * y[i]
			}
		}
		for _, v := range x1 {
			want = append(want, float32(v))
		}
	}
	return want, chosen
}

// readF32Tensors reads every tensor of an F32 safetensors folder.
func readF32Tensors(tb testing.TB, dir string) map[string][]float32 {
	tb.Helper()
	out := map[string][]float32{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	for _, path := range files {
		st, err := safetensors.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		for _, t := range st.Tensors {
			b := raw[st.DataOffset()+t.Begin : st.DataOffset()+t.End]
			v := make([]float32, t.Elements())
			for i := range v {
				v[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
			}
			out[t.Name] = v
		}
	}
	return out
}

// Only the layer's attention, norms and router, the embedding rows and the
// experts the router picked are read: worked out from the inventory.
func TestSpotCheckReadsOnlyWhatItNeeds(t *testing.T) {
	for _, path := range []string{"hf-f32", "gguf/tiny-q8_0.gguf"} {
		ck := loadLocal(t, filepath.Join(tinyDir, path))
		tokens := []int{1, 2, 3, 4}
		r := spot(t, ck, spotcheck.Options{Layer: 1, Tokens: tokens})
		distinct := map[int]bool{}
		for _, ids := range r.Experts {
			for _, id := range ids {
				distinct[id] = true
			}
		}
		var want int64
		for _, tn := range ck.Inventory().Tensors {
			switch {
			case tn.Name == "model.embed_tokens.weight" || tn.Name == "token_embd.weight":
				want += tn.Bytes / 64 * int64(len(tokens)) // one row per token of 64
			case tn.Layer != 1:
			case len(tn.Logical) == 3: // stacked experts: the chosen ones' slices
				want += tn.Bytes / 4 * int64(len(distinct))
			default:
				if e := expertOf(tn.Name); e < 0 || distinct[e] {
					want += tn.Bytes
				}
			}
		}
		if r.BytesRead != want {
			t.Errorf("%s: read %d bytes, want exactly %d (layer 1, %d embedding rows, experts %v)", path, r.BytesRead, want, len(tokens), distinct)
		}
	}
}

func expertOf(name string) int {
	const marker = ".experts."
	i := bytes.Index([]byte(name), []byte(marker))
	if i < 0 {
		return -1
	}
	e, _, ok := bytes.Cut([]byte(name[i+len(marker):]), []byte("."))
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(string(e))
	if err != nil {
		return -1
	}
	return n
}

func TestSpotCheckJobsAndFull(t *testing.T) {
	ck := loadLocal(t, filepath.Join(tinyDir, "gguf/tiny-q8_0.gguf"))
	one := spot(t, ck, spotcheck.Options{Full: true, Tokens: []int{7, 8, 9}, Jobs: 1})
	many := spot(t, ck, spotcheck.Options{Full: true, Tokens: []int{7, 8, 9}, Jobs: 4})
	if !slices.Equal(one.Output, many.Output) {
		t.Error("jobs=1 and jobs=4 give different logits")
	}
	if !slices.Equal(one.ShapeOut, []int{3, 64}) || !one.Finite || one.Layer != -1 {
		t.Errorf("full: shape %v, finite %v, layer %d; want [3 64] logits", one.ShapeOut, one.Finite, one.Layer)
	}
	for _, bad := range []spotcheck.Options{{Layer: 2, Tokens: []int{1}}, {Layer: -1, Tokens: []int{1}}, {Layer: 0, Tokens: []int{64}}, {Layer: 0}} {
		if _, err := spotcheck.Run(context.Background(), ck, bad); !errors.Is(err, spotcheck.ErrInvalid) {
			t.Errorf("SpotCheck(%+v) = %v, want ErrSpotCheck", bad, err)
		}
	}
}

// dump writes a GGUF F32 tensor as exactly the bytes the same tensor has in
// the safetensors F32 checkpoint (GGUF ne {in, out} is the same memory as
// [out, in]); a Q8_0 tensor dequantizes close to it.
func TestDumpTensor(t *testing.T) {
	w := readF32Tensors(t, filepath.Join(tinyDir, "hf-f32"))
	want := w["model.layers.0.self_attn.q_proj.weight"]
	for _, tt := range []struct {
		path string
		tol  float64
	}{{"gguf/tiny-f32.gguf", 0}, {"gguf/tiny-q8_0.gguf", 0.01}} {
		var buf bytes.Buffer
		n, err := checkpoint.DumpTensor(context.Background(), loadLocal(t, filepath.Join(tinyDir, tt.path)), "blk.0.attn_q.weight", &buf)
		if err != nil || n != int64(len(want)) || buf.Len() != 4*len(want) {
			t.Fatalf("%s: DumpTensor = %d values, %d bytes, %v; want %d values", tt.path, n, buf.Len(), err, len(want))
		}
		got := make([]float32, n)
		for i := range got {
			b := buf.Bytes()[4*i:]
			got[i] = math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
		}
		if d := relDiff(got, want); d > tt.tol {
			t.Errorf("%s: dump differs from the F32 tensor by %g", tt.path, d)
		}
	}
	if _, err := checkpoint.DumpTensor(context.Background(), loadLocal(t, filepath.Join(tinyDir, "hf-f32")), "nope", &bytes.Buffer{}); err == nil {
		t.Error("DumpTensor(unknown tensor) succeeded")
	}
}

package spotcheck_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// defect edits the float32 values v of the tensor name (Hugging Face
// names, shape [out, in]) before they are stored.
type defect func(name string, shape []int64, v []float32)

// tinyMoE lays out qwen3.TinyMoE (vocab 64, hidden 32, 2 layers, 4
// experts of which the router picks 2) as F32 safetensors in memory, with
// random weights as a trained model has them (matrices about 0.02, norm
// weights about 1, the same for a name on every run), then applies edit.
func tinyMoE(tb testing.TB, edit defect) *checkpoint.Checkpoint {
	tb.Helper()
	l, err := synth.HF("tiny", qwen3.MustNew(qwen3.TinyMoE()), synth.HFOptions{Shards: 2, DType: safetensors.F32})
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range l.Files {
		files[f.Name] = make([]byte, f.Size)
		copy(files[f.Name], f.Head)
	}
	for _, p := range l.Tensors {
		n := p.Bytes / 4
		h := fnv.New64a()
		h.Write([]byte(p.Name))
		r := rand.New(rand.NewPCG(h.Sum64(), 1))
		v := make([]float32, n)
		for i := range v {
			if len(p.Shape) == 1 {
				v[i] = float32(1 + 0.01*r.NormFloat64())
			} else {
				v[i] = float32(0.02 * r.NormFloat64())
			}
		}
		if edit != nil {
			edit(p.Name, p.Shape, v)
		}
		b := files[p.File][p.Offset : p.Offset+p.Bytes]
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
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

// fill returns a function that sets every value to x.
func fill(x float32) func([]float32) {
	return func(v []float32) {
		for i := range v {
			v[i] = x
		}
	}
}

// rows applies f to the given rows of an [out, in] tensor.
func rows(shape []int64, v []float32, ids []int, f func([]float32)) {
	in := int(shape[len(shape)-1])
	for _, id := range ids {
		f(v[id*in : (id+1)*in])
	}
}

// Each defect that makes a block compute nothing is named, with the layer
// and tokens it concerns, and fails the spot-check; a healthy model gives
// no sign. The expectations are worked out by hand from the block's
// definition (RMSNorm(0) = 0, SiLU(0) = 0, softmax of equal logits is
// uniform), not from the forward package.
func TestSpotCheckDeadBlock(t *testing.T) {
	const emb, router0, lmHead = "model.embed_tokens.weight", "model.layers.0.mlp.gate.weight", "lm_head.weight"
	tokens := []int{1, 2, 5}
	layers := func(f func([]float32)) defect {
		return func(name string, _ []int64, v []float32) {
			if strings.HasPrefix(name, "model.layers.") {
				f(v)
			}
		}
	}
	only := func(tensor string, f func(shape []int64, v []float32)) defect {
		return func(name string, shape []int64, v []float32) {
			if name == tensor {
				f(shape, v)
			}
		}
	}
	type D = spotcheck.Dead
	tests := []struct {
		name   string
		defect defect
		opts   spotcheck.Options
		want   []spotcheck.Dead
	}{
		{name: "healthy layer", opts: spotcheck.Options{Layer: 1, Tokens: tokens}},
		{name: "healthy full", opts: spotcheck.Options{Full: true, Tokens: tokens}},
		{
			// Tokens 1 and 2 sit at positions 0 and 1: their attention sees
			// only zero rows, v = 0, so the attention adds 0 to a zero
			// residual; RMSNorm(0) = 0 gives zero router logits (a tie) and
			// expert outputs down(SiLU(0)·0) = 0. Token 5 at position 2
			// attends to itself and lives.
			name: "embedding rows of two tokens zero",
			defect: only(emb, func(shape []int64, v []float32) {
				rows(shape, v, []int{1, 2}, fill(0))
			}),
			opts: spotcheck.Options{Layer: 0, Tokens: tokens},
			want: []D{
				{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: []int{1, 2}},
				{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: []int{1, 2}},
				{Kind: spotcheck.DeadZero, Layer: 0, Tokens: []int{1, 2}},
			},
		},
		{
			// Every token starts from zero: every layer's router ties, the
			// residual stays zero, the final RMSNorm gives 0 and lm_head·0
			// = 0. A zero input is not a pass-through.
			name:   "embedding all zero, full",
			defect: only(emb, func(_ []int64, v []float32) { fill(0)(v) }),
			opts:   spotcheck.Options{Full: true, Tokens: tokens},
			want: []D{
				{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: tokens},
				{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: tokens},
				{Kind: spotcheck.DeadRouterTied, Layer: 1, Tokens: tokens},
				{Kind: spotcheck.DeadZero, Layer: -1, Tokens: tokens},
			},
		},
		{
			// Zero weights in a layer: both norms give 0, so attention and
			// experts add 0 and the residual hands the input on unchanged;
			// the router's logits are all 0.
			name:   "layer weights all zero",
			defect: layers(fill(0)),
			opts:   spotcheck.Options{Layer: 1, Tokens: tokens},
			want: []D{
				{Kind: spotcheck.DeadRouterTied, Layer: 1, Tokens: tokens},
				{Kind: spotcheck.DeadPassThrough, Layer: 1},
			},
		},
		{
			// The same in every layer; the final norm and lm_head are
			// healthy, so the logits of different inputs live.
			name:   "layer weights all zero, full",
			defect: layers(fill(0)),
			opts:   spotcheck.Options{Full: true, Tokens: tokens},
			want: []D{
				{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: tokens},
				{Kind: spotcheck.DeadPassThrough, Layer: 0},
				{Kind: spotcheck.DeadRouterTied, Layer: 1, Tokens: tokens},
				{Kind: spotcheck.DeadPassThrough, Layer: 1},
			},
		},
		{
			name:   "router weights zero",
			defect: only(router0, func(_ []int64, v []float32) { fill(0)(v) }),
			opts:   spotcheck.Options{Layer: 0, Tokens: tokens},
			want:   []D{{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: tokens}},
		},
		{
			// Every router row the same: every expert's logit is the same
			// dot product, 0.01·Σh.
			name:   "router weights constant",
			defect: only(router0, func(_ []int64, v []float32) { fill(0.01)(v) }),
			opts:   spotcheck.Options{Layer: 0, Tokens: tokens},
			want:   []D{{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: tokens}},
		},
		{
			// The router of layer 1 is healthy: a one-layer check of
			// layer 1 sees nothing of layer 0's.
			name:   "router of another layer zero",
			defect: only(router0, func(_ []int64, v []float32) { fill(0)(v) }),
			opts:   spotcheck.Options{Layer: 1, Tokens: tokens},
		},
		{
			name:   "lm_head zero",
			defect: only(lmHead, func(_ []int64, v []float32) { fill(0)(v) }),
			opts:   spotcheck.Options{Full: true, Tokens: tokens},
			want:   []D{{Kind: spotcheck.DeadZero, Layer: -1, Tokens: tokens}},
		},
		{
			// Every lm_head row the same vector w: every logit of a token
			// is w·h, one value per token, different between tokens.
			name: "lm_head rows identical",
			defect: only(lmHead, func(shape []int64, v []float32) {
				in := int(shape[1])
				for i := in; i < len(v); i++ {
					v[i] = v[i%in]
				}
			}),
			opts: spotcheck.Options{Full: true, Tokens: tokens},
			want: []D{{Kind: spotcheck.DeadConstant, Layer: -1, Tokens: tokens}},
		},
		{
			// Zero layers hand on the embedding rows r (about 100) and 2r;
			// the final RMSNorm maps both to the same row (scaling by 2 is
			// exact in float32 and ε = 1e-6 vanishes beside a mean square
			// near 1e4), so the logits of the two tokens are the same.
			name: "embedding rows proportional through zero layers",
			defect: func(name string, shape []int64, v []float32) {
				layers(fill(0))(name, shape, v)
				if name == emb {
					in := int(shape[1])
					r1, r2 := v[1*in:2*in], v[2*in:3*in]
					for i := range r1 {
						r1[i] *= 5000
						r2[i] = 2 * r1[i]
					}
				}
			},
			opts: spotcheck.Options{Full: true, Tokens: []int{1, 2}},
			want: []D{
				{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: []int{1, 2}},
				{Kind: spotcheck.DeadPassThrough, Layer: 0},
				{Kind: spotcheck.DeadRouterTied, Layer: 1, Tokens: []int{1, 2}},
				{Kind: spotcheck.DeadPassThrough, Layer: 1},
				{Kind: spotcheck.DeadSameRows, Layer: -1},
			},
		},
		{
			// A NaN in the embedding row of token 5, at the last position:
			// causal attention keeps it from the tokens before it.
			name: "NaN in the last token's embedding row",
			defect: only(emb, func(shape []int64, v []float32) {
				rows(shape, v, []int{5}, func(r []float32) { r[3] = float32(math.NaN()) })
			}),
			opts: spotcheck.Options{Layer: 0, Tokens: tokens},
			want: []D{{Kind: spotcheck.DeadNonFinite, Layer: 0, Tokens: []int{5}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spot(t, tinyMoE(t, tt.defect), tt.opts)
			if diff := cmp.Diff(tt.want, got.Dead, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Run(%+v).Dead mismatch (-want +got):\n%s", tt.opts, diff)
			}
			if got.Passes() != (len(tt.want) == 0) {
				t.Errorf("Run(%+v).Passes() = %v, want %v (dead: %v)", tt.opts, got.Passes(), len(tt.want) == 0, got.Dead)
			}
		})
	}
}

// Each sign reads as a sentence naming what was seen and where.
func TestDeadString(t *testing.T) {
	tests := []struct {
		d    spotcheck.Dead
		want string
	}{
		{spotcheck.Dead{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: []int{1, 2}}, "the embedding rows of tokens [1 2] are all zero"},
		{spotcheck.Dead{Kind: spotcheck.DeadZero, Layer: 0, Tokens: []int{1, 2, 3}}, "the output of layer 0 is all zero for tokens [1 2 3]"},
		{spotcheck.Dead{Kind: spotcheck.DeadZero, Layer: -1, Tokens: []int{7}}, "the logits are all zero for token 7"},
		{spotcheck.Dead{Kind: spotcheck.DeadNonFinite, Layer: 3, Tokens: []int{5}}, "the output of layer 3 holds NaN or Inf for token 5"},
		{spotcheck.Dead{Kind: spotcheck.DeadConstant, Layer: -1, Tokens: []int{1, 2}}, "the logits are constant (every element of a row the same) for tokens [1 2]"},
		{spotcheck.Dead{Kind: spotcheck.DeadSameRows, Layer: 2}, "the output of layer 2 is the same for every token although their embedding rows differ"},
		{spotcheck.Dead{Kind: spotcheck.DeadPassThrough, Layer: 4}, "layer 4 passes its input through unchanged: its attention and feed-forward add nothing (zero weights)"},
		{spotcheck.Dead{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: []int{9}}, "the router logits of layer 0 are all equal for token 9: every expert is tied (the router weights are zero or constant)"},
	}
	for _, tt := range tests {
		t.Run(tt.d.Kind.String(), func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// The committed healthy fixtures pass with no sign of a dead block, in
// every layer and end to end; "dead" is in their JSON, an empty list.
func TestSpotCheckHealthyFixturesNotDead(t *testing.T) {
	tokens := []int{3, 17, 42, 0, 63}
	for _, path := range []string{"hf-f32", "hf-bf16", "gguf/tiny-q8_0.gguf"} {
		ck := loadLocal(t, filepath.Join(tinyDir, path))
		for _, opts := range []spotcheck.Options{{Layer: 0, Tokens: tokens}, {Layer: 1, Tokens: tokens}, {Full: true, Tokens: tokens}, {Layer: 0, Tokens: []int{3}}} {
			r := spot(t, ck, opts)
			if len(r.Dead) != 0 || !r.Passes() {
				t.Errorf("%s: Run(%+v): dead %v, Passes() %v; want none and true", path, opts, r.Dead, r.Passes())
			}
			b, err := json.Marshal(r)
			if err != nil || !bytes.Contains(b, []byte(`"dead":[]`)) {
				t.Errorf("%s: Run(%+v) JSON = %s, %v; want \"dead\":[]", path, opts, b, err)
			}
		}
	}
}

// The kinds are written by name in the JSON of a result, and read back.
func TestDeadJSON(t *testing.T) {
	in := []spotcheck.Dead{{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: []int{1, 2}}, {Kind: spotcheck.DeadPassThrough, Layer: 1}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `[{"kind":"router-tied","layer":0,"tokens":[1,2]},{"kind":"pass-through","layer":1}]`
	if string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	var back []spotcheck.Dead
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`[{"kind":"sleepy"}]`), &back); err == nil {
		t.Error(`json.Unmarshal(kind "sleepy") succeeded`)
	}
	if _, err := json.Marshal(spotcheck.Dead{}); err == nil {
		t.Error("json.Marshal(Dead{}) succeeded with no kind")
	}
}

// The built-in GGUF layout (what `weightaudit spotcheck --builtin gguf`
// runs) reads as zeros: its embedding rows are zero, so are the router
// logits and the output. It used to pass.
func TestSpotCheckBuiltinGGUFIsDead(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 134 MiB of virtual zeros")
	}
	l, err := synth.Builtin("gguf")
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		t.Fatal(err)
	}
	tokens := []int{1, 2, 3}
	r := spot(t, ck, spotcheck.Options{Layer: 0, Tokens: tokens, Jobs: 4})
	want := []spotcheck.Dead{
		{Kind: spotcheck.DeadEmbedding, Layer: -1, Tokens: tokens},
		{Kind: spotcheck.DeadRouterTied, Layer: 0, Tokens: tokens},
		{Kind: spotcheck.DeadZero, Layer: 0, Tokens: tokens},
	}
	if diff := cmp.Diff(want, r.Dead); diff != "" {
		t.Errorf("builtin gguf: Dead mismatch (-want +got):\n%s", diff)
	}
	if r.Passes() {
		t.Error("builtin gguf: Passes() = true, want false")
	}
}

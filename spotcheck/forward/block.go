package forward

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Layer supplies one decoder layer's weights. Vector names are
// "attn_norm", "ffn_norm", and as the [Config] asks for them "q_norm" and
// "k_norm" (QKNorm), "q_bias", "k_bias" and "v_bias" (QKVBias),
// "attn_post_norm" and "ffn_post_norm" (PostNorms), and "rope_freqs" and
// "rope_factors_short" (the factors of [RopeFreqFactors] and
// [RopeLongRoPE], which a checkpoint stores once for every layer); matrix
// names are "q", "k", "v" (or the fused "qkv", FusedQKV), "o", "router",
// and "gate", "up", "down" for an expert (expert ≥ 0) or the dense MLP
// (expert -1; the fused "gate_up" instead of "gate" and "up" with
// FusedGateUp). Matrices are [out, in]. Sources must be safe for
// concurrent use: the chosen experts run in parallel.
type Layer interface {
	Sparse() bool
	Vector(name string) ([]float32, error)
	Matrix(name string, expert int) (RowSource, error)
}

// Config holds a decoder's dimensions and numerics: what differs between
// the blocks of the families [Block] computes. The zero value of each
// option is the plain block of transformers' Llama.
type Config struct {
	Hidden, Heads, KVHeads, HeadDim int
	Experts, TopK                   int  // 0 for a dense model
	NormTopK                        bool // renormalize the top-k weights (norm_topk_prob)
	// QKNorm normalizes each head of q and k with the layer's "q_norm"
	// and "k_norm" after the projections (Qwen3's q_norm, k_norm).
	QKNorm bool
	// QKVBias adds the layer's "q_bias", "k_bias" and "v_bias" to the
	// projections (Qwen2's bias=True on q_proj, k_proj, v_proj).
	QKVBias bool
	// Eps is the RMSNorm epsilon (rms_norm_eps), Theta the RoPE base
	// (rope_theta).
	Eps, Theta float64
	// Scaling changes the RoPE frequencies (rope_scaling); the zero value
	// changes nothing.
	Scaling RopeScaling
	// Layout is the order of each head's elements in the q and k
	// projections as stored; the zero value is transformers' (RopeHalf).
	Layout RopeLayout
	// Window, when positive, lets each token attend to the last Window
	// positions only (Mistral's sliding_window); 0 attends to every
	// earlier position.
	Window int
	// NormPlusOne scales every RMSNorm of the block (the layer's and the
	// q/k norms) by 1 + weight instead of weight ([RMSNormPlusOne]):
	// Gemma's RMSNorm over the weights a Hugging Face checkpoint stores.
	// llama.cpp's converter stores 1 + w, so a GGUF file runs without it.
	NormPlusOne bool
	// PostNorms normalizes the attention's output with the layer's
	// "attn_post_norm" and the MLP's with "ffn_post_norm", each before its
	// residual add (Gemma 3's post_attention_layernorm and
	// post_feedforward_layernorm; "ffn_norm" is then its
	// pre_feedforward_layernorm).
	PostNorms bool
	// AttnScale, when not 0, scales the attention scores instead of
	// 1/√HeadDim ([ScaledAttention]; Gemma 3's
	// query_pre_attn_scalar^−0.5).
	AttnScale float64
	// Act is the dense MLP's and the experts' gate activation; the zero
	// value is SiLU.
	Act Activation
	// FusedQKV reads q, k and v as consecutive rows of the layer's "qkv"
	// matrix, Heads·HeadDim rows of q, then KVHeads·HeadDim of k and of v
	// (Phi-3's qkv_proj); FusedGateUp reads the dense MLP's gate and up as
	// the first and the second half of the rows of "gate_up" (Phi-3's
	// gate_up_proj). [RowRange] slices them; nothing is copied.
	FusedQKV, FusedGateUp bool
	// EmbedScale and FinalSoftcap are the model's, not the block's:
	// [Block] does not use them. The caller multiplies the embedding rows
	// by EmbedScale when it is not 0 (Gemma's √hidden_size, rounded to T)
	// and caps the logits at FinalSoftcap with [Softcap] when it is not 0
	// (final_logit_softcapping).
	EmbedScale, FinalSoftcap float64
	// Unsupported names what of the model the kernels do not compute (a
	// partial rotary factor, bidirectional attention, another
	// activation), "" for nothing: [Block] refuses to run such a
	// configuration (ErrInvalid) rather than compute another block.
	Unsupported string
	Jobs        int // goroutines for matrix rows and experts; at least 1

	// gpt-oss (transformers' models/gpt_oss/modeling_gpt_oss.py
	// GptOssDecoderLayer). OBias adds the layer's "o_bias" to o_proj's
	// output; Sinks adds the layer's "attn_sinks", a logit per head, to
	// each softmax's denominator ([SinkAttention]); RouterBias adds
	// "router_bias" to the router's logits; SoftmaxTopK routes with
	// [TopKSoftmax] (softmax over the k chosen logits) instead of [TopK].
	OBias, Sinks, RouterBias, SoftmaxTopK bool
	// InterleavedGateUp reads an expert's gate and up as the even and the
	// odd rows of its "gate_up" matrix (GptOssExperts' gate_up_proj,
	// gate_up[..., ::2] and gate_up[..., 1::2]).
	InterleavedGateUp bool
	// ExpertBias adds each expert's biases, which the layer gives through
	// [ExpertVectors]: "gate_up_bias" (interleaved as the rows, with
	// InterleavedGateUp) or "gate_bias" and "up_bias", and "down_bias".
	ExpertBias bool
	// Alpha and Limit are the parameters of [ActSwiGLUOAI] (gpt-oss's
	// 1.702 and swiglu_limit).
	Alpha, Limit float64

	// DeepSeek-V3 (transformers' models/deepseek_v3/modeling_deepseek_v3.py
	// DeepseekV3DecoderLayer). MLA, when set, replaces the q/k/v
	// attention by multi-head latent attention ([MLA]); its scores are
	// scaled by AttnScale (0 for 1/√(nope + rope)), the rotary embedding
	// of Theta and Scaling runs over its RopeDim dimensions.
	MLA *MLA
	// SigmoidRouting routes as DeepseekV3TopkRouter does ([GroupTopK]):
	// sigmoid scores, the layer's "router_bias" (e_score_correction_bias)
	// added for the choice only, the top TopKGroups of Groups expert
	// groups (0 or 1 group: no limit), the chosen experts weighted by
	// their unbiased scores, divided by their sum (plus 1e-20) when
	// NormTopK, times RoutedScale (routed_scaling_factor; 0 means 1).
	SigmoidRouting     bool
	Groups, TopKGroups int
	RoutedScale        float64
	// SharedExperts adds the MLP of the layer's "shared_gate",
	// "shared_up" and "shared_down" (DeepseekV3MoE's shared_experts),
	// which every token runs, to the routed experts' sum.
	SharedExperts bool
}

// ExpertVectors is implemented by a [Layer] whose experts have biases
// ([Config.ExpertBias]): ExpertVector returns expert's vector name.
type ExpertVectors interface {
	ExpertVector(name string, expert int) ([]float32, error)
}

// Activation is the gate activation of a gated MLP.
type Activation uint8

// The activations.
const (
	// ActSiLU is silu(gate) ⊙ up ([SwiGLU]): hidden_act "silu" of Llama,
	// Mistral, Qwen and Phi-3.
	ActSiLU Activation = iota
	// ActGELUTanh is gelu_tanh(gate) ⊙ up ([GeGLU]): Gemma's
	// hidden_activation "gelu_pytorch_tanh".
	ActGELUTanh
	// ActSwiGLUOAI is gpt-oss's clamped (up + 1) · gate · sigmoid(alpha ·
	// gate) ([SwiGLUOAI]) with Config's Alpha and Limit.
	ActSwiGLUOAI
)

// Routing is the experts each token was sent to, highest weight first,
// and their weights after renormalization when NormTopK.
type Routing struct {
	IDs     [][]int
	Weights [][]float64
	// Logits holds, per token, the float32 path's router logits over all
	// Experts, in expert order: what the choice was made from. The caller
	// owns them.
	Logits [][]float32
}

// Pair is one activation tensor in both precisions.
type Pair struct {
	F32 []float32
	F64 []float64
}

// NewPair widens x to a pair.
func NewPair(x []float32) Pair {
	p := Pair{F32: slices.Clone(x), F64: make([]float64, len(x))}
	for i, v := range x {
		p.F64[i] = float64(v)
	}
	return p
}

func makePair(n int) Pair { return Pair{F32: make([]float32, n), F64: make([]float64, n)} }

func (p Pair) len() int { return len(p.F32) }

// Block runs one decoder layer on x, n tokens of width Hidden at positions
// 0..n-1 with a causal mask, as Hugging Face transformers computes a layer
// of Llama, Mistral, Mixtral, Qwen2, Qwen3, Gemma 3, Phi-3 or gpt-oss
// (modeling_llama.py, modeling_mistral.py, modeling_mixtral.py,
// modeling_qwen2.py, modeling_qwen3_moe.py, modeling_gemma3.py,
// modeling_phi3.py, modeling_gpt_oss.py): RMSNorm (of 1 + weight when NormPlusOne); Q/K/V (the
// rows of one fused matrix when FusedQKV), with their biases when
// QKVBias; q and k brought to transformers' order when Layout is
// RopeInterleaved; per-head q/k RMSNorm when QKNorm; the rotary embedding
// (NeoX, scaled as Scaling says); grouped-query attention scaled by
// 1/√head_dim (or AttnScale), over the last Window positions when Window
// is set; o_proj, RMSNorm when PostNorms, and the residual; RMSNorm, the
// router's softmax over all experts, top-k, renormalization when
// NormTopK, each chosen expert's down(silu(gate·x) ⊙ up·x), their
// weighted sum, RMSNorm when PostNorms, and the residual (a dense layer
// runs its MLP instead: gate and up the halves of one fused matrix when
// FusedGateUp, the gate's activation Act). gpt-oss's options add the o
// projection's bias (OBias), per-head sinks in the attention's softmax
// (Sinks), the router's bias (RouterBias), a softmax over the top-k
// logits (SoftmaxTopK), each expert's gate and up as the even and odd
// rows of one matrix (InterleavedGateUp) with their biases (ExpertBias),
// and the clamped activation [ActSwiGLUOAI].
//
// It computes the float32 and the float64 path together on the same
// weights: each weight row is read and decoded once and applied to both.
// The float32 path's router picks the experts, and the float64 path runs
// the same experts with weights from its own router logits, so the two
// compare the same computation. Each chosen expert runs once over the
// tokens routed to it, in parallel with the other experts; the weighted
// sums are added in each token's routing order, so the result does not
// depend on Jobs.
func Block(ctx context.Context, c Config, l Layer, x Pair) (Pair, Routing, error) {
	d := c.Hidden
	if d <= 0 || x.len()%d != 0 || x.len() == 0 || len(x.F64) != x.len() {
		return Pair{}, Routing{}, fmt.Errorf("block: %d/%d inputs are not whole rows of %d: %w", len(x.F32), len(x.F64), d, ErrShape)
	}
	if c.Jobs < 1 {
		return Pair{}, Routing{}, fmt.Errorf("block: jobs %d: %w", c.Jobs, ErrInvalid)
	}
	if c.Unsupported != "" {
		return Pair{}, Routing{}, fmt.Errorf("block: %s is not computed: %w", c.Unsupported, ErrInvalid)
	}
	if c.MLA != nil && (c.Heads <= 0 || c.MLA.check() != nil) {
		return Pair{}, Routing{}, fmt.Errorf("block: %d heads, latent attention %+v: %w", c.Heads, *c.MLA, ErrInvalid)
	}
	n := x.len() / d
	h, err := rmsNorm(l, "attn_norm", x, c.Eps, c.NormPlusOne)
	if err != nil {
		return Pair{}, Routing{}, err
	}
	var att Pair
	if c.MLA != nil {
		att, err = mlaAttention(ctx, c, l, h, n)
	} else {
		att, err = gqaAttention(ctx, c, l, h, n)
	}
	if err != nil {
		return Pair{}, Routing{}, err
	}
	x1 := makePair(n * d)
	if err := project(ctx, l, "o", -1, x1, att, c.Jobs); err != nil {
		return Pair{}, Routing{}, err
	}
	if c.OBias {
		if err := addBias(l, "o_bias", x1, d); err != nil {
			return Pair{}, Routing{}, err
		}
	}
	if c.PostNorms {
		if x1, err = rmsNorm(l, "attn_post_norm", x1, c.Eps, c.NormPlusOne); err != nil {
			return Pair{}, Routing{}, err
		}
	}
	for i := range x1.F32 {
		x1.F32[i] += x.F32[i]
		x1.F64[i] += x.F64[i]
	}
	h2, err := rmsNorm(l, "ffn_norm", x1, c.Eps, c.NormPlusOne)
	if err != nil {
		return Pair{}, Routing{}, err
	}
	var ffn Pair
	var routing Routing
	if l.Sparse() {
		ffn, routing, err = moe(ctx, c, l, h2, n)
	} else {
		ffn, err = mlp(ctx, c, l, -1, h2, c.Jobs)
	}
	if err == nil && c.PostNorms {
		ffn, err = rmsNorm(l, "ffn_post_norm", ffn, c.Eps, c.NormPlusOne)
	}
	if err != nil {
		return Pair{}, Routing{}, err
	}
	for i := range x1.F32 {
		x1.F32[i] += ffn.F32[i]
		x1.F64[i] += ffn.F64[i]
	}
	return x1, routing, nil
}

// gqaAttention computes the attention of every family but DeepSeek from
// the normed input h of n tokens: the q, k and v projections (fused, with
// biases), the layout, the q/k norms, the rotary embedding and
// grouped-query attention (sinks, sliding window, scale), giving
// [n, Heads·HeadDim], the input of o_proj.
func gqaAttention(ctx context.Context, c Config, l Layer, h Pair, n int) (Pair, error) {
	var err error
	qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	q, k, v := makePair(n*qd), makePair(n*kvd), makePair(n*kvd)
	var qkv RowSource
	if c.FusedQKV {
		if qkv, err = l.Matrix("qkv", -1); err != nil {
			return Pair{}, err
		}
		if qkv.Rows() != qd+2*kvd {
			return Pair{}, fmt.Errorf("qkv: %d rows, want q %d + k %d + v %d: %w", qkv.Rows(), qd, kvd, kvd, ErrShape)
		}
	}
	for _, p := range []struct {
		name, bias string
		y          Pair
		first      int // the first row in a fused qkv
		width      int
	}{{"q", "q_bias", q, 0, qd}, {"k", "k_bias", k, qd, kvd}, {"v", "v_bias", v, qd + kvd, kvd}} {
		if c.FusedQKV {
			rows, err := RowRange(qkv, p.first, p.width)
			if err == nil {
				err = projectWith(ctx, rows, "qkv "+p.name, -1, p.y, h, c.Jobs)
			}
			if err != nil {
				return Pair{}, err
			}
		} else if err := project(ctx, l, p.name, -1, p.y, h, c.Jobs); err != nil {
			return Pair{}, err
		}
		if c.QKVBias {
			if err := addBias(l, p.bias, p.y, p.width); err != nil {
				return Pair{}, err
			}
		}
	}
	if c.Layout == RopeInterleaved {
		if err := both(Deinterleave(q.F32, c.HeadDim), Deinterleave(q.F64, c.HeadDim),
			Deinterleave(k.F32, c.HeadDim), Deinterleave(k.F64, c.HeadDim)); err != nil {
			return Pair{}, err
		}
	} else if c.Layout != RopeHalf {
		return Pair{}, fmt.Errorf("block: rope layout %d: %w", c.Layout, ErrInvalid)
	}
	if c.QKNorm {
		for _, p := range []struct {
			name string
			y    Pair
		}{{"q_norm", q}, {"k_norm", k}} {
			w, err := l.Vector(p.name)
			if err != nil {
				return Pair{}, err
			}
			if c.NormPlusOne {
				err = both(RMSNormPlusOne(p.y.F32, p.y.F32, w, c.Eps), RMSNormPlusOne(p.y.F64, p.y.F64, w, c.Eps))
			} else {
				err = both(HeadNorm(p.y.F32, w, c.Eps), HeadNorm(p.y.F64, w, c.Eps))
			}
			if err != nil {
				return Pair{}, fmt.Errorf("%s: %w", p.name, err)
			}
		}
	}
	positions := make([]int, n)
	for i := range positions {
		positions[i] = i
	}
	scaling := c.Scaling
	if scaling.Type == RopeFreqFactors {
		if scaling.Factors, err = l.Vector("rope_freqs"); err != nil {
			return Pair{}, err
		}
	}
	if scaling.Type == RopeLongRoPE && scaling.Factors == nil {
		if scaling.Factors, err = l.Vector("rope_factors_short"); err != nil {
			return Pair{}, err
		}
	}
	r32, err := NewScaledRoPE[float32](positions, c.HeadDim, c.Theta, scaling)
	if err != nil {
		return Pair{}, err
	}
	r64, err := NewScaledRoPE[float64](positions, c.HeadDim, c.Theta, scaling)
	if err != nil {
		return Pair{}, err
	}
	if err := both(r32.Apply(q.F32), r32.Apply(k.F32), r64.Apply(q.F64), r64.Apply(k.F64)); err != nil {
		return Pair{}, err
	}
	att := makePair(n * qd)
	if c.Sinks {
		scale := c.AttnScale
		if scale == 0 {
			scale = 1 / math.Sqrt(float64(c.HeadDim))
		}
		var sinks []float32
		if sinks, err = l.Vector("attn_sinks"); err == nil {
			err = both(SinkAttention(att.F32, q.F32, k.F32, v.F32, sinks, c.Heads, c.KVHeads, c.HeadDim, c.Window, scale),
				SinkAttention(att.F64, q.F64, k.F64, v.F64, sinks, c.Heads, c.KVHeads, c.HeadDim, c.Window, scale))
		}
	} else if c.AttnScale != 0 {
		err = both(ScaledAttention(att.F32, q.F32, k.F32, v.F32, c.Heads, c.KVHeads, c.HeadDim, c.Window, c.AttnScale),
			ScaledAttention(att.F64, q.F64, k.F64, v.F64, c.Heads, c.KVHeads, c.HeadDim, c.Window, c.AttnScale))
	} else {
		err = both(SlidingAttention(att.F32, q.F32, k.F32, v.F32, c.Heads, c.KVHeads, c.HeadDim, c.Window),
			SlidingAttention(att.F64, q.F64, k.F64, v.F64, c.Heads, c.KVHeads, c.HeadDim, c.Window))
	}
	if err != nil {
		return Pair{}, err
	}
	return att, nil
}

// both returns the first non-nil error.
func both(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// rmsNorm normalizes x with the layer's vector name, scaling by 1 +
// weight when plusOne.
func rmsNorm(l Layer, name string, x Pair, eps float64, plusOne bool) (Pair, error) {
	w, err := l.Vector(name)
	if err != nil {
		return Pair{}, err
	}
	h := makePair(x.len())
	if plusOne {
		err = both(RMSNormPlusOne(h.F32, x.F32, w, eps), RMSNormPlusOne(h.F64, x.F64, w, eps))
	} else {
		err = both(RMSNorm(h.F32, x.F32, w, eps), RMSNorm(h.F64, x.F64, w, eps))
	}
	if err != nil {
		return Pair{}, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

// addBias adds the layer's vector name, of length width, to every row of
// y, in each precision (a float32 bias widened exactly for the float64
// path).
func addBias(l Layer, name string, y Pair, width int) error {
	b, err := l.Vector(name)
	if err != nil {
		return err
	}
	return addVec(name, b, y, width)
}

// addVec adds b, named name, to every row of y, of length width.
func addVec(name string, b []float32, y Pair, width int) error {
	if len(b) != width || width == 0 || y.len()%width != 0 {
		return fmt.Errorf("%s: length %d, want the projection's width %d: %w", name, len(b), width, ErrShape)
	}
	for r := 0; r < y.len(); r += len(b) {
		row32, row64 := y.F32[r:r+len(b)], y.F64[r:r+len(b)]
		for i, x := range b {
			row32[i] += x
			row64[i] += float64(x)
		}
	}
	return nil
}

// project computes y = W·x for the layer's matrix name (of expert, or -1).
func project(ctx context.Context, l Layer, name string, expert int, y, x Pair, jobs int) error {
	w, err := l.Matrix(name, expert)
	if err == nil {
		return projectWith(ctx, w, name, expert, y, x, jobs)
	}
	return projectErr(name, expert, err)
}

// projectWith computes y = W·x for the matrix w, the layer's name (of
// expert, or -1).
func projectWith(ctx context.Context, w RowSource, name string, expert int, y, x Pair, jobs int) error {
	var err error
	if w.Cols() == 0 || x.len()%w.Cols() != 0 || y.len() != x.len()/w.Cols()*w.Rows() {
		err = fmt.Errorf("weight [%d, %d] does not map %d inputs to %d outputs: %w", w.Rows(), w.Cols(), x.len(), y.len(), ErrShape)
	} else {
		err = MatMulPair(ctx, y.F32, y.F64, w, x.F32, x.F64, jobs)
	}
	return projectErr(name, expert, err)
}

// projectErr names the matrix in a projection's error.
func projectErr(name string, expert int, err error) error {
	switch {
	case err == nil:
		return nil
	case expert >= 0:
		return fmt.Errorf("expert %d %s: %w", expert, name, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

package forward

import (
	"context"
	"fmt"
	"math"

	"golang.org/x/sync/errgroup"
)

// MLA is the geometry of DeepSeek's multi-head latent attention
// (transformers' DeepseekV3Attention): per token
//
//	q        = q_b(RMSNorm_q_a_norm(q_a(x)))   (or q(x) with no QLoraRank), Heads × (NopeDim + RopeDim)
//	[c | kpe] = kv_a(x)                          c of KVLoraRank, kpe of RopeDim
//	[k | v]  = kv_b(RMSNorm_kv_a_norm(c))        Heads × (NopeDim + VDim)
//
// and head h attends with query (q_nope, rope(q_rope)) and keys
// (k_nope, rope(kpe)): the rotary key is one for every head. The layer's
// matrices are "q_a", "q_b" (or "q"), "kv_a", "kv_b" and its vectors
// "q_a_norm" and "kv_a_norm".
type MLA struct {
	QLoraRank              int // 0 for one q projection (q_lora_rank null)
	KVLoraRank             int
	NopeDim, RopeDim, VDim int
	// Interleaved says that the rotary dimensions of q and of kpe are
	// stored in pairs (2i, 2i + 1): transformers' rope_interleave (the
	// default of DeepseekV3Config, apply_rotary_pos_emb_interleave
	// regroups them before rotate-half) and llama.cpp's normal RoPE mode
	// for deepseek2, whose converter keeps the rows as they are.
	// [Deinterleave] brings them to rotate-half order.
	Interleaved bool
	// SplitKVB reads kv_b from llama.cpp's halves (convert_hf_to_gguf.py
	// DeepseekV2Model): head h's "k_b" ([KVLoraRank, NopeDim], kv_b's k
	// rows transposed) and "v_b" ([VDim, KVLoraRank]), asked for with h
	// as the expert index.
	SplitKVB bool
}

func (m *MLA) check() error {
	if m.QLoraRank < 0 || m.KVLoraRank <= 0 || m.NopeDim <= 0 || m.RopeDim <= 0 || m.RopeDim%2 != 0 || m.VDim <= 0 {
		return ErrInvalid
	}
	return nil
}

// mlaAttention computes multi-head latent attention from the normed input
// h of n tokens, giving [n, Heads·VDim], the input of o_proj.
func mlaAttention(ctx context.Context, c Config, l Layer, h Pair, n int) (Pair, error) {
	m, heads := c.MLA, c.Heads
	qk := m.NopeDim + m.RopeDim
	q := makePair(n * heads * qk)
	var err error
	if m.QLoraRank > 0 {
		qa := makePair(n * m.QLoraRank)
		if err = project(ctx, l, "q_a", -1, qa, h, c.Jobs); err == nil {
			if qa, err = rmsNorm(l, "q_a_norm", qa, c.Eps, false); err == nil {
				err = project(ctx, l, "q_b", -1, q, qa, c.Jobs)
			}
		}
	} else {
		err = project(ctx, l, "q", -1, q, h, c.Jobs)
	}
	if err != nil {
		return Pair{}, err
	}
	kva := makePair(n * (m.KVLoraRank + m.RopeDim))
	if err := project(ctx, l, "kv_a", -1, kva, h, c.Jobs); err != nil {
		return Pair{}, err
	}
	latent, kpe := makePair(n*m.KVLoraRank), makePair(n*m.RopeDim)
	for t := range n {
		row := t * (m.KVLoraRank + m.RopeDim)
		for _, p := range []struct{ dst, src []float32 }{{latent.F32[t*m.KVLoraRank:][:m.KVLoraRank], kva.F32[row:][:m.KVLoraRank]},
			{kpe.F32[t*m.RopeDim:][:m.RopeDim], kva.F32[row+m.KVLoraRank:][:m.RopeDim]}} {
			copy(p.dst, p.src)
		}
		copy(latent.F64[t*m.KVLoraRank:][:m.KVLoraRank], kva.F64[row:][:m.KVLoraRank])
		copy(kpe.F64[t*m.RopeDim:][:m.RopeDim], kva.F64[row+m.KVLoraRank:][:m.RopeDim])
	}
	if latent, err = rmsNorm(l, "kv_a_norm", latent, c.Eps, false); err != nil {
		return Pair{}, err
	}
	kvb, err := kvbRows(ctx, c, l)
	if err != nil {
		return Pair{}, err
	}
	kvw := m.NopeDim + m.VDim
	kv := makePair(n * heads * kvw)
	if err := projectWith(ctx, kvb, "kv_b", -1, kv, latent, c.Jobs); err != nil {
		return Pair{}, err
	}

	// The rotary parts: each head's q_rope and the shared kpe.
	qr := makePair(n * heads * m.RopeDim)
	for i := range n * heads {
		copy(qr.F32[i*m.RopeDim:][:m.RopeDim], q.F32[i*qk+m.NopeDim:][:m.RopeDim])
		copy(qr.F64[i*m.RopeDim:][:m.RopeDim], q.F64[i*qk+m.NopeDim:][:m.RopeDim])
	}
	if m.Interleaved {
		if err := both(Deinterleave(qr.F32, m.RopeDim), Deinterleave(qr.F64, m.RopeDim),
			Deinterleave(kpe.F32, m.RopeDim), Deinterleave(kpe.F64, m.RopeDim)); err != nil {
			return Pair{}, err
		}
	}
	positions := make([]int, n)
	for i := range positions {
		positions[i] = i
	}
	r32, err := NewScaledRoPE[float32](positions, m.RopeDim, c.Theta, c.Scaling)
	if err != nil {
		return Pair{}, err
	}
	r64, err := NewScaledRoPE[float64](positions, m.RopeDim, c.Theta, c.Scaling)
	if err != nil {
		return Pair{}, err
	}
	if err := both(r32.Apply(qr.F32), r32.Apply(kpe.F32), r64.Apply(qr.F64), r64.Apply(kpe.F64)); err != nil {
		return Pair{}, err
	}

	// Per head: query (q_nope, q_rope), key (k_nope, kpe), and the value
	// padded with zeros to the query's width (which adds nothing to the
	// weighted sums; transformers pads the same way for flash attention).
	qs, ks, vs := makePair(n*heads*qk), makePair(n*heads*qk), makePair(n*heads*qk)
	for t := range n {
		for hd := range heads {
			i := t*heads + hd
			at, kvAt := i*qk, i*kvw
			copy(qs.F32[at:][:m.NopeDim], q.F32[at:][:m.NopeDim])
			copy(qs.F64[at:][:m.NopeDim], q.F64[at:][:m.NopeDim])
			copy(qs.F32[at+m.NopeDim:][:m.RopeDim], qr.F32[i*m.RopeDim:][:m.RopeDim])
			copy(qs.F64[at+m.NopeDim:][:m.RopeDim], qr.F64[i*m.RopeDim:][:m.RopeDim])
			copy(ks.F32[at:][:m.NopeDim], kv.F32[kvAt:][:m.NopeDim])
			copy(ks.F64[at:][:m.NopeDim], kv.F64[kvAt:][:m.NopeDim])
			copy(ks.F32[at+m.NopeDim:][:m.RopeDim], kpe.F32[t*m.RopeDim:][:m.RopeDim])
			copy(ks.F64[at+m.NopeDim:][:m.RopeDim], kpe.F64[t*m.RopeDim:][:m.RopeDim])
			copy(vs.F32[at:][:m.VDim], kv.F32[kvAt+m.NopeDim:][:m.VDim])
			copy(vs.F64[at:][:m.VDim], kv.F64[kvAt+m.NopeDim:][:m.VDim])
		}
	}
	scale := c.AttnScale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(qk))
	}
	out := makePair(n * heads * qk)
	if err := both(ScaledAttention(out.F32, qs.F32, ks.F32, vs.F32, heads, heads, qk, c.Window, scale),
		ScaledAttention(out.F64, qs.F64, ks.F64, vs.F64, heads, heads, qk, c.Window, scale)); err != nil {
		return Pair{}, err
	}
	att := makePair(n * heads * m.VDim)
	for i := range n * heads {
		copy(att.F32[i*m.VDim:][:m.VDim], out.F32[i*qk:][:m.VDim])
		copy(att.F64[i*m.VDim:][:m.VDim], out.F64[i*qk:][:m.VDim])
	}
	return att, nil
}

// maxKVB bounds the elements of the kv_b matrix rebuilt from llama.cpp's
// halves (DeepSeek-V3's is 128 · 256 × 512 = 2^24).
const maxKVB = 1 << 26

// kvbHead writes head h's rows of kv_b into dst (NopeDim + VDim rows of
// KVLoraRank): its "k_b" transposed back, then its "v_b".
func kvbHead(l Layer, m *MLA, h int, dst []float32) error {
	rank := m.KVLoraRank
	kb, err := l.Matrix("k_b", h)
	if err != nil {
		return err
	}
	vb, err := l.Matrix("v_b", h)
	if err != nil {
		return err
	}
	if kb.Rows() != rank || kb.Cols() != m.NopeDim || vb.Rows() != m.VDim || vb.Cols() != rank {
		return fmt.Errorf("head %d: k_b [%d, %d] and v_b [%d, %d], want [%d, %d] and [%d, %d]: %w",
			h, kb.Rows(), kb.Cols(), vb.Rows(), vb.Cols(), rank, m.NopeDim, m.VDim, rank, ErrShape)
	}
	row := make([]float32, m.NopeDim)
	for r := range rank { // k_b's row r is column r of the head's k rows
		if err := kb.Row(r, row); err != nil {
			return fmt.Errorf("head %d k_b: %w", h, err)
		}
		for j, x := range row {
			dst[j*rank+r] = x
		}
	}
	for j := range m.VDim {
		if err := vb.Row(j, dst[(m.NopeDim+j)*rank:][:rank]); err != nil {
			return fmt.Errorf("head %d v_b: %w", h, err)
		}
	}
	return nil
}

// kvbRows returns kv_b [Heads·(NopeDim + VDim), KVLoraRank]: the layer's
// "kv_b", or with SplitKVB the matrix rebuilt from every head's "k_b"
// (transposed back) and "v_b", so that both give the same rows.
func kvbRows(ctx context.Context, c Config, l Layer) (RowSource, error) {
	m, heads := c.MLA, c.Heads
	kvw := m.NopeDim + m.VDim
	if !m.SplitKVB {
		w, err := l.Matrix("kv_b", -1)
		if err != nil {
			return nil, err
		}
		if w.Rows() != heads*kvw || w.Cols() != m.KVLoraRank {
			return nil, fmt.Errorf("kv_b: [%d, %d], want [%d heads × (%d + %d), %d]: %w", w.Rows(), w.Cols(), heads, m.NopeDim, m.VDim, m.KVLoraRank, ErrShape)
		}
		return w, nil
	}
	rank := m.KVLoraRank
	if int64(heads)*int64(kvw)*int64(rank) > maxKVB {
		return nil, fmt.Errorf("kv_b: %d heads × %d × %d: over %d elements to rebuild: %w", heads, kvw, rank, maxKVB, ErrInvalid)
	}
	data := make([]float32, heads*kvw*rank)
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(c.Jobs)
	for h := range heads {
		g.Go(func() error { return kvbHead(l, m, h, data[h*kvw*rank:(h+1)*kvw*rank]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return NewDense(heads*kvw, rank, data)
}

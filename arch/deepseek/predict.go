package deepseek

import "github.com/weightaudit/weightaudit/arch"

// Predict counts the parameters of c from its dimensions alone, in closed
// form and apart from the tensor table of layout.go (the tests hold the
// two against each other). With d = hidden_size, V = vocab_size, h =
// heads, r_q = q_lora_rank, r_kv = kv_lora_rank, n = qk_nope_head_dim,
// p = qk_rope_head_dim, v = v_head_dim, one layer's attention holds
//
//	q      d·r_q + r_q + r_q·h·(n+p)     (q_a_proj, q_a_layernorm, q_b_proj; d·h·(n+p) without q LoRA)
//	kv     d·(r_kv+p) + r_kv + r_kv·h·(n+v)   (kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj)
//	o      h·v·d
//	norms  2·d
//
// a dense layer's MLP 3·d·f (f = intermediate_size), a sparse layer's
// router E·d plus its bias E, E routed experts of 3·d·f_e each (f_e =
// moe_intermediate_size) of which k run per token, and the shared
// experts' 3·d·(s·f_e). The model adds V·d for the embedding, d for the
// final norm and V·d for lm_head unless tied. The active count runs k of
// the E routed experts and everything else.
//
// A multi-token-prediction layer (Prediction.MTP) is a decoder layer of
// the same rule plus enorm and hnorm (2·d), eh_proj (2·d·d), its head's
// norm (d) and its copies of the embedding and lm_head (2·V·d). The FP8
// block scales (Prediction.Companions) are ⌈out/b_r⌉·⌈in/b_c⌉ per
// quantized weight.
func (c *Config) Predict() arch.Prediction {
	d := c.HiddenSize
	p := arch.NewPrediction(c.VocabSize, d, c.TieWordEmbeddings)
	for i := range c.NumHiddenLayers {
		l := arch.LayerPrediction{Layer: int(i)}
		c.countLayer(&p, &l, i)
		p.AddLayer(l)
	}
	for i := c.NumHiddenLayers; i < c.NumHiddenLayers+c.NumNextNPredictLayers; i++ {
		mtp := arch.NewPrediction(c.VocabSize, d, false)
		var l arch.LayerPrediction
		c.countLayer(&mtp, &l, i)
		p.MTP += l.Total + 2*d + 2*d*d + d + 2*c.VocabSize*d
	}
	p.Companions = c.scaleCount()
	return p
}

// countLayer counts layer i into l and p's components.
func (c *Config) countLayer(p *arch.Prediction, l *arch.LayerPrediction, i int64) {
	d, h, n, r, v := c.HiddenSize, c.NumAttentionHeads, c.QKNopeHeadDim, c.QKRopeHeadDim, c.VHeadDim
	if q := c.qRank(); c.QLoraRank != nil {
		p.Count(l, CompAttnQA, d*q)
		p.Count(l, CompAttnQANorm, q)
		p.Count(l, CompAttnQB, q*h*(n+r))
	} else {
		p.Count(l, arch.CompAttnQ, d*h*(n+r))
	}
	kv := c.KVLoraRank
	p.Count(l, CompAttnKVA, d*(kv+r))
	p.Count(l, CompAttnKVANorm, kv)
	p.Count(l, CompAttnKVB, kv*h*(n+v))
	p.Count(l, arch.CompAttnO, h*v*d)
	p.Count(l, arch.CompAttnNorm, d)
	p.Count(l, arch.CompFFNNorm, d)
	if !c.Sparse(i) {
		p.CountMLP(l, c.IntermediateSize, d)
		return
	}
	e := c.NRoutedExperts
	p.CountExperts(l, e, c.NumExpertsPerTok, c.MoEIntermediateSize, d)
	p.Count(l, CompRouterBias, e)
	s := c.NSharedExperts * c.MoEIntermediateSize
	p.Count(l, CompSharedGate, s*d)
	p.Count(l, CompSharedUp, s*d)
	p.Count(l, CompSharedDown, d*s)
}

// scaleCount counts the companions of the quantized weights (FP8 block
// scales in the published checkpoints) of the decoder layers,
// multi-token prediction included: q_a, q_b (or q), kv_a, kv_b, o, the
// dense MLP, every routed expert and the shared experts.
func (c *Config) scaleCount() int64 {
	q := c.quant()
	d, h, r, kv := c.HiddenSize, c.NumAttentionHeads, c.qRank(), c.KVLoraRank
	attn := q.Elements(kv+c.QKRopeHeadDim, d) + q.Elements(h*(c.QKNopeHeadDim+c.VHeadDim), kv) + q.Elements(d, h*c.VHeadDim)
	if c.QLoraRank != nil {
		attn += q.Elements(r, d) + q.Elements(h*c.qkHeadDim(), r)
	} else {
		attn += q.Elements(h*c.qkHeadDim(), d)
	}
	mlp := func(f int64) int64 { return 2*q.Elements(f, d) + q.Elements(d, f) }
	var total int64
	for i := range c.NumHiddenLayers + c.NumNextNPredictLayers {
		total += attn
		if !c.Sparse(i) {
			total += mlp(c.IntermediateSize)
			continue
		}
		total += c.NRoutedExperts * mlp(c.MoEIntermediateSize)
		if s := c.NSharedExperts * c.MoEIntermediateSize; s > 0 {
			total += mlp(s)
		}
	}
	return total
}

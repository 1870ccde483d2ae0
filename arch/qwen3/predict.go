package qwen3

import "github.com/weightaudit/weightaudit/arch"

// Predict counts the parameters of c from its dimensions alone, following
// the seed's equations (../shared/seeds, model_parameter_count and
// active_parameter_count):
//
//	P = V·d + L·(d_attn + d_router + N_experts·d_expert + d_norm) + d_final + V·d
//	A = V·d + L·(d_attn + d_router + k·d_expert + d_norm) + d_final + V·d
//
// with d_attn including q_norm and k_norm, dense layers (mlp_only_layers,
// decoder_sparse_step) counted with their dense MLP, and the second V·d left
// out when the embeddings are tied.
func (c *Config) Predict() arch.Prediction {
	d := c.HiddenSize
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	p := arch.NewPrediction(c.VocabSize, d, c.TieWordEmbeddings)
	for i := range c.NumHiddenLayers {
		l := arch.LayerPrediction{Layer: int(i)}
		for comp, n := range map[arch.Component]int64{
			arch.CompAttnQ: d * q, arch.CompAttnK: d * kv, arch.CompAttnV: d * kv, arch.CompAttnO: q * d,
			arch.CompAttnQNorm: c.HeadDim, arch.CompAttnKNorm: c.HeadDim, arch.CompAttnNorm: d, arch.CompFFNNorm: d,
		} {
			p.Count(&l, comp, n)
		}
		if c.Sparse(i) {
			p.CountExperts(&l, c.NumExperts, c.NumExpertsPerTok, c.MoEIntermediateSize, d)
		} else {
			p.CountMLP(&l, c.IntermediateSize, d)
		}
		p.AddLayer(l)
	}
	p.Companions = c.companions()
	return p
}

// companions counts the elements a pre-quantized release stores beside
// its quantized weights ([arch.Quant.Elements]): per layer q, k, v and o,
// and every expert's (or the dense MLP's) gate, up and down.
func (c *Config) companions() int64 {
	qz := c.quant()
	d := c.HiddenSize
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	attn := qz.Elements(q, d) + 2*qz.Elements(kv, d) + qz.Elements(d, q)
	mlp := func(f int64) int64 { return 2*qz.Elements(f, d) + qz.Elements(d, f) }
	var n int64
	for i := range c.NumHiddenLayers {
		n += attn
		if c.Sparse(i) {
			n += c.NumExperts * mlp(c.MoEIntermediateSize)
		} else {
			n += mlp(c.IntermediateSize)
		}
	}
	return n
}

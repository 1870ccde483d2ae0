package llama

import "github.com/weightaudit/weightaudit/arch"

// Predict counts the parameters of c from its dimensions alone, the seed's
// equations (model_parameter_count, active_parameter_count) for this
// block:
//
//	P = V·d + L·(d_attn + d_ffn + 2d) + d + V·d
//	A = V·d + L·(d_attn + d_ffn,active + 2d) + d + V·d
//
// with d_attn = d·n_h·d_k (q) + 2·d·n_kv·d_k (k, v) + n_h·d_k·d (o), no
// biases and no q/k norms; d_ffn = 3·d·f for the gated MLP, or E·d (the
// router) + 3·E·d·f for Mixtral's experts, of which a token passes through
// k (d_ffn,active = E·d + 3·k·d·f); 2d the two RMSNorms of a layer, d the
// final one; the second V·d (lm_head) left out when the embeddings are
// tied. llama.cpp's rope_freqs is not a parameter and is not counted.
func (c *Config) Predict() arch.Prediction {
	d, hd := c.HiddenSize, c.HeadDim
	q, kv := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	p := arch.NewPrediction(c.VocabSize, d, c.TieWordEmbeddings)
	for i := range c.NumHiddenLayers {
		l := arch.LayerPrediction{Layer: int(i)}
		for _, a := range []struct {
			comp arch.Component
			n    int64
		}{
			{arch.CompAttnNorm, d}, {arch.CompAttnQ, d * q}, {arch.CompAttnK, d * kv}, {arch.CompAttnV, d * kv},
			{arch.CompAttnO, q * d}, {arch.CompFFNNorm, d},
		} {
			p.Count(&l, a.comp, a.n)
		}
		if e := c.NumLocalExperts; e > 0 {
			p.CountExperts(&l, e, c.NumExpertsPerTok, c.IntermediateSize, d)
		} else {
			p.CountMLP(&l, c.IntermediateSize, d)
		}
		p.AddLayer(l)
	}
	return p
}

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
	d, v, hd := c.HiddenSize, c.VocabSize, c.HeadDim
	q, kv := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	p := arch.Prediction{Components: map[arch.Component]int64{}}
	add := func(comp arch.Component, n int64) { p.Components[comp] += n }

	add(arch.CompEmbedding, v*d)
	if !c.TieWordEmbeddings {
		add(arch.CompLMHead, v*d)
	}
	add(arch.CompFinalNorm, d)
	outside := p.Components[arch.CompEmbedding] + p.Components[arch.CompLMHead] + p.Components[arch.CompFinalNorm]
	p.Total, p.Active = outside, outside

	for i := range c.NumHiddenLayers {
		attn := []struct {
			comp arch.Component
			n    int64
		}{
			{arch.CompAttnNorm, d}, {arch.CompAttnQ, d * q}, {arch.CompAttnK, d * kv}, {arch.CompAttnV, d * kv},
			{arch.CompAttnO, q * d}, {arch.CompFFNNorm, d},
		}
		var total int64
		for _, a := range attn {
			add(a.comp, a.n)
			total += a.n
		}
		active := total
		f := c.IntermediateSize
		if e, k := c.NumLocalExperts, c.NumExpertsPerTok; e > 0 {
			add(arch.CompRouter, e*d)
			add(arch.CompExpertGate, e*f*d)
			add(arch.CompExpertUp, e*f*d)
			add(arch.CompExpertDown, e*d*f)
			total += e*d + 3*e*f*d
			active += e*d + 3*k*f*d
		} else {
			add(arch.CompMLPGate, f*d)
			add(arch.CompMLPUp, f*d)
			add(arch.CompMLPDown, d*f)
			total += 3 * f * d
			active += 3 * f * d
		}
		p.Layers = append(p.Layers, arch.LayerPrediction{Layer: int(i), Total: total, Active: active})
		p.Total += total
		p.Active += active
	}
	return p
}

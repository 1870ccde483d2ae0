package gptoss

import "github.com/weightaudit/weightaudit/arch"

// Predict counts the parameters of c from its dimensions alone, in closed
// form and apart from the tensor table of layout.go. With d =
// hidden_size, V = vocab_size, h = heads, q = h·head_dim, k =
// kv_heads·head_dim, E experts of width f of which k_e run per token, one
// layer holds
//
//	attention  d·q + q + 2·(d·k + k) + q·d + d + h   (q, k, v, o with biases; the sinks)
//	norms      2·d
//	router     E·d + E
//	experts    E·(3·f·d + 2·f + d)                  (gate, up and down with their biases)
//
// and the model adds V·d for the embedding, d for the final norm and V·d
// for lm_head. The active count runs k_e of the E experts. The MXFP4
// scales (Prediction.Companions) are E·(2·f·d + d·f)/32 a layer.
func (c *Config) Predict() arch.Prediction {
	d, h, e, f := c.HiddenSize, c.NumAttentionHeads, c.NumLocalExperts, c.IntermediateSize
	q, k := h*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	p := arch.NewPrediction(c.VocabSize, d, c.TieWordEmbeddings)
	for i := range c.NumHiddenLayers {
		l := arch.LayerPrediction{Layer: int(i)}
		p.Count(&l, arch.CompAttnNorm, d)
		p.Count(&l, arch.CompFFNNorm, d)
		p.Count(&l, arch.CompAttnQ, d*q)
		p.Count(&l, CompAttnQBias, q)
		p.Count(&l, arch.CompAttnK, d*k)
		p.Count(&l, CompAttnKBias, k)
		p.Count(&l, arch.CompAttnV, d*k)
		p.Count(&l, CompAttnVBias, k)
		p.Count(&l, arch.CompAttnO, q*d)
		p.Count(&l, CompAttnOBias, d)
		p.Count(&l, CompAttnSinks, h)
		p.CountExperts(&l, e, c.NumExpertsPerTok, f, d)
		p.Count(&l, CompRouterBias, e)
		// The experts' biases: all stored, k_e of E run.
		for comp, n := range map[arch.Component]int64{CompExpertGateBias: e * f, CompExpertUpBias: e * f, CompExpertDownBias: e * d} {
			p.Components[comp] += n
			l.Total += n
			l.Active += n / e * c.NumExpertsPerTok
		}
		p.AddLayer(l)
	}
	if c.mxfp4() {
		p.Companions = c.NumHiddenLayers * e * (2*f*d + d*f) / mxBlock
	}
	return p
}

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
	d, v := c.HiddenSize, c.VocabSize
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
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
		attn := map[arch.Component]int64{
			arch.CompAttnQ: d * q, arch.CompAttnK: d * kv, arch.CompAttnV: d * kv, arch.CompAttnO: q * d,
			arch.CompAttnQNorm: c.HeadDim, arch.CompAttnKNorm: c.HeadDim, arch.CompAttnNorm: d, arch.CompFFNNorm: d,
		}
		var total, active int64
		for comp, n := range attn {
			add(comp, n)
			total += n
		}
		active = total
		if c.Sparse(i) {
			f, e, k := c.MoEIntermediateSize, c.NumExperts, c.NumExpertsPerTok
			add(arch.CompRouter, e*d)
			add(arch.CompExpertGate, e*f*d)
			add(arch.CompExpertUp, e*f*d)
			add(arch.CompExpertDown, e*d*f)
			total += e*d + 3*e*f*d
			active += e*d + 3*k*f*d
		} else {
			f := c.IntermediateSize
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

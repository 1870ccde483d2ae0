package audit

// Prediction is what an architecture predicts about a checkpoint's size:
// the parameters of every component, in total and per token.
type Prediction struct {
	// Total counts every parameter, all experts included (the seed's
	// model_parameter_count).
	Total int64
	// Active counts the parameters one token passes through: the routed
	// experts only (the seed's active_parameter_count). Embedding and
	// lm_head are counted in full, as the seed's formula does.
	Active int64
	// Components sums the parameters per component over the whole model.
	Components map[Component]int64
	// Layers gives each decoder layer's total and active parameters.
	Layers []LayerPrediction
}

// LayerPrediction is one decoder layer's share of a [Prediction].
type LayerPrediction struct {
	Layer  int
	Total  int64
	Active int64
}

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
func (c *Config) Predict() Prediction {
	d, v := c.HiddenSize, c.VocabSize
	q, kv := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	p := Prediction{Components: map[Component]int64{}}
	add := func(comp Component, n int64) { p.Components[comp] += n }

	add(CompEmbedding, v*d)
	if !c.TieWordEmbeddings {
		add(CompLMHead, v*d)
	}
	add(CompFinalNorm, d)
	outside := p.Components[CompEmbedding] + p.Components[CompLMHead] + p.Components[CompFinalNorm]
	p.Total, p.Active = outside, outside

	for i := int64(0); i < c.NumHiddenLayers; i++ {
		attn := map[Component]int64{
			CompAttnQ: d * q, CompAttnK: d * kv, CompAttnV: d * kv, CompAttnO: q * d,
			CompAttnQNorm: c.HeadDim, CompAttnKNorm: c.HeadDim, CompAttnNorm: d, CompFFNNorm: d,
		}
		var total, active int64
		for comp, n := range attn {
			add(comp, n)
			total += n
		}
		active = total
		if c.Sparse(i) {
			f, e, k := c.MoEIntermediateSize, c.NumExperts, c.NumExpertsPerTok
			add(CompRouter, e*d)
			add(CompExpertGate, e*f*d)
			add(CompExpertUp, e*f*d)
			add(CompExpertDown, e*d*f)
			total += e*d + 3*e*f*d
			active += e*d + 3*k*f*d
		} else {
			f := c.IntermediateSize
			add(CompMLPGate, f*d)
			add(CompMLPUp, f*d)
			add(CompMLPDown, d*f)
			total += 3 * f * d
			active += 3 * f * d
		}
		p.Layers = append(p.Layers, LayerPrediction{Layer: int(i), Total: total, Active: active})
		p.Total += total
		p.Active += active
	}
	return p
}

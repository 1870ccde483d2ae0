package qwen2

import "github.com/weightaudit/weightaudit/arch"

// Predict counts the parameters of c from its dimensions alone, in closed
// form and apart from the tensor table of layout.go (the tests hold the
// two against each other). With d = hidden_size, V = vocab_size,
// L = num_hidden_layers, f = intermediate_size, q = num_attention_heads ·
// head_dim and k = num_key_value_heads · head_dim, one decoder layer holds
//
//	attention  d·q + q  +  2·(d·k + k)  +  q·d    (q_proj, k_proj, v_proj with biases; o_proj without)
//	MLP        3·d·f                             (gate_proj, up_proj, down_proj)
//	norms      2·d                               (input_layernorm, post_attention_layernorm)
//
// and the model
//
//	P = V·d + L·(2·d·q + 2·d·k + q + 2·k + 3·d·f + 2·d) + d + V·d
//
// the second V·d (lm_head) left out when the embeddings are tied. A dense
// model's active count is its total.
func (c *Config) Predict() arch.Prediction {
	d, v, f, l := c.HiddenSize, c.VocabSize, c.IntermediateSize, c.NumHiddenLayers
	q, k := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	layer := 2*d*q + 2*d*k + q + 2*k + 3*d*f + 2*d
	head := v * d
	if c.TieWordEmbeddings {
		head = 0
	}
	p := arch.Prediction{
		Components: map[arch.Component]int64{
			arch.CompEmbedding: v * d, arch.CompFinalNorm: d,
			arch.CompAttnQ: l * d * q, CompAttnQBias: l * q,
			arch.CompAttnK: l * d * k, CompAttnKBias: l * k,
			arch.CompAttnV: l * d * k, CompAttnVBias: l * k,
			arch.CompAttnO:   l * q * d,
			arch.CompMLPGate: l * d * f, arch.CompMLPUp: l * d * f, arch.CompMLPDown: l * f * d,
			arch.CompAttnNorm: l * d, arch.CompFFNNorm: l * d,
		},
		Layers: make([]arch.LayerPrediction, l),
	}
	if head > 0 {
		p.Components[arch.CompLMHead] = head
	}
	for i := range p.Layers {
		p.Layers[i] = arch.LayerPrediction{Layer: i, Total: layer, Active: layer}
	}
	p.Total = v*d + l*layer + d + head
	p.Active = p.Total
	return p
}

package gemma3

import "github.com/weightaudit/weightaudit/arch"

// Predict counts the parameters of c from its dimensions alone, in closed
// form and apart from the tensor table of layout.go (the tests hold the
// two against each other). With d = hidden_size, V = vocab_size,
// L = num_hidden_layers, f = intermediate_size, h = head_dim,
// q = num_attention_heads · h and k = num_key_value_heads · h, one decoder
// layer holds
//
//	attention  d·q + 2·d·k + q·d   (q, k, v, o; no biases)
//	q/k norms  2·h
//	MLP        3·d·f               (gate, up, down)
//	norms      4·d                 (input, post-attention, pre- and post-feedforward)
//
// and the model
//
//	P = V·d + L·(2·d·q + 2·d·k + 2·h + 3·d·f + 4·d) + d (+ V·d untied)
//
// A dense model's active count is its total.
func (c *Config) Predict() arch.Prediction {
	d, f, h := c.HiddenSize, c.IntermediateSize, c.HeadDim
	q, k := c.NumAttentionHeads*h, c.NumKeyValueHeads*h
	p := arch.NewPrediction(c.VocabSize, d, c.TieWordEmbeddings)
	for i := range int(c.NumHiddenLayers) {
		l := arch.LayerPrediction{Layer: i}
		p.Count(&l, arch.CompAttnNorm, d)
		p.Count(&l, arch.CompAttnQ, d*q)
		p.Count(&l, arch.CompAttnK, d*k)
		p.Count(&l, arch.CompAttnV, d*k)
		p.Count(&l, arch.CompAttnO, q*d)
		p.Count(&l, arch.CompAttnQNorm, h)
		p.Count(&l, arch.CompAttnKNorm, h)
		p.Count(&l, CompAttnPostNorm, d)
		p.Count(&l, arch.CompFFNNorm, d)
		p.CountMLP(&l, f, d)
		p.Count(&l, CompFFNPostNorm, d)
		p.AddLayer(l)
	}
	if c.mm != nil {
		p.Vision = c.mm.visionParams()
	}
	return p
}

package phi3

import "github.com/weightaudit/weightaudit/arch"

// Predict counts the parameters of c from its dimensions alone, in closed
// form and apart from the tensor table of layout.go (the tests hold the
// two against each other). With d = hidden_size, V = vocab_size,
// L = num_hidden_layers, f = intermediate_size, q = num_attention_heads ·
// head_dim and k = num_key_value_heads · head_dim, one decoder layer holds
//
//	attention  d·(q + 2·k)  +  q·d    (the fused qkv_proj; o_proj; no biases)
//	MLP        d·2f  +  f·d           (the fused gate_up_proj; down_proj)
//	norms      2·d                    (input_layernorm, post_attention_layernorm)
//
// and the model
//
//	P = V·d + L·(2·d·q + 2·d·k + 3·d·f + 2·d) + d + V·d
//
// the second V·d (lm_head) left out when the embeddings are tied. The
// LongRoPE factors of a GGUF file are not parameters. A dense model's
// active count is its total.
func (c *Config) Predict() arch.Prediction {
	d, f := c.HiddenSize, c.IntermediateSize
	q, k := c.q(), c.kv()
	p := arch.NewPrediction(c.VocabSize, d, c.TieWordEmbeddings)
	for i := range int(c.NumHiddenLayers) {
		l := arch.LayerPrediction{Layer: i}
		p.Count(&l, arch.CompAttnNorm, d)
		p.Count(&l, CompAttnQKV, d*(q+2*k))
		p.Count(&l, arch.CompAttnO, q*d)
		p.Count(&l, arch.CompFFNNorm, d)
		p.Count(&l, CompMLPGateUp, 2*f*d)
		p.Count(&l, arch.CompMLPDown, f*d)
		p.AddLayer(l)
	}
	return p
}

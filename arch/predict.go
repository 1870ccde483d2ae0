package arch

// The helpers of a family's parameter prediction (its predict.go): the
// family works the counts out from its dimensions; these add them up into
// a [Prediction] the same way for every decoder.

// NewPrediction starts the prediction of a decoder with the tensors
// outside its layers: the embedding (vocab rows of width d), the lm_head
// (the same) unless the embeddings are tied, and the final norm (d). The
// family then counts each layer into a [LayerPrediction] and adds it with
// [Prediction.AddLayer].
func NewPrediction(vocab, d int64, tied bool) Prediction {
	p := Prediction{Components: map[Component]int64{CompEmbedding: vocab * d, CompFinalNorm: d}}
	if !tied {
		p.Components[CompLMHead] = vocab * d
	}
	p.Total = p.Components[CompEmbedding] + p.Components[CompLMHead] + p.Components[CompFinalNorm]
	p.Active = p.Total
	return p
}

// Count counts n parameters of component c, which every token passes
// through, in layer l of p.
func (p *Prediction) Count(l *LayerPrediction, c Component, n int64) {
	p.Components[c] += n
	l.Total += n
	l.Active += n
}

// CountMLP counts a gated MLP of width f on the residual width d in layer
// l of p: the gate, up and down projections, 3·f·d parameters, all
// active.
func (p *Prediction) CountMLP(l *LayerPrediction, f, d int64) {
	p.Count(l, CompMLPGate, f*d)
	p.Count(l, CompMLPUp, f*d)
	p.Count(l, CompMLPDown, d*f)
}

// CountExperts counts a router over e experts, and the experts, gated
// FFNs of width f on the residual width d of which k run per token, in
// layer l of p: e·d + 3·e·f·d parameters, e·d + 3·k·f·d of them active.
func (p *Prediction) CountExperts(l *LayerPrediction, e, k, f, d int64) {
	p.Components[CompRouter] += e * d
	p.Components[CompExpertGate] += e * f * d
	p.Components[CompExpertUp] += e * f * d
	p.Components[CompExpertDown] += e * d * f
	l.Total += e*d + 3*e*f*d
	l.Active += e*d + 3*k*f*d
}

// AddLayer appends l to p's layers and adds its counts to p's totals.
func (p *Prediction) AddLayer(l LayerPrediction) {
	p.Layers = append(p.Layers, l)
	p.Total += l.Total
	p.Active += l.Active
}

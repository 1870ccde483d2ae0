package arch

import "github.com/weightaudit/weightaudit/checkpoint"

// ShapeExplainer is implemented by specs that can tell when their config,
// not the tensors, is at fault: when the stored tensors agree with each
// other and with another value of one config field (a GGUF whose
// expert_count is 127 while the router and every expert tensor hold 128),
// the finding blames that field by its key, not every tensor.
type ShapeExplainer interface {
	// ExplainShapes returns one conflict per config field whose value,
	// replaced by the one the stored tensors show, makes every tensor of
	// inv what the family predicts; nil when the tensors agree with the
	// spec or no single field explains them.
	ExplainShapes(inv *checkpoint.Inventory) []Conflict
}

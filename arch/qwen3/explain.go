package qwen3

import (
	"fmt"
	"slices"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

var _ arch.ShapeExplainer = (*Spec)(nil)

// implied says how the stored tensors show one config field: the field,
// and the value read off the inventory (false when the tensors do not
// show it).
type implied struct {
	field string
	ptr   func(c *Config) *int64
	read  func(t tensorShapes) (int64, bool)
}

// tensorShapes finds stored tensors by their component in layer 0 (or the
// first layer holding the component) and the outer ones, logical shapes
// outermost first.
type tensorShapes struct {
	by     map[arch.Component][]int64
	layers int64 // 1 + the largest layer index stored
}

func shapesOf(inv *checkpoint.Inventory, roles []arch.Role) tensorShapes {
	ts := tensorShapes{by: map[arch.Component][]int64{}}
	for i := range inv.Tensors {
		t, r := &inv.Tensors[i], &roles[i]
		ts.layers = max(ts.layers, int64(t.Layer)+1)
		if r.Known {
			if _, seen := ts.by[r.Component]; !seen {
				ts.by[r.Component] = t.Logical
			}
		}
	}
	return ts
}

// dim returns dimension i of the component's shape counted from the
// innermost (0), false when there is no such tensor or dimension.
func (t tensorShapes) dim(c arch.Component, fromInner int) (int64, bool) {
	s, ok := t.by[c]
	if !ok || fromInner >= len(s) {
		return 0, false
	}
	return s[len(s)-1-fromInner], true
}

// impliedFields are the fields the tensors' shapes fix, with their GGUF
// keys in ggufKeys (num_experts_per_tok is not among them: no shape shows
// it).
var impliedFields = []implied{
	{"num_hidden_layers", func(c *Config) *int64 { return &c.NumHiddenLayers }, func(t tensorShapes) (int64, bool) { return t.layers, t.layers > 0 }},
	{"hidden_size", func(c *Config) *int64 { return &c.HiddenSize }, func(t tensorShapes) (int64, bool) { return t.dim(arch.CompEmbedding, 0) }},
	{"head_dim", func(c *Config) *int64 { return &c.HeadDim }, func(t tensorShapes) (int64, bool) { return t.dim(arch.CompAttnQNorm, 0) }},
	{"num_experts", func(c *Config) *int64 { return &c.NumExperts }, func(t tensorShapes) (int64, bool) { return t.dim(arch.CompRouter, 1) }},
	{"moe_intermediate_size", func(c *Config) *int64 { return &c.MoEIntermediateSize }, func(t tensorShapes) (int64, bool) { return t.dim(arch.CompExpertGate, 1) }},
	{"intermediate_size", func(c *Config) *int64 { return &c.IntermediateSize }, func(t tensorShapes) (int64, bool) { return t.dim(arch.CompMLPGate, 1) }},
	{"num_attention_heads", func(c *Config) *int64 { return &c.NumAttentionHeads }, func(t tensorShapes) (int64, bool) {
		q, ok1 := t.dim(arch.CompAttnQ, 1)
		hd, ok2 := t.dim(arch.CompAttnQNorm, 0)
		return q / max(hd, 1), ok1 && ok2 && hd > 0 && q%hd == 0
	}},
	{"num_key_value_heads", func(c *Config) *int64 { return &c.NumKeyValueHeads }, func(t tensorShapes) (int64, bool) {
		k, ok1 := t.dim(arch.CompAttnK, 1)
		hd, ok2 := t.dim(arch.CompAttnKNorm, 0)
		return k / max(hd, 1), ok1 && ok2 && hd > 0 && k%hd == 0
	}},
}

// mismatches counts the stored tensors the spec does not predict, or
// predicts with another shape, and the predicted ones not stored.
func mismatches(s *Spec, inv *checkpoint.Inventory) int {
	roles := arch.Assign(s, inv)
	seen := make([]bool, s.Count(inv.Format))
	n := 0
	for i := range inv.Tensors {
		r := &roles[i]
		switch {
		case !r.Known:
			n++
		case !slices.Equal(inv.Tensors[i].Shape, r.Shape):
			n++
			seen[r.Index] = true
		default:
			seen[r.Index] = true
		}
	}
	for _, ok := range seen {
		if !ok {
			n++
		}
	}
	return n
}

// ExplainShapes blames the config's fields when every tensor agrees with
// another value of them: for each field the shapes fix (the layers, the
// widths, the heads, the experts), if putting the value the stored tensors
// show in place of the config's makes every tensor what the family
// predicts, the field is wrong, not the tensors. The conflict names the
// field by its GGUF key for a spec read from GGUF metadata (a GGUF whose
// qwen3moe.expert_count is 127 while the router and every expert tensor
// hold 128), by its config.json key otherwise. None when the tensors agree
// with the spec, or no single field explains them.
func (s *Spec) ExplainShapes(inv *checkpoint.Inventory) []arch.Conflict {
	bad := mismatches(s, inv)
	if bad == 0 {
		return nil
	}
	ts := shapesOf(inv, arch.Assign(s, inv))
	var out []arch.Conflict
	for _, f := range impliedFields {
		v, ok := f.read(ts)
		if !ok {
			continue
		}
		was := *f.ptr(s.Cfg())
		if v == was || (f.field == "num_hidden_layers" && v < was) {
			continue // fewer layers stored than the config says: lost data, more likely than a wrong config
		}
		c := *s.Cfg()
		*f.ptr(&c) = v
		alt, err := New(&c)
		if err != nil || mismatches(alt, inv) != 0 {
			continue
		}
		key, file := f.field, "config.json"
		if s.Source() != nil {
			key, file = s.Source().Key(f.field), ""
		}
		out = append(out, arch.Conflict{Field: key, File: file, Message: fmt.Sprintf(
			"%s is %v, but the tensors hold %d: with %d every one of them has the shape %s predicts, so the %s is wrong, not the %d tensor(s) it puts at fault",
			key, was, v, v, s.Family(), source(s), bad)})
	}
	return out
}

// source names where the spec's config came from.
func source(s *Spec) string {
	if s.Source() != nil {
		return "GGUF metadata"
	}
	return "config.json"
}

package audit

import (
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// locator finds a stored tensor's role from its name alone, without
// building the expected list: the checks then cost a parse per tensor, not
// a map of every expected name. It numbers the expected tensors exactly as
// [Config.ExpectedHF] and [Config.ExpectedGGUF] list them.
type locator struct {
	c      *Config
	format checkpoint.Format
	base   []int // base[l]: index of layer l's first tensor; base[L] the first after the layers
	sparse []bool
	total  int
	// shared shape slices, one per component
	shapes map[Component][]int64
	// templates per slot of the slot tables, and for the three expert
	// projections: the role but for Name, Layer, Expert and Index
	slots   []Role
	experts [3]Role
	outer   [3]Role // embedding, final norm, lm_head
}

// hfSlots and ggufSlots name a layer's fixed tensors in list order; the
// MLP or MoE tensors follow them.
var hfSlots = []struct {
	suffix string
	comp   Component
}{
	{"input_layernorm.weight", CompAttnNorm}, {"self_attn.q_proj.weight", CompAttnQ}, {"self_attn.k_proj.weight", CompAttnK},
	{"self_attn.v_proj.weight", CompAttnV}, {"self_attn.o_proj.weight", CompAttnO}, {"self_attn.q_norm.weight", CompAttnQNorm},
	{"self_attn.k_norm.weight", CompAttnKNorm}, {"post_attention_layernorm.weight", CompFFNNorm},
	// sparse layers: router, then per expert gate, up, down; dense layers: gate, up, down
	{"mlp.gate.weight", CompRouter}, {"mlp.gate_proj.weight", CompMLPGate}, {"mlp.up_proj.weight", CompMLPUp}, {"mlp.down_proj.weight", CompMLPDown},
}

var ggufSlots = []struct {
	suffix string
	comp   Component
}{
	{"attn_norm.weight", CompAttnNorm}, {"attn_q.weight", CompAttnQ}, {"attn_k.weight", CompAttnK},
	{"attn_v.weight", CompAttnV}, {"attn_output.weight", CompAttnO}, {"attn_q_norm.weight", CompAttnQNorm},
	{"attn_k_norm.weight", CompAttnKNorm}, {"ffn_norm.weight", CompFFNNorm},
	{"ffn_gate_inp.weight", CompRouter}, {"ffn_gate.weight", CompMLPGate}, {"ffn_up.weight", CompMLPUp}, {"ffn_down.weight", CompMLPDown},
	{"ffn_gate_exps.weight", CompExpertGate}, {"ffn_up_exps.weight", CompExpertUp}, {"ffn_down_exps.weight", CompExpertDown},
}

func newLocator(c *Config, f checkpoint.Format) *locator {
	l := &locator{c: c, format: f, base: make([]int, c.NumHiddenLayers+1), sparse: make([]bool, c.NumHiddenLayers)}
	idx := 1 // the embedding
	for i := int64(0); i < c.NumHiddenLayers; i++ {
		l.base[i] = idx
		l.sparse[i] = c.Sparse(i)
		switch {
		case !c.Sparse(i):
			idx += 8 + 3
		case f == checkpoint.FormatGGUF:
			idx += 8 + 4
		default:
			idx += 8 + 1 + 3*int(c.NumExperts)
		}
	}
	l.base[c.NumHiddenLayers] = idx
	l.total = idx + 1 // final norm
	if !c.TieWordEmbeddings {
		l.total++
	}
	d, v, hd := c.HiddenSize, c.VocabSize, c.HeadDim
	q, kv := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	fe, fm, e := c.MoEIntermediateSize, c.IntermediateSize, c.NumExperts
	s := func(dims ...int64) []int64 {
		if f == checkpoint.FormatGGUF { // ne order: the innermost dimension first
			for i, j := 0, len(dims)-1; i < j; i, j = i+1, j-1 {
				dims[i], dims[j] = dims[j], dims[i]
			}
		}
		return dims
	}
	l.shapes = map[Component][]int64{
		CompEmbedding: s(v, d), CompLMHead: s(v, d), CompFinalNorm: {d},
		CompAttnNorm: {d}, CompFFNNorm: {d}, CompAttnQNorm: {hd}, CompAttnKNorm: {hd},
		CompAttnQ: s(q, d), CompAttnK: s(kv, d), CompAttnV: s(kv, d), CompAttnO: s(d, q),
		CompRouter: s(e, d), CompMLPGate: s(fm, d), CompMLPUp: s(fm, d), CompMLPDown: s(d, fm),
	}
	if f == checkpoint.FormatGGUF {
		l.shapes[CompExpertGate], l.shapes[CompExpertUp], l.shapes[CompExpertDown] = s(e, fe, d), s(e, fe, d), s(e, d, fe)
	} else {
		l.shapes[CompExpertGate], l.shapes[CompExpertUp], l.shapes[CompExpertDown] = s(fe, d), s(fe, d), s(d, fe)
	}
	tmpl := func(c Component) Role {
		return Role{Expected: Expected{Shape: l.shapes[c], Component: c, Layer: -1, Expert: -1}, Known: true, group: groupIndex(c), comp: uint8(compIndex[c])}
	}
	table := hfSlots
	if f == checkpoint.FormatGGUF {
		table = ggufSlots
	}
	for _, sl := range table {
		l.slots = append(l.slots, tmpl(sl.comp))
	}
	l.experts = [3]Role{tmpl(CompExpertGate), tmpl(CompExpertUp), tmpl(CompExpertDown)}
	l.outer = [3]Role{tmpl(CompEmbedding), tmpl(CompFinalNorm), tmpl(CompLMHead)}
	return l
}

// locate returns the expected entry named name and its index in the
// expected list, or false.
func (l *locator) locate(name string) (Expected, int, bool) {
	var r Role
	if !l.assign(name, &r) {
		return Expected{}, 0, false
	}
	return r.Expected, r.Index, true
}

// assign fills r with the role of the tensor named name, or reports false
// and leaves r alone when the architecture predicts no such tensor.
func (l *locator) assign(name string, r *Role) bool {
	outer := func(which, idx int) bool {
		*r = l.outer[which]
		r.Name, r.Index = name, idx
		return true
	}
	// in fills r field by field from a template: a whole-struct copy
	// costs a bulk write barrier per tensor.
	in := func(t *Role, layer, slot, expert int) bool {
		r.Name, r.Shape, r.Layer, r.Component, r.Expert = name, t.Shape, layer, t.Component, expert
		r.Known, r.group, r.comp, r.Index = true, t.group, t.comp, l.base[layer]+slot
		return true
	}
	layerPrefix, embed, norm, head := "model.layers.", "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"
	if l.format == checkpoint.FormatGGUF {
		layerPrefix, embed, norm, head = "blk.", "token_embd.weight", "output_norm.weight", "output.weight"
	}
	switch name {
	case embed:
		return outer(0, 0)
	case norm:
		return outer(1, l.base[len(l.base)-1])
	case head:
		if l.c.TieWordEmbeddings {
			return false
		}
		return outer(2, l.base[len(l.base)-1]+1)
	}
	rest, ok := strings.CutPrefix(name, layerPrefix)
	if !ok {
		return false
	}
	layer, rest, ok := number(rest)
	if !ok || layer >= int(l.c.NumHiddenLayers) {
		return false
	}
	sparse := l.sparse[layer]
	if l.format == checkpoint.FormatGGUF {
		for i, s := range ggufSlots {
			if rest != s.suffix {
				continue
			}
			switch {
			case i < 8:
				return in(&l.slots[i], layer, i, -1)
			case sparse && (i == 8 || i >= 12):
				return in(&l.slots[i], layer, 8+max(0, i-11), -1)
			case !sparse && i >= 9 && i <= 11:
				return in(&l.slots[i], layer, 8+i-9, -1)
			}
		}
		return false
	}
	if sparse {
		if erest, ok := strings.CutPrefix(rest, "mlp.experts."); ok {
			e, proj, ok := number(erest)
			if !ok || e >= int(l.c.NumExperts) {
				return false
			}
			for j, p := range [3]string{"gate_proj.weight", "up_proj.weight", "down_proj.weight"} {
				if proj == p {
					return in(&l.experts[j], layer, 9+3*e+j, e)
				}
			}
			return false
		}
	}
	for i, s := range hfSlots {
		if rest != s.suffix {
			continue
		}
		switch {
		case i < 8:
			return in(&l.slots[i], layer, i, -1)
		case sparse && i == 8:
			return in(&l.slots[i], layer, 8, -1)
		case !sparse && i > 8:
			return in(&l.slots[i], layer, 8+i-9, -1)
		}
	}
	return false
}

// number parses the decimal number s starts with, followed by a dot, and
// returns it with what follows the dot. Leading zeros are refused, as
// names never carry them.
func number(s string) (int, string, bool) {
	i, n := 0, 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		n = 10*n + int(s[i]-'0')
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '.' || (s[0] == '0' && i > 1) {
		return 0, "", false
	}
	return n, s[i+1:], true
}

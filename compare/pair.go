package compare

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// key identifies one logical tensor across formats and naming schemes:
// the role the family gives it. A routed expert's weights have the expert
// in the key whether they are stored one tensor per expert (Hugging Face)
// or stacked (GGUF).
type key struct {
	layer  int
	comp   arch.Component
	expert int
}

func (k key) String() string {
	if k.expert >= 0 {
		return fmt.Sprintf("layer %d %s expert %d", k.layer, k.comp, k.expert)
	}
	if k.layer < 0 {
		return string(k.comp)
	}
	return fmt.Sprintf("layer %d %s", k.layer, k.comp)
}

// side is one checkpoint under its family's roles.
type side struct {
	ck    *checkpoint.Checkpoint
	spec  arch.Spec
	inv   *checkpoint.Inventory
	roles []arch.Role
	// by maps each key to its tensor and, for a stacked tensor, the
	// slice holding that expert (-1 otherwise).
	by     map[key]slot
	byName map[string]*checkpoint.Tensor
	quant  arch.Quant // how its Hugging Face weights are quantized, for the scales
}

type slot struct {
	t       *checkpoint.Tensor
	slice   int
	part    arch.Part
	index   int          // the tensor's index in the inventory
	packing arch.Packing // values packed several to an element (MXFP4 blocks, GPTQ/AWQ qweight)
}

func newSide(ck *checkpoint.Checkpoint, spec arch.Spec) *side {
	s := &side{ck: ck, spec: spec, inv: ck.Inventory(), by: map[key]slot{}, byName: map[string]*checkpoint.Tensor{}}
	s.roles = arch.Assign(spec, s.inv)
	if q, ok := spec.(arch.Quantized); ok && ck.Format == checkpoint.FormatSafetensors {
		s.quant = q.Quant()
	}
	for i := range s.inv.Tensors {
		t, r := &s.inv.Tensors[i], &s.roles[i]
		s.byName[t.Name] = t
		if !r.Known || r.Part == arch.PartCompanion {
			continue
		}
		if r.Component.Expert() && r.Expert < 0 && len(r.Unpacked(slices.Clone(t.Logical))) == 3 { // stacked: one key per expert
			for e := range int(t.Logical[0]) {
				s.by[key{r.Layer, r.Component, e}] = slot{t, e, r.Part, i, r.Packing}
			}
			continue
		}
		s.by[key{r.Layer, r.Component, r.Expert}] = slot{t, -1, r.Part, i, r.Packing}
	}
	return s
}

// shape returns the logical shape of the slot: a stacked tensor's slice
// without its expert dimension.
func (s slot) shape() []int64 {
	if s.slice >= 0 {
		return s.t.Logical[1:]
	}
	return s.t.Logical
}

// pairing is what pair finds: the pairs to compare, in A's order, and
// what has no partner.
type pairing struct {
	pairs    []pairing1
	splits   []splitPair
	unpaired []Unpaired
}

// splitPair is a tensor one side holds whole and the other split per head
// ([arch.HeadSplit]): the whole's slot, the parts' slots in order, and
// whether the whole is A's.
type splitPair struct {
	layer  int
	expert int // for an Interleaved split of rows, -1 otherwise
	split  arch.HeadSplit
	whole  slot
	parts  []slot
	wholeA bool
}

// splits finds, for each split the GGUF side's family declares, the
// layers where the other side holds the whole and the GGUF side every
// part, and marks those keys paired.
func splits(a, b *side, seen map[key]bool) []splitPair {
	whole, parts, wholeA := a, b, true
	switch {
	case b.ck.Format == checkpoint.FormatGGUF && a.ck.Format != checkpoint.FormatGGUF:
	case a.ck.Format == checkpoint.FormatGGUF && b.ck.Format != checkpoint.FormatGGUF:
		whole, parts, wholeA = b, a, false
	default:
		return nil
	}
	sp, ok := parts.spec.(arch.Splitter)
	if !ok {
		return nil
	}
	var out []splitPair
	for _, hs := range sp.GGUFSplits() {
		for k, ws := range whole.by {
			perExpert := hs.Interleaved && !hs.Columns // the weights' split is expert by expert
			if k.comp != hs.Whole || (k.expert >= 0) != perExpert || !decodable(ws.packing) {
				continue
			}
			pp := splitPair{layer: k.layer, expert: k.expert, split: hs, whole: ws, wholeA: wholeA}
			for _, part := range hs.Parts {
				if ps, ok := parts.by[key{k.layer, part.Comp, k.expert}]; ok {
					pp.parts = append(pp.parts, ps)
				}
			}
			if len(pp.parts) != len(hs.Parts) {
				continue
			}
			seen[k] = true
			for _, part := range hs.Parts {
				seen[key{k.layer, part.Comp, k.expert}] = true
			}
			out = append(out, pp)
		}
	}
	slices.SortFunc(out, func(x, y splitPair) int {
		if x.layer != y.layer {
			return x.layer - y.layer
		}
		return x.expert - y.expert
	})
	return out
}

type pairing1 struct {
	k    key
	a, b slot
}

// pair matches the two sides' tensors by role. What one side has and the
// other lacks is unpaired, with the reason: a part the other format does
// not carry (llama.cpp drops multi-token-prediction layers and the
// vision tower, and has no block scales: those are expected), a tensor
// the family does not predict, or a tensor of the model the other side
// lacks (a defect).
func pair(a, b *side) pairing {
	var p pairing
	seen := map[key]bool{} // keys paired, on either side
	p.splits = splits(a, b, seen)
	keys := make([]key, 0, len(a.by))
	for k := range a.by {
		keys = append(keys, k)
	}
	order := func(ks []key, s *side) {
		slices.SortFunc(ks, func(x, y key) int {
			sx, sy := s.by[x], s.by[y]
			if sx.index != sy.index {
				return sx.index - sy.index
			}
			return x.expert - y.expert
		})
	}
	order(keys, a)
	for _, k := range keys {
		if seen[k] {
			continue // the whole or a part of a split
		}
		sa := a.by[k]
		sb, ok := b.by[k]
		if !ok {
			p.unpaired = append(p.unpaired, missingPartner("a", k, sa, b))
			continue
		}
		if !decodable(sa.packing) || !decodable(sb.packing) {
			seen[k] = true
			p.unpaired = append(p.unpaired, Unpaired{Side: "a", Tensor: sliceName(sa), Role: k.String(), NotCompared: true,
				Reason: "its values are packed (GPTQ or AWQ int4) and not decoded for comparison yet"})
			continue
		}
		seen[k] = true
		p.pairs = append(p.pairs, pairing1{k, sa, sb})
	}
	var bOnly []key
	for k := range b.by {
		if !seen[k] {
			bOnly = append(bOnly, k)
		}
	}
	order(bOnly, b)
	for _, k := range bOnly {
		p.unpaired = append(p.unpaired, missingPartner("b", k, b.by[k], a))
	}
	for _, s := range []struct {
		name string
		side *side
	}{{"a", a}, {"b", b}} {
		for i, r := range s.side.roles {
			if !r.Known {
				p.unpaired = append(p.unpaired, Unpaired{Side: s.name, Tensor: s.side.inv.Tensors[i].Name,
					Reason: fmt.Sprintf("the %s family does not predict this tensor", s.side.spec.Family())})
			}
		}
	}
	return p
}

// missingPartner explains a tensor of one side that the other (other)
// lacks.
func missingPartner(name string, k key, s slot, other *side) Unpaired {
	u := Unpaired{Side: name, Tensor: s.t.Name, Role: k.String()}
	if s.slice >= 0 {
		u.Tensor = fmt.Sprintf("%s[%d]", s.t.Name, s.slice)
	}
	switch {
	case s.part == arch.PartMTP && other.ck.Format == checkpoint.FormatGGUF:
		u.Reason, u.Expected = "a multi-token-prediction layer: llama.cpp's converter drops it", true
	case s.part == arch.PartVision && other.ck.Format == checkpoint.FormatGGUF:
		u.Reason, u.Expected = "the vision tower: llama.cpp converts it to a separate mmproj file", true
	case s.part != arch.PartModel:
		u.Reason, u.Expected = fmt.Sprintf("a %s tensor the other side does not carry", s.part), true
	case !decodable(s.packing):
		u.Reason = "its values are packed (GPTQ or AWQ int4) and not decoded for comparison yet"
		u.NotCompared = true
	case !other.hasComp(k.comp):
		u.Reason = fmt.Sprintf("the other side stores no %s at all: its format fuses or splits it differently, and pairing across that is not done yet", k.comp)
		u.NotCompared = true
	default:
		u.Reason = fmt.Sprintf("the other side has no %s tensor", k)
	}
	return u
}

// hasComp reports whether s has any tensor of component c.
func (s *side) hasComp(c arch.Component) bool {
	for _, r := range s.roles {
		if r.Known && r.Component == c {
			return true
		}
	}
	return false
}

// decodable reports whether values packed so can be read for comparison:
// all the packings the tables know.
func decodable(p arch.Packing) bool {
	switch p {
	case arch.PackNone, arch.PackMXFP4, arch.PackGPTQ, arch.PackAWQ:
		return true
	}
	return false
}

// storage names how a slot's values are stored, for the bound: its dtype,
// or for a GPTQ or AWQ weight its int4 groups.
func (s *side) storage(sl slot) string {
	if sl.packing == arch.PackGPTQ || sl.packing == arch.PackAWQ {
		return int4Prefix + strconv.FormatInt(s.quant.Group, 10)
	}
	return sl.t.DType
}

package audit

import "github.com/weightaudit/weightaudit/checkpoint"

// Role is what the architecture says one stored tensor is.
type Role struct {
	Expected
	Known bool  // false for a tensor the architecture does not predict
	group uint8 // index in groupOrder of the component's group
	comp  uint8 // index in allComponents of the component, when Known
	Index int   // the entry's index in the expected list, -1 when not Known
}

// roleAssigner is implemented by specs that fill a role in place: on a
// checkpoint of tens of thousands of tensors that spares two copies of the
// entry per tensor over [Spec.Locate].
type roleAssigner interface {
	assign(f checkpoint.Format, name string, r *Role) bool
}

// Assign gives every tensor of inv its role under spec: the expected entry
// of the same name. Tensors the spec does not predict get Known false and
// the layer parsed from their name.
func Assign(spec Spec, inv *checkpoint.Inventory) []Role {
	roles := make([]Role, len(inv.Tensors))
	fast, _ := spec.(roleAssigner)
	for i := range inv.Tensors {
		t, r := &inv.Tensors[i], &roles[i]
		if fast != nil {
			if fast.assign(inv.Format, t.Name, r) {
				continue
			}
		} else if e, idx, ok := spec.Locate(inv.Format, t.Name); ok {
			*r = Role{Expected: e, Known: true, group: groupIndex(e.Component), comp: uint8(compIndex[e.Component]), Index: idx}
			continue
		}
		*r = Role{Expected: Expected{Name: t.Name, Layer: t.Layer, Expert: -1}, group: groupOther, Index: -1}
	}
	return roles
}

// expert reports whether the role is one of the routed experts.
func (r *Role) expert() bool { return r.Known && isExpert(r.Component) }

// isExpert reports whether a component belongs to the routed experts.
func isExpert(c Component) bool {
	return c == CompExpertGate || c == CompExpertUp || c == CompExpertDown
}

// roleSums is one pass over the inventory under its roles: the sums the
// report's counts, groups, memory and per-layer table are made of.
type roleSums struct {
	active, weightBytes, expertBytes int64
	groups                           [len(groupOrder)]int64
	inLayers                         []layerSums // [l+1] for layers -1 … L-1
	elsewhere                        map[int]*layerSums
}

// layerSums is one layer's share of a roleSums.
type layerSums struct {
	tensors              int
	params, active, byts int64
	groups               [len(groupOrder)]int64
}

// tallyRoles sums inv under roles. A routed expert's parameters count k/E
// in the active totals: one token passes through k of the E experts.
func tallyRoles(inv *checkpoint.Inventory, roles []Role, cfg *Config) *roleSums {
	tl := &roleSums{inLayers: make([]layerSums, cfg.NumHiddenLayers+1), elsewhere: map[int]*layerSums{}}
	var experts int64
	for i := range inv.Tensors {
		t, r := &inv.Tensors[i], &roles[i]
		var lt *layerSums
		if l := t.Layer; l >= -1 && l < len(tl.inLayers)-1 {
			lt = &tl.inLayers[l+1]
		} else if lt = tl.elsewhere[l]; lt == nil {
			lt = &layerSums{}
			tl.elsewhere[l] = lt
		}
		lt.tensors++
		lt.params += t.Params
		lt.byts += t.Bytes
		lt.groups[r.group] += t.Params
		tl.groups[r.group] += t.Params
		tl.weightBytes += t.Bytes
		if r.expert() {
			tl.expertBytes += t.Bytes
		}
		if r.expert() && cfg.NumExperts > 0 {
			experts += t.Params
			lt.active += t.Params / cfg.NumExperts * cfg.NumExpertsPerTok
		} else {
			tl.active += t.Params
			lt.active += t.Params
		}
	}
	if cfg.NumExperts > 0 {
		tl.active += experts / cfg.NumExperts * cfg.NumExpertsPerTok
	}
	return tl
}

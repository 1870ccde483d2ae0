package audit

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// roleSums is one pass over the inventory under its roles: the sums the
// report's counts, groups, memory and per-layer table are made of.
type roleSums struct {
	params, active, weightBytes, expertBytes int64 // params and active: the model's part only ([arch.PartModel])
	mtp, companions                          int64 // the elements of the other parts, counted apart
	groups                                   [arch.NumGroups]int64
	inLayers                                 []layerSums // [l+1] for layers -1 … L-1
	elsewhere                                map[int]*layerSums
}

// layerSums is one layer's share of a roleSums.
type layerSums struct {
	tensors              int
	params, active, byts int64
	groups               [arch.NumGroups]int64
}

// tallyRoles sums inv under roles. A routed expert's parameters count k/E
// in the active totals: one token passes through k of the E experts.
func tallyRoles(inv *checkpoint.Inventory, roles []arch.Role, dims arch.Dims) *roleSums {
	tl := &roleSums{inLayers: make([]layerSums, dims.Layers+1), elsewhere: map[int]*layerSums{}}
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
		lt.byts += t.Bytes
		tl.weightBytes += t.Bytes
		expert := r.Known && r.Component.Expert()
		if expert {
			tl.expertBytes += t.Bytes // an expert's scales are read with it
		}
		if r.Known && r.Part != arch.PartModel {
			if r.Part == arch.PartMTP {
				tl.mtp += t.Params
			} else {
				tl.companions += t.Params
			}
			continue
		}
		lt.params += t.Params
		tl.params += t.Params
		lt.groups[r.Group] += t.Params
		tl.groups[r.Group] += t.Params
		if expert && dims.Experts > 0 {
			experts += t.Params
			lt.active += t.Params / dims.Experts * dims.ExpertsUsed
		} else {
			tl.active += t.Params
			lt.active += t.Params
		}
	}
	if dims.Experts > 0 {
		tl.active += experts / dims.Experts * dims.ExpertsUsed
	}
	return tl
}

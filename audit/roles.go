package audit

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// roleSums is one pass over the inventory under its roles: the sums the
// report's counts, groups, memory and per-layer table are made of.
type roleSums struct {
	params, active, weightBytes, expertBytes int64 // params and active: the model's part only ([arch.PartModel])
	mtp, companions, vision                  int64 // the elements of the other parts, counted apart
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
		expert := r.Known && r.Group == arch.GroupExperts
		if expert {
			tl.expertBytes += t.Bytes // an expert's scales are read with it
		}
		n := t.Params
		if r.Known && r.Values > 1 {
			n *= int64(r.Values) // packed values (MXFP4 pairs in a byte)
		}
		if r.Known && r.Part != arch.PartModel {
			switch r.Part {
			case arch.PartMTP:
				tl.mtp += n
			case arch.PartVision:
				tl.vision += n
			default:
				tl.companions += n
			}
			continue
		}
		lt.params += n
		tl.params += n
		lt.groups[r.Group] += n
		tl.groups[r.Group] += n
		if expert && dims.Experts > 0 {
			experts += n
			lt.active += n / dims.Experts * dims.ExpertsUsed
		} else {
			tl.active += n
			lt.active += n
		}
	}
	if dims.Experts > 0 {
		tl.active += experts / dims.Experts * dims.ExpertsUsed
	}
	return tl
}

package arch

import "github.com/weightaudit/weightaudit/internal/checked"

// Attention is the cost shape of a decoder's attention: Full layers attend
// to every position, Sliding ones to the last Window (≥ 1 when Sliding >
// 0; every sliding layer of a model has the same). Its methods are the
// [Coster] terms, so a family's KVCache and AttentionFLOPs are one line.
type Attention struct {
	Full, Sliding, Window   int64
	Heads, KVHeads, HeadDim int64
}

// CountLayers sets Full, Sliding and Window from window, which returns
// the window a layer attends within (0: every position), for layers
// 0 … n-1.
func (a Attention) CountLayers(n int64, window func(layer int64) int64) Attention {
	a.Full, a.Sliding, a.Window = 0, 0, 0
	for i := range n {
		if w := window(i); w > 0 {
			a.Sliding, a.Window = a.Sliding+1, w
		} else {
			a.Full++
		}
	}
	return a
}

// KVCache stores a key and a value vector of HeadDim per KV head and
// layer: for every position in a full layer, for the last Window in a
// sliding one. A kind of layer the model lacks is left out.
func (a Attention) KVCache() []KVRows {
	var out []KVRows
	if a.Full > 0 {
		out = append(out, KVRows{Rows: 2 * a.Full * a.KVHeads, Width: a.HeadDim})
	}
	if a.Sliding > 0 {
		out = append(out, KVRows{Rows: 2 * a.Sliding * a.KVHeads, Width: a.HeadDim, Window: a.Window})
	}
	return out
}

// FLOPs is the seed's attention term 2·2·n_h·d_k per layer and attended
// position (the scores q·k and the weighted sum of v): ctx positions in a
// full layer, at most Window in a sliding one.
func (a Attention) FLOPs(ctx int64) int64 {
	positions := checked.SatAdd(checked.SatMul(a.Full, ctx), checked.SatMul(a.Sliding, min(ctx, a.Window)))
	return checked.SatMul(4, a.Heads, a.HeadDim, positions)
}

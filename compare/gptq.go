package compare

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// newIntPacked reads a GPTQ or AWQ weight, t its qweight, as the [out,
// in] matrix it holds, through the decoder the spot-check shares
// ([checkpoint.IntRows]: read whole on first use, its packing running
// across the logical rows).
func newIntPacked(r *checkpoint.Reader, s *side, t *checkpoint.Tensor, p arch.Packing) (*checkpoint.IntRows, error) {
	base := t.Name[:len(t.Name)-len(".qweight")]
	it := checkpoint.IntTensors{QWeight: t, QZeros: s.byName[base+".qzeros"], Scales: s.byName[base+".scales"]}
	if p == arch.PackGPTQ {
		it.GIdx = s.byName[base+".g_idx"]
	}
	if it.QZeros == nil || it.Scales == nil || (p == arch.PackGPTQ && it.GIdx == nil) {
		return nil, fmt.Errorf("tensor %s: its qzeros, scales or g_idx are missing", t.Name)
	}
	return checkpoint.NewIntRows(r, it, s.quant.IntScheme())
}

var _ rows = (*checkpoint.IntRows)(nil)

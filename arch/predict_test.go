package arch_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

func TestPredictionHelpers(t *testing.T) {
	// V = 10, d = 4, untied: embedding and lm_head 40 each, final norm 4.
	p := arch.NewPrediction(10, 4, false)
	l := arch.LayerPrediction{Layer: 0}
	p.Count(&l, arch.CompAttnNorm, 4)
	// 3 experts of width 2, 1 per token: router 3·4 = 12, experts
	// 3·3·2·4 = 72, of which one expert's 3·2·4 = 24 active.
	p.CountExperts(&l, 3, 1, 2, 4)
	p.AddLayer(l)
	l = arch.LayerPrediction{Layer: 1}
	p.CountMLP(&l, 5, 4) // 3·5·4 = 60
	p.AddLayer(l)
	want := arch.Prediction{
		Total:  40 + 40 + 4 + (4 + 12 + 72) + 60,
		Active: 40 + 40 + 4 + (4 + 12 + 24) + 60,
		Components: map[arch.Component]int64{
			arch.CompEmbedding: 40, arch.CompLMHead: 40, arch.CompFinalNorm: 4, arch.CompAttnNorm: 4,
			arch.CompRouter: 12, arch.CompExpertGate: 24, arch.CompExpertUp: 24, arch.CompExpertDown: 24,
			arch.CompMLPGate: 20, arch.CompMLPUp: 20, arch.CompMLPDown: 20,
		},
		Layers: []arch.LayerPrediction{{Layer: 0, Total: 88, Active: 40}, {Layer: 1, Total: 60, Active: 60}},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("prediction (-want +got):\n%s", diff)
	}
	if tied := arch.NewPrediction(10, 4, true); tied.Total != 44 || len(tied.Components) != 2 {
		t.Errorf("tied NewPrediction = %+v, want 44 parameters and no lm_head", tied)
	}
}

// walkLayer runs walk over one layer holding tensors of the given
// components and logical shapes, and returns the problems' messages.
func walkLayer(shapes map[arch.Component][]int64, walk func(w *arch.Walk, b *arch.Block)) []string {
	inv := &checkpoint.Inventory{}
	var roles []arch.Role
	for c, s := range shapes {
		inv.Tensors = append(inv.Tensors, checkpoint.Tensor{Name: string(c), Logical: s, Layer: 0})
		r := arch.RoleOf(c, s)
		r.Layer = 0
		roles = append(roles, r)
	}
	w := &arch.Walk{}
	walk(w, arch.ByLayer(inv, roles, 1)[1])
	var out []string
	for _, p := range w.Problems {
		out = append(out, p.Message)
	}
	return out
}

func TestWalkAttention(t *testing.T) {
	attn := func(q, k, v, o []int64) map[arch.Component][]int64 {
		return map[arch.Component][]int64{arch.CompAttnQ: q, arch.CompAttnK: k, arch.CompAttnV: v, arch.CompAttnO: o}
	}
	tests := []struct {
		name   string
		shapes map[arch.Component][]int64
		want   []string
	}{
		{"sound", attn([]int64{32, 16}, []int64{16, 16}, []int64{16, 16}, []int64{16, 32}), nil},
		{"no KV head", attn([]int64{32, 16}, []int64{0, 16}, []int64{0, 16}, []int64{16, 32}),
			[]string{"layer 0: 4 query heads cannot share 0 KV heads"}},
		{"heads do not group", attn([]int64{24, 16}, []int64{16, 16}, []int64{16, 16}, []int64{16, 24}),
			[]string{"layer 0: 3 query heads cannot share 2 KV heads"}},
		{"o back to another width", attn([]int64{32, 16}, []int64{16, 16}, []int64{16, 16}, []int64{8, 32}),
			[]string{"layer 0: attention output has width 8, the residual stream 16"}},
		{"no v", map[arch.Component][]int64{arch.CompAttnQ: {32, 16}, arch.CompAttnK: {16, 16}},
			[]string{"layer 0: no attn_v tensor: the block cannot be composed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := walkLayer(tt.shapes, func(w *arch.Walk, b *arch.Block) { w.Attention(b, 0, 16, 8) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Attention problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWalkExperts(t *testing.T) {
	names := [3]string{"gate (w1)", "up (w3)", "down (w2)"}
	stacked := map[arch.Component][]int64{arch.CompRouter: {4, 16},
		arch.CompExpertGate: {4, 8, 16}, arch.CompExpertUp: {4, 8, 16}, arch.CompExpertDown: {4, 16, 8}}
	walk := func(w *arch.Walk, b *arch.Block) { w.Experts(b, b.Get(arch.CompRouter)[0], 0, 16, names) }
	if got := walkLayer(stacked, walk); got != nil {
		t.Errorf("stacked experts: %v, want no problem", got)
	}
	stacked[arch.CompExpertUp] = []int64{3, 8, 16}
	if got, want := walkLayer(stacked, walk), []string{"layer 0: [3 8 16] stacks a different number of experts than the router's 4"}; !cmp.Equal(got, want) {
		t.Errorf("stacked experts: %v, want %v", got, want)
	}
	one := map[arch.Component][]int64{arch.CompRouter: {2, 16},
		arch.CompExpertGate: {8, 16}, arch.CompExpertUp: {8, 16}, arch.CompExpertDown: {16, 8}}
	want := []string{"layer 0: the router picks among 2 experts, the layer stores 1 gate (w1), 1 up (w3), 1 down (w2)"}
	if got := walkLayer(one, walk); !cmp.Equal(got, want) {
		t.Errorf("experts one per tensor: %v, want %v", got, want)
	}
}

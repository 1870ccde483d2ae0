package arch_test

import (
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// tableSpec declares a two-layer model whose second layer has two experts
// of two slots each, with 4×4 block scales on its projections.
func tableSpec(f checkpoint.Format) arch.TableSpec {
	dense := []arch.Slot{
		{Name: "norm.weight", Comp: arch.CompAttnNorm, Shape: []int64{8}},
		{Name: "mlp.up.weight", Comp: arch.CompMLPUp, Shape: []int64{16, 8}, Scaled: true},
	}
	sparse := []arch.Slot{
		{Name: "norm.weight", Comp: arch.CompAttnNorm, Shape: []int64{8}},
		{Name: "up.weight", Comp: arch.CompExpertUp, Shape: []int64{5, 8}, Expert: true, Scaled: true},
		{Name: "down.weight", Comp: arch.CompExpertDown, Shape: []int64{8, 5}, Expert: true},
		{Name: "mlp.gate.weight", Comp: arch.CompRouter, Shape: []int64{2, 8}},
	}
	return arch.TableSpec{Format: f, Kinds: [][]arch.Slot{dense, sparse}, Layers: []uint8{0, 1}, Experts: 2, ExpertPrefix: "mlp.experts.",
		Before:      []arch.Slot{{Name: "embed.weight", Comp: arch.CompEmbedding, Shape: []int64{10, 8}}},
		After:       []arch.Slot{{Name: "norm.weight", Comp: arch.CompFinalNorm, Shape: []int64{8}}, {Name: "extra.weight", Comp: arch.CompLMHead, Shape: []int64{10, 8}, Part: arch.PartMTP}},
		BlockScales: [2]int64{4, 4}}
}

// The table lists the tensors in the order worked out by hand, scales
// after their weights with one scale per 4×4 block rounded up, and
// assigns each listed name its own entry and position.
func TestTableListsAndAssigns(t *testing.T) {
	tab := arch.NewTable(tableSpec(checkpoint.FormatSafetensors))
	want := []struct {
		name          string
		shape         []int64
		layer, expert int
		part          arch.Part
	}{
		{"embed.weight", []int64{10, 8}, -1, -1, arch.PartModel},
		{"model.layers.0.norm.weight", []int64{8}, 0, -1, arch.PartModel},
		{"model.layers.0.mlp.up.weight", []int64{16, 8}, 0, -1, arch.PartModel},
		{"model.layers.0.mlp.up.weight_scale_inv", []int64{4, 2}, 0, -1, arch.PartCompanion},
		{"model.layers.1.norm.weight", []int64{8}, 1, -1, arch.PartModel},
		{"model.layers.1.mlp.experts.0.up.weight", []int64{5, 8}, 1, 0, arch.PartModel},
		{"model.layers.1.mlp.experts.0.up.weight_scale_inv", []int64{2, 2}, 1, 0, arch.PartCompanion},
		{"model.layers.1.mlp.experts.0.down.weight", []int64{8, 5}, 1, 0, arch.PartModel},
		{"model.layers.1.mlp.experts.1.up.weight", []int64{5, 8}, 1, 1, arch.PartModel},
		{"model.layers.1.mlp.experts.1.up.weight_scale_inv", []int64{2, 2}, 1, 1, arch.PartCompanion},
		{"model.layers.1.mlp.experts.1.down.weight", []int64{8, 5}, 1, 1, arch.PartModel},
		{"model.layers.1.mlp.gate.weight", []int64{2, 8}, 1, -1, arch.PartModel},
		{"norm.weight", []int64{8}, -1, -1, arch.PartModel},
		{"extra.weight", []int64{10, 8}, -1, -1, arch.PartMTP},
	}
	exp := tab.Expected()
	if len(exp) != len(want) || tab.Count() != len(want) {
		t.Fatalf("%d entries, Count %d; want %d", len(exp), tab.Count(), len(want))
	}
	for i, w := range want {
		e := exp[i]
		if e.Name != w.name || !slices.Equal(e.Shape, w.shape) || e.Layer != w.layer || e.Expert != w.expert || e.Part != w.part {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
		var r arch.Role
		if !tab.Assign(e.Name, &r) || r.Index != i || r.Name != e.Name || !slices.Equal(r.Shape, e.Shape) || r.Part != e.Part || r.Component != e.Component || r.Expert != e.Expert {
			t.Errorf("Assign(%s) = %+v, want index %d and entry %+v", e.Name, r, i, e)
		}
	}
}

// Names the table does not declare are refused: a layer or an expert out
// of range, a slot of the other kind of layer, an index with a leading
// zero, a stray suffix, a Hugging Face name in GGUF.
func TestTableRefuses(t *testing.T) {
	st := arch.NewTable(tableSpec(checkpoint.FormatSafetensors))
	for _, name := range []string{
		"model.layers.2.norm.weight", "model.layers.1.mlp.experts.2.up.weight", "model.layers.0.mlp.experts.0.up.weight",
		"model.layers.1.mlp.up.weight", "model.layers.01.norm.weight", "model.layers.1.mlp.experts.00.up.weight",
		"model.layers.0.norm.weight.x", "embed", "blk.0.norm.weight",
	} {
		var r arch.Role
		if st.Assign(name, &r) || r.Known {
			t.Errorf("Assign(%s) = %+v, want refused", name, r)
		}
	}
	gg := arch.NewTable(tableSpec(checkpoint.FormatGGUF))
	var r arch.Role
	if !gg.Assign("blk.0.mlp.up.weight", &r) || !slices.Equal(r.Shape, []int64{8, 16}) {
		t.Errorf("GGUF blk.0.mlp.up.weight = %+v, want ne order [8 16]", r)
	}
	if gg.Assign("model.layers.0.norm.weight", &r) {
		t.Errorf("GGUF table assigned a Hugging Face name")
	}
}

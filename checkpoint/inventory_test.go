package checkpoint_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
)

func TestLayerOf(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"model.layers.0.self_attn.q_proj.weight", 0},
		{"model.layers.93.mlp.experts.127.down_proj.weight", 93},
		{"blk.12.ffn_gate_exps.weight", 12},
		{"blk.7", 7},
		{"model.language_model.layers.3.mlp.gate.weight", 3},
		{"token_embd.weight", -1},
		{"model.embed_tokens.weight", -1},
		{"lm_head.weight", -1},
		{"blk.x.attn_q.weight", -1},
		{"model.layers.-1.foo", -1},
		{"sublayers.4.weight", -1},
		{"blk.99999999999999999999.attn_q", -1},
	}
	for _, tt := range tests {
		if got := checkpoint.LayerOf(tt.name); got != tt.want {
			t.Errorf("LayerOf(%q) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestTallies(t *testing.T) {
	inv := &checkpoint.Inventory{
		Files: []checkpoint.FileEntry{{Name: "a", Size: 100, HeaderBytes: 10}, {Name: "b", Size: 50, HeaderBytes: 8}},
		Tensors: []checkpoint.Tensor{
			{Name: "emb", DType: "BF16", Params: 10, Bytes: 20, Layer: -1},
			{Name: "l0.a", DType: "BF16", Params: 4, Bytes: 8, Layer: 0},
			{Name: "l0.b", DType: "F32", Params: 4, Bytes: 16, Layer: 0},
			{Name: "l1.a", DType: "F32", Params: 2, Bytes: 8, Layer: 1},
		},
	}
	layers := inv.Layers()
	want := []checkpoint.LayerTally{{Layer: -1, Tensors: 1, Params: 10, Bytes: 20}, {Layer: 0, Tensors: 2, Params: 8, Bytes: 24}, {Layer: 1, Tensors: 1, Params: 2, Bytes: 8}}
	if len(layers) != len(want) {
		t.Fatalf("Layers() = %v, want %v", layers, want)
	}
	for i := range want {
		if layers[i] != want[i] {
			t.Errorf("Layers()[%d] = %v, want %v", i, layers[i], want[i])
		}
	}
	dts := inv.DTypes()
	wantDT := []checkpoint.DTypeTally{{DType: "BF16", Tensors: 2, Params: 14, Bytes: 28}, {DType: "F32", Tensors: 2, Params: 6, Bytes: 24}}
	for i := range wantDT {
		if dts[i] != wantDT[i] {
			t.Errorf("DTypes()[%d] = %v, want %v", i, dts[i], wantDT[i])
		}
	}
	tot := inv.Totals()
	if tot != (checkpoint.Totals{Files: 2, Tensors: 4, Params: 20, Bytes: 52, FileBytes: 150, HeaderBytes: 18}) {
		t.Errorf("Totals() = %+v", tot)
	}
}

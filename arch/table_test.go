package arch_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// tableSpec declares a two-layer model whose second layer has two experts
// of two slots each, with 4×4 block scales on its projections.
func tableSpec(f checkpoint.Format) arch.TableSpec {
	dense := []arch.Slot{
		{Name: "norm.weight", Comp: arch.CompAttnNorm, Shape: []int64{8}},
		{Name: "mlp.up.weight", Comp: arch.CompMLPUp, Shape: []int64{16, 8}, Quantized: true},
	}
	sparse := []arch.Slot{
		{Name: "norm.weight", Comp: arch.CompAttnNorm, Shape: []int64{8}},
		{Name: "up.weight", Comp: arch.CompExpertUp, Shape: []int64{5, 8}, Expert: true, Quantized: true},
		{Name: "down.weight", Comp: arch.CompExpertDown, Shape: []int64{8, 5}, Expert: true},
		{Name: "mlp.gate.weight", Comp: arch.CompRouter, Shape: []int64{2, 8}},
	}
	return arch.TableSpec{Format: f, Kinds: [][]arch.Slot{dense, sparse}, Layers: []uint8{0, 1}, Experts: 2, ExpertPrefix: "mlp.experts.",
		Before: []arch.Slot{{Name: "embed.weight", Comp: arch.CompEmbedding, Shape: []int64{10, 8}}},
		After:  []arch.Slot{{Name: "norm.weight", Comp: arch.CompFinalNorm, Shape: []int64{8}}, {Name: "extra.weight", Comp: arch.CompLMHead, Shape: []int64{10, 8}, Part: arch.PartMTP}},
		Quant:  arch.Quant{Scheme: arch.QuantFP8Block, Block: [2]int64{4, 4}}}
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

// A packed tensor's stored shape maps back to the weight it holds: GPTQ
// qweight [in/8, out], AWQ qweight [in, out/8], MXFP4 blocks [E, out,
// in/32, 16] of two values a byte.
func TestUnpacked(t *testing.T) {
	for _, tt := range []struct {
		e      arch.Expected
		stored []int64
		want   []int64
	}{
		{arch.Expected{Values: 8, Packing: arch.PackGPTQ}, []int64{512, 8192}, []int64{8192, 4096}},
		{arch.Expected{Values: 8, Packing: arch.PackAWQ}, []int64{4096, 1024}, []int64{8192, 4096}},
		{arch.Expected{Values: 2, Packing: arch.PackMXFP4}, []int64{32, 5760, 90, 16}, []int64{32, 5760, 2880}},
		{arch.Expected{}, []int64{3, 4}, []int64{3, 4}},
		{arch.Expected{Values: 8, Packing: arch.PackGPTQ}, []int64{7}, []int64{7}}, // not the rank it needs
	} {
		if got := tt.e.Unpacked(slices.Clone(tt.stored)); !slices.Equal(got, tt.want) {
			t.Errorf("%+v.Unpacked(%v) = %v, want %v", tt.e, tt.stored, got, tt.want)
		}
	}
}

// quantization_config is resolved into what the tables store, or refused
// naming the key; a method the tables do not know is unsupported, not a
// broken config.
func TestQuantResolve(t *testing.T) {
	q, err := (&arch.QuantConfig{QuantMethod: "gptq", Bits: 4, GroupSize: -1}).Resolve()
	if err != nil || q != (arch.Quant{Scheme: arch.QuantGPTQ, Bits: 4, Group: -1}) {
		t.Errorf("gptq: %+v, %v", q, err)
	}
	// One group over the whole input: qzeros [1, out/8], scales [1, out], g_idx [in].
	if n := q.Elements(64, 256); n != 8+64+256 {
		t.Errorf("gptq group -1 companions of [64, 256]: %d, want 328", n)
	}
	for key, qc := range map[string]*arch.QuantConfig{
		"weight_block_size": {QuantMethod: "fp8", WeightBlockSize: []int64{128}},
		"bits":              {QuantMethod: "awq", Bits: 8, GroupSize: 128},
		"group_size":        {QuantMethod: "gptq", Bits: 4, GroupSize: 0},
	} {
		if _, err := qc.Resolve(); !errors.Is(err, arch.ErrConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want an ErrConfig naming it", key, err)
		}
	}
	if _, err := (&arch.QuantConfig{QuantMethod: "bitsandbytes"}).Resolve(); !errors.Is(err, arch.ErrUnsupportedArch) {
		t.Errorf("bitsandbytes: %v, want ErrUnsupportedArch", err)
	}
	// GPTQ's checkpoint_format (gptqmodel): v1 stores zeros minus one,
	// gptq_v2 as they are; another format (marlin's repacked weights) is
	// not read. AWQ's zeros are always as stored.
	for _, tt := range []struct {
		method, format string
		asStored       bool
		err            error
	}{{"gptq", "", false, nil}, {"gptq", "gptq", false, nil}, {"gptq", "gptq_v2", true, nil},
		{"gptq", "marlin", false, arch.ErrUnsupportedArch}, {"awq", "", false, nil}} {
		q, err := (&arch.QuantConfig{QuantMethod: tt.method, Bits: 4, GroupSize: 128, CheckpointFormat: tt.format}).Resolve()
		if !errors.Is(err, tt.err) || err == nil && (q.ZerosAsStored != tt.asStored || q.IntScheme().ZerosAsStored != tt.asStored || q.IntScheme().AWQ != (tt.method == "awq")) {
			t.Errorf("%s checkpoint_format %q: %+v, %v; want zeros as stored %v, error %v", tt.method, tt.format, q, err, tt.asStored, tt.err)
		}
	}
}

// HFRow undoes llama.cpp's permute: w.reshape(heads, 2, half,
// cols).swapaxes(1, 2).reshape(rows, cols), worked here by strides: the
// permuted array's element [h, j, s] (strides hd, 2, 1) is the original's
// [h, s, j] (strides hd, half, 1).
func TestHFRow(t *testing.T) {
	const rows, heads = 24, 3
	hd, half := rows/heads, rows/heads/2
	seen := map[int]bool{}
	for h := range heads {
		for j := range half {
			for s := range 2 {
				gguf, hf := h*hd+j*2+s, h*hd+s*half+j
				if got := arch.HFRow(gguf, rows, heads); got != hf {
					t.Errorf("HFRow(%d) = %d, want %d", gguf, got, hf)
				}
				seen[hf] = true
			}
		}
	}
	if len(seen) != rows {
		t.Errorf("not a permutation: %d distinct rows", len(seen))
	}
	if got := arch.HFRow(5, 10, 4); got != 5 { // 4 heads do not divide 10 rows
		t.Errorf("HFRow with heads not dividing rows = %d, want 5", got)
	}
}

// Pairs declared for both formats give each format its own slots: the
// names of that format, a pair the format lacks left out, a routed
// expert's slot per expert in Hugging Face and stacked, experts first, in
// GGUF; the ends every decoder has, lm_head only when untied.
func TestSlotsIn(t *testing.T) {
	companion := arch.Both("", "rope_freqs.weight", arch.CompAttnNorm, 4)
	companion.Part = arch.PartCompanion
	pairs := []arch.Pair{
		arch.Both("input_layernorm.weight", "attn_norm.weight", arch.CompAttnNorm, 8),
		arch.Both("w1.weight", "ffn_gate_exps.weight", arch.CompExpertGate, 5, 8),
		companion,
	}
	type slot struct {
		name   string
		shape  []int64
		expert bool
		part   arch.Part
	}
	for _, tt := range []struct {
		f    checkpoint.Format
		want []slot
	}{
		{checkpoint.FormatSafetensors, []slot{{"input_layernorm.weight", []int64{8}, false, arch.PartModel}, {"w1.weight", []int64{5, 8}, true, arch.PartModel}}},
		{checkpoint.FormatGGUF, []slot{{"attn_norm.weight", []int64{8}, false, arch.PartModel}, {"ffn_gate_exps.weight", []int64{3, 5, 8}, false, arch.PartModel},
			{"rope_freqs.weight", []int64{4}, false, arch.PartCompanion}}},
	} {
		got := arch.SlotsIn(tt.f, 3, pairs...)
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %+v, want %+v", tt.f, got, tt.want)
		}
		for i, w := range tt.want {
			if g := got[i]; g.Name != w.name || !slices.Equal(g.Shape, w.shape) || g.Expert != w.expert || g.Part != w.part {
				t.Errorf("%s: slot %d = %+v, want %+v", tt.f, i, g, w)
			}
		}
	}
	if !slices.Equal(pairs[1].Shape, []int64{5, 8}) {
		t.Errorf("SlotsIn changed the pair's shape to %v", pairs[1].Shape)
	}
	for _, tt := range []struct {
		f             checkpoint.Format
		tied          bool
		before, after []string
	}{
		{checkpoint.FormatSafetensors, false, []string{"model.embed_tokens.weight"}, []string{"model.norm.weight", "lm_head.weight"}},
		{checkpoint.FormatGGUF, false, []string{"token_embd.weight"}, []string{"output_norm.weight", "output.weight"}},
		{checkpoint.FormatGGUF, true, []string{"token_embd.weight"}, []string{"output_norm.weight"}},
	} {
		before, after := arch.Ends(tt.f, 10, 8, tt.tied)
		if b, a := slotNames(before), slotNames(after); !slices.Equal(b, tt.before) || !slices.Equal(a, tt.after) {
			t.Errorf("Ends(%s, tied %v) = %v, %v; want %v, %v", tt.f, tt.tied, b, a, tt.before, tt.after)
		}
		if !slices.Equal(before[0].Shape, []int64{10, 8}) || !slices.Equal(after[0].Shape, []int64{8}) {
			t.Errorf("Ends(%s): shapes %v, %v; want [10 8] and [8]", tt.f, before[0].Shape, after[0].Shape)
		}
	}
}

func slotNames(ss []arch.Slot) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

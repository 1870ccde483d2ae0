package llama_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// Locate and Assign must agree with the expected list they stand in for,
// entry by entry, for every shape of config and both formats, and know
// nothing else.
func TestLocateMatchesExpected(t *testing.T) {
	tied := llama.TinyDense()
	tied.TieWordEmbeddings, tied.NumHiddenLayers = true, 11
	plain := llama.TinyDense()
	plain.RopeScaling = nil
	oneExpert := llama.TinyMoE()
	oneExpert.NumLocalExperts, oneExpert.NumExpertsPerTok = 1, 1
	cfgs := []struct {
		name string
		cfg  *llama.Config
	}{
		{"Llama-3.1-8B", llama.Llama31_8B()}, {"Llama-3.2-1B (tied)", llama.Llama32_1B()},
		{"Mistral-7B-v0.1", llama.Mistral7B_v01()}, {"Mixtral-8x7B", llama.Mixtral8x7B_v01()},
		{"tiny", llama.TinyDense()}, {"tiny tied, 11 layers", tied}, {"tiny without rope_freqs", plain},
		{"tiny mistral", llama.TinyMistral()}, {"tiny moe", llama.TinyMoE()}, {"one expert", oneExpert},
	}
	for _, tt := range cfgs {
		spec := llama.MustNew(tt.cfg)
		for _, f := range archtest.Formats {
			L := int(tt.cfg.NumHiddenLayers)
			bad := []string{"", "model.layers.", "blk.", fmt.Sprintf("model.layers.%d.self_attn.q_proj.weight", L),
				fmt.Sprintf("blk.%d.attn_q.weight", L), "model.layers.01.input_layernorm.weight", "blk.00.attn_norm.weight",
				"model.layers.0.self_attn.q_proj.bias", "blk.0.attn_q.bias", "model.layers.0.self_attn.q_norm.weight", "blk.0.attn_q_norm.weight",
				"model.layers.0.block_sparse_moe.experts.8.w1.weight", "model.layers.0.block_sparse_moe.experts.x.w3.weight",
				"model.layers.0.block_sparse_moe.experts.0.w4.weight", "model.layers.0.mlp.experts.0.gate_proj.weight",
				"model.layers.-1.input_layernorm.weight", fmt.Sprintf("model.layers.%d.input_layernorm.weight", 1<<40),
				"rope_freqs", "model.rope_freqs.weight", "output.weight.bias", "lm_head"}
			t.Run(tt.name+"/"+string(f), func(t *testing.T) { archtest.CheckTable(t, spec, f, bad...) })
		}
	}
}

// The names and shapes of one layer, written out from transformers'
// modules and llama.cpp's create_tensor calls, against the table.
func TestLayerNamesAndShapes(t *testing.T) {
	type ts = map[string][]int64
	tests := []struct {
		name   string
		cfg    *llama.Config
		format checkpoint.Format
		want   ts // a subset of the expected tensors
		absent []string
	}{
		{"Llama-3.1-8B hf", llama.Llama31_8B(), checkpoint.FormatSafetensors, ts{
			"model.embed_tokens.weight":                       {128256, 4096},
			"model.layers.31.input_layernorm.weight":          {4096},
			"model.layers.31.self_attn.q_proj.weight":         {4096, 4096},
			"model.layers.31.self_attn.k_proj.weight":         {1024, 4096},
			"model.layers.31.self_attn.v_proj.weight":         {1024, 4096},
			"model.layers.31.self_attn.o_proj.weight":         {4096, 4096},
			"model.layers.31.post_attention_layernorm.weight": {4096},
			"model.layers.31.mlp.gate_proj.weight":            {14336, 4096},
			"model.layers.31.mlp.up_proj.weight":              {14336, 4096},
			"model.layers.31.mlp.down_proj.weight":            {4096, 14336},
			"model.norm.weight":                               {4096},
			"lm_head.weight":                                  {128256, 4096},
		}, []string{"rope_freqs.weight"}},
		{"Llama-3.1-8B gguf", llama.Llama31_8B(), checkpoint.FormatGGUF, ts{
			"rope_freqs.weight":        {64},
			"token_embd.weight":        {4096, 128256},
			"blk.0.attn_norm.weight":   {4096},
			"blk.0.attn_q.weight":      {4096, 4096},
			"blk.0.attn_k.weight":      {4096, 1024},
			"blk.0.attn_v.weight":      {4096, 1024},
			"blk.0.attn_output.weight": {4096, 4096},
			"blk.0.ffn_norm.weight":    {4096},
			"blk.0.ffn_gate.weight":    {4096, 14336},
			"blk.0.ffn_up.weight":      {4096, 14336},
			"blk.0.ffn_down.weight":    {14336, 4096},
			"output_norm.weight":       {4096},
			"output.weight":            {4096, 128256},
		}, nil},
		{"Llama-3.2-1B gguf (tied)", llama.Llama32_1B(), checkpoint.FormatGGUF, ts{
			"rope_freqs.weight": {32}, "token_embd.weight": {2048, 128256}, "blk.15.attn_k.weight": {2048, 512},
		}, []string{"output.weight"}},
		{"Llama-3.2-1B hf (tied)", llama.Llama32_1B(), checkpoint.FormatSafetensors, ts{"model.embed_tokens.weight": {128256, 2048}},
			[]string{"lm_head.weight"}},
		{"Mistral-7B gguf", llama.Mistral7B_v01(), checkpoint.FormatGGUF, ts{"token_embd.weight": {4096, 32000}},
			[]string{"rope_freqs.weight"}},
		{"Mixtral-8x7B hf", llama.Mixtral8x7B_v01(), checkpoint.FormatSafetensors, ts{
			"model.layers.0.block_sparse_moe.gate.weight":         {8, 4096},
			"model.layers.0.block_sparse_moe.experts.7.w1.weight": {14336, 4096},
			"model.layers.0.block_sparse_moe.experts.7.w3.weight": {14336, 4096},
			"model.layers.0.block_sparse_moe.experts.7.w2.weight": {4096, 14336},
		}, []string{"model.layers.0.mlp.gate_proj.weight", "model.layers.0.block_sparse_moe.experts.8.w1.weight"}},
		{"Mixtral-8x7B gguf", llama.Mixtral8x7B_v01(), checkpoint.FormatGGUF, ts{
			"blk.0.ffn_gate_inp.weight":  {4096, 8},
			"blk.0.ffn_gate_exps.weight": {4096, 14336, 8},
			"blk.0.ffn_up_exps.weight":   {4096, 14336, 8},
			"blk.0.ffn_down_exps.weight": {14336, 4096, 8},
		}, []string{"blk.0.ffn_gate.weight", "rope_freqs.weight"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := llama.MustNew(tt.cfg)
			got := map[string][]int64{}
			for _, e := range spec.Expected(tt.format) {
				got[e.Name] = e.Shape
			}
			for n, shape := range tt.want {
				if !slices.Equal(got[n], shape) {
					t.Errorf("%s: shape %v, want %v", n, got[n], shape)
				}
			}
			for _, n := range tt.absent {
				if _, ok := got[n]; ok {
					t.Errorf("%s is expected, want it absent", n)
				}
			}
		})
	}
	// Counts: Llama 3.1 8B has 9 tensors per layer and 3 outside (4 in
	// GGUF with rope_freqs); Mixtral 6 + 1 + 3·8 per layer in HF, 6 + 1 + 3
	// in GGUF.
	for _, tt := range []struct {
		cfg    *llama.Config
		hf, gg int
	}{
		{llama.Llama31_8B(), 32*9 + 3, 32*9 + 4}, {llama.Llama32_1B(), 16*9 + 2, 16*9 + 3},
		{llama.Mistral7B_v01(), 32*9 + 3, 32*9 + 3}, {llama.Mixtral8x7B_v01(), 32*31 + 3, 32*10 + 3},
	} {
		s := llama.MustNew(tt.cfg)
		if hf, gg := s.Count(checkpoint.FormatSafetensors), s.Count(checkpoint.FormatGGUF); hf != tt.hf || gg != tt.gg {
			t.Errorf("%s %d layers: counts %d / %d, want %d / %d", tt.cfg.ModelType, tt.cfg.NumHiddenLayers, hf, gg, tt.hf, tt.gg)
		}
	}
}

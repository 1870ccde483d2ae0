// Package deepseektest holds test helpers for the deepseek family shared by
// the tests of several packages. Only test files import it (see
// internal/depcheck), as arch/archtest.
package deepseektest

import (
	"strings"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
)

// LegacyKVB returns spec as llama.cpp's converter wrote it before splitting
// kv_b: attn_kv_b whole, key_length and value_length the per-head widths,
// no *_mla keys.
func LegacyKVB(spec *deepseek.Spec, c *deepseek.Config) arch.Spec {
	h, rank := c.NumAttentionHeads, c.KVLoraRank
	return archtest.Edited{Spec: spec,
		Edit: func(f checkpoint.Format, es []arch.Expected) []arch.Expected {
			var out []arch.Expected
			for _, e := range es {
				switch {
				case strings.HasSuffix(e.Name, ".attn_k_b.weight"):
					e.Name = strings.Replace(e.Name, "attn_k_b", "attn_kv_b", 1)
					e.Component, e.Shape = deepseek.CompAttnKVB, []int64{rank, h * (c.QKNopeHeadDim + c.VHeadDim)}
				case strings.HasSuffix(e.Name, ".attn_v_b.weight"):
					continue
				}
				out = append(out, e)
			}
			return out
		},
		Meta: func(kvs []gguf.KV) []gguf.KV {
			var out []gguf.KV
			for _, kv := range kvs {
				switch kv.Key {
				case "deepseek2.attention.key_length_mla", "deepseek2.attention.value_length_mla":
					continue
				case "deepseek2.attention.key_length":
					kv.Value = gguf.Uint32(uint32(c.QKNopeHeadDim + c.QKRopeHeadDim))
				case "deepseek2.attention.value_length":
					kv.Value = gguf.Uint32(uint32(c.VHeadDim))
				}
				out = append(out, kv)
			}
			return out
		}}
}

package llama

import "github.com/weightaudit/weightaudit/arch"

var _ arch.RowPermuter = (*Spec)(nil)

// GGUFPermutedHeads says that llama.cpp's converter permutes the rows of
// Q (over the query heads) and K (over the KV heads) of every llama,
// mistral and mixtral model (convert_hf_to_gguf.py LlamaModel.permute,
// applied to q_proj and k_proj), and no other tensor.
func (s *Spec) GGUFPermutedHeads(c arch.Component) int {
	switch c {
	case arch.CompAttnQ:
		return int(s.Cfg().NumAttentionHeads)
	case arch.CompAttnK:
		return int(s.Cfg().NumKeyValueHeads)
	}
	return 0
}

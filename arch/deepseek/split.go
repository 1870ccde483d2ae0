package deepseek

import "github.com/weightaudit/weightaudit/arch"

var _ arch.Splitter = (*Spec)(nil)

// GGUFSplits says that llama.cpp's converter cuts kv_b_proj per head into
// attn_k_b, the head's qk_nope_head_dim rows transposed, and attn_v_b,
// its v_head_dim rows as they are (convert_hf_to_gguf.py
// DeepseekV2Model.modify_tensors); a file converted before that split
// keeps kv_b whole.
func (s *Spec) GGUFSplits() []arch.HeadSplit {
	c := s.Cfg()
	if c.legacyKVB {
		return nil
	}
	return []arch.HeadSplit{{Whole: CompAttnKVB, Parts: []arch.SplitPart{
		{Comp: CompAttnKB, Rows: c.QKNopeHeadDim, Transposed: true},
		{Comp: CompAttnVB, Rows: c.VHeadDim},
	}}}
}

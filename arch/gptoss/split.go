package gptoss

import "github.com/weightaudit/weightaudit/arch"

var _ arch.Splitter = (*Spec)(nil)

// GGUFSplits says that llama.cpp's converter de-interleaves each expert's
// fused gate_up_proj: its even rows become ffn_gate_exps, its odd rows
// ffn_up_exps (convert_hf_to_gguf.py GptOssModel: [:, ::2] and [:, 1::2]).
func (s *Spec) GGUFSplits() []arch.HeadSplit {
	return []arch.HeadSplit{{Whole: CompExpertGateUp, Interleaved: true,
		Parts: []arch.SplitPart{{Comp: arch.CompExpertGate}, {Comp: arch.CompExpertUp}}}}
}

package gptoss

import "github.com/weightaudit/weightaudit/arch"

var _ arch.Splitter = (*Spec)(nil)

// GGUFSplits says that llama.cpp's converter de-interleaves each expert's
// fused gate_up_proj: its even rows become ffn_gate_exps, its odd rows
// ffn_up_exps (convert_hf_to_gguf.py GptOssModel: [:, ::2] and [:, 1::2]);
// and the fused bias gate_up_proj_bias [E, 2f] by its columns into
// ffn_gate_exps.bias and ffn_up_exps.bias ([..., ::2] and [..., 1::2]),
// as transformers' GptOssExperts splits gate_up (gate_up[..., ::2],
// gate_up[..., 1::2]) after adding the bias.
func (s *Spec) GGUFSplits() []arch.HeadSplit {
	return []arch.HeadSplit{
		{Whole: CompExpertGateUp, Interleaved: true,
			Parts: []arch.SplitPart{{Comp: arch.CompExpertGate}, {Comp: arch.CompExpertUp}}},
		{Whole: CompExpertGateUpBias, Interleaved: true, Columns: true,
			Parts: []arch.SplitPart{{Comp: CompExpertGateBias}, {Comp: CompExpertUpBias}}},
	}
}

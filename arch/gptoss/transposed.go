package gptoss

import (
	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

var _ arch.Transposer = (*Spec)(nil)

// Transposed says that a dequantized Hugging Face checkpoint stores the
// experts as GptOssExperts holds them, [E, in, out] (gate_up_proj
// [E, d, 2f], down_proj [E, f, d]); the MXFP4 blocks and GGUF store them
// [E, out, in] (convert_hf_to_gguf.py GptOssModel transposes the plain
// ones).
func (s *Spec) Transposed(f checkpoint.Format, c arch.Component) bool {
	return f == checkpoint.FormatSafetensors && !s.Cfg().mxfp4() && (c == CompExpertGateUp || c == arch.CompExpertDown)
}

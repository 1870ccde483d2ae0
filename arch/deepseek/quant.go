package deepseek

import "github.com/weightaudit/weightaudit/arch"

var _ arch.Quantized = (*Spec)(nil)

// Quant returns how the checkpoint stores its linear weights: the
// published ones as FP8 with 128×128 block scales.
func (s *Spec) Quant() arch.Quant { return s.Cfg().quant() }

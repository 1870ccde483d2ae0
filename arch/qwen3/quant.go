package qwen3

import "github.com/weightaudit/weightaudit/arch"

var _ arch.Quantized = (*Spec)(nil)

// Quant returns how a pre-quantized release stores the layers' linear
// weights (quantization_config), the zero Quant for a plain checkpoint.
func (s *Spec) Quant() arch.Quant { return s.Cfg().quant() }

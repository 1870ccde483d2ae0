// Package all registers every architecture family weightaudit knows:
// import it for its side effect.
package all

import (
	_ "github.com/weightaudit/weightaudit/arch/qwen3" // Qwen3 and Qwen3-MoE
)

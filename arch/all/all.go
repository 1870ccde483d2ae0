// Package all registers every architecture family weightaudit knows:
// import it for its side effect.
package all

import (
	_ "github.com/weightaudit/weightaudit/arch/deepseek" // DeepSeek-V3, R1 and Kimi K2
	_ "github.com/weightaudit/weightaudit/arch/gemma3"   // Gemma 3 (text, gemma3_text)
	_ "github.com/weightaudit/weightaudit/arch/gptoss"   // gpt-oss
	_ "github.com/weightaudit/weightaudit/arch/llama"    // Llama, Mistral and Mixtral
	_ "github.com/weightaudit/weightaudit/arch/phi3"     // Phi-3 and Phi-3.5 (mini, medium)
	_ "github.com/weightaudit/weightaudit/arch/qwen2"    // Qwen2 and Qwen2.5 (dense)
	_ "github.com/weightaudit/weightaudit/arch/qwen3"    // Qwen3 and Qwen3-MoE
)

package qwen2_test

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen2"
)

// The exact parameter count of Qwen2.5-7B from its config.json, and the
// share of its q, k and v biases.
func ExampleConfig_Predict() {
	p := qwen2.Qwen2_5_7B().Predict()
	fmt.Println(p.Total)
	fmt.Println(p.Components[qwen2.CompAttnQBias] + p.Components[qwen2.CompAttnKBias] + p.Components[qwen2.CompAttnVBias])
	fmt.Println(p.Total - p.Components[arch.CompEmbedding] - p.Components[arch.CompLMHead])
	// Output:
	// 7615616512
	// 129024
	// 6525621760
}

func ExampleFindDenseLabel() {
	fmt.Println(qwen2.FindDenseLabel("Qwen2.5-0_5B-Instruct-Q4_K_M.gguf"))
	// Output: 0.5B Qwen2.5-0_5B-Instruct-Q4_K_M.gguf
}

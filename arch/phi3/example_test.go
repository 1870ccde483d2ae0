package phi3_test

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch/phi3"
)

// The exact parameter count of Phi-3-mini from its config.json, and the
// share of its fused projections.
func ExampleConfig_Predict() {
	p := phi3.Phi3Mini4K().Predict()
	fmt.Println(p.Total)
	fmt.Println(p.Components[phi3.CompAttnQKV])
	fmt.Println(p.Components[phi3.CompMLPGateUp])
	// Output:
	// 3821079552
	// 905969664
	// 1610612736
}

func ExampleFindLabel() {
	fmt.Println(phi3.FindLabel("Phi-3-mini-4k-instruct-Q4_K_M.gguf"))
	// Output: mini Phi-3-mini-4k-instruct-Q4_K_M.gguf
}

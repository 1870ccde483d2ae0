package gemma3_test

import (
	"fmt"

	"github.com/weightaudit/weightaudit/arch/gemma3"
)

// The exact parameter count of Gemma-3-1B from its config.json, and the
// share of the two post norms.
func ExampleConfig_Predict() {
	p := gemma3.Gemma3_1B().Predict()
	fmt.Println(p.Total)
	fmt.Println(p.Components[gemma3.CompAttnPostNorm] + p.Components[gemma3.CompFFNPostNorm])
	// Output:
	// 999885952
	// 59904
}

func ExampleFindLabel() {
	fmt.Println(gemma3.FindLabel("gemma-3-1b-it-Q4_K_M.gguf"))
	// Output: 1B gemma-3-1b-it-Q4_K_M.gguf
}

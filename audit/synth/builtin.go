package synth

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/arch/qwen3"
)

// builtins are the reference layouts reachable by name.
var builtins = map[string]func() (*Layout, error){
	// The published Hugging Face repository Qwen/Qwen3-235B-A22B: BF16 in
	// 118 shards.
	"safetensors": func() (*Layout, error) {
		return HF("Qwen3-235B-A22B", qwen3.MustNew(qwen3.Qwen3_235B_A22B()), HFOptions{Shards: 118})
	},
	// The stock llama.cpp Q4_K_M quantization, split in 5 parts as Qwen's
	// own GGUF release is.
	"gguf": func() (*Layout, error) {
		return GGUF("Qwen3-235B-A22B-Q4_K_M", qwen3.MustNew(qwen3.Qwen3_235B_A22B()), GGUFOptions{Type: "Q4_K_M", Parts: 5})
	},
	// The published Hugging Face repository deepseek-ai/DeepSeek-V3:
	// FP8 weights with 128×128 block scales and the multi-token-prediction
	// layer, 91,991 tensors in 163 shards.
	"deepseek-v3": func() (*Layout, error) {
		return HF("DeepSeek-V3", deepseek.MustNew(deepseek.DeepSeekV3()), HFOptions{Shards: 163, FP8Blocks: true})
	},
	"deepseek-v3-gguf": func() (*Layout, error) {
		return GGUF("DeepSeek-V3-Q4_K_M", deepseek.MustNew(deepseek.DeepSeekV3()), GGUFOptions{Type: "Q4_K_M", Parts: 9})
	},
	"30b-safetensors": func() (*Layout, error) {
		return HF("Qwen3-30B-A3B", qwen3.MustNew(qwen3.Qwen3_30B_A3B()), HFOptions{Shards: 16})
	},
	"30b-gguf": func() (*Layout, error) {
		return GGUF("Qwen3-30B-A3B-Q4_K_M", qwen3.MustNew(qwen3.Qwen3_30B_A3B()), GGUFOptions{Type: "Q4_K_M"})
	},
}

// BuiltinNames lists the names [Builtin] accepts.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Builtin returns a reference layout by name: "safetensors" (alias "hf")
// and "gguf" are Qwen3-235B-A22B in BF16 safetensors (118 shards) and in
// Q4_K_M GGUF (5 parts); "30b-safetensors" and "30b-gguf" are
// Qwen3-30B-A3B; "deepseek-v3" and "deepseek-v3-gguf" are DeepSeek-V3 in
// its published FP8 safetensors (163 shards) and in Q4_K_M GGUF (9
// parts).
func Builtin(name string) (*Layout, error) {
	key := strings.ToLower(name)
	if key == "hf" {
		key = "safetensors"
	}
	f, ok := builtins[key]
	if !ok {
		return nil, fmt.Errorf("no built-in layout %q (have %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return f()
}

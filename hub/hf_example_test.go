package hub_test

import (
	"fmt"

	"github.com/weightaudit/weightaudit/hub"
)

func ExampleParseHF() {
	for _, spec := range []string{
		"hf://Qwen/Qwen3-235B-A22B",
		"hf://unsloth/Qwen3-30B-A3B-GGUF@main/Q4_K_M/Qwen3-30B-A3B-Q4_K_M.gguf",
		"https://huggingface.co/Qwen/Qwen3-8B/tree/refs%2Fpr%2F12",
		"https://huggingface.co/Qwen/Qwen3-8B/resolve/main/model-00001-of-00005.safetensors",
	} {
		ref, err := hub.ParseHF(spec, "")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: repo %s, revision %s, folder %q, file %q\n", ref, ref.Repo, ref.Revision, ref.Subfolder, ref.File)
	}
	_, err := hub.ParseHF("https://example.com/Qwen/Qwen3-8B", "")
	fmt.Println(err)
	// Output:
	// hf://Qwen/Qwen3-235B-A22B@main: repo Qwen/Qwen3-235B-A22B, revision main, folder "", file ""
	// hf://unsloth/Qwen3-30B-A3B-GGUF@main/Q4_K_M/Qwen3-30B-A3B-Q4_K_M.gguf: repo unsloth/Qwen3-30B-A3B-GGUF, revision main, folder "Q4_K_M", file "Qwen3-30B-A3B-Q4_K_M.gguf"
	// hf://Qwen/Qwen3-8B@refs%2Fpr%2F12: repo Qwen/Qwen3-8B, revision refs/pr/12, folder "", file ""
	// hf://Qwen/Qwen3-8B@main/model-00001-of-00005.safetensors: repo Qwen/Qwen3-8B, revision main, folder "", file "model-00001-of-00005.safetensors"
	// https://example.com/Qwen/Qwen3-8B: bad source: not a URL of the Hugging Face endpoint https://huggingface.co (set HF_ENDPOINT for another); expected https://huggingface.co/OWNER/REPO, https://huggingface.co/OWNER/REPO/tree/REVISION[/SUBFOLDER] or https://huggingface.co/OWNER/REPO/resolve/REVISION/FILE
}

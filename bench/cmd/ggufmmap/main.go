// Command ggufmmap parses the header of a GGUF file with gguf-parser-go
// in its fast mode (UseMMap) and prints its tensor count: the process
// that BenchmarkInspectProcess runs as gguf-parser-go's baseline.
//
//	go run ./cmd/ggufmmap FILE
package main

import (
	"fmt"
	"os"

	parser "github.com/gpustack/gguf-parser-go"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ggufmmap FILE")
		os.Exit(2)
	}
	f, err := parser.ParseGGUFFile(os.Args[1], parser.UseMMap())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(len(f.TensorInfos), "tensors")
}

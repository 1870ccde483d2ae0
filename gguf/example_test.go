package gguf_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/weightaudit/weightaudit/gguf"
)

func Example() {
	// Build a small file in memory: a header and zeroed tensor data.
	tensors := []gguf.TensorInfo{
		{Name: "token_embd.weight", Dims: []int64{256, 4}, Type: gguf.TypeQ4_K},
		{Name: "output_norm.weight", Dims: []int64{256}, Type: gguf.TypeF32},
	}
	header, dataSize, err := gguf.EncodeHeader(3, []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("qwen3moe")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray([]string{"<s>", "hello", "world"})},
	}, tensors)
	if err != nil {
		fmt.Println(err)
		return
	}
	file := append(header, make([]byte, dataSize)...)

	f, err := gguf.Read(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		fmt.Println(err)
		return
	}
	tokens, _ := f.GetStrings("tokenizer.ggml.tokens")
	fmt.Println(f.Architecture(), len(tokens), "tokens")
	for _, t := range f.Tensors {
		fmt.Printf("%s %v %v %d bytes at %d\n", t.Name, t.Type, t.Dims, t.Size, f.DataOffset+t.Offset)
	}

	// A corrupted file fails with an error naming the offset and the field.
	// The type follows the name, n_dims (4 bytes) and ne[0] (8 bytes).
	typeAt := bytes.LastIndex(header, []byte("output_norm.weight")) + len("output_norm.weight") + 4 + 8
	file[typeAt] = 99
	_, err = gguf.Read(bytes.NewReader(file), int64(len(file)))
	fmt.Println(errors.Is(err, gguf.ErrUnknownType), err)
	// Output:
	// qwen3moe 3 tokens
	// token_embd.weight Q4_K [256 4] 576 bytes at 288
	// output_norm.weight F32 [256] 1024 bytes at 864
	// true offset 249: tensor "output_norm.weight": type: unknown type: ggml type 99 is not defined
}

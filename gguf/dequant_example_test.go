package gguf_test

import (
	"fmt"

	"github.com/weightaudit/weightaudit/gguf"
)

func ExampleDequantize() {
	// One Q8_0 block: an f16 scale d = 0.5 (0x3800, little-endian), then 32
	// signed bytes; element j is qs[j]·d.
	src := make([]byte, gguf.TypeQ8_0.TypeSize())
	src[0], src[1] = 0x00, 0x38
	for j := range 32 {
		src[2+j] = byte(int8(j - 16))
	}

	// The caller owns dst: one row of BlockSize elements per block.
	dst := make([]float32, len(src)/int(gguf.TypeQ8_0.TypeSize())*int(gguf.TypeQ8_0.BlockSize()))
	if err := gguf.Dequantize(gguf.TypeQ8_0, dst, src); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dst[:4], dst[30:])

	// A partial block is rejected.
	fmt.Println(gguf.Dequantize(gguf.TypeQ8_0, dst, src[:33]))
	fmt.Println(gguf.TypeQ8_K.CanDequantize(), gguf.Dequantize(gguf.TypeQ8_K, nil, nil))
	// Output:
	// [-8 -7.5 -7 -6.5] [7 7.5]
	// invalid value: dequantize Q8_0: 33 source bytes are not a whole number of 34-byte blocks
	// false unsupported type: dequantize Q8_K
}

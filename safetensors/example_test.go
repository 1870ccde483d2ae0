package safetensors_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/weightaudit/weightaudit/safetensors"
)

func Example() {
	// Build a small file in memory: a header, then the tensors' bytes.
	tensors := []safetensors.TensorInfo{
		{Name: "model.norm.weight", DType: safetensors.BF16, Shape: []int64{4}},
		{Name: "lm_head.weight", DType: safetensors.F32, Shape: []int64{2, 4}},
	}
	header, dataSize, err := safetensors.EncodeHeader(map[string]string{"format": "pt"}, tensors)
	if err != nil {
		panic(err)
	}
	file := append(header, make([]byte, dataSize)...)

	r := bytes.NewReader(file)
	f, err := safetensors.Read(r, int64(len(file)))
	if err != nil {
		panic(err)
	}
	fmt.Println("metadata:", f.Metadata)
	for _, t := range f.All() {
		fmt.Printf("%s %v %v: %d elements at [%d, %d)\n",
			t.Name, t.DType, t.Shape, t.Elements(), f.DataOffset()+t.Begin, f.DataOffset()+t.End)
	}
	sr, err := f.TensorReader(r, "lm_head.weight")
	if err != nil {
		panic(err)
	}
	n, _ := io.Copy(io.Discard, sr)
	fmt.Println("read", n, "bytes of lm_head.weight")

	// Corrupt the file: cut it short.
	_, err = safetensors.Read(r, int64(len(file))-1)
	var fe *safetensors.FormatError
	fmt.Println(errors.Is(err, safetensors.ErrTruncated), errors.As(err, &fe) && fe.Field == `tensor "lm_head.weight"`)
	fmt.Println(err)
	// Output:
	// metadata: map[format:pt]
	// model.norm.weight BF16 [4]: 4 elements at [184, 192)
	// lm_head.weight F32 [2 4]: 8 elements at [192, 224)
	// read 32 bytes of lm_head.weight
	// true true
	// offset 110: tensor "lm_head.weight": data_offsets [8, 40] reach past the end of the 39-byte data section: truncated file
}

func ExampleCheckIndex() {
	ix, err := safetensors.ParseIndex([]byte(`{
		"metadata": {"total_size": 12},
		"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
	}`))
	if err != nil {
		panic(err)
	}
	shard := func(names ...string) *safetensors.File {
		f := &safetensors.File{}
		for i, n := range names {
			f.Tensors = append(f.Tensors, safetensors.TensorInfo{Name: n, DType: safetensors.F32, Shape: []int64{1}, Begin: 4 * int64(i), End: 4*int64(i) + 4})
		}
		return f
	}
	mismatches := safetensors.CheckIndex(ix, map[string]*safetensors.File{
		"model-00001-of-00002.safetensors": shard("a", "b"),
		"model-00002-of-00002.safetensors": shard("c"),
	})
	for _, m := range mismatches {
		fmt.Println(m)
	}
	// Output:
	// tensor "b" is indexed to shard "model-00002-of-00002.safetensors" but is in shard "model-00001-of-00002.safetensors"
	// tensor "c" in shard "model-00002-of-00002.safetensors" is not in the index
}

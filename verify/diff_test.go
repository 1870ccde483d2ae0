package verify_test

import (
	"fmt"
	"os"

	"github.com/weightaudit/weightaudit/verify"
)

func ExampleDiff() {
	a := &verify.Manifest{Source: "before.json", Tensors: []verify.ManifestTensor{
		{Name: "blk.0.attn_q.weight", DType: "Q8_0", Shape: []int64{32, 32}, SHA256: digest("q")},
		{Name: "blk.0.attn_k.weight", DType: "Q8_0", Shape: []int64{32, 16}, SHA256: digest("k")},
	}}
	b := &verify.Manifest{Source: "after.json", Tensors: []verify.ManifestTensor{
		{Name: "blk.0.attn_q.weight", DType: "Q8_0", Shape: []int64{32, 32}, SHA256: digest("q2")},
		{Name: "blk.0.attn_k.weight", DType: "Q8_0", Shape: []int64{32, 16}, SHA256: digest("k")},
	}}
	d := verify.Diff(a, b)
	fmt.Println(d.Identical, d.Differences(), d.Changed[0].Name)
	d.WriteText(os.Stdout)
	// Output:
	// false 1 blk.0.attn_q.weight
	// differ: 1 tensor(s) — 0 added, 0 removed, 0 reshaped, 0 retyped, 1 changed; 1 the same
	//   a  before.json
	//   b  after.json
	//   changed   blk.0.attn_q.weight  sha256 8e35c2cd3bf6… → bee98bf120e8…
}

package qwen3_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// BenchmarkAssign measures the role lookup the audit makes for every
// stored tensor: Assign over every expected name of Qwen3-235B-A22B, one
// sub-benchmark per format.
func BenchmarkAssign(b *testing.B) {
	spec := qwen3.MustNew(qwen3.Qwen3_235B_A22B())
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		exp := spec.Expected(f)
		names := make([]string, len(exp))
		for i, e := range exp {
			names[i] = e.Name
		}
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			var r arch.Role
			for b.Loop() {
				for _, n := range names {
					if !spec.Assign(f, n, &r) {
						b.Fatalf("Assign(%q) = false", n)
					}
				}
			}
			b.ReportMetric(float64(len(names)), "tensors")
		})
	}
}

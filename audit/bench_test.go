package audit_test

import (
	"context"
	"testing"

	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
)

// BenchmarkAudit measures the audit of the built-in 235B layouts end to
// end, against header parsing alone (the "load" baseline) in the same run:
// the checks should add a small fraction to it.
func BenchmarkAudit(b *testing.B) {
	for _, name := range []string{"safetensors", "gguf"} {
		l, err := synth.Builtin(name)
		if err != nil {
			b.Fatal(err)
		}
		src := l.Source()
		var header int64
		for _, f := range l.Files {
			header += int64(len(f.Head))
		}
		b.Run(name+"/load", func(b *testing.B) {
			b.SetBytes(header)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := audit.Load(context.Background(), src); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/load+run", func(b *testing.B) {
			b.SetBytes(header)
			b.ReportAllocs()
			for b.Loop() {
				ck, err := audit.Load(context.Background(), src)
				if err != nil {
					b.Fatal(err)
				}
				r, err := audit.Run(ck, audit.Options{})
				if err != nil || !r.Pass() {
					b.Fatal(err)
				}
			}
		})
		ck, err := audit.Load(context.Background(), src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/run", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := audit.Run(ck, audit.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(ck.Inventory().Tensors)), "tensors")
		})
	}
}

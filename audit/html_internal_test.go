package audit

import (
	"context"
	"strconv"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	_ "github.com/weightaudit/weightaudit/arch/all"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
)

func runBuiltin(t *testing.T, name string) *Report {
	t.Helper()
	l, err := synth.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChartShares checks the charts' breakdowns against the report's own
// tallies, made apart (tallyRoles): per layer, the parameters and bytes
// stacked over the dtypes sum to the layer table's; per group, the
// parameters to the architecture's prediction (the audit passes); per dtype, the bytes over the layers
// to the dtype table's.
func TestChartShares(t *testing.T) {
	for _, name := range []string{"safetensors", "30b-gguf"} {
		t.Run(name, func(t *testing.T) {
			r := runBuiltin(t, name)
			ls := r.basis.layerShares()
			byLabel := map[string]LayerAudit{}
			for _, l := range r.Layers {
				label := "other"
				if l.Layer >= 0 {
					label = strconv.Itoa(l.Layer)
				}
				byLabel[label] = l
			}
			if len(ls.categories) != len(r.Layers) {
				t.Fatalf("%d layer categories, %d layer rows", len(ls.categories), len(r.Layers))
			}
			for c, label := range ls.categories {
				var params, bytes float64
				for d := range ls.dtypes {
					params += ls.params[d][c]
					bytes += ls.bytes[d][c]
				}
				l := byLabel[label]
				if int64(params) != l.Params || int64(bytes) != l.Bytes {
					t.Errorf("layer %s: charts %v params %v bytes, table %d and %d", label, params, bytes, l.Params, l.Bytes)
				}
			}
			for d, dt := range r.DTypes {
				var bytes float64
				for c := range ls.categories {
					bytes += ls.bytes[d][c]
				}
				if ls.dtypes[d] != dt.DType || int64(bytes) != dt.Bytes {
					t.Errorf("dtype %d: chart %s %v bytes, table %s %d", d, ls.dtypes[d], bytes, dt.DType, dt.Bytes)
				}
			}
			// The audit passes: each component's parameters are the
			// architecture's prediction.
			cs := r.basis.componentShares()
			if len(cs.categories) != len(r.Params.Components) {
				t.Errorf("%d component categories %q, %d components predicted", len(cs.categories), cs.categories, len(r.Params.Components))
			}
			for c, comp := range cs.categories {
				var params float64
				for d := range cs.dtypes {
					params += cs.params[d][c]
				}
				if want := r.Params.Components[arch.Component(comp)]; int64(params) != want {
					t.Errorf("component %s: chart %v params, predicted %d", comp, params, want)
				}
			}
		})
	}
}

// TestDTypeBytes checks the report's dtype tally of the built-in
// Qwen3-30B-A3B Q4_K_M GGUF against ggml's type sizes (ggml.c
// type_traits: Q4_K 144 bytes per block of 256, Q6_K 210 per 256, F32 4
// per element) and the BF16 235B layout against 2 bytes per element.
func TestDTypeBytes(t *testing.T) {
	perBlock := map[string][2]int64{"Q4_K": {144, 256}, "Q6_K": {210, 256}, "F32": {4, 1}, "BF16": {2, 1}}
	for _, name := range []string{"safetensors", "30b-gguf"} {
		r := runBuiltin(t, name)
		if len(r.DTypes) == 0 {
			t.Fatalf("%s: no dtypes", name)
		}
		var sum int64
		for i, d := range r.DTypes {
			b, ok := perBlock[d.DType]
			if !ok {
				t.Errorf("%s: unexpected dtype %s", name, d.DType)
				continue
			}
			if want := d.Params / b[1] * b[0]; d.Params%b[1] != 0 || d.Bytes != want {
				t.Errorf("%s: %s holds %d params in %d bytes, want %d", name, d.DType, d.Params, d.Bytes, want)
			}
			if i > 0 && r.DTypes[i-1].Bytes < d.Bytes {
				t.Errorf("%s: dtypes not in descending bytes: %v", name, r.DTypes)
			}
			sum += d.Bytes
		}
		if sum != r.Memory.WeightsBytes {
			t.Errorf("%s: dtype bytes sum to %d, weights %d", name, sum, r.Memory.WeightsBytes)
		}
	}
}

// BenchmarkWriteFormats renders the built-in 235B layout's report in each
// format, the JSON and Markdown ones the baseline for the HTML page, which
// draws 15 charts; doc-bytes is the document's size.
func BenchmarkWriteFormats(b *testing.B) {
	l, err := synth.Builtin("safetensors")
	if err != nil {
		b.Fatal(err)
	}
	ck, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		b.Fatal(err)
	}
	r, err := Run(ck, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range Formats {
		b.Run(f.Name, func(b *testing.B) {
			var n countWriter
			b.ReportAllocs()
			for b.Loop() {
				n = 0
				if err := f.Write(r, &n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "doc-bytes")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

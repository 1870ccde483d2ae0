package qwen3_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
)

// The expected totals come from ../shared/reference/qwen3moe.md, worked by
// hand there: per layer attention 71,303,424, router 524,288, experts
// 2,415,919,104, norms 8,192; embedding and lm_head 622,329,856 each; final
// norm 4,096.
func TestExpectedCounts(t *testing.T) {
	tests := []struct {
		name            string
		cfg             *qwen3.Config
		wantHF, wantGG  int
		wantParams      int64
		wantLayerParams int64 // params of layer 0
	}{
		{"Qwen3-235B-A22B", qwen3.Qwen3_235B_A22B(), 36945, 1131, 235_093_634_560, 71_303_424 + 524_288 + 2_415_919_104 + 8_192},
		{"Qwen3-30B-A3B", qwen3.Qwen3_30B_A3B(), 48*393 + 3, 48*12 + 3, 30_532_122_624, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []struct {
				format string
				list   []arch.Expected
				want   int
			}{{"hf", hf(t, tt.cfg), tt.wantHF}, {"gguf", gg(t, tt.cfg), tt.wantGG}} {
				if len(f.list) != f.want {
					t.Errorf("%s: %d tensors, want %d", f.format, len(f.list), f.want)
				}
				var total, layer0 int64
				seen := map[string]bool{}
				for _, e := range f.list {
					if seen[e.Name] {
						t.Errorf("%s: duplicate %s", f.format, e.Name)
					}
					seen[e.Name] = true
					n := int64(1)
					for _, d := range e.Shape {
						n *= d
					}
					total += n
					if e.Layer == 0 {
						layer0 += n
					}
				}
				if total != tt.wantParams {
					t.Errorf("%s: %d params, want %d", f.format, total, tt.wantParams)
				}
				if tt.wantLayerParams > 0 && layer0 != tt.wantLayerParams {
					t.Errorf("%s: layer 0 has %d params, want %d", f.format, layer0, tt.wantLayerParams)
				}
			}
		})
	}
}

func TestSparse(t *testing.T) {
	c := qwen3.TinyMoE()
	c.NumHiddenLayers = 6
	c.DecoderSparseStep = 2
	c.MLPOnlyLayers = []int64{3}
	var got []bool
	for i := int64(0); i < 6; i++ {
		got = append(got, c.Sparse(i))
	}
	// (i+1)%2==0 gives 1,3,5; 3 is forced dense.
	want := []bool{false, true, false, false, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Sparse(%d) = %v, want %v", i, got[i], want[i])
		}
	}
	if n := len(hf(t, c)); n != 1+6*8+2*(1+3*4)+4*3+2 {
		t.Errorf("len(ExpectedHF()) = %d with 2 sparse and 4 dense layers", n)
	}
}

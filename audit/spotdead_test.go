package audit_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/spotcheck"
)

// A spot-check that saw a dead block fails obligations 6 (one layer) and
// 7 (the full model) with one finding per sign, each saying in a sentence
// which it saw; a spot-check that failed otherwise keeps its shape,
// finiteness and precision finding; a healthy one adds none.
func TestSpotCheckDeadFindings(t *testing.T) {
	ob := arch.ObligationsOf(qwen3.MustNew(qwen3.TinyMoE()))
	tokens := []int{1, 2, 3}

	// The tiny model laid out with every byte of data zero.
	l, err := synth.HF("tiny-zeros", qwen3.MustNew(qwen3.TinyMoE()), synth.HFOptions{DType: safetensors.F32})
	if err != nil {
		t.Fatal(err)
	}
	zeros, err := checkpoint.Load(context.Background(), l.Source())
	if err != nil {
		t.Fatal(err)
	}
	// The committed tiny fixture, with trained-looking weights.
	src, focus, err := hub.Local(filepath.Join("..", "testdata", "tiny", "hf-f32"))
	if err != nil {
		t.Fatal(err)
	}
	healthy, err := checkpoint.Load(context.Background(), src, checkpoint.WithFocus(focus))
	if err != nil {
		t.Fatal(err)
	}
	run := func(ck *checkpoint.Checkpoint, opts spotcheck.Options) *spotcheck.Result {
		t.Helper()
		r, err := spotcheck.Run(context.Background(), ck, opts)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A result that is not dead but whose precisions disagree.
	disagree := &spotcheck.Result{Layer: 1, Tokens: tokens, ShapeIn: []int{3, 32}, ShapeOut: []int{3, 32}, Finite: true, MaxRelErr: 0.5, Dead: []spotcheck.Dead{}}

	tests := []struct {
		name           string
		ck             *checkpoint.Checkpoint
		spot           []*spotcheck.Result
		blocks, endEnd []string // the messages of the spot-check findings of obligations 6 and 7
	}{
		{
			name: "healthy fixture",
			ck:   healthy,
			spot: []*spotcheck.Result{run(healthy, spotcheck.Options{Layer: 0, Tokens: tokens}), run(healthy, spotcheck.Options{Full: true, Tokens: tokens})},
		},
		{
			// Zero embedding rows: zero router logits and a zero block
			// output in layer 0; zero logits end to end.
			name: "all-zero data",
			ck:   zeros,
			spot: []*spotcheck.Result{run(zeros, spotcheck.Options{Layer: 0, Tokens: tokens}), run(zeros, spotcheck.Options{Full: true, Tokens: tokens})},
			blocks: []string{
				"the spot-check of layer 0 saw a dead block: the embedding rows of tokens [1 2 3] are all zero",
				"the spot-check of layer 0 saw a dead block: the router logits of layer 0 are all equal for tokens [1 2 3]: every expert is tied (the router weights are zero or constant)",
				"the spot-check of layer 0 saw a dead block: the output of layer 0 is all zero for tokens [1 2 3]",
			},
			endEnd: []string{
				"the full spot-check saw a dead block: the embedding rows of tokens [1 2 3] are all zero",
				"the full spot-check saw a dead block: the router logits of layer 0 are all equal for tokens [1 2 3]: every expert is tied (the router weights are zero or constant)",
				"the full spot-check saw a dead block: the router logits of layer 1 are all equal for tokens [1 2 3]: every expert is tied (the router weights are zero or constant)",
				"the full spot-check saw a dead block: the logits are all zero for tokens [1 2 3]",
			},
		},
		{
			name:   "precisions disagree",
			ck:     healthy,
			spot:   []*spotcheck.Result{disagree},
			blocks: []string{"the spot-check gave shape [3 32] from [3 32], finite true, float32 vs float64 0.5 (tolerance 1e-03)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := audit.Run(tt.ck, audit.Options{Spot: tt.spot})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				id   string
				want []string
			}{{ob.Blocks, tt.blocks}, {ob.EndToEnd, tt.endEnd}} {
				var got []string
				for _, f := range r.Findings {
					if f.Check == c.id {
						got = append(got, f.Message)
					}
				}
				if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s findings mismatch (-want +got):\n%s", c.id, diff)
				}
				if pass := checkByID(r, c.id).Pass; pass != (len(c.want) == 0) {
					t.Errorf("%s: Pass = %v, want %v", c.id, pass, len(c.want) == 0)
				}
			}
		})
	}
}

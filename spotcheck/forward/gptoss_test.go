package forward_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// One token, one head: attention without a sink returns v; with a sink s
// and the single score 0 (q = 0), the weight of v is e^0 / (e^0 + e^s),
// 1/(1 + e) for s = 1 (transformers' gpt-oss eager_attention_forward:
// the sink's column joins the softmax and is dropped).
func TestSinkAttentionOneToken(t *testing.T) {
	q, k, v := []float64{0, 0}, []float64{1, 2}, []float64{3, -4}
	got := make([]float64, 2)
	if err := forward.SinkAttention(got, q, k, v, []float32{1}, 1, 1, 2, 0, 1/math.Sqrt2); err != nil {
		t.Fatal(err)
	}
	p := 1 / (1 + math.E)
	want := []float64{3 * p, -4 * p}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("SinkAttention = %v, want %v", got, want)
		}
	}
	// A sink far below every score changes nothing.
	if err := forward.SinkAttention(got, q, k, v, []float32{-1000}, 1, 1, 2, 0, 1/math.Sqrt2); err != nil || !slices.Equal(got, v) {
		t.Errorf("SinkAttention(sink −1000) = %v, %v, want %v", got, err, v)
	}
}

// Random shapes: SinkAttention with every sink at −∞ is ScaledAttention;
// with finite sinks each row's weights sum to less than 1, so the output
// of values all 1 is each row's mass, below 1.
func TestSinkAttentionAgainstScaled(t *testing.T) {
	r := newRand(7)
	const n, heads, kvHeads, hd = 9, 4, 2, 8
	q, k := randVec(r, n*heads*hd, 1), randVec(r, n*kvHeads*hd, 1)
	v := randVec(r, n*kvHeads*hd, 1)
	want, got := make([]float64, len(q)), make([]float64, len(q))
	if err := forward.ScaledAttention(want, q, k, v, heads, kvHeads, hd, 4, 0.3); err != nil {
		t.Fatal(err)
	}
	inf := float32(math.Inf(-1))
	if err := forward.SinkAttention(got, q, k, v, []float32{inf, inf, inf, inf}, heads, kvHeads, hd, 4, 0.3); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("SinkAttention(−∞ sinks) differs from ScaledAttention")
	}
	ones := make([]float64, len(v))
	for i := range ones {
		ones[i] = 1
	}
	if err := forward.SinkAttention(got, q, k, ones, []float32{0, 1, -1, 2}, heads, kvHeads, hd, 4, 0.3); err != nil {
		t.Fatal(err)
	}
	for i, x := range got {
		if !(x > 0 && x < 1) {
			t.Fatalf("SinkAttention(v = 1)[%d] = %v, want in (0, 1)", i, x)
		}
	}
	if err := forward.SinkAttention(got, q, k, v, []float32{0}, heads, kvHeads, hd, 4, 0.3); !errors.Is(err, forward.ErrShape) {
		t.Errorf("SinkAttention(1 sink for 4 heads) = %v, want ErrShape", err)
	}
}

// Hand values of gpt-oss's activation, limit 7, alpha 1.702:
// gate 0 gives 0 whatever up; gate 10 is clamped to 7 and up 10 to 7,
// giving 8 · 7 · σ(11.914); gate −3, up −9 → up −7: −6 · −3 · σ(−5.106).
func TestSwiGLUOAI(t *testing.T) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	gate, up := []float64{0, 10, -3, 1}, []float64{5, 10, -9, -1}
	want := []float64{0, 8 * 7 * sig(7*1.702), -6 * -3 * sig(-3*1.702), 0}
	got := make([]float64, 4)
	if err := forward.SwiGLUOAI(got, gate, up, 1.702, 7); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-14*math.Max(1, math.Abs(want[i])) {
			t.Errorf("SwiGLUOAI(%v, %v)[%d] = %v, want %v", gate[i], up[i], i, got[i], want[i])
		}
	}
	if err := forward.SwiGLUOAI(got, gate, up[:3], 1.702, 7); !errors.Is(err, forward.ErrShape) {
		t.Errorf("SwiGLUOAI(short up) = %v, want ErrShape", err)
	}
	if err := forward.SwiGLUOAI(got, gate, up, 1.702, 0); !errors.Is(err, forward.ErrInvalid) {
		t.Errorf("SwiGLUOAI(limit 0) = %v, want ErrInvalid", err)
	}
}

// TopKSoftmax ranks the logits (ties to the lower id) and takes the
// softmax of the k chosen: logits 1, 3, 3, 0 with k 2 choose experts 1
// and 2 with weights ½ each, where TopK's softmax over all four gives
// them less.
func TestTopKSoftmax(t *testing.T) {
	ids, w, err := forward.TopKSoftmax([]float64{1, 3, 3, 0}, 2)
	if err != nil || !slices.Equal(ids, []int{1, 2}) || !slices.Equal(w, []float64{0.5, 0.5}) {
		t.Errorf("TopKSoftmax = %v, %v, %v, want [1 2], [0.5 0.5]", ids, w, err)
	}
	ids, w, _ = forward.TopKSoftmax([]float64{0, math.Log(3), math.NaN(), -1}, 2)
	if !slices.Equal(ids, []int{1, 0}) || math.Abs(w[0]-0.75) > 1e-15 || math.Abs(w[1]-0.25) > 1e-15 {
		t.Errorf("TopKSoftmax(0, ln 3, NaN, −1) = %v, %v, want [1 0], [0.75 0.25]", ids, w)
	}
	if _, _, err := forward.TopKSoftmax([]float64{1}, 2); !errors.Is(err, forward.ErrInvalid) {
		t.Errorf("TopKSoftmax(k 2 of 1) = %v, want ErrInvalid", err)
	}
}

// RowStride reads the even and the odd rows of an interleaved matrix.
func TestRowStride(t *testing.T) {
	m, err := forward.NewDense(5, 1, []float32{0, 1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		first, step int
		want        []float32
	}{{0, 2, []float32{0, 2, 4}}, {1, 2, []float32{1, 3}}, {2, 3, []float32{2}}, {0, 1, []float32{0, 1, 2, 3, 4}}} {
		s, err := forward.RowStride(m, tt.first, tt.step)
		if err != nil {
			t.Fatal(err)
		}
		var got []float32
		row := make([]float32, 1)
		for i := range s.Rows() {
			if err := s.Row(i, row); err != nil {
				t.Fatal(err)
			}
			got = append(got, row[0])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("RowStride(%d, %d) = %v, want %v", tt.first, tt.step, got, tt.want)
		}
		if err := s.Row(s.Rows(), row); !errors.Is(err, forward.ErrInvalid) {
			t.Errorf("RowStride(%d, %d).Row(past the end) = %v, want ErrInvalid", tt.first, tt.step, err)
		}
	}
	for _, bad := range [][2]int{{2, 2}, {-1, 2}, {0, 0}} {
		if _, err := forward.RowStride(m, bad[0], bad[1]); !errors.Is(err, forward.ErrShape) {
			t.Errorf("RowStride(%d, %d) = %v, want ErrShape", bad[0], bad[1], err)
		}
	}
}

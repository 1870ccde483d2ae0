package forward_test

import (
	"errors"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

func TestTopK(t *testing.T) {
	tests := []struct {
		name   string
		logits []float64
		k      int
		want   []int
	}{
		{name: "one", logits: []float64{0.5}, k: 1, want: []int{0}},
		{name: "sorted", logits: []float64{1, 2, 3, 4}, k: 2, want: []int{3, 2}},
		{name: "all", logits: []float64{3, 1, 2}, k: 3, want: []int{0, 2, 1}},
		{name: "ties go to the lower id", logits: []float64{1, 5, 5, 0, 5}, k: 2, want: []int{1, 2}},
		{name: "all equal", logits: []float64{7, 7, 7, 7, 7}, k: 3, want: []int{0, 1, 2}},
		{name: "tie at the cut", logits: []float64{9, 1, 4, 4, 4}, k: 3, want: []int{0, 2, 3}},
		{name: "negative", logits: []float64{-5, -1, -3}, k: 1, want: []int{1}},
		{name: "nan ranks last", logits: []float64{math.NaN(), 1, 2}, k: 2, want: []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, w, err := forward.TopK(tt.logits, tt.k)
			if err != nil {
				t.Fatalf("TopK(%v, %d) = %v", tt.logits, tt.k, err)
			}
			if tt.name == "nan ranks last" {
				// A NaN logit makes every probability NaN (as in PyTorch);
				// the order is then by id.
				for _, x := range w {
					if !math.IsNaN(x) {
						t.Errorf("TopK(%v) weights = %v, want NaN", tt.logits, w)
					}
				}
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("TopK(%v, %d) ids mismatch (-want +got):\n%s", tt.logits, tt.k, diff)
			}
			if len(w) != len(ids) {
				t.Errorf("TopK: %d weights for %d ids", len(w), len(ids))
			}
		})
	}
}

func TestTopKProperties(t *testing.T) {
	r := newRand(40)
	for trial := range 300 {
		e := 1 + r.IntN(160)
		k := 1 + r.IntN(e)
		logits := make([]float32, e)
		for i := range logits {
			// Few distinct values, so ties are common.
			logits[i] = float32(r.IntN(12)) / 4
		}
		ids, w, err := forward.TopK(logits, k)
		if err != nil {
			t.Fatal(err)
		}
		probs := make([]float32, e)
		if err := forward.Softmax(probs, logits); err != nil {
			t.Fatal(err)
		}
		// The expected choice: sort ids by (probability desc, id asc).
		order := make([]int, e)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
		if !slices.Equal(ids, order[:k]) {
			t.Fatalf("trial %d: TopK(%v, %d) = %v, want %v", trial, logits, k, ids, order[:k])
		}
		for i, id := range ids {
			if w[i] != probs[id] {
				t.Errorf("trial %d: weight %d = %v, want softmax probability %v", trial, i, w[i], probs[id])
			}
		}
		// Every unchosen expert has a probability no higher than the last
		// chosen one.
		chosen := map[int]bool{}
		for _, id := range ids {
			chosen[id] = true
		}
		for id, p := range probs {
			if !chosen[id] && p > w[k-1] {
				t.Errorf("trial %d: expert %d (p=%v) left out for p=%v", trial, id, p, w[k-1])
			}
		}
		forward.Renormalize(w)
		s := 0.0
		for _, x := range w {
			s += float64(x)
		}
		// Each of the k quotients rounds by up to half an ulp (2⁻²⁴).
		if math.Abs(s-1) > float64(k+8)*0x1p-24 {
			t.Errorf("trial %d: Σ renormalized weights = %v, want 1", trial, s)
		}
		if !slices.IsSortedFunc(w, func(a, b float32) int { return -cmpFloat(a, b) }) {
			t.Errorf("trial %d: renormalized weights %v not in descending order", trial, w)
		}
	}
}

func cmpFloat(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestTopKSoftmaxFirst(t *testing.T) {
	// The weights are probabilities over all experts, not over the chosen:
	// logits (ln 3, ln 2, ln 1) give 3/6, 2/6, 1/6; top-2 gives 1/2, 1/3,
	// renormalized 3/5, 2/5.
	logits := []float64{math.Log(3), math.Log(2), 0}
	ids, w, err := forward.TopK(logits, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 1}, ids); diff != "" {
		t.Errorf("ids mismatch (-want +got):\n%s", diff)
	}
	if maxAbsDiff(w, []float64{0.5, 1.0 / 3}) > 1e-15 {
		t.Errorf("weights = %v, want [1/2 1/3]", w)
	}
	forward.Renormalize(w)
	if maxAbsDiff(w, []float64{0.6, 0.4}) > 1e-15 {
		t.Errorf("renormalized = %v, want [0.6 0.4]", w)
	}
	forward.Renormalize([]float64{}) // no-op, no panic
}

func TestTopKErrors(t *testing.T) {
	for _, k := range []int{-1, 0, 4} {
		if _, _, err := forward.TopK([]float32{1, 2, 3}, k); !errors.Is(err, forward.ErrInvalid) {
			t.Errorf("TopK(3 experts, k=%d) = %v, want ErrInvalid", k, err)
		}
	}
	if _, _, err := forward.TopK([]float32{}, 1); !errors.Is(err, forward.ErrInvalid) {
		t.Errorf("TopK(no experts, 1) = %v, want ErrInvalid", err)
	}
}

// GroupTopK by hand: 8 experts in 2 groups. Biased scores s = scores +
// bias = {.9, .1, .2, .3 | .8, .7, .05, .6}: group sums of the top two
// 1.2 and 1.5, so with topk_group 1 only the second group stays and the
// top 2 are experts 4 (.8) and 5 (.7), though expert 0 has the highest
// score; without a group limit experts 0 and 4. The bias decides: with
// it expert 3 (.25 + .05 = .3) passes expert 2 (.28 − .08 = .2), and
// with 4 groups of 2 (sums 1.0, .5, 1.5, .65) and 2 kept, the top 5
// are 0, 4, 5, 1 and, of the zeros, the lowest id 2.
func TestGroupTopK(t *testing.T) {
	scores := []float64{0.9, 0.1, 0.28, 0.25, 0.8, 0.7, 0.05, 0.6}
	bias := []float32{0, 0, -0.08, 0.05, 0, 0, 0, 0}
	for _, tt := range []struct {
		k, groups, keep int
		want            []int
	}{{2, 2, 1, []int{4, 5}}, {2, 1, 1, []int{0, 4}}, {2, 0, 0, []int{0, 4}}, {3, 2, 2, []int{0, 4, 5}}, {5, 4, 2, []int{0, 4, 5, 1, 2}}} {
		got, err := forward.GroupTopK(scores, bias, tt.k, tt.groups, tt.keep)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("GroupTopK(k %d, %d groups, keep %d) = %v, %v; want %v", tt.k, tt.groups, tt.keep, got, err, tt.want)
		}
	}
	// The unkept group's zeros outrank the kept group's negative biased
	// scores (−0.1 against −0.5 each), as transformers' masked_fill(…,
	// 0.0) makes it.
	neg := []float32{-1, -1, -1, -1, -1, -1, -1, -1}
	if got, _ := forward.GroupTopK([]float64{0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5}, neg, 2, 2, 1); !slices.Equal(got, []int{4, 5}) {
		t.Errorf("kept group of negative scores: %v, want [4 5]", got)
	}
	for _, bad := range []struct{ k, groups, keep int }{{0, 2, 1}, {9, 2, 1}, {2, 3, 1}, {2, 2, 3}} {
		if _, err := forward.GroupTopK(scores, bias, bad.k, bad.groups, bad.keep); !errors.Is(err, forward.ErrInvalid) {
			t.Errorf("GroupTopK(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

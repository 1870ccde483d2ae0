package compare_test

import (
	"context"
	"sync"
	"testing"

	"github.com/weightaudit/weightaudit/compare"
)

// Progress hears of every pair once, with the same total as the report's
// pairs, and ends with done = total, whatever the jobs.
func TestProgress(t *testing.T) {
	a, b := load(t, "hf-f32"), load(t, "gguf/tiny-q8_0.gguf")
	for _, jobs := range []int{1, 4} {
		var (
			mu     sync.Mutex
			seen   = map[int]bool{}
			totals = map[int]bool{}
		)
		opts := compare.Options{Sample: 4, Jobs: jobs, Progress: func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if seen[done] {
				t.Errorf("jobs %d: Progress(%d, _) twice", jobs, done)
			}
			seen[done], totals[total] = true, true
		}}
		r, err := compare.Run(context.Background(), a, b, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Pairs) == 0 || len(seen) != len(r.Pairs) || !seen[len(r.Pairs)] || len(totals) != 1 || !totals[len(r.Pairs)] {
			t.Errorf("jobs %d: Progress saw done %v and totals %v; want 1..%d and %d", jobs, seen, totals, len(r.Pairs), len(r.Pairs))
		}
	}
}

package checkpoint_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
)

// WithProgress hears of each header read once, and of the plan before
// the reads: for a sharded safetensors checkpoint as many as the index
// names shards (read here from the index itself), for a split GGUF as
// many as the name says parts.
func TestLoadProgress(t *testing.T) {
	tiny := filepath.Join("..", "testdata", "tiny")
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	data, err := os.ReadFile(filepath.Join(tiny, "hf-bf16", "model.safetensors.index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	shards := map[string]bool{}
	for _, f := range index.WeightMap {
		shards[f] = true
	}
	tests := []struct {
		name, path string
		want       int
	}{
		{"safetensors-index", filepath.Join(tiny, "hf-bf16"), len(shards)},
		{"gguf-split", filepath.Join(tiny, "gguf", "tiny-q8_0-00001-of-00002.gguf"), 2}, // "of-00002"
		{"gguf", filepath.Join(tiny, "gguf", "tiny-f32.gguf"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, focus, err := hub.Local(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu      sync.Mutex
				seen    = map[int]bool{}
				planned int
				first   = true
			)
			_, err = checkpoint.Load(context.Background(), src, checkpoint.WithFocus(focus), checkpoint.WithJobs(4),
				checkpoint.WithProgress(func(read, plan int) {
					mu.Lock()
					defer mu.Unlock()
					if first && (read != 0 || plan == 0) {
						t.Errorf("first Progress(%d, %d), want the plan before any read", read, plan)
					}
					first = false
					if read > plan || plan < planned {
						t.Errorf("Progress(%d, %d) after a plan of %d", read, plan, planned)
					}
					if read > 0 && plan == planned && seen[read] {
						t.Errorf("Progress(%d, %d) twice", read, plan)
					}
					if read > 0 {
						seen[read] = true
					}
					planned = plan
				}))
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != tt.want || !seen[tt.want] || planned != tt.want {
				t.Errorf("Progress saw reads %v of %d planned; want 1..%d of %d", seen, planned, tt.want, tt.want)
			}
		})
	}
}

package gemma3_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch/gemma3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The exact parameter count of google/gemma-3-1b(-it), worked by hand
// from its config.json: d 1152, V 262144, L 26, f 6912, 4 query heads and
// 1 KV head of h = 256 (q = 1024, k = 256), tied embeddings. Per layer:
//
//	q_proj     1152·1024        =  1,179,648
//	k_proj     1152·256         =    294,912
//	v_proj     1152·256         =    294,912
//	o_proj     1024·1152        =  1,179,648
//	q/k norms  2·256            =        512
//	MLP        3·6912·1152      = 23,887,872
//	norms      4·1152           =      4,608
//	layer 26,842,112;  26 layers 697,894,912
//	embedding 262144·1152 = 301,989,888;  final norm 1,152;  no lm_head
//	total 697,894,912 + 301,989,888 + 1,152 = 999,885,952
//
// The card's "1B" is this count in billions rounded (0.9999); truncated
// it would be 0B.
func TestPublishedTotal(t *testing.T) {
	const layer, total = 26_842_112, 999_885_952
	spec := gemma3.MustNew(gemma3.Gemma3_1B())
	p := spec.Predict()
	if p.Total != total || p.Active != total {
		t.Errorf("Predict() = total %d, active %d; want %d for both", p.Total, p.Active, total)
	}
	if len(p.Layers) != 26 || p.Layers[0].Total != layer || p.Layers[25].Total != layer {
		t.Errorf("Predict().Layers: %d layers, first %d; want 26 of %d", len(p.Layers), p.Layers[0].Total, layer)
	}
	if got := (int64(total) + 500_000_000) / 1_000_000_000; got != 1 {
		t.Errorf("%d rounds to %dB, the card says 1B", int64(total), got)
	}
	// The layout's sum, in both formats, is the second derivation:
	// 1 + 13 per layer + the final norm.
	const n = 1 + 13*26 + 1
	for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
		exp := spec.Expected(f)
		if len(exp) != n || spec.Count(f) != n {
			t.Errorf("%s: %d tensors (Count %d), want %d", f, len(exp), spec.Count(f), n)
		}
		var sum, layer0 int64
		for _, e := range exp {
			size := int64(1)
			for _, x := range e.Shape {
				size *= x
			}
			sum += size
			if e.Layer == 0 {
				layer0 += size
			}
		}
		if sum != total || layer0 != layer {
			t.Errorf("%s: the layout holds %d (layer 0: %d), want %d (%d)", f, sum, layer0, total, layer)
		}
	}
	for _, pr := range gemma3.Profiles {
		if got := pr.Config.Predict().Total; got < pr.Total[0] || got > pr.Total[1] || pr.Active != pr.Total {
			t.Errorf("%s: total %d outside %v", pr.Name, got, pr.Total)
		}
	}
}

// The KV cache of Gemma-3-1B: 4 global layers (5, 11, 17, 23) over every
// position, 22 local ones over the last 512; the attention cost likewise.
func TestSlidingWindowCost(t *testing.T) {
	spec := gemma3.MustNew(gemma3.Gemma3_1B())
	kv := spec.KVCache()
	if len(kv) != 2 || kv[0].Rows != 2*4*1 || kv[0].Window != 0 || kv[1].Rows != 2*22*1 || kv[1].Window != 512 || kv[0].Width != 256 || kv[1].Width != 256 {
		t.Errorf("KVCache() = %+v, want 8 rows of 256 unwindowed and 44 rows of 256 over 512", kv)
	}
	// 4·4·256·(4·4096 + 22·512) = 4096·27,648 = 113,246,208
	if got := spec.AttentionFLOPs(4096); got != 113_246_208 {
		t.Errorf("AttentionFLOPs(4096) = %d, want 113246208", got)
	}
	// Below the window every layer attends to all ctx positions:
	// 4·4·256·26·100 = 10,649,600.
	if got := spec.AttentionFLOPs(100); got != 10_649_600 {
		t.Errorf("AttentionFLOPs(100) = %d, want 10649600", got)
	}
}

package phi3_test

import (
	"fmt"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/phi3"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The exact parameter counts of the published models, worked by hand from
// their config.json, with d = hidden_size, V = vocab_size, L = layers,
// f = intermediate_size, q = heads · head_dim, k = kv_heads · head_dim:
//
// Phi-3-mini-4k-instruct: d 3072, V 32064, L 32, 32 heads and 32 KV heads
// of 96 (q = k = 3072), f 8192, untied. Per layer:
//
//	qkv_proj     3072·(3072 + 2·3072) = 3072·9216 = 28,311,552
//	o_proj       3072·3072                         =  9,437,184
//	gate_up_proj 2·8192·3072                       = 50,331,648
//	down_proj    8192·3072                         = 25,165,824
//	norms        2·3072                            =      6,144
//	layer 113,252,352;  32 layers 3,624,075,264
//	embedding = lm_head = 32064·3072 = 98,500,608;  final norm 3,072
//	total 3,624,075,264 + 2·98,500,608 + 3,072 = 3,821,079,552
//
// The card's "3.8B" is this count in billions to one decimal, rounded and
// truncated alike (3.821); keras-hub's Phi-3 presets give the same
// 3,821,079,552. Phi-3.5-mini-instruct has the same dimensions and the
// same count: its LongRoPE factors, 2·48 F32 values in a GGUF file, are
// no parameters.
//
// Phi-3-medium-4k-instruct: d 5120, V 32064, L 40, 40 heads and 10 KV
// heads of 128 (q 5120, k 1280), f 17920, untied. Per layer:
//
//	qkv_proj     5120·(5120 + 2·1280) = 5120·7680 =  39,321,600
//	o_proj       5120·5120                        =  26,214,400
//	gate_up_proj 2·17920·5120                     = 183,500,800
//	down_proj    17920·5120                       =  91,750,400
//	norms        2·5120                           =      10,240
//	layer 340,797,440;  40 layers 13,631,897,600
//	embedding = lm_head = 32064·5120 = 164,167,680;  final norm 5,120
//	total 13,631,897,600 + 2·164,167,680 + 5,120 = 13,960,238,080
//
// The card's "14B" is 13.96 rounded to whole billions (truncated it would
// be 13B).
func TestPublishedTotals(t *testing.T) {
	tests := []struct {
		name         string
		cfg          *phi3.Config
		layer, total int64
		hf, gguf     int // tensors: 1 + 6 per layer + final norm + lm_head (+ 2 factors in GGUF)
		card         string
		decimals     int
		how          string
	}{
		{"Phi-3-mini-4k", phi3.Phi3Mini4K(), 113_252_352, 3_821_079_552, 1 + 6*32 + 2, 1 + 6*32 + 2, "3.8B", 1, "both"},
		{"Phi-3.5-mini", phi3.Phi3_5Mini(), 113_252_352, 3_821_079_552, 1 + 6*32 + 2, 2 + 1 + 6*32 + 2, "3.8B", 1, "both"},
		{"Phi-3-medium-4k", phi3.Phi3Medium4K(), 340_797_440, 13_960_238_080, 1 + 6*40 + 2, 1 + 6*40 + 2, "14B", 0, "rounded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := phi3.MustNew(tt.cfg)
			p := spec.Predict()
			if p.Total != tt.total || p.Active != tt.total {
				t.Errorf("Predict() = total %d, active %d; want %d for both", p.Total, p.Active, tt.total)
			}
			if len(p.Layers) != int(tt.cfg.NumHiddenLayers) || p.Layers[0].Total != tt.layer || p.Layers[len(p.Layers)-1].Total != tt.layer {
				t.Errorf("Predict().Layers: %d layers, first %d; want %d of %d", len(p.Layers), p.Layers[0].Total, tt.cfg.NumHiddenLayers, tt.layer)
			}
			// The layout's sum, in both formats, is the second derivation.
			for f, n := range map[checkpoint.Format]int{checkpoint.FormatSafetensors: tt.hf, checkpoint.FormatGGUF: tt.gguf} {
				exp := spec.Expected(f)
				if len(exp) != n || spec.Count(f) != n {
					t.Errorf("%s: %d tensors (Count %d), want %d", f, len(exp), spec.Count(f), n)
				}
				var sum, layer0 int64
				for _, e := range exp {
					if e.Part == arch.PartCompanion {
						continue
					}
					sum += elements(e.Shape)
					if e.Layer == 0 {
						layer0 += elements(e.Shape)
					}
				}
				if sum != tt.total || layer0 != tt.layer {
					t.Errorf("%s: the layout holds %d (layer 0: %d), want %d (%d)", f, sum, layer0, tt.total, tt.layer)
				}
			}
			if got := relation(tt.total, tt.card, tt.decimals); got != tt.how {
				t.Errorf("card figure %s against the exact %d: %s, want %s", tt.card, tt.total, got, tt.how)
			}
		})
	}
}

// The profiles' ranges hold the exact totals.
func TestProfiles(t *testing.T) {
	for _, p := range phi3.Profiles {
		total := p.Config.Predict().Total
		if total < p.Total[0] || total > p.Total[1] || p.Active != p.Total {
			t.Errorf("%s: total %d outside %v (active range %v)", p.Name, total, p.Total, p.Active)
		}
	}
}

// relation says how a card's figure in billions relates to the exact
// count: "rounded", "truncated", "both" or "neither".
func relation(exact int64, figure string, decimals int) string {
	r, tr := billions(exact, decimals, false) == figure, billions(exact, decimals, true) == figure
	switch {
	case r && tr:
		return "both"
	case r:
		return "rounded"
	case tr:
		return "truncated"
	}
	return "neither"
}

// billions writes n in billions with the given decimals and a "B",
// rounded half up or truncated, in integer arithmetic.
func billions(n int64, decimals int, truncate bool) string {
	unit, pow := int64(1e9), int64(1)
	for range decimals {
		unit /= 10
		pow *= 10
	}
	q := n / unit
	if !truncate && 2*(n%unit) >= unit {
		q++
	}
	if decimals == 0 {
		return fmt.Sprintf("%dB", q)
	}
	return fmt.Sprintf("%d.%0*dB", q/pow, decimals, q%pow)
}

func elements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

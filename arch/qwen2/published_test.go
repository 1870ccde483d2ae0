package qwen2_test

import (
	"fmt"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen2"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The published totals, worked by hand from each config.json, with
// d = hidden_size, V = vocab_size, L = num_hidden_layers,
// f = intermediate_size, q = heads · head_dim, k = kv_heads · head_dim:
//
// Qwen2.5-7B: d 3584, V 152064, L 28, 28 heads and 4 KV heads of 128
// (q 3584, k 512), f 18944, untied. Per layer:
//
//	q_proj 3584·3584 = 12,845,056 + bias 3,584
//	k_proj 3584·512  =  1,835,008 + bias   512, v_proj the same
//	o_proj 3584·3584 = 12,845,056
//	attention 29,360,128 + 4,608 = 29,364,736
//	MLP 3·3584·18944 = 203,685,888;  norms 2·3584 = 7,168
//	layer 233,057,792;  28 layers 6,525,618,176
//	embedding = lm_head = 152064·3584 = 544,997,376;  final norm 3,584
//	total 6,525,618,176 + 2·544,997,376 + 3,584 = 7,615,616,512
//	non-embedding 7,615,616,512 − 1,089,994,752 = 6,525,621,760
//
// Qwen2.5-0.5B: d 896, V 151936, L 24, 14 heads and 2 KV heads of 64
// (q 896, k 128), f 4864, tied (no lm_head). Per layer:
//
//	q_proj 896·896 = 802,816 + 896;  k_proj and v_proj 896·128 = 114,688 + 128 each
//	o_proj 802,816;  attention 1,835,008 + 1,152 = 1,836,160
//	MLP 3·896·4864 = 13,074,432;  norms 1,792
//	layer 14,912,384;  24 layers 357,897,216
//	embedding 151936·896 = 136,134,656;  final norm 896
//	total 357,897,216 + 136,134,656 + 896 = 494,032,768
//	non-embedding 494,032,768 − 136,134,656 = 357,898,112
//
// Qwen2.5-72B: d 8192, V 152064, L 80, 64 heads and 8 KV heads of 128
// (q 8192, k 1024), f 29568, untied. Per layer:
//
//	q_proj 8192·8192 = 67,108,864 + 8,192;  k_proj and v_proj 8192·1024 = 8,388,608 + 1,024 each
//	o_proj 67,108,864;  attention 150,994,944 + 10,240 = 151,005,184
//	MLP 3·8192·29568 = 726,663,168;  norms 16,384
//	layer 877,684,736;  80 layers 70,214,778,880
//	embedding = lm_head = 152064·8192 = 1,245,708,288;  final norm 8,192
//	total 70,214,778,880 + 2·1,245,708,288 + 8,192 = 72,706,203,648
//	non-embedding 72,706,203,648 − 2,491,416,576 = 70,214,787,072
//
// The model cards (huggingface.co/Qwen/Qwen2.5-*) give the counts in
// billions to two or three significant digits, and not always the same
// way: "how" says whether the card's figure is the exact count rounded to
// its digits, cut off (truncated) there, either (both agree), or neither.
//
//	7.61B   total of 7B:          7.6156 → rounded 7.62, truncated 7.61: truncated
//	6.53B   non-embedding of 7B:  6.5256 → rounded 6.53, truncated 6.52: rounded
//	0.49B   total of 0.5B:        0.4940 → 0.49 both ways
//	0.36B   non-embedding of 0.5B: 0.3579 → rounded 0.36, truncated 0.35: rounded
//	72.7B   total of 72B:         72.706 → 72.7 both ways
//	70.0B   non-embedding of 72B: 70.215 → 70.2 both ways: the card's 70.0B is
//	        neither, 0.21B (0.3%) below the count its config.json gives (the
//	        Qwen2 blog gave 70.21B for Qwen2-72B, which has the same
//	        dimensions). The total on the same card agrees.
func TestPublishedTotals(t *testing.T) {
	tests := []struct {
		name            string
		cfg             *qwen2.Config
		layer           int64 // one decoder layer, by hand above
		total, nonEmbed int64
		tensorsHF       int // 1 + 12 per layer + final norm (+ lm_head)
		card            [2]cardFigure
	}{
		{"Qwen2.5-7B", qwen2.Qwen2_5_7B(), 233_057_792, 7_615_616_512, 6_525_621_760, 1 + 12*28 + 2,
			[2]cardFigure{{"7.61B", 2, "truncated"}, {"6.53B", 2, "rounded"}}},
		{"Qwen2.5-0.5B", qwen2.Qwen2_5_0_5B(), 14_912_384, 494_032_768, 357_898_112, 1 + 12*24 + 1,
			[2]cardFigure{{"0.49B", 2, "both"}, {"0.36B", 2, "rounded"}}},
		{"Qwen2.5-72B", qwen2.Qwen2_5_72B(), 877_684_736, 72_706_203_648, 70_214_787_072, 1 + 12*80 + 2,
			[2]cardFigure{{"72.7B", 1, "both"}, {"70.0B", 1, "neither"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := qwen2.MustNew(tt.cfg)
			p := spec.Predict()
			if p.Total != tt.total || p.Active != tt.total {
				t.Errorf("Predict() = total %d, active %d; want %d for both", p.Total, p.Active, tt.total)
			}
			if got := p.Total - p.Components[arch.CompEmbedding] - p.Components[arch.CompLMHead]; got != tt.nonEmbed {
				t.Errorf("non-embedding = %d, want %d", got, tt.nonEmbed)
			}
			if len(p.Layers) != int(tt.cfg.NumHiddenLayers) || p.Layers[0].Total != tt.layer || p.Layers[len(p.Layers)-1].Total != tt.layer {
				t.Errorf("Predict().Layers: %d layers, first %d; want %d of %d", len(p.Layers), p.Layers[0].Total, tt.cfg.NumHiddenLayers, tt.layer)
			}
			// The layout's sum, in both formats, is the second derivation.
			for _, f := range []checkpoint.Format{checkpoint.FormatSafetensors, checkpoint.FormatGGUF} {
				exp := spec.Expected(f)
				if len(exp) != tt.tensorsHF {
					t.Errorf("%s: %d tensors, want %d", f, len(exp), tt.tensorsHF)
				}
				var sum, layer0 int64
				for _, e := range exp {
					sum += elements(e.Shape)
					if e.Layer == 0 {
						layer0 += elements(e.Shape)
					}
				}
				if sum != tt.total || layer0 != tt.layer {
					t.Errorf("%s: the layout holds %d (layer 0: %d), want %d (%d)", f, sum, layer0, tt.total, tt.layer)
				}
			}
			for i, exact := range []int64{tt.total, tt.nonEmbed} {
				c := tt.card[i]
				if got := c.relation(exact); got != c.how {
					t.Errorf("card figure %s against the exact %d: %s, want %s (rounded %s, truncated %s)",
						c.figure, exact, got, c.how, billions(exact, c.decimals, false), billions(exact, c.decimals, true))
				}
			}
		})
	}
}

// The profiles' ranges hold the exact totals, and each profile knows the
// size label llama.cpp computes from that count.
func TestProfiles(t *testing.T) {
	want := map[string]string{"Qwen2.5-0.5B": "494M", "Qwen2.5-7B": "7.6B", "Qwen2.5-72B": "73B"}
	for _, p := range qwen2.Profiles {
		total := p.Config.Predict().Total
		if total < p.Total[0] || total > p.Total[1] || p.Active != p.Total {
			t.Errorf("%s: total %d outside %v (active range %v)", p.Name, total, p.Total, p.Active)
		}
		if p.GGUFLabel != want[p.Name] {
			t.Errorf("%s: GGUFLabel = %q, want %q", p.Name, p.GGUFLabel, want[p.Name])
		}
	}
}

// cardFigure is a parameter count a model card gives: its text, its
// decimals in billions, and how it relates to the exact count.
type cardFigure struct {
	figure   string
	decimals int
	how      string // "rounded", "truncated", "both" or "neither"
}

func (c cardFigure) relation(exact int64) string {
	r, tr := billions(exact, c.decimals, false) == c.figure, billions(exact, c.decimals, true) == c.figure
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
	unit := int64(1e9)
	for range decimals {
		unit /= 10
	}
	q := n / unit
	if !truncate && 2*(n%unit) >= unit {
		q++
	}
	pow := int64(1)
	for range decimals {
		pow *= 10
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

package llama_test

import (
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// The published totals, each worked by hand from the published
// config.json dimensions (d = hidden_size, L = layers, n_h and n_kv heads
// of d_k, f = intermediate_size, V = vocab_size):
//
// Llama-3.1-8B: V 128,256, d 4,096, L 32, n_h 32, n_kv 8, d_k 128,
// f 14,336, untied.
//
//	attention  q 4,096·4,096 = 16,777,216; k, v 1,024·4,096 = 4,194,304
//	           each; o 16,777,216: 41,943,040
//	MLP        3·14,336·4,096 = 176,160,768
//	norms      2·4,096 = 8,192
//	layer      218,112,000; × 32 = 6,979,584,000
//	embedding  128,256·4,096 = 525,336,576, and as much for lm_head
//	total      6,979,584,000 + 2·525,336,576 + 4,096 = 8,030,261,248
//
// Llama-3.2-1B: V 128,256, d 2,048, L 16, n_h 32, n_kv 8, d_k 64, f 8,192,
// tied (no lm_head).
//
//	attention  q 2,048·2,048 = 4,194,304; k, v 512·2,048 = 1,048,576
//	           each; o 4,194,304: 10,485,760
//	MLP        3·8,192·2,048 = 50,331,648
//	norms      4,096
//	layer      60,821,504; × 16 = 973,144,064
//	embedding  128,256·2,048 = 262,668,288, once
//	total      973,144,064 + 262,668,288 + 2,048 = 1,235,814,400
//
// Mistral-7B-v0.1: Llama-3.1-8B's layers (d 4,096, L 32, n_h 32, n_kv 8,
// f 14,336) with V 32,000.
//
//	layers     6,979,584,000 as above
//	embedding  32,000·4,096 = 131,072,000, twice: 262,144,000
//	total      6,979,584,000 + 262,144,000 + 4,096 = 7,241,732,096
//
// Mixtral-8x7B-v0.1: Mistral's attention, 8 experts of f 14,336, top 2.
//
//	attention  41,943,040; norms 8,192; router 8·4,096 = 32,768
//	experts    8·176,160,768 = 1,409,286,144
//	layer      1,451,270,144; × 32 = 46,440,644,608
//	total      46,440,644,608 + 262,144,000 + 4,096 = 46,702,792,704
//	active     per layer 41,943,040 + 8,192 + 32,768 + 2·176,160,768
//	           = 394,305,536; × 32 = 12,617,777,152; + 262,148,096
//	           = 12,879,925,248, the model card's "12.9B active"
//
// Llama-2-7B: V 32,000, d 4,096, L 32, n_h = n_kv = 32, f 11,008.
//
//	attention  4·16,777,216 = 67,108,864; MLP 3·11,008·4,096 = 135,266,304
//	layer      67,108,864 + 135,266,304 + 8,192 = 202,383,360; × 32
//	           = 6,476,267,520
//	total      6,476,267,520 + 262,144,000 + 4,096 = 6,738,415,616
const (
	llama31_8B     = 8_030_261_248
	llama32_1B     = 1_235_814_400
	mistral7B      = 7_241_732_096
	mixtral8x7B    = 46_702_792_704
	mixtralActive  = 12_879_925_248
	llama2_7B      = 6_738_415_616
	mixtralLayer   = 1_451_270_144
	llama31Layer   = 218_112_000
	llama31Embed   = 525_336_576
	mixtralExperts = 1_409_286_144
)

func TestPredictPublished(t *testing.T) {
	tests := []struct {
		name          string
		cfg           *llama.Config
		total, active int64
		layer0        int64
	}{
		{"Llama-3.1-8B", llama.Llama31_8B(), llama31_8B, llama31_8B, llama31Layer},
		{"Llama-3-8B", llama.Llama3_8B(), llama31_8B, llama31_8B, llama31Layer},
		{"Llama-3.2-1B", llama.Llama32_1B(), llama32_1B, llama32_1B, 60_821_504},
		{"Mistral-7B-v0.1", llama.Mistral7B_v01(), mistral7B, mistral7B, llama31Layer},
		{"Mixtral-8x7B-v0.1", llama.Mixtral8x7B_v01(), mixtral8x7B, mixtralActive, mixtralLayer},
		{"Llama-2-7B", llama.Llama2_7B(), llama2_7B, llama2_7B, 202_383_360},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.cfg.Predict()
			if p.Total != tt.total || p.Active != tt.active {
				t.Errorf("Predict() = total %d, active %d; want %d, %d", p.Total, p.Active, tt.total, tt.active)
			}
			if got := p.Layers[0].Total; got != tt.layer0 {
				t.Errorf("layer 0 = %d, want %d", got, tt.layer0)
			}
			var sum int64
			for _, n := range p.Components {
				sum += n
			}
			if sum != p.Total {
				t.Errorf("components sum to %d, total is %d", sum, p.Total)
			}
			// The profile's range holds the count.
			for _, pr := range llama.Profiles {
				if pr.Name == tt.name && (p.Total < pr.Total[0] || p.Total > pr.Total[1] || p.Active < pr.Active[0] || p.Active > pr.Active[1]) {
					t.Errorf("profile %s ranges %v / %v do not hold %d / %d", pr.Name, pr.Total, pr.Active, p.Total, p.Active)
				}
			}
		})
	}
	p := llama.Llama31_8B().Predict()
	if p.Components[arch.CompEmbedding] != llama31Embed || p.Components[arch.CompLMHead] != llama31Embed {
		t.Errorf("Llama-3.1-8B embedding %d, lm_head %d; want %d each", p.Components[arch.CompEmbedding], p.Components[arch.CompLMHead], llama31Embed)
	}
	p = llama.Mixtral8x7B_v01().Predict()
	if got := p.Components[arch.CompExpertGate] + p.Components[arch.CompExpertUp] + p.Components[arch.CompExpertDown]; got != 32*mixtralExperts {
		t.Errorf("Mixtral experts = %d, want 32·%d", got, int64(mixtralExperts))
	}
	if got := p.Components[arch.CompRouter]; got != 32*32_768 {
		t.Errorf("Mixtral routers = %d, want 32·32,768", got)
	}
}

// The prediction and the expected tensor lists are two independent
// derivations from the same config: they must agree, total and active,
// in both formats, over every configuration of a small grid (dense and
// mixture-of-experts, tied and untied, with and without rope_freqs), and
// llama.cpp's rope_freqs is the one tensor they may differ by, as it holds
// no parameters.
func TestPredictMatchesLayout(t *testing.T) {
	n := 0
	for _, mt := range []string{llama.TypeLlama, llama.TypeMistral, llama.TypeMixtral} {
		for _, v := range []int64{1, 3} {
			for _, d := range []int64{1, 2, 6} {
				for _, heads := range []int64{1, 2, 4} {
					for kv := int64(1); kv <= heads; kv++ {
						if heads%kv != 0 {
							continue
						}
						for _, hd := range []int64{2, 4} {
							for _, f := range []int64{1, 3} {
								for _, e := range []int64{1, 2, 3} {
									for k := int64(1); k <= e; k++ {
										for _, tied := range []bool{false, true} {
											for _, rope := range []bool{false, true} {
												c := &llama.Config{ModelType: mt, VocabSize: v, HiddenSize: d, NumHiddenLayers: 2, NumAttentionHeads: heads,
													NumKeyValueHeads: kv, HeadDim: hd, IntermediateSize: f, TieWordEmbeddings: tied}
												if mt == llama.TypeMixtral {
													c.NumLocalExperts, c.NumExpertsPerTok = e, k
												} else if e > 1 {
													continue
												}
												if rope {
													c.RopeScaling = &llama.RopeScaling{RopeType: "llama3"}
												}
												n++
												checkLayoutSums(t, c)
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d configurations", n)
}

func checkLayoutSums(t *testing.T, c *llama.Config) {
	t.Helper()
	s, err := llama.New(c)
	if err != nil {
		t.Fatalf("%+v: %v", *c, err)
	}
	for _, f := range archtest.Formats {
		if err := archtest.CheckPrediction(s, f); err != nil {
			t.Fatalf("%+v: %v", *c, err)
		}
		companions, want := 0, 0
		if f == checkpoint.FormatGGUF && c.Llama3Rope() {
			want = 1 // rope_freqs
		}
		for _, e := range s.Expected(f) {
			if e.Part == arch.PartCompanion {
				companions++
				if e.Component != llama.CompRopeFreqs || want == 0 {
					t.Fatalf("%+v in %s: %s is a companion", *c, f, e.Name)
				}
			}
		}
		if companions != want {
			t.Fatalf("%+v in %s: %d companions, want %d (rope_freqs)", *c, f, companions, want)
		}
	}
}

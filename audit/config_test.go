package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/safetensors"
)

// tinySource lays out spec in memory: F32 safetensors in two shards with
// its config.json ("hf"), or one F16 GGUF file tiny.gguf without one
// ("gguf").
func tinySource(tb testing.TB, spec arch.Spec, format string) *hub.Mem {
	tb.Helper()
	var l *synth.Layout
	var err error
	if format == "hf" {
		l, err = synth.HF("tiny", spec, synth.HFOptions{Shards: 2, DType: safetensors.F32})
	} else {
		l, err = synth.GGUF("tiny", spec, synth.GGUFOptions{Type: "F16"})
	}
	if err != nil {
		tb.Fatal(err)
	}
	return l.Source()
}

// configText is c's config.json with each old text replaced by the new,
// every one of which must occur.
func configText(tb testing.TB, c *qwen3.Config, oldNew ...string) []byte {
	tb.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < len(oldNew); i += 2 {
		if !bytes.Contains(b, []byte(oldNew[i])) {
			tb.Fatalf("config.json %s has no %s", b, oldNew[i])
		}
		b = bytes.Replace(b, []byte(oldNew[i]), []byte(oldNew[i+1]), 1)
	}
	return b
}

// withConfig puts config.json beside the files of src.
func withConfig(src *hub.Mem, b []byte) *hub.Mem {
	src.Add("config.json", bytes.NewReader(b), int64(len(b)))
	return src
}

func auditSource(tb testing.TB, src hub.Source) (*audit.Report, error) {
	tb.Helper()
	ck, err := checkpoint.Load(context.Background(), src)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return audit.Run(ck, audit.Options{})
}

// dropKey is a spec whose synthesized GGUF metadata lacks one key.
type dropKey struct {
	*qwen3.Spec
	key string
}

func (d dropKey) GGUFMetadata() []gguf.KV {
	return slices.DeleteFunc(d.Spec.GGUFMetadata(), func(kv gguf.KV) bool { return kv.Key == d.key })
}

// STRUCT-CONFIG reports what config.json and the GGUF metadata say that
// the consumers of the files would read differently or could not run
// with: keys given twice, values out of range, disagreements, each as a
// finding naming the file and the key, while the counts go on. The
// expectations are written out by hand: TinyMoE has vocab_size 64,
// rope_theta 1e6 and rms_norm_eps 1e-6, and GGUF stores floats as float32
// (float32(1e-6) = 9.99999997e-07).
func TestConfigFindings(t *testing.T) {
	tiny := qwen3.MustNew(qwen3.TinyMoE())
	withEps := func(eps float64) *qwen3.Spec {
		c := qwen3.TinyMoE()
		c.RMSNormEps = eps
		return qwen3.MustNew(c)
	}
	tests := []struct {
		name string
		src  func(t *testing.T) *hub.Mem
		want audit.Finding
	}{
		{
			name: "vocab_size twice in config.json",
			src: func(t *testing.T) *hub.Mem {
				return withConfig(tinySource(t, tiny, "hf"), configText(t, qwen3.TinyMoE(), `{`, `{"vocab_size":999,`))
			},
			want: audit.Finding{File: "config.json", Field: "vocab_size", Message: `config.json has "vocab_size" twice: 999, then 64; Python's json keeps 64`},
		},
		{
			name: "rope_theta 1e4 in config.json beside a GGUF of 1e6",
			src: func(t *testing.T) *hub.Mem {
				c := qwen3.TinyMoE()
				c.RopeTheta = 1e4
				return withConfig(tinySource(t, tiny, "gguf"), configText(t, c))
			},
			want: audit.Finding{File: "config.json", Field: "rope_theta", Message: "config.json has rope_theta 10000, the GGUF metadata 1e+06"},
		},
		{
			name: "rms_norm_eps 1e-5 in config.json beside a GGUF of 1e-6",
			src: func(t *testing.T) *hub.Mem {
				return withConfig(tinySource(t, tiny, "gguf"), configText(t, qwen3.TinyMoE(), `"rms_norm_eps":0.000001`, `"rms_norm_eps":1e-5`))
			},
			want: audit.Finding{File: "config.json", Field: "rms_norm_eps", Message: "config.json has rms_norm_eps 1e-05, the GGUF metadata 9.99999997"},
		},
		{
			name: "max_position_embeddings against context_length",
			src: func(t *testing.T) *hub.Mem {
				c := qwen3.TinyMoE()
				c.MaxPositionEmbeddings = 256
				return withConfig(tinySource(t, tiny, "gguf"), configText(t, c))
			},
			want: audit.Finding{File: "config.json", Field: "max_position_embeddings", Message: "config.json has max_position_embeddings 256, the GGUF metadata 128"},
		},
		{
			name: "negative rms_norm_eps in config.json",
			src: func(t *testing.T) *hub.Mem {
				return withConfig(tinySource(t, tiny, "hf"), configText(t, qwen3.TinyMoE(), `"rms_norm_eps":0.000001`, `"rms_norm_eps":-1e-6`))
			},
			want: audit.Finding{File: "config.json", Field: "rms_norm_eps", Message: "rms_norm_eps is -1e-06, want a finite number ≥ 0"},
		},
		{
			name: "Python's Infinity as rope_theta",
			src: func(t *testing.T) *hub.Mem {
				return withConfig(tinySource(t, tiny, "hf"), configText(t, qwen3.TinyMoE(), `"rope_theta":1000000`, `"rope_theta":Infinity`))
			},
			want: audit.Finding{File: "config.json", Field: "rope_theta", Message: "rope_theta is +Inf, want a positive finite number"},
		},
		{
			name: "max_position_embeddings 0",
			src: func(t *testing.T) *hub.Mem {
				return withConfig(tinySource(t, tiny, "hf"), configText(t, qwen3.TinyMoE(), `"max_position_embeddings":128`, `"max_position_embeddings":0`))
			},
			want: audit.Finding{File: "config.json", Field: "max_position_embeddings", Message: "max_position_embeddings is 0, want ≥ 1"},
		},
		{
			name: "negative epsilon in the GGUF metadata",
			src:  func(t *testing.T) *hub.Mem { return tinySource(t, withEps(-1e-6), "gguf") },
			want: audit.Finding{File: "tiny.gguf", Field: "rms_norm_eps", Message: "rms_norm_eps (qwen3moe.attention.layer_norm_rms_epsilon) is -9.99999997"},
		},
		{
			name: "GGUF metadata without context_length",
			src:  func(t *testing.T) *hub.Mem { return tinySource(t, dropKey{tiny, "qwen3moe.context_length"}, "gguf") },
			want: audit.Finding{File: "tiny.gguf", Field: "max_position_embeddings", Message: "the GGUF metadata has no qwen3moe.context_length (max_position_embeddings), which llama.cpp requires"},
		},
		{
			name: "GGUF metadata without rope.freq_base beside config.json",
			src: func(t *testing.T) *hub.Mem {
				return withConfig(tinySource(t, dropKey{tiny, "qwen3moe.rope.freq_base"}, "gguf"), configText(t, qwen3.TinyMoE()))
			},
			want: audit.Finding{File: "config.json", Field: "rope_theta", Message: "config.json has rope_theta 1e+06, the GGUF metadata 10000 (qwen3moe.rope.freq_base absent: what llama.cpp assumes)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := auditSource(t, tt.src(t))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			var got []audit.Finding
			for _, f := range r.Findings {
				if f.Check == audit.CheckConfig {
					got = append(got, f)
				}
			}
			if len(got) != 1 || got[0].File != tt.want.File || got[0].Field != tt.want.Field || !strings.HasPrefix(got[0].Message, tt.want.Message) {
				t.Fatalf("%s findings %+v, want one like %+v", audit.CheckConfig, got, tt.want)
			}
			if c := checkByID(r, audit.CheckConfig); c.Pass || c.Skipped || r.Verdict != audit.VerdictFail {
				t.Errorf("%s pass %v, skipped %v, verdict %q; want it failing the audit", audit.CheckConfig, c.Pass, c.Skipped, r.Verdict)
			}
			// The configuration's problems do not stop the counting.
			for _, id := range []string{qwen3.Obligations.Total, qwen3.Obligations.Active, audit.CheckTensors} {
				if c := checkByID(r, id); !c.Pass {
					t.Errorf("%s failed: %s", id, c.Detail)
				}
			}
		})
	}
}

// A clean checkpoint has no STRUCT-CONFIG finding: config.json beside a
// GGUF file agrees with its float32 metadata (the check passes); alone,
// or a GGUF file alone, there is nothing to compare (the check does not
// apply, and says what it checked). A key whose case differs from the one
// transformers reads is another key, ignored.
func TestConfigClean(t *testing.T) {
	tiny := qwen3.MustNew(qwen3.TinyMoE())
	tests := []struct {
		name       string
		src        func(t *testing.T) *hub.Mem
		skipped    bool
		wantDetail string
	}{
		{"config.json beside GGUF", func(t *testing.T) *hub.Mem {
			return withConfig(tinySource(t, tiny, "gguf"), configText(t, qwen3.TinyMoE()))
		},
			false, "config.json agrees with the GGUF metadata"},
		{"safetensors", func(t *testing.T) *hub.Mem { return tinySource(t, tiny, "hf") },
			true, "not applicable: the architecture comes from config.json alone (no key in it twice, no value the model cannot run with)"},
		{"safetensors with VOCAB_SIZE and MODEL_TYPE beside the keys", func(t *testing.T) *hub.Mem {
			return withConfig(tinySource(t, tiny, "hf"), configText(t, qwen3.TinyMoE(), `{`, `{"VOCAB_SIZE":320,"MODEL_TYPE":"llama",`))
		}, true, "not applicable: the architecture comes from config.json alone"},
		{"GGUF alone", func(t *testing.T) *hub.Mem { return tinySource(t, tiny, "gguf") },
			true, "not applicable: no config.json beside the GGUF file: the architecture comes from its metadata (no value in it the model cannot run with)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := auditSource(t, tt.src(t))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			c := checkByID(r, audit.CheckConfig)
			if c.Skipped != tt.skipped || c.Pass == tt.skipped || !strings.HasPrefix(c.Detail, tt.wantDetail) {
				t.Errorf("%s skipped %v, pass %v, detail %q; want skipped %v, detail %q", audit.CheckConfig, c.Skipped, c.Pass, c.Detail, tt.skipped, tt.wantDetail)
			}
			if len(r.Findings) != 0 || r.Verdict != audit.VerdictPass {
				t.Errorf("verdict %q, findings %+v; want a pass without any", r.Verdict, r.Findings)
			}
			if r.Params.Total != tiny.Predict().Total {
				t.Errorf("total %d, want %d", r.Params.Total, tiny.Predict().Total)
			}
		})
	}
}

// A model_type in another case does not switch the family: transformers
// reads "model_type", here one no family registers, so the architecture is
// not checked (and not taken for Qwen3-MoE).
func TestConfigModelTypeCaseVariant(t *testing.T) {
	src := withConfig(tinySource(t, qwen3.MustNew(qwen3.TinyMoE()), "hf"),
		configText(t, qwen3.TinyMoE(), `"model_type":"qwen3_moe"`, `"model_type":"frobnicator","MODEL_TYPE":"qwen3_moe"`))
	r, err := auditSource(t, src)
	if err != nil || r.Model.Family != "unknown" || !strings.Contains(r.Model.NotChecked, `model_type "frobnicator"`) || r.Verdict != audit.VerdictIncomplete {
		t.Errorf(`Run(model_type "frobnicator", MODEL_TYPE "qwen3_moe") = %+v, %v; want the architecture not checked, naming model_type "frobnicator"`, r.Model, err)
	}
}

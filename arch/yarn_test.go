package arch_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/spotcheck/forward"
)

// The attention factor follows _compute_yarn_parameters' rule: the
// config's attention_factor; else with mscale and mscale_all_dim both
// set get_mscale(f, mscale)/get_mscale(f, mscale_all_dim) (DeepSeek-V3:
// 1); else get_mscale(f) = 0.1·ln f + 1 (gpt-oss: 1.3465736). Absent keys
// take transformers' defaults: betas 32 and 1, truncate true, the
// original context max_position_embeddings.
func TestYaRNScaling(t *testing.T) {
	for _, tt := range []struct {
		name, raw string
		attn      float64
		truncate  bool
		orig      float64
	}{
		{"gpt-oss", `{"beta_fast":32.0,"beta_slow":1.0,"factor":32.0,"original_max_position_embeddings":4096,"rope_type":"yarn","truncate":false}`, 1.3465736, false, 4096},
		{"deepseek-v3", `{"beta_fast":32,"beta_slow":1,"factor":40,"mscale":1.0,"mscale_all_dim":1.0,"original_max_position_embeddings":4096,"type":"yarn"}`, 1, true, 4096},
		{"mscale apart", `{"factor":40,"mscale":1.0,"mscale_all_dim":0.5,"type":"yarn"}`, (0.1*math.Log(40) + 1) / (0.05*math.Log(40) + 1), true, 1000},
		{"attention_factor", `{"factor":4,"attention_factor":0.8,"rope_type":"yarn"}`, 0.8, true, 1000},
	} {
		if k := arch.RopeKind(json.RawMessage(tt.raw)); k != "yarn" {
			t.Fatalf("%s: RopeKind = %q", tt.name, k)
		}
		y, err := arch.ParseYaRN(json.RawMessage(tt.raw))
		if err != nil {
			t.Fatal(err)
		}
		s := y.Scaling(1000)
		if s.Type != forward.RopeYaRN || math.Abs(s.AttnFactor-tt.attn) > 1e-7 || s.Truncate != tt.truncate || s.OriginalMaxPositions != tt.orig ||
			s.BetaFast != 32 || s.BetaSlow != 1 {
			t.Errorf("%s: %+v, want attention factor %v, truncate %v, original %v, betas 32 and 1", tt.name, s, tt.attn, tt.truncate, tt.orig)
		}
	}
	for raw, want := range map[string]string{"": "", "null": "", `{"rope_type":"default"}`: "", `{"type":"dynamic","factor":2}`: "dynamic"} {
		if k := arch.RopeKind(json.RawMessage(raw)); k != want {
			t.Errorf("RopeKind(%s) = %q, want %q", raw, k, want)
		}
	}
}

// The GGUF keys written for a YaRN config read back as llama.cpp runs
// them: the same factor, context and betas, the ramp truncated, and cos
// and sin times yarn_attn_factor (1 when absent) · (0.1·ln f + 1).
func TestYaRNGGUF(t *testing.T) {
	y, err := arch.ParseYaRN(json.RawMessage(`{"beta_fast":32.0,"beta_slow":1.0,"factor":32.0,"original_max_position_embeddings":4096,"rope_type":"yarn","truncate":false}`))
	if err != nil {
		t.Fatal(err)
	}
	m := &arch.GGUFMeta{Arch: "gpt-oss", Parts: []*gguf.File{{KVs: arch.YaRNMetadata("gpt-oss", y)}}}
	got, err := arch.ReadYaRN(m)
	if err != nil || got == nil {
		t.Fatalf("ReadYaRN = %v, %v", got, err)
	}
	s := got.Scaling(131072)
	if s.Factor != 32 || s.OriginalMaxPositions != 4096 || s.BetaFast != 32 || s.BetaSlow != 1 || !s.Truncate || math.Abs(s.AttnFactor-1.3465736) > 1e-7 {
		t.Errorf("read back %+v", s)
	}
	if got, err := arch.ReadYaRN(&arch.GGUFMeta{Arch: "gpt-oss", Parts: []*gguf.File{{}}}); got != nil || err != nil {
		t.Errorf("no rope.scaling.type: %v, %v; want nil", got, err)
	}
}

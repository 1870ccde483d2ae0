package llama_test

import (
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/archtest"
	"github.com/weightaudit/weightaudit/arch/llama"
	"github.com/weightaudit/weightaudit/audit"
	"github.com/weightaudit/weightaudit/checkpoint"
)

func checkByID(r *audit.Report, id string) audit.Check {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return audit.Check{ID: id + " (absent)"}
}

// The published models, synthesized from their configs (real headers,
// virtual data), audit cleanly in both formats under their family's ids,
// with the totals worked out by hand in predict_test.go and their profile
// recognized.
func TestAuditPublished(t *testing.T) {
	tests := []struct {
		name          string
		cfg           *llama.Config
		total, active int64
		ob            arch.Obligations
	}{
		{"Llama-3.1-8B", llama.Llama31_8B(), llama31_8B, llama31_8B, llama.Obligations},
		{"Llama-3.2-1B", llama.Llama32_1B(), llama32_1B, llama32_1B, llama.Obligations},
		{"Mistral-7B-v0.1", llama.Mistral7B_v01(), mistral7B, mistral7B, llama.Obligations},
		{"Mixtral-8x7B-v0.1", llama.Mixtral8x7B_v01(), mixtral8x7B, mixtralActive, llama.MixtralObligations},
	}
	for _, tt := range tests {
		for _, f := range archtest.Formats {
			t.Run(tt.name+"/"+string(f), func(t *testing.T) {
				r := archtest.Default.Audit(t, tt.name, llama.MustNew(tt.cfg), f)
				if !r.Pass || !r.Gate.Pass || r.Gate.ID != tt.ob.Gate || r.Coverage.Verified != 7 {
					for _, c := range r.Checks {
						t.Logf("%s %v %s", c.ID, c.Pass, c.Detail)
					}
					t.Fatalf("verdict %q, gate %+v, coverage %+v; want a pass of %s with 7/7", r.Verdict, r.Gate, r.Coverage, tt.ob.Gate)
				}
				for _, id := range tt.ob.List() {
					if c := checkByID(r, id); !c.Pass || c.Skipped {
						t.Errorf("%s: pass %v, skipped %v", id, c.Pass, c.Skipped)
					}
				}
				if r.Params.Total != tt.total || r.Params.Active != tt.active || r.Params.PredictedTotal != tt.total {
					t.Errorf("params %+v, want total %d, active %d", r.Params, tt.total, tt.active)
				}
				if r.Model.Profile != tt.name {
					t.Errorf("profile %q, want %q", r.Model.Profile, tt.name)
				}
			})
		}
	}
}

// Each defect fails the check that owns it, and the finding names the
// offender, in both formats and for both families.
func TestAuditDefects(t *testing.T) {
	dense, moe := llama.MustNew(llama.TinyDense()), llama.MustNew(llama.TinyMoE())
	byFormat := func(hf, gg string) map[checkpoint.Format]string {
		return map[checkpoint.Format]string{checkpoint.FormatSafetensors: hf, checkpoint.FormatGGUF: gg}
	}
	tests := []struct {
		name   string
		spec   *llama.Spec
		tensor map[checkpoint.Format]string
		broken func(spec *llama.Spec, tensor string) arch.Spec
		msg    map[checkpoint.Format]string // in the STRUCT-TENSORS finding on the tensor
		also   []string                     // obligations that fail too (by index into List)
	}{
		{"missing layer tensor", dense, byFormat("model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight"),
			func(s *llama.Spec, n string) arch.Spec { return without(s, n) },
			byFormat("missing: llama predicts mlp_down [32 64]", "missing: llama predicts mlp_down [64 32]"),
			[]string{llama.Obligations.Total, llama.Obligations.Active, llama.Obligations.FLOPs, llama.Obligations.Blocks}},
		{"mis-shaped q_proj", dense, byFormat("model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"),
			func(s *llama.Spec, n string) arch.Spec {
				if strings.HasPrefix(n, "blk.") {
					return archtest.Edited{Spec: s, Edit: archtest.Reshape(n, 32, 24)}
				}
				return archtest.Edited{Spec: s, Edit: archtest.Reshape(n, 24, 32)}
			},
			byFormat("shape [24 32], want [32 32]", "shape [32 24], want [32 32]"),
			[]string{llama.Obligations.Total, llama.Obligations.Blocks}},
		{"missing expert", moe, byFormat("model.layers.1.block_sparse_moe.experts.3.w2.weight", "blk.1.ffn_down_exps.weight"),
			func(s *llama.Spec, n string) arch.Spec { return without(s, n) },
			byFormat("missing: mixtral predicts expert_down [32 64]", "missing: mixtral predicts expert_down [64 32 4]"),
			[]string{llama.MixtralObligations.Total, llama.MixtralObligations.Active, llama.MixtralObligations.Blocks}},
		{"missing router", moe, byFormat("model.layers.0.block_sparse_moe.gate.weight", "blk.0.ffn_gate_inp.weight"),
			func(s *llama.Spec, n string) arch.Spec { return without(s, n) },
			byFormat("missing: mixtral predicts router [4 32]", "missing: mixtral predicts router [32 4]"),
			[]string{llama.MixtralObligations.Total, llama.MixtralObligations.Blocks}},
		{"a q_proj bias the family does not predict", dense, byFormat("model.layers.0.self_attn.q_proj.bias", "blk.0.attn_q.bias"),
			func(s *llama.Spec, n string) arch.Spec {
				return archtest.Edited{Spec: s, Edit: func(_ checkpoint.Format, exp []arch.Expected) []arch.Expected {
					return append(exp, arch.Expected{Name: n, Shape: []int64{32}, Layer: 0, Expert: -1})
				}}
			},
			byFormat("unexpected tensor: llama predicts no tensor of this name", "unexpected tensor: llama predicts no tensor of this name"),
			[]string{llama.Obligations.Total}},
	}
	for _, tt := range tests {
		for _, f := range archtest.Formats {
			t.Run(tt.name+"/"+string(f), func(t *testing.T) {
				tensor := tt.tensor[f]
				r := archtest.Default.Audit(t, "tiny", tt.broken(tt.spec, tensor), f)
				if r.Pass || r.Gate.Pass || r.Verdict != audit.VerdictFail {
					t.Fatalf("verdict %q, gate %v; want a failure", r.Verdict, r.Gate.Pass)
				}
				if c := checkByID(r, audit.CheckTensors); c.Pass {
					t.Errorf("%s passed: %s", audit.CheckTensors, c.Detail)
				}
				for _, id := range tt.also {
					if c := checkByID(r, id); c.Pass {
						t.Errorf("%s passed: %s", id, c.Detail)
					}
				}
				if !archtest.HasFinding(r, audit.CheckTensors, tensor, tt.msg[f]) {
					t.Errorf("no %s finding on %s saying %q; findings:", audit.CheckTensors, tensor, tt.msg[f])
					for _, x := range r.Findings {
						t.Logf("  %+v", x)
					}
				}
			})
		}
	}
}

// A Mistral checkpoint audits as the llama family, under LLAMA ids, in both
// formats; its sliding window bounds the KV cache of the safetensors
// audit (the GGUF file does not carry it).
func TestAuditMistral(t *testing.T) {
	for _, f := range archtest.Formats {
		r := archtest.Default.Audit(t, "tiny", llama.MustNew(llama.TinyMistral()), f)
		if !r.Pass || r.Model.Family != "llama" || r.Gate.ID != "F-LLAMA-001" {
			t.Errorf("%s: verdict %q, family %q, gate %+v; want a pass of llama under F-LLAMA-001", f, r.Verdict, r.Model.Family, r.Gate)
		}
	}
}

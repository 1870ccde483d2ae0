package verify_test

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/safetensors"
	"github.com/weightaudit/weightaudit/verify"
)

// cleanData fills a tensor with random data that no check flags: F32
// normals, F16/BF16 of exponents well inside the range, FP8 codes off the
// all-ones exponent (E4M3's NaN S.1111.111; E5M2's Inf and NaN
// S.11111.xx), U8 bytes under 0xFF (an MXFP4 scale of 0xFF is NaN),
// ggml MXFP4 blocks whose E8M0 byte is under 0xFF, and no zero byte
// anywhere (so no zero run of any length).
func cleanData(p synth.Placed) ([]byte, error) {
	rng := rand.New(rand.NewPCG(uint64(len(p.Name)), uint64(p.Offset)))
	b := make([]byte, p.Bytes)
	for i := range b {
		b[i] = byte(1 + rng.IntN(0xFE)) // 1..0xFE
	}
	switch p.DType {
	case "F32":
		for i := 0; i+4 <= len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(0.5+rng.Float64())))
		}
	case "F16":
		for i := 0; i+2 <= len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], uint16(10+rng.IntN(10))<<10|uint16(1+rng.IntN(0x3FE)))
		}
	case "BF16":
		for i := 0; i+2 <= len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], uint16(120+rng.IntN(10))<<7|uint16(1+rng.IntN(0x7E)))
		}
	case "F8_E4M3", "F8_E5M2":
		for i := range b {
			if b[i]&0x78 == 0x78 || b[i]&0x7C == 0x7C {
				b[i] ^= 0x40
			}
		}
	case "MXFP4": // ggml's block_mxfp4: the E8M0 byte, then 16 of codes
		for i := 0; i < len(b); i += 17 {
			b[i] = byte(120 + rng.IntN(8))
		}
	}
	return b, nil
}

// writeLayout writes l with clean data into a new folder and returns the
// path to verify (the folder, or its only file).
func writeLayout(tb testing.TB, l *synth.Layout) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := l.WriteDir(context.Background(), dir, cleanData); err != nil {
		tb.Fatal(err)
	}
	var models []string
	for _, f := range l.Files {
		if strings.HasSuffix(f.Name, ".gguf") {
			models = append(models, f.Name)
		}
	}
	if len(models) == 1 {
		return filepath.Join(dir, models[0])
	}
	return dir
}

// Each encoding a pre-quantized checkpoint stores has its NaN, Inf and
// zero runs reported with the tensor and the offset of the first: FP8
// codes (E4M3's 0x7F and 0xFF, E5M2's 0x7C), an FP8 block scale, a GPTQ
// and an AWQ F16 group scale, gpt-oss's MXFP4 scales (U8 holding E8M0:
// 0xFF is NaN) and a zeroed run of its blocks, and a zeroed run of ggml
// MXFP4 blocks. The clean files report nothing.
func TestVerifyQuantizedEncodings(t *testing.T) {
	qwen := func(qc arch.QuantConfig) arch.Spec {
		c := qwen3.TinyMoE()
		c.QuantizationConfig = &qc
		return qwen3.MustNew(c)
	}
	fp8 := arch.QuantConfig{QuantMethod: "fp8", Fmt: "e4m3", WeightBlockSize: []int64{16, 16}}
	fp8E5M2 := arch.QuantConfig{QuantMethod: "fp8", Fmt: "e5m2", WeightBlockSize: []int64{16, 16}}
	hf := func(name string, spec arch.Spec, opts synth.HFOptions) func(t *testing.T) string {
		return func(t *testing.T) string {
			opts.Shards = 2
			l, err := synth.HF(name, spec, opts)
			if err != nil {
				t.Fatal(err)
			}
			return writeLayout(t, l)
		}
	}
	// planted is a finding expected, at an offset in the tensor.
	type planted struct {
		check, tensor string
		at            int64
		count, length int64
	}
	type plant struct {
		tensor string
		at     int64 // offset in the tensor
		b      []byte
	}
	tests := []struct {
		name    string
		write   func(t *testing.T) string
		zeroRun int64
		plants  []plant
		want    []planted
		scales  bool // the finding says "block scales"
	}{
		{
			name:   "fp8-e4m3-nan-codes",
			write:  hf("fp8", qwen(fp8), synth.HFOptions{FP8Blocks: true}),
			plants: []plant{{"model.layers.1.mlp.experts.3.up_proj.weight", 77, []byte{0x7F}}, {"model.layers.1.mlp.experts.3.up_proj.weight", 500, []byte{0xFF}}},
			want:   []planted{{verify.CheckNaN, "model.layers.1.mlp.experts.3.up_proj.weight", 77, 2, 0}},
		},
		{
			name:   "fp8-e5m2-inf-code",
			write:  hf("fp8", qwen(fp8E5M2), synth.HFOptions{FP8Blocks: true, FP8Type: safetensors.F8_E5M2}),
			plants: []plant{{"model.layers.0.self_attn.q_proj.weight", 3, []byte{0x7C}}},
			want:   []planted{{verify.CheckInf, "model.layers.0.self_attn.q_proj.weight", 3, 1, 0}},
		},
		{
			name:   "fp8-nan-scale",
			write:  hf("fp8", qwen(fp8), synth.HFOptions{FP8Blocks: true}),
			plants: []plant{{"model.layers.0.self_attn.k_proj.weight_scale_inv", 4, []byte{0x00, 0x00, 0xC0, 0x7F}}},
			want:   []planted{{verify.CheckNaN, "model.layers.0.self_attn.k_proj.weight_scale_inv", 4, 1, 0}},
			scales: true,
		},
		{
			name:   "gptq-nan-scale",
			write:  hf("gptq", qwen(arch.QuantConfig{QuantMethod: "gptq", Bits: 4, GroupSize: 8}), synth.HFOptions{}),
			plants: []plant{{"model.layers.0.mlp.experts.1.down_proj.scales", 2 * 9, []byte{0x00, 0x7E}}},
			want:   []planted{{verify.CheckNaN, "model.layers.0.mlp.experts.1.down_proj.scales", 18, 1, 0}},
			scales: true,
		},
		{
			name:   "awq-inf-scale",
			write:  hf("awq", qwen(arch.QuantConfig{QuantMethod: "awq", Bits: 4, GroupSize: 8}), synth.HFOptions{}),
			plants: []plant{{"model.layers.1.self_attn.o_proj.scales", 6, []byte{0x00, 0xFC}}},
			want:   []planted{{verify.CheckInf, "model.layers.1.self_attn.o_proj.scales", 6, 1, 0}},
			scales: true,
		},
		{
			name:   "mxfp4-nan-scale",
			write:  hf("oss", gptoss.MustNew(gptoss.Tiny()), synth.HFOptions{}),
			plants: []plant{{"model.layers.1.mlp.experts.down_proj_scales", 33, []byte{0xFF}}},
			want:   []planted{{verify.CheckNaN, "model.layers.1.mlp.experts.down_proj_scales", 33, 1, 0}},
			scales: true,
		},
		{
			name:    "mxfp4-zeroed-blocks",
			write:   hf("oss", gptoss.MustNew(gptoss.Tiny()), synth.HFOptions{}),
			zeroRun: 512,
			plants:  []plant{{"model.layers.0.mlp.experts.gate_up_proj_blocks", 1000, make([]byte, 600)}},
			want:    []planted{{verify.CheckZeroRun, "model.layers.0.mlp.experts.gate_up_proj_blocks", 1000, 0, 600}},
		},
		{
			name: "ggml-mxfp4-zeroed-blocks",
			write: func(t *testing.T) string {
				l, err := synth.GGUF("oss", gptoss.MustNew(gptoss.Tiny()), synth.GGUFOptions{Type: "MXFP4", NoTokenizer: true})
				if err != nil {
					t.Fatal(err)
				}
				return writeLayout(t, l)
			},
			zeroRun: 512,
			plants:  []plant{{"blk.1.ffn_down_exps.weight", 17 * 20, make([]byte, 17*40)}},
			want:    []planted{{verify.CheckZeroRun, "blk.1.ffn_down_exps.weight", 17 * 20, 0, 17 * 40}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.write(t)
			if r := runVerify(t, path, verify.Options{ZeroRun: tt.zeroRun}); !r.Pass {
				t.Fatalf("clean files: %d findings, the first %+v", len(r.Findings), r.Findings[0])
			}
			var want []finding
			for i, p := range tt.plants {
				tn, file := tensorAt(t, path, p.tensor)
				patch(t, file, tn.Offset+p.at, p.b)
				if i < len(tt.want) {
					w := tt.want[i]
					want = append(want, finding{Check: w.check, File: tn.File, Tensor: w.tensor, Offset: tn.Offset + w.at, Length: w.length, Count: w.count})
				}
			}
			r := runVerify(t, path, verify.Options{ZeroRun: tt.zeroRun})
			if diff := cmp.Diff(want, findings(r)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if len(r.Findings) > 0 && tt.scales != strings.Contains(r.Findings[0].Message, "block scales") {
				t.Errorf("finding %q: says block scales %v, want %v", r.Findings[0].Message, !tt.scales, tt.scales)
			}
		})
	}
}

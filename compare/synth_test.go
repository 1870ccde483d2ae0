package compare_test

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// write writes l into a temporary folder with data (nil: holes, read as
// zeros) and loads it.
func write(t *testing.T, l *synth.Layout, data func(synth.Placed) ([]byte, error)) *checkpoint.Checkpoint {
	t.Helper()
	dir := t.TempDir()
	if err := l.WriteDir(context.Background(), dir, data); err != nil {
		t.Fatal(err)
	}
	path := dir
	if len(l.Files) == 1 {
		path = dir + "/" + l.Files[0].Name
	}
	return loadPath(t, path)
}

// e4m3 returns the value of an FP8 E4M3 byte (1 sign, 4 exponent bits of
// bias 7, 3 mantissa bits; subnormals below exponent 1), from the OCP
// definition.
func e4m3(b byte) float32 {
	sign := float32(1)
	if b&0x80 != 0 {
		sign = -1
	}
	e, m := int(b>>3&0xf), float64(b&7)
	if e == 0 {
		return sign * float32(math.Ldexp(m/8, -6))
	}
	return sign * float32(math.Ldexp(1+m/8, e-7))
}

// A block-FP8 checkpoint compares clean against its dequantized F32 copy
// only when each weight's block scales are applied: DeepSeek's tiny
// layout with 16×16 blocks, each block's scale its own power of two.
func TestFP8ScalesApplied(t *testing.T) {
	spec := deepseek.MustNew(deepseek.Tiny())
	fp8, err := synth.HF("fp8", spec, synth.HFOptions{FP8Blocks: true, Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	byte8 := func(name string, i int) byte { // finite E4M3: never 0x7f or 0xff (NaN)
		h := fnv.New32a()
		h.Write([]byte(name))
		b := byte((h.Sum32() + uint32(i)*2654435761) >> 24)
		if b&0x7f == 0x7f {
			b ^= 1
		}
		return b
	}
	scaleOf := func(name string, i int) float32 { return float32(math.Ldexp(1, i%5-2)) }
	a := write(t, fp8, func(p synth.Placed) ([]byte, error) {
		out := make([]byte, p.Bytes)
		switch p.DType {
		case "F8_E4M3":
			for i := range out {
				out[i] = byte8(p.Name, i)
			}
		case "F32":
			for i := 0; i < len(out)/4; i++ {
				binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(scaleOf(p.Name, i)))
			}
		}
		return out, nil
	})
	// The same model in F32: every weight dequantized, w·scale of its block.
	plain := deepseek.Tiny()
	plain.QuantizationConfig = nil
	f32, err := synth.HF("f32", deepseek.MustNew(plain), synth.HFOptions{DType: safetensors.F32, Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int64{}
	for _, e := range spec.Expected(checkpoint.FormatSafetensors) {
		shapes[e.Name] = e.Shape
	}
	b := write(t, f32, func(p synth.Placed) ([]byte, error) {
		out := make([]byte, p.Bytes)
		scaled := shapes[p.Name+"_scale_inv"] != nil
		cols := p.Shape[len(p.Shape)-1]
		for i := 0; i < len(out)/4; i++ {
			v := float32(0)
			if scaled {
				r, c := int64(i)/cols, int64(i)%cols
				sc := shapes[p.Name+"_scale_inv"][1]
				v = e4m3(byte8(p.Name, i)) * scaleOf(p.Name+"_scale_inv", int(r/16*sc+c/16))
			}
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	})
	r, err := compare.Run(context.Background(), a, b, compare.Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, p := range r.Pairs {
		if strings.Contains(p.Transform, "FP8 block scales") {
			applied++
		}
	}
	if !r.Pass || applied == 0 {
		t.Errorf("%s; %d pairs with their scales applied", r.Headline, applied)
		for _, p := range r.Pairs {
			if !p.Pass {
				t.Logf("%s %s: %.3g > %.3g %s", p.Role, p.A, p.RelRMS, p.Bound, p.Diagnosis)
				break
			}
		}
	}
}

// What lacks a partner is sorted: a tensor of the model missing from B
// fails the comparison; the multi-token-prediction layer and the block
// scales, which llama.cpp's GGUF does not carry, are expected; gpt-oss's
// fused gate_up and its bias are paired with GGUF's split tensors.
func TestUnpaired(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		spec := qwen3.MustNew(qwen3.TinyMoE())
		a, err := synth.HF("a", spec, synth.HFOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := synth.GGUF("b", dropping{spec, "blk.1.attn_v.weight"}, synth.GGUFOptions{Type: "F16"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := compare.Run(context.Background(), write(t, a, nil), write(t, b, nil), compare.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Pass || r.Verdict != "fail" || !slices.ContainsFunc(r.Unpaired, func(u compare.Unpaired) bool {
			return u.Side == "a" && u.Tensor == "model.layers.1.self_attn.v_proj.weight" && !u.Expected && strings.Contains(u.Reason, "no layer 1 attn_v")
		}) {
			t.Errorf("%s; unpaired %+v", r.Headline, r.Unpaired)
		}
	})
	t.Run("expected", func(t *testing.T) {
		spec := deepseek.MustNew(deepseek.Tiny())
		a, err := synth.HF("a", spec, synth.HFOptions{FP8Blocks: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := synth.GGUF("b", spec, synth.GGUFOptions{Type: "F16"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := compare.Run(context.Background(), write(t, a, nil), write(t, b, nil), compare.Options{})
		if err != nil {
			t.Fatal(err)
		}
		mtp := slices.ContainsFunc(r.Unpaired, func(u compare.Unpaired) bool {
			return u.Expected && strings.HasPrefix(u.Tensor, "model.layers.3.") && strings.Contains(u.Reason, "multi-token-prediction")
		})
		// kv_b in Hugging Face, attn_k_b and attn_v_b in GGUF: paired as split.
		kvb := slices.ContainsFunc(r.Pairs, func(p compare.Pair) bool { return strings.Contains(p.Transform, "split per head") })
		if !mtp || !kvb || r.Verdict != "pass" {
			t.Errorf("%s (verdict %s): MTP expected %v, kv_b paired with its split %v", r.Headline, r.Verdict, mtp, kvb)
		}
	})
	t.Run("fused", func(t *testing.T) {
		spec := gptoss.MustNew(gptoss.Tiny())
		plain := gptoss.Tiny()
		plain.QuantizationConfig = nil
		a, err := synth.HF("a", gptoss.MustNew(plain), synth.HFOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := synth.GGUF("b", spec, synth.GGUFOptions{Type: "F16"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := compare.Run(context.Background(), write(t, a, nil), write(t, b, nil), compare.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// The weights are paired expert by expert, the fused bias with
		// its split by columns (TestSplitGateUp): nothing is left unpaired.
		if r.Verdict != "pass" || len(r.Unpaired) != 0 ||
			!slices.ContainsFunc(r.Pairs, func(p compare.Pair) bool { return strings.Contains(p.Role, "(interleaved)") }) ||
			!slices.ContainsFunc(r.Pairs, func(p compare.Pair) bool {
				return strings.Contains(p.Role, "(interleaved by columns)") && p.A == "model.layers.0.mlp.experts.gate_up_proj_bias"
			}) {
			t.Errorf("%s (verdict %s); unpaired %+v", r.Headline, r.Verdict, r.Unpaired)
		}
	})
}

// dropping is a spec whose GGUF layout lacks one tensor.
type dropping struct {
	*qwen3.Spec
	name string
}

func (d dropping) Expected(f checkpoint.Format) []arch.Expected {
	return slices.DeleteFunc(d.Spec.Expected(f), func(e arch.Expected) bool { return e.Name == d.name })
}

// A GGUF whose general.file_type names a recipe its tensors do not follow
// (here Q4_K_M over uniform Q8_0 tensors) is a metadata finding per tensor.
func TestRecipeMismatch(t *testing.T) {
	spec := qwen3.MustNew(qwen3.TinyMoE())
	a, err := synth.HF("a", spec, synth.HFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := synth.GGUF("b", spec, synth.GGUFOptions{Type: "Q8_0", NoTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	head := b.Files[0].Head
	key := []byte("general.file_type")
	i := strings.Index(string(head), string(key))
	if i < 0 {
		t.Fatal("no general.file_type")
	}
	at := i + len(key) + 4 // the value type (uint32), then the value
	if got := binary.LittleEndian.Uint32(head[at:]); got != 7 {
		t.Fatalf("general.file_type %d, want Q8_0's 7", got)
	}
	binary.LittleEndian.PutUint32(head[at:], 15)
	r, err := compare.Run(context.Background(), write(t, a, nil), write(t, b, nil), compare.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := gguf.TypeQ8_0.String()
	if r.Pass || !slices.ContainsFunc(r.Metadata, func(f compare.Finding) bool {
		return f.Tensor == "blk.0.attn_q.weight" && strings.Contains(f.Message, "is "+want+", where the Q4_K_M recipe")
	}) {
		t.Errorf("%s; metadata %+v", r.Headline, r.Metadata)
	}
}

package compare_test

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/qwen3"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/safetensors"
)

// int4Role gives a quantized weight of a role its codes, zeros (1–15) and
// power-of-two scales, from hashes of the role and the place.
func int4Role(layer int, comp arch.Component, expert int) (q func(i, o int64) uint32, zero, scaleExp func(g, o int64) int) {
	q = func(i, o int64) uint32 { return uint32(int(value(layer, comp+"q", expert, i, o)*8+8) & 15) }
	zero = func(g, o int64) int { return 1 + int(value(layer, comp+"z", expert, g, o)*7+7)%15 }
	scaleExp = func(g, o int64) int { return -2 - int(value(layer, comp+"s", expert, g, o)*2+2) }
	return
}

// TestInt4 writes TinyMoE quantized by GPTQ (act-order: input i in group
// i mod groups, through g_idx) and by AWQ, packing the codes as their
// definitions say (GPTQ: qweight [in/8, out], nibble j of row r input
// r·8+j, zeros stored minus one; AWQ: qweight [in, out/8], nibble n of
// column c output c·8 + [0 2 4 6 1 3 5 7][n]), and the F32 checkpoint of
// the values (q − zero)·scale: both compare exactly. GPTQ in both
// checkpoint formats: "gptq" (AutoGPTQ's, zeros stored minus one) and
// "gptq_v2" (GPTQModel's, zeros stored as they are), each selected by
// quantization_config.checkpoint_format; a file whose zeros are stored as
// the other format stores them fails.
func TestInt4(t *testing.T) {
	const group = 16
	awqOrder := [8]int64{0, 2, 4, 6, 1, 3, 5, 7}
	plain := qwen3.MustNew(qwen3.TinyMoE())
	shapes := map[[3]any][]int64{} // the logical [out, in] of each role
	for _, e := range plain.Expected(checkpoint.FormatSafetensors) {
		shapes[[3]any{e.Layer, e.Component, e.Expert}] = e.Shape
	}
	groupOf := func(method string, groups, i int64) int64 {
		if method == "gptq" {
			return i % groups
		}
		return i / group
	}
	for _, variant := range []struct{ method, format string }{{"gptq", ""}, {"gptq", "gptq_v2"}, {"awq", ""}} {
		method := variant.method
		for _, offByOne := range []bool{false, true} {
			if method == "awq" && offByOne {
				continue
			}
			// The zeros are stored minus one in GPTQ's first format, as
			// they are in gptq_v2; offByOne stores them as the other does.
			minusOne := method == "gptq" && (variant.format == "gptq_v2") == offByOne
			qc := qwen3.TinyMoE()
			qc.QuantizationConfig = &arch.QuantConfig{QuantMethod: method, Bits: 4, GroupSize: group, CheckpointFormat: variant.format}
			spec := qwen3.MustNew(qc)
			ql, err := synth.HF("q", spec, synth.HFOptions{DType: safetensors.F32})
			if err != nil {
				t.Fatal(err)
			}
			b := write(t, ql, func(p synth.Placed) ([]byte, error) {
				e, _, _ := spec.Locate(checkpoint.FormatSafetensors, p.Name)
				w := shapes[[3]any{e.Layer, e.Component, e.Expert}]
				out := make([]byte, p.Bytes)
				put := func(i int, v uint32) { binary.LittleEndian.PutUint32(out[4*i:], v) }
				if !strings.HasSuffix(p.Name, ".qweight") && !strings.HasSuffix(p.Name, ".qzeros") && !strings.HasSuffix(p.Name, ".scales") && !strings.HasSuffix(p.Name, ".g_idx") {
					for i := range int(p.Bytes / 4) {
						put(i, math.Float32bits(value(e.Layer, e.Component, e.Expert, 0, int64(i))))
					}
					return out, nil
				}
				rows, in := w[0], w[1]
				groups := in / group
				q, zero, sexp := int4Role(e.Layer, e.Component, e.Expert)
				switch {
				case strings.HasSuffix(p.Name, ".qweight") && method == "gptq":
					for r := range in / 8 {
						for o := range rows {
							var word uint32
							for j := range int64(8) {
								word |= q(r*8+j, o) << (4 * j)
							}
							put(int(r*rows+o), word)
						}
					}
				case strings.HasSuffix(p.Name, ".qweight"): // awq
					for i := range in {
						for c := range rows / 8 {
							var word uint32
							for n, col := range awqOrder {
								word |= q(i, c*8+col) << (4 * n)
							}
							put(int(i*(rows/8)+c), word)
						}
					}
				case strings.HasSuffix(p.Name, ".qzeros"):
					for g := range groups {
						for c := range rows / 8 {
							var word uint32
							for n := range int64(8) {
								col := n
								if method == "awq" {
									col = awqOrder[n]
								}
								z := zero(g, c*8+col)
								if minusOne {
									z-- // AutoGPTQ stores the zero minus one
								}
								word |= uint32(z) << (4 * n)
							}
							put(int(g*(rows/8)+c), word)
						}
					}
				case strings.HasSuffix(p.Name, ".scales"):
					for g := range groups {
						for o := range rows {
							binary.LittleEndian.PutUint16(out[2*(g*rows+o):], uint16(sexp(g, o)+15)<<10) // 2^k in F16
						}
					}
				case strings.HasSuffix(p.Name, ".g_idx"):
					for i := range in {
						put(int(i), uint32(groupOf(method, groups, i)))
					}
				}
				return out, nil
			})
			fl, err := synth.HF("f", plain, synth.HFOptions{DType: safetensors.F32})
			if err != nil {
				t.Fatal(err)
			}
			quantized := map[string]bool{}
			for _, e := range spec.Expected(checkpoint.FormatSafetensors) {
				if base, ok := strings.CutSuffix(e.Name, ".qweight"); ok {
					quantized[base+".weight"] = true
				}
			}
			a := write(t, fl, func(p synth.Placed) ([]byte, error) {
				e, _, _ := plain.Locate(checkpoint.FormatSafetensors, p.Name)
				out := make([]byte, p.Bytes)
				if !quantized[p.Name] {
					for i := range int(p.Bytes / 4) {
						binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(value(e.Layer, e.Component, e.Expert, 0, int64(i))))
					}
					return out, nil
				}
				rows, in := e.Shape[0], e.Shape[1]
				q, zero, sexp := int4Role(e.Layer, e.Component, e.Expert)
				for o := range rows {
					for i := range in {
						g := groupOf(method, in/group, i)
						v := float32(float64(int(q(i, o))-zero(g, o)) * math.Ldexp(1, sexp(g, o)))
						binary.LittleEndian.PutUint32(out[4*(o*in+i):], math.Float32bits(v))
					}
				}
				return out, nil
			})
			r, err := compare.Run(context.Background(), a, b, compare.Options{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			packed := slices.ContainsFunc(r.Pairs, func(p compare.Pair) bool { return strings.HasSuffix(p.B, ".qweight") })
			if !packed || r.Pass == offByOne || (r.Failed > 0) != offByOne {
				t.Errorf("%s %q (zeros stored as the other format stores them: %v): %s; %d failed, packed pairs %v", method, variant.format, offByOne, r.Headline, r.Failed, packed)
				for _, p := range r.Pairs {
					if !p.Pass {
						t.Logf("%s %s: %.3g > %.3g %s", p.Role, p.B, p.RelRMS, p.Bound, p.Diagnosis)
						break
					}
				}
			}
		}
	}
}

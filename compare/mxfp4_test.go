package compare_test

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/compare"
)

// e2m1 are the values of the FP4 codes (OCP Microscaling E2M1: 1 sign, 2
// exponent, 1 mantissa bit).
var e2m1 = [16]float64{0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6}

// mxValue gives every logical element of a gpt-oss checkpoint its FP4
// code and its block's E8M0 exponent, from the role (the fused gate_up's
// row 2j is gate's row j, its row 2j+1 up's), so that both formats can
// store the same values: code × 2^(exponent − 127).
func mxValue(layer int, comp arch.Component, expert int, r, c int64) (code byte, exp byte) {
	if comp == gptoss.CompExpertGateUp {
		comp, r = []arch.Component{arch.CompExpertGate, arch.CompExpertUp}[r%2], r/2
	}
	code = byte(int(value(layer, comp, expert, r, c)*8+8) & 15)
	exp = byte(120 + int(value(layer, comp+"e", expert, r, c/32)*4+4))
	return code, exp
}

func mxFloat(code, exp byte) float64 { return e2m1[code] * math.Ldexp(1, int(exp)-127) }

// gpt-oss as published (MXFP4 experts: blocks of two codes a byte, the
// low nibble first, and a scale a block) against llama.cpp's MXFP4 GGUF
// of the same values (ggml's block: the scale byte, then 16 bytes whose
// low nibbles are values 0–15 and high nibbles 16–31; its table holds
// twice E2M1 and its scale is halved): the HF blocks decode to what ggml's
// decoder reads from the GGUF, the fused gate_up paired with gate and up.
func TestMXFP4(t *testing.T) {
	spec := gptoss.MustNew(gptoss.Tiny())
	hf, err := synth.HF("hf", spec, synth.HFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gg, err := synth.GGUF("gg", spec, synth.GGUFOptions{Type: "MXFP4", NoTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	fill := func(l *synth.Layout, f checkpoint.Format) *checkpoint.Checkpoint {
		return write(t, l, func(p synth.Placed) ([]byte, error) {
			e, _, ok := spec.Locate(f, p.Name)
			if !ok {
				t.Fatalf("%s: not in the table", p.Name)
			}
			shape := slices.Clone(p.Shape)
			if f == checkpoint.FormatGGUF {
				slices.Reverse(shape)
			}
			out := make([]byte, 0, p.Bytes)
			switch {
			case e.Packing == arch.PackMXFP4 || strings.HasSuffix(p.Name, "_scales"): // HF [E, out, nb, 16] / [E, out, nb]
				comp := e.Component
				for s := range shape[0] {
					for r := range shape[1] {
						for b := range shape[2] {
							if len(shape) == 3 { // scales
								_, x := mxValue(e.Layer, comp, int(s), r, 32*b)
								out = append(out, x)
								continue
							}
							for k := range int64(16) {
								lo, _ := mxValue(e.Layer, comp, int(s), r, 32*b+2*k)
								hi, _ := mxValue(e.Layer, comp, int(s), r, 32*b+2*k+1)
								out = append(out, lo|hi<<4)
							}
						}
					}
				}
			case p.DType == "MXFP4": // GGUF, [E,] out, in
				for len(shape) < 3 {
					shape = append([]int64{1}, shape...)
				}
				for s := range shape[0] {
					expert := int(s)
					if len(p.Shape) < 3 {
						expert = e.Expert
					}
					for r := range shape[1] {
						for b := range shape[2] / 32 {
							_, x := mxValue(e.Layer, e.Component, expert, r, 32*b)
							out = append(out, x)
							for j := range int64(16) {
								lo, _ := mxValue(e.Layer, e.Component, expert, r, 32*b+j)
								hi, _ := mxValue(e.Layer, e.Component, expert, r, 32*b+j+16)
								out = append(out, lo|hi<<4)
							}
						}
					}
				}
			default: // floats: BF16 in HF, F32 in GGUF; values exact in both
				for len(shape) < 3 {
					shape = append([]int64{1}, shape...)
				}
				for s := range shape[0] {
					expert := int(s)
					if len(p.Shape) < 3 {
						expert = e.Expert
					}
					for r := range shape[1] {
						for c := range shape[2] {
							comp, col := e.Component, c
							if comp == gptoss.CompExpertGateUpBias { // [E, 2f], columns interleaved: even gate's, odd up's
								comp, col = gptoss.CompExpertGateBias, c/2
								if c%2 == 1 {
									comp = gptoss.CompExpertUpBias
								}
							}
							x := float32(mxFloat(mxValue(e.Layer, comp, expert, r, col)))
							switch p.DType {
							case "BF16":
								out = binary.LittleEndian.AppendUint16(out, uint16(math.Float32bits(x)>>16))
							case "F32":
								out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
							default:
								t.Fatalf("%s: unexpected dtype %s", p.Name, p.DType)
							}
						}
					}
				}
			}
			if int64(len(out)) != p.Bytes {
				t.Fatalf("%s (%s %v): wrote %d bytes of %d", p.Name, p.DType, p.Shape, len(out), p.Bytes)
			}
			return out, nil
		})
	}
	r, err := compare.Run(context.Background(), fill(hf, checkpoint.FormatSafetensors), fill(gg, checkpoint.FormatGGUF), compare.Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	interleaved, down := 0, 0
	for _, p := range r.Pairs {
		if strings.Contains(p.Role, "(interleaved)") {
			interleaved++
		}
		if strings.Contains(p.A, "down_proj_blocks") {
			down++
		}
		if p.RelRMS != 0 && p.Pass {
			t.Logf("%s: rel %.3g (exact values expected)", p.Role, p.RelRMS)
		}
	}
	if r.Failed != 0 || interleaved != 8 || down != 8 {
		t.Errorf("%s: %d interleaved and %d down pairs, want 8 each", r.Headline, interleaved, down)
		for _, p := range r.Pairs {
			if !p.Pass {
				t.Logf("%s %s ~ %s: %.3g > %.3g %s", p.Role, p.A, p.B, p.RelRMS, p.Bound, p.Diagnosis)
			}
		}
	}
}

package compare_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/arch/deepseek"
	"github.com/weightaudit/weightaudit/arch/gptoss"
	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/compare"
	"github.com/weightaudit/weightaudit/safetensors"
)

// value is the weight at row r, column c of the logical tensor of a role
// (layer, component, expert), the same in both formats: a hash of the
// role and the place, in [-1, 1).
func value(layer int, comp arch.Component, expert int, r, c int64) float32 {
	h := fnv.New64a()
	h.Write([]byte(comp))
	var b [8]byte
	for _, x := range []int64{int64(layer), int64(expert), r, c} {
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		h.Write(b[:])
	}
	// splitmix64's finalizer: FNV alone leaves inputs that differ in
	// their last byte close in the high bits.
	z := h.Sum64()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float32(z>>40)/float32(1<<23) - 1
}

// writeRoles writes l (F32) with every tensor's values from value, as the
// spec's roles place them in that format. A GGUF's stacked experts hold
// expert e in slice e; its attn_k_b and attn_v_b hold kv_b's rows as
// llama.cpp's converter cuts them (convert_hf_to_gguf.py: kv_b viewed as
// [heads, nope + v, rank], split into k [heads, nope, rank] transposed to
// [heads, rank, nope] and v [heads, v, rank]). swap, when set, swaps
// two heads of attn_v_b of layer 1.
func writeRoles(t *testing.T, l *synth.Layout, spec arch.Spec, f checkpoint.Format, c *deepseek.Config, swap bool) *checkpoint.Checkpoint {
	n, v := c.QKNopeHeadDim, c.VHeadDim
	return write(t, l, func(p synth.Placed) ([]byte, error) {
		e, _, ok := spec.Locate(f, p.Name)
		if !ok {
			t.Fatalf("%s: not in the table", p.Name)
		}
		logical := slices.Clone(p.Shape)
		if f == checkpoint.FormatGGUF {
			slices.Reverse(logical)
		}
		for len(logical) < 3 {
			logical = append([]int64{1}, logical...)
		}
		out := make([]byte, p.Bytes)
		i := 0
		for s := range logical[0] {
			for r := range logical[1] {
				for col := range logical[2] {
					var x float32
					switch {
					case e.Component == deepseek.CompAttnKB:
						x = value(e.Layer, deepseek.CompAttnKVB, -1, s*(n+v)+col, r)
					case e.Component == deepseek.CompAttnVB:
						h := s
						if swap && e.Layer == 1 && (s == 0 || s == 1) {
							h = 1 - s
						}
						x = value(e.Layer, deepseek.CompAttnKVB, -1, h*(n+v)+n+r, col)
					case len(p.Shape) == 3: // stacked experts
						x = value(e.Layer, e.Component, int(s), r, col)
					default:
						x = value(e.Layer, e.Component, e.Expert, r, col)
					}
					binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
					i++
				}
			}
		}
		return out, nil
	})
}

// DeepSeek's kv_b against llama.cpp's attn_k_b (transposed) and attn_v_b,
// head by head: the faithful split compares clean; two heads of attn_v_b
// swapped fail that layer's pair, named.
func TestSplitKVB(t *testing.T) {
	c := deepseek.Tiny()
	c.QuantizationConfig = nil // F32 weights, no block scales
	spec := deepseek.MustNew(c)
	hf, err := synth.HF("hf", spec, synth.HFOptions{DType: safetensors.F32})
	if err != nil {
		t.Fatal(err)
	}
	gg, err := synth.GGUF("gg", spec, synth.GGUFOptions{Type: "F32", NoTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	a := writeRoles(t, hf, spec, checkpoint.FormatSafetensors, c, false)
	for _, swap := range []bool{false, true} {
		b := writeRoles(t, gg, spec, checkpoint.FormatGGUF, c, swap)
		for _, full := range []bool{false, true} {
			r, err := compare.Run(context.Background(), a, b, compare.Options{Full: full})
			if err != nil {
				t.Fatal(err)
			}
			var split []compare.Pair
			for _, p := range r.Pairs {
				if strings.Contains(p.Role, "split per head") {
					split = append(split, p)
				}
			}
			if len(split) != int(c.NumHiddenLayers) {
				t.Fatalf("swap %v: %d split pairs, want one per layer (%d): %s", swap, len(split), c.NumHiddenLayers, r.Headline)
			}
			for _, p := range split {
				// Tiny's 4 heads are all in the sample: sampled and full agree.
				wantPass := !swap || !strings.HasPrefix(p.Role, "layer 1 ")
				if p.Pass != wantPass {
					t.Errorf("swap %v full %v: %s pass %v (rel %.3g, bound %.3g) %s", swap, full, p.Role, p.Pass, p.RelRMS, p.Bound, p.Diagnosis)
				}
			}
			if !swap && !r.Pass {
				t.Errorf("faithful split: %s", r.Headline)
			}
		}
	}
}

// gpt-oss's fused gate_up (a dequantized upload: [E, d, 2f], read
// transposed) against llama.cpp's de-interleaved ffn_gate_exps and
// ffn_up_exps, expert by expert, and its fused bias gate_up_proj_bias
// [E, 2f] (columns interleaved: even gate, odd up; convert_hf_to_gguf.py
// GptOssModel takes [..., ::2] and [..., 1::2]) against ffn_gate_exps.bias
// and ffn_up_exps.bias: clean as the converter splits them; gate and up
// exchanged in one expert's weights fail that expert's pair, and in one
// expert's biases that layer's bias pair, and nothing else.
func TestSplitGateUp(t *testing.T) {
	c := gptoss.Tiny()
	c.QuantizationConfig = nil
	spec := gptoss.MustNew(c)
	hf, err := synth.HF("hf", spec, synth.HFOptions{DType: safetensors.F32})
	if err != nil {
		t.Fatal(err)
	}
	gg, err := synth.GGUF("gg", spec, synth.GGUFOptions{Type: "F32", NoTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	// The value of gate's (part 0) or up's (part 1) row j, column c of
	// expert e; of their biases' element j; every other tensor by its role.
	gateUp := func(layer, e, part int, j, col int64) float32 {
		return value(layer, arch.Component(fmt.Sprint("gu", part)), e, j, col)
	}
	gateUpBias := func(layer, e, part int, j int64) float32 {
		return value(layer, arch.Component(fmt.Sprint("gub", part)), e, j, 0)
	}
	const weights, biases = "weights", "biases" // what is exchanged in layer 1's expert 2
	fill := func(l *synth.Layout, f checkpoint.Format, exchange string) *checkpoint.Checkpoint {
		return write(t, l, func(p synth.Placed) ([]byte, error) {
			e, _, ok := spec.Locate(f, p.Name)
			if !ok {
				t.Fatalf("%s: not in the table", p.Name)
			}
			logical := slices.Clone(p.Shape)
			if f == checkpoint.FormatGGUF {
				slices.Reverse(logical)
			}
			for len(logical) < 3 {
				logical = append([]int64{1}, logical...)
			}
			out := make([]byte, p.Bytes)
			i := 0
			for s := range logical[0] {
				for r := range logical[1] {
					for col := range logical[2] {
						var x float32
						switch e.Component {
						case gptoss.CompExpertGateUp: // stored [E, d, 2f]: r is the input, col the fused row
							x = gateUp(e.Layer, int(s), int(col%2), col/2, r)
						case gptoss.CompExpertGateUpBias: // [E, 2f]: r is the expert, col the fused column
							x = gateUpBias(e.Layer, int(r), int(col%2), col/2)
						case arch.CompExpertGate, arch.CompExpertUp:
							part := 0
							if e.Component == arch.CompExpertUp {
								part = 1
							}
							if exchange == weights && e.Layer == 1 && s == 2 {
								part = 1 - part
							}
							x = gateUp(e.Layer, int(s), part, r, col)
						case gptoss.CompExpertGateBias, gptoss.CompExpertUpBias: // [E, f]
							part := 0
							if e.Component == gptoss.CompExpertUpBias {
								part = 1
							}
							if exchange == biases && e.Layer == 1 && r == 2 {
								part = 1 - part
							}
							x = gateUpBias(e.Layer, int(r), part, col)
						case arch.CompExpertDown:
							if f == checkpoint.FormatSafetensors { // stored [E, f, d]: transposed
								x = value(e.Layer, e.Component, int(s), col, r)
							} else {
								x = value(e.Layer, e.Component, int(s), r, col)
							}
						default:
							x = value(e.Layer, e.Component, int(s), r, col)
						}
						binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
						i++
					}
				}
			}
			return out, nil
		})
	}
	a := fill(hf, checkpoint.FormatSafetensors, "")
	for _, exchange := range []string{"", weights, biases} {
		for _, full := range []bool{false, true} {
			r, err := compare.Run(context.Background(), a, fill(gg, checkpoint.FormatGGUF, exchange), compare.Options{Full: full})
			if err != nil {
				t.Fatal(err)
			}
			fails := map[string]string{
				weights: "layer 1 expert_gate_up expert 2 (interleaved)",
				biases:  "layer 1 expert_gate_up_bias (interleaved by columns)",
			}[exchange]
			rows, cols := 0, 0
			for _, p := range r.Pairs {
				switch {
				case strings.HasSuffix(p.Role, "(interleaved)"):
					rows++
				case strings.HasSuffix(p.Role, "(interleaved by columns)"):
					cols++
				}
				if want := p.Role != fails; p.Pass != want {
					t.Errorf("exchanged %q full %v: %s pass %v (rel %.3g): %s", exchange, full, p.Role, p.Pass, p.RelRMS, p.Diagnosis)
				}
				if exchange == biases && p.Role == fails && !strings.Contains(p.Diagnosis, "in rows [2]") {
					t.Errorf("biases exchanged in expert 2: diagnosis %q, want the error in row (expert) 2", p.Diagnosis)
				}
			}
			if rows != int(c.NumHiddenLayers*c.NumLocalExperts) || cols != int(c.NumHiddenLayers) {
				t.Errorf("%d interleaved pairs, want one per expert and layer (%d); %d bias pairs, want one per layer (%d): %s",
					rows, c.NumHiddenLayers*c.NumLocalExperts, cols, c.NumHiddenLayers, r.Headline)
			}
			if wantPass := exchange == ""; r.Pass != wantPass || len(r.Unpaired) != 0 {
				t.Errorf("exchanged %q: %s; unpaired %+v", exchange, r.Headline, r.Unpaired)
			}
		}
	}
}

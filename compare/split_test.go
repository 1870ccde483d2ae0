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
	var b [8]byte
	for _, x := range []int64{int64(layer), int64(expert), r, c} {
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		h.Write(b[:])
	}
	h.Write([]byte(comp))
	return float32(h.Sum64()>>40)/float32(1<<23) - 1
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

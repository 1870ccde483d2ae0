package verify

import (
	"encoding/binary"
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// The NaN/Inf encodings of the element types and the scale fields of
// quantized blocks, and how each dtype is checked (see scan.go).

// fpMode says how an element's bits mark NaN or Inf.
type fpMode uint8

const (
	fpExp  fpMode = iota // IEEE-style: exponent all ones; mantissa zero is Inf, else NaN
	fpE8M0               // E8M0 scale: 0xFF is NaN
	fpFNUZ               // the FNUZ 8-bit floats: 0x80 (negative zero's code) is NaN
)

// fpClass describes the NaN/Inf encoding of a float element type.
type fpClass struct {
	lane    int    // bytes per element: 1, 2, 4 or 8
	mode    fpMode // how NaN and Inf are encoded
	exp     uint64 // exponent mask of one element (fpExp)
	mant    uint64 // mantissa mask of one element (fpExp)
	nanOnly bool   // an all-ones field is always NaN: the type has no Inf (E4M3FN)

	m, a, h uint64 // exp and its lowest bit in every lane; the bit above exp in every lane
}

func newFPClass(lane int, exp, mant uint64, nanOnly bool) *fpClass {
	c := &fpClass{lane: lane, mode: fpExp, exp: exp, mant: mant, nanOnly: nanOnly}
	low := exp & -exp
	above := (exp + low) // the bit just above the field
	for i := 0; i < 8; i += lane {
		c.m |= exp << (8 * i)
		c.a |= low << (8 * i)
		c.h |= above << (8 * i)
	}
	return c
}

// The NaN/Inf encodings of the float types the checks cover.
var (
	classF32  = newFPClass(4, 0x7F80_0000, 0x007F_FFFF, false)
	classF64  = newFPClass(8, 0x7FF0_0000_0000_0000, 0x000F_FFFF_FFFF_FFFF, false)
	classF16  = newFPClass(2, 0x7C00, 0x03FF, false)
	classBF16 = newFPClass(2, 0x7F80, 0x007F, false)
	classE5M2 = newFPClass(1, 0x7C, 0x03, false)
	classE4M3 = newFPClass(1, 0x7F, 0, true) // S.1111.111 is NaN; no Inf
	classE8M0 = &fpClass{lane: 1, mode: fpE8M0}
	classFNUZ = &fpClass{lane: 1, mode: fpFNUZ}
)

const (
	rep01 = 0x0101_0101_0101_0101
	rep7F = 0x7F7F_7F7F_7F7F_7F7F
	rep80 = 0x8080_8080_8080_8080
)

// hits returns the word's flag bits: for fpExp the carry bits (set where
// the exponent is all ones), for the 8-bit special modes bit 7 of each byte
// holding the NaN code. Only the bits of c.h (rep80 for the byte modes)
// matter.
func (c *fpClass) anyHit(p []byte) bool {
	var acc uint64
	switch c.mode {
	case fpE8M0:
		for ; len(p) >= 32; p = p[32:] {
			w0 := binary.LittleEndian.Uint64(p)
			w1 := binary.LittleEndian.Uint64(p[8:])
			w2 := binary.LittleEndian.Uint64(p[16:])
			w3 := binary.LittleEndian.Uint64(p[24:])
			acc |= ((w0&rep7F)+rep01)&w0 | ((w1&rep7F)+rep01)&w1 | ((w2&rep7F)+rep01)&w2 | ((w3&rep7F)+rep01)&w3
		}
		for ; len(p) >= 8; p = p[8:] {
			w := binary.LittleEndian.Uint64(p)
			acc |= ((w & rep7F) + rep01) & w
		}
		return acc&rep80 != 0
	case fpFNUZ:
		for ; len(p) >= 8; p = p[8:] {
			x := binary.LittleEndian.Uint64(p) ^ rep80
			acc |= ^(((x & rep7F) + rep7F) | x) // bit 7 set where x's byte is zero
		}
		return acc&rep80 != 0
	}
	m, a := c.m, c.a
	var acc1 uint64
	for ; len(p) >= 64; p = p[64:] {
		q := (*[64]byte)(p)
		w0 := binary.LittleEndian.Uint64(q[0:])
		w1 := binary.LittleEndian.Uint64(q[8:])
		w2 := binary.LittleEndian.Uint64(q[16:])
		w3 := binary.LittleEndian.Uint64(q[24:])
		w4 := binary.LittleEndian.Uint64(q[32:])
		w5 := binary.LittleEndian.Uint64(q[40:])
		w6 := binary.LittleEndian.Uint64(q[48:])
		w7 := binary.LittleEndian.Uint64(q[56:])
		acc |= (w0&m + a) | (w1&m + a) | (w2&m + a) | (w3&m + a)
		acc1 |= (w4&m + a) | (w5&m + a) | (w6&m + a) | (w7&m + a)
	}
	acc |= acc1
	for ; len(p) >= 8; p = p[8:] {
		acc |= binary.LittleEndian.Uint64(p)&m + a
	}
	return acc&c.h != 0
}

// countSlow counts NaN and Inf element by element; len(p) is a multiple of
// the lane size.
func (c *fpClass) countSlow(p []byte) (nan, inf int64) {
	switch c.mode {
	case fpE8M0:
		for _, b := range p {
			if b == 0xFF {
				nan++
			}
		}
		return nan, inf
	case fpFNUZ:
		for _, b := range p {
			if b == 0x80 {
				nan++
			}
		}
		return nan, inf
	}
	for ; len(p) >= c.lane; p = p[c.lane:] {
		var v uint64
		switch c.lane {
		case 1:
			v = uint64(p[0])
		case 2:
			v = uint64(binary.LittleEndian.Uint16(p))
		case 4:
			v = uint64(binary.LittleEndian.Uint32(p))
		default:
			v = binary.LittleEndian.Uint64(p)
		}
		if v&c.exp == c.exp {
			if c.nanOnly || v&c.mant != 0 {
				nan++
			} else {
				inf++
			}
		}
	}
	return nan, inf
}

// count counts the NaN and Inf elements of p, whose length is a multiple of
// the lane size: a word-at-a-time test per 256 bytes, element by element
// only where that test hits.
func (c *fpClass) count(p []byte) (nan, inf int64) {
	for len(p) >= scanSeg {
		if c.anyHit(p[:scanSeg]) {
			n, i := c.countSlow(p[:scanSeg])
			nan += n
			inf += i
		}
		p = p[scanSeg:]
	}
	if len(p) >= 8 {
		k := len(p) &^ 7
		if c.anyHit(p[:k]) {
			n, i := c.countSlow(p[:k])
			nan += n
			inf += i
		}
		p = p[k:]
	}
	n, i := c.countSlow(p)
	return nan + n, inf + i
}

// scaleFields locates the scale fields of one quantized GGUF block type.
type scaleFields struct {
	block int   // bytes per block
	f16   []int // byte offsets of f16 scales in a block
	f32   []int // byte offsets of f32 scales
	e8m0  []int // byte offsets of E8M0 scales
}

// ggufScales maps the quantized ggml types to their scale fields, from the
// block structs of ggml-common.h at the commit gguf/types.go pins (see the
// layout comments in gguf/types.go and gguf/dequant_*.go). IQ1_M (its scale
// is spread over the sub-block scale bits) and NVFP4 are not covered.
var ggufScales = map[gguf.Type]scaleFields{
	gguf.TypeQ4_0:    {block: 18, f16: []int{0}},
	gguf.TypeQ4_1:    {block: 20, f16: []int{0, 2}},
	gguf.TypeQ5_0:    {block: 22, f16: []int{0}},
	gguf.TypeQ5_1:    {block: 24, f16: []int{0, 2}},
	gguf.TypeQ8_0:    {block: 34, f16: []int{0}},
	gguf.TypeQ8_1:    {block: 36, f16: []int{0, 2}},
	gguf.TypeQ2_K:    {block: 84, f16: []int{80, 82}},
	gguf.TypeQ3_K:    {block: 110, f16: []int{108}},
	gguf.TypeQ4_K:    {block: 144, f16: []int{0, 2}},
	gguf.TypeQ5_K:    {block: 176, f16: []int{0, 2}},
	gguf.TypeQ6_K:    {block: 210, f16: []int{208}},
	gguf.TypeQ8_K:    {block: 292, f32: []int{0}},
	gguf.TypeIQ2_XXS: {block: 66, f16: []int{0}},
	gguf.TypeIQ2_XS:  {block: 74, f16: []int{0}},
	gguf.TypeIQ3_XXS: {block: 98, f16: []int{0}},
	gguf.TypeIQ1_S:   {block: 50, f16: []int{0}},
	gguf.TypeIQ4_NL:  {block: 18, f16: []int{0}},
	gguf.TypeIQ3_S:   {block: 110, f16: []int{0}},
	gguf.TypeIQ2_S:   {block: 82, f16: []int{0}},
	gguf.TypeIQ4_XS:  {block: 136, f16: []int{0}},
	gguf.TypeTQ1_0:   {block: 54, f16: []int{52}},
	gguf.TypeTQ2_0:   {block: 66, f16: []int{64}},
	gguf.TypeMXFP4:   {block: 17, e8m0: []int{0}},
	gguf.TypeQ1_0:    {block: 18, f16: []int{0}},
	gguf.TypeQ2_0:    {block: 18, f16: []int{0}},
}

// count counts the NaN and Inf scales of p, whole blocks.
func (s *scaleFields) count(p []byte) (nan, inf int64) {
	for ; len(p) >= s.block; p = p[s.block:] {
		for _, o := range s.f16 {
			v := binary.LittleEndian.Uint16(p[o:])
			if v&0x7C00 == 0x7C00 {
				if v&0x03FF != 0 {
					nan++
				} else {
					inf++
				}
			}
		}
		for _, o := range s.f32 {
			v := binary.LittleEndian.Uint32(p[o:])
			if v&0x7F80_0000 == 0x7F80_0000 {
				if v&0x007F_FFFF != 0 {
					nan++
				} else {
					inf++
				}
			}
		}
		for _, o := range s.e8m0 {
			if p[o] == 0xFF {
				nan++
			}
		}
	}
	return nan, inf
}

// valueCheck is how the bytes of one dtype are checked.
type valueCheck struct {
	unit      int // bytes handled together: a word for element types, a block for quantized ones
	elemBytes int // bytes per element of element types (0 for blocks)
	perUnit   int // elements per unit
	floats    *fpClass
	scales    *scaleFields
	decode    func(dst []float32, src []byte) error // whole units to float32, for statistics; nil for none
	// asScales marks a tensor whose elements are the scales of another's
	// values (see scaleRole): its NaN and Inf are reported as block scales.
	asScales bool
}

// covers says what the NaN/Inf counts cover: "values", "scales" or "".
func (vc *valueCheck) covers() string {
	switch {
	case vc.floats != nil && !vc.asScales:
		return "values"
	case vc.scales != nil, vc.floats != nil:
		return "scales"
	}
	return ""
}

// scaleRole says whether a safetensors tensor holds the scales of a
// pre-quantized weight, by the names Hugging Face's quantized checkpoints
// give them next to the weight they scale (has reports whether the
// checkpoint holds a tensor of that name):
//
//   - "X_scales" beside "X_blocks": MXFP4 block exponents (gpt-oss;
//     transformers' integrations/mxfp4.py), stored U8 but E8M0, whose
//     0xFF is NaN (OCP Microscaling v1.0, §5.4.1); e8m0 is true;
//   - "X.weight_scale_inv" beside "X.weight": FP8 block scales
//     (FineGrainedFP8: DeepSeek-V3, Qwen3 -FP8);
//   - "X.scales" beside "X.qweight": GPTQ and AWQ group scales.
func scaleRole(name, dtype string, has func(string) bool) (scales, e8m0 bool) {
	if base, ok := strings.CutSuffix(name, "_scales"); ok && dtype == "U8" && has(base+"_blocks") {
		return true, true
	}
	if base, ok := strings.CutSuffix(name, "_scale_inv"); ok && has(base) {
		return true, false
	}
	if base, ok := strings.CutSuffix(name, ".scales"); ok && has(base+".qweight") {
		return true, false
	}
	return false, false
}

// checkForScales returns how the scale tensor of a pre-quantized weight
// ([scaleRole]) of dtype is checked: as its dtype's elements, or as E8M0
// exponents, reported as block scales.
func checkForScales(dtype string, e8m0 bool) *valueCheck {
	vc := checkFor(checkpoint.FormatSafetensors, dtype)
	if e8m0 {
		vc = &valueCheck{unit: wordUnit, floats: classE8M0}
	}
	c := *vc
	c.asScales = true
	return &c
}

// checkFor returns how tensors of dtype (the format's own name) are checked.
// A dtype with neither NaN/Inf encoding nor decoder gets only the zero
// checks.
func checkFor(format checkpoint.Format, dtype string) *valueCheck {
	vc := &valueCheck{unit: wordUnit}
	switch format {
	case checkpoint.FormatSafetensors:
		dt, ok := safetensors.ParseDType(dtype)
		if !ok {
			return vc
		}
		switch dt {
		case safetensors.F32, safetensors.C64:
			vc.floats = classF32
		case safetensors.F64:
			vc.floats = classF64
		case safetensors.F16:
			vc.floats = classF16
		case safetensors.BF16:
			vc.floats = classBF16
		case safetensors.F8_E5M2:
			vc.floats = classE5M2
		case safetensors.F8_E4M3:
			vc.floats = classE4M3
		case safetensors.F8_E8M0:
			vc.floats = classE8M0
		case safetensors.F8_E4M3FNUZ, safetensors.F8_E5M2FNUZ:
			vc.floats = classFNUZ
		}
		if dt.CanDecode() {
			vc.decode = func(dst []float32, src []byte) error { return safetensors.Decode(dt, dst, src) }
		}
		if vc.decode != nil {
			vc.elemBytes = dt.Bits() / 8
			vc.perUnit = wordUnit / vc.elemBytes
		}
	case checkpoint.FormatGGUF:
		typ, ok := gguf.ParseType(dtype)
		if !ok || !typ.Known() {
			return vc
		}
		switch typ {
		case gguf.TypeF32:
			vc.floats = classF32
		case gguf.TypeF64:
			vc.floats = classF64
		case gguf.TypeF16:
			vc.floats = classF16
		case gguf.TypeBF16:
			vc.floats = classBF16
		}
		if sf, ok := ggufScales[typ]; ok && int64(sf.block) == typ.TypeSize() {
			vc.scales = &sf
			vc.unit = sf.block
		}
		if typ.CanDequantize() && (typ.Quantized() == (vc.scales != nil)) {
			if typ.Quantized() {
				vc.perUnit = int(typ.BlockSize())
			} else {
				vc.elemBytes = int(typ.TypeSize())
				vc.perUnit = wordUnit / vc.elemBytes
			}
			vc.decode = func(dst []float32, src []byte) error { return gguf.Dequantize(typ, dst, src) }
		}
	}
	return vc
}

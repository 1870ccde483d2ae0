package verify

import (
	"encoding/binary"
	"hash"
	"math"
	"math/bits"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// The data checks of [Run] work on the raw bytes of each tensor as they
// stream past, a buffer at a time; a buffer may end anywhere inside a
// tensor, even inside an element or a quantized block.
//
//   - NaN and Inf are found a 64-bit word at a time: for an element whose
//     exponent field is e (all ones meaning Inf or NaN), (v & e) + lowbit(e)
//     carries into the bit just above the field exactly when the field is
//     all ones, and no carry leaves the element. OR-ing that over 256 bytes
//     and testing the carry bits costs three operations per word; only a
//     stretch of 512 bytes with a hit is counted element by element.
//   - Quantized GGUF blocks have their f16 (Q8_K: f32; MXFP4: E8M0) scale
//     fields tested, one or two per block.
//   - Zero-filled runs: each segment of at most 4 KiB (and of at most the
//     threshold) is searched from its start for its first non-zero byte and
//     from its end for its last, a word at a time. A zero run at least as
//     long as a segment must cross a segment's start or end, so these two
//     positions per segment find every run at or over the threshold,
//     exactly; on dense data each search stops at the first word.
//   - Statistics come from a fixed sample: the elements of the first 4 KiB
//     of every 256 KiB of the tensor (every element of a tensor of at most
//     1 MiB), decoded with the format's own decoder (quantized blocks
//     dequantized), NaN and Inf left out. The sample depends only on the
//     tensor, never on the buffers or the number of jobs.

// DefaultZeroRun is the shortest zero-filled run inside a tensor that
// [Run] reports: 1 MiB.
const DefaultZeroRun = 1 << 20

const (
	scanSeg     = 512     // bytes OR-reduced before the carry bits are tested
	zeroSeg     = 4 << 10 // bytes per zero-run segment (at most the threshold)
	statWindow  = 256 << 10
	statSample  = 4 << 10 // the first statSample bytes of every statWindow are sampled
	statFullMax = 1 << 20 // tensors up to this many bytes are sampled whole
	wordUnit    = 8       // the unit of element types: one 64-bit word
)

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
}

// covers says what the NaN/Inf counts cover: "values", "scales" or "".
func (vc *valueCheck) covers() string {
	switch {
	case vc.floats != nil:
		return "values"
	case vc.scales != nil:
		return "scales"
	}
	return ""
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

// statAcc accumulates statistics over finite values.
type statAcc struct {
	n             int64
	sum, sumSq    float64
	min, max, abs float32
}

func (a *statAcc) add(xs []float32) {
	n := a.n
	sum, sumSq := a.sum, a.sumSq
	lo, hi := a.min, a.max
	if n == 0 {
		lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	for _, v := range xs {
		if v-v != 0 { // NaN or Inf
			continue
		}
		n++
		f := float64(v)
		sum += f
		sumSq += f * f
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if n == 0 {
		return
	}
	a.n, a.sum, a.sumSq, a.min, a.max = n, sum, sumSq, lo, hi
	a.abs = max(-lo, hi)
}

// Stats are statistics of a tensor's finite values: over every element for
// tensors of at most 1 MiB, otherwise over a fixed sample (the elements in
// the first 4 KiB of every 256 KiB, 1/64 of the data: NaN and Inf are
// counted over every value, but the extremes of a large tensor may lie
// outside the sample); quantized blocks are dequantized.
type Stats struct {
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
	Std     float64 `json:"std"` // population standard deviation
	AbsMax  float64 `json:"absmax"`
	Count   int64   `json:"count"`   // finite values the statistics cover
	Sampled bool    `json:"sampled"` // a sample, not every element
}

func (a *statAcc) stats(sampled bool) *Stats {
	if a.n == 0 {
		return nil
	}
	n := float64(a.n)
	mean := a.sum / n
	return &Stats{
		Min: float64(a.min), Max: float64(a.max), Mean: mean,
		Std:    math.Sqrt(max(0, a.sumSq/n-mean*mean)),
		AbsMax: float64(a.abs), Count: a.n, Sampled: sampled,
	}
}

// zeroTrack finds zero-filled runs in a byte stream.
type zeroTrack struct {
	seg     int   // segment bytes: min(zeroSeg, threshold)
	min     int64 // shortest run reported
	start   int64 // position just past the last non-zero byte
	nonzero bool
	runs    []ZeroRun // positions relative to the stream's start
}

func newZeroTrack(threshold int64) zeroTrack {
	return zeroTrack{seg: int(min(zeroSeg, threshold)), min: threshold}
}

// firstNonzero returns the index of the first non-zero byte of p, or -1.
func firstNonzero(p []byte) int {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		if w := binary.LittleEndian.Uint64(p[i:]); w != 0 {
			return i + bits.TrailingZeros64(w)/8
		}
	}
	for ; i < len(p); i++ {
		if p[i] != 0 {
			return i
		}
	}
	return -1
}

// lastNonzero returns the index of the last non-zero byte of p, or -1.
func lastNonzero(p []byte) int {
	i := len(p)
	for ; i > 0 && i%8 != 0; i-- {
		if p[i-1] != 0 {
			return i - 1
		}
	}
	for ; i >= 8; i -= 8 {
		if w := binary.LittleEndian.Uint64(p[i-8:]); w != 0 {
			return i - 1 - bits.LeadingZeros64(w)/8
		}
	}
	return -1
}

// scan takes the next bytes of the stream, at stream position at.
func (z *zeroTrack) scan(p []byte, at int64) {
	for len(p) > 0 {
		n := min(len(p), z.seg)
		q := p[:n]
		if f := firstNonzero(q); f >= 0 {
			z.close(at + int64(f))
			z.start = at + int64(lastNonzero(q)) + 1
			z.nonzero = true
		}
		p = p[n:]
		at += int64(n)
	}
}

// close ends the zero run at end.
func (z *zeroTrack) close(end int64) {
	if end-z.start >= z.min {
		z.runs = append(z.runs, ZeroRun{Offset: z.start, Length: end - z.start})
	}
}

// tensorScan checks one tensor's bytes as they stream past.
type tensorScan struct {
	vc        *valueCheck
	size      int64 // the tensor's bytes
	pos       int64 // bytes received
	sampleAll bool
	carry     []byte // a partial unit, len < vc.unit
	digest    hash.Hash
	sum       []byte // the digest, once finished
	nan, inf  int64
	firstNaN  int64 // tensor position of the first NaN element or scale's block, when nan > 0
	firstInf  int64
	zeros     zeroTrack
	acc       statAcc
	scratch   *[]float32 // shared by the scans of one file, which run one at a time
	decodeErr error
}

func newTensorScan(vc *valueCheck, size, zeroRun int64, digest hash.Hash) *tensorScan {
	return &tensorScan{vc: vc, size: size, sampleAll: size <= statFullMax, digest: digest, zeros: newZeroTrack(zeroRun)}
}

// write takes the tensor's next bytes.
func (s *tensorScan) write(p []byte) {
	if s.digest != nil {
		s.digest.Write(p)
	}
	s.zeros.scan(p, s.pos)
	at := s.pos
	s.pos += int64(len(p))
	u := s.vc.unit
	if len(s.carry) > 0 {
		k := min(u-len(s.carry), len(p))
		s.carry = append(s.carry, p[:k]...)
		p = p[k:]
		at += int64(k)
		if len(s.carry) < u {
			return
		}
		s.units(s.carry, at-int64(u))
		s.carry = s.carry[:0]
	}
	whole := len(p) - len(p)%u
	s.units(p[:whole], at)
	if whole < len(p) {
		if s.carry == nil {
			s.carry = make([]byte, 0, u)
		}
		s.carry = append(s.carry, p[whole:]...)
	}
}

// units checks whole units at tensor position at.
func (s *tensorScan) units(p []byte, at int64) {
	if len(p) == 0 {
		return
	}
	var n, i int64
	switch {
	case s.vc.floats != nil:
		n, i = s.vc.floats.count(p)
	case s.vc.scales != nil:
		n, i = s.vc.scales.count(p)
	}
	if (n > 0 && s.nan == 0) || (i > 0 && s.inf == 0) {
		s.locate(p, at)
	}
	s.nan += n
	s.inf += i
	if s.vc.decode == nil {
		return
	}
	u := int64(s.vc.unit)
	if s.sampleAll {
		s.sample(p)
		return
	}
	nu := int64(len(p)) / u
	for i := int64(0); i < nu; {
		r := (at + i*u) % statWindow
		if r < statSample {
			k := min((statSample-r+u-1)/u, nu-i)
			s.sample(p[i*u : (i+k)*u])
			i += k
		} else {
			i += (statWindow - r + u - 1) / u
		}
	}
}

// locate records the positions of the first NaN and Inf of p, at tensor
// position at, for those not found before; it runs only when a count
// first becomes non-zero.
func (s *tensorScan) locate(p []byte, at int64) {
	needNaN, needInf := s.nan == 0, s.inf == 0
	step := 0
	var count func(q []byte) (int64, int64)
	switch {
	case s.vc.floats != nil:
		step, count = s.vc.floats.lane, s.vc.floats.countSlow
	case s.vc.scales != nil:
		step, count = s.vc.scales.block, s.vc.scales.count
	default:
		return
	}
	for j := 0; j+step <= len(p) && (needNaN || needInf); j += step {
		n, i := count(p[j : j+step])
		if n > 0 && needNaN {
			s.firstNaN, needNaN = at+int64(j), false
		}
		if i > 0 && needInf {
			s.firstInf, needInf = at+int64(j), false
		}
	}
}

// sample adds the values of whole units (or, at a tensor's end, whole
// elements) to the statistics.
func (s *tensorScan) sample(p []byte) {
	u := s.vc.unit
	maxUnits := max(1, statSample/u)
	for len(p) > 0 {
		k := min(len(p), maxUnits*u)
		var n int
		if s.vc.elemBytes > 0 {
			n = k / s.vc.elemBytes
		} else {
			n = k / u * s.vc.perUnit
		}
		if s.scratch == nil {
			s.scratch = new([]float32)
		}
		if cap(*s.scratch) < n {
			*s.scratch = make([]float32, max(n, maxUnits*s.vc.perUnit))
		}
		dst := (*s.scratch)[:n]
		if err := s.vc.decode(dst, p[:k]); err != nil {
			s.decodeErr = err
			return
		}
		s.acc.add(dst)
		p = p[k:]
	}
}

// finish checks what is left of a tensor whose bytes all arrived: the
// whole elements of a last partial word.
func (s *tensorScan) finish() {
	if len(s.carry) > 0 && s.vc.unit == wordUnit {
		at := s.pos - int64(len(s.carry))
		if c := s.vc.floats; c != nil {
			k := len(s.carry) - len(s.carry)%c.lane
			n, i := c.countSlow(s.carry[:k])
			if (n > 0 && s.nan == 0) || (i > 0 && s.inf == 0) {
				s.locate(s.carry[:k], at)
			}
			s.nan += n
			s.inf += i
		}
		if s.vc.decode != nil && s.vc.elemBytes > 0 && (s.sampleAll || at%statWindow < statSample) {
			s.sample(s.carry[:len(s.carry)-len(s.carry)%s.vc.elemBytes])
		}
	}
	s.carry = s.carry[:0]
	if s.zeros.nonzero {
		s.zeros.close(s.pos)
	}
}

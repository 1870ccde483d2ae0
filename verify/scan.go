package verify

import (
	"encoding/binary"
	"hash"
	"math"
	"math/bits"
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
//   - The scale tensors of pre-quantized safetensors weights (FP8
//     weight_scale_inv, GPTQ/AWQ scales, and gpt-oss's MXFP4 *_scales, U8
//     holding E8M0 exponents whose 0xFF is NaN) are found by their names
//     beside the weight they scale (scaleRole) and reported as block
//     scales; FP8 codes are elements of their dtype (E4M3: S.1111.111 is
//     NaN; E5M2: IEEE-style).
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

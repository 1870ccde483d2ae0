package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/gguf"
	"github.com/weightaudit/weightaudit/safetensors"
)

// White-box tests of the word-at-a-time scanners against naive
// element-by-element references.

// scanCase is one dtype as the scanners see it.
type scanCase struct {
	name   string
	format checkpoint.Format
	dtype  string
}

var scanCases = []scanCase{
	{"st-F32", checkpoint.FormatSafetensors, "F32"},
	{"st-F64", checkpoint.FormatSafetensors, "F64"},
	{"st-F16", checkpoint.FormatSafetensors, "F16"},
	{"st-BF16", checkpoint.FormatSafetensors, "BF16"},
	{"st-F8_E4M3", checkpoint.FormatSafetensors, "F8_E4M3"},
	{"st-F8_E5M2", checkpoint.FormatSafetensors, "F8_E5M2"},
	{"st-F8_E8M0", checkpoint.FormatSafetensors, "F8_E8M0"},
	{"st-F8_E4M3FNUZ", checkpoint.FormatSafetensors, "F8_E4M3FNUZ"},
	{"st-C64", checkpoint.FormatSafetensors, "C64"},
	{"st-I32", checkpoint.FormatSafetensors, "I32"},
	{"gguf-F32", checkpoint.FormatGGUF, "F32"},
	{"gguf-F16", checkpoint.FormatGGUF, "F16"},
	{"gguf-BF16", checkpoint.FormatGGUF, "BF16"},
	{"gguf-Q8_0", checkpoint.FormatGGUF, "Q8_0"},
	{"gguf-Q4_1", checkpoint.FormatGGUF, "Q4_1"},
	{"gguf-Q2_K", checkpoint.FormatGGUF, "Q2_K"},
	{"gguf-Q3_K", checkpoint.FormatGGUF, "Q3_K"},
	{"gguf-Q4_K", checkpoint.FormatGGUF, "Q4_K"},
	{"gguf-Q6_K", checkpoint.FormatGGUF, "Q6_K"},
	{"gguf-Q8_K", checkpoint.FormatGGUF, "Q8_K"},
	{"gguf-IQ4_XS", checkpoint.FormatGGUF, "IQ4_XS"},
	{"gguf-TQ1_0", checkpoint.FormatGGUF, "TQ1_0"},
	{"gguf-MXFP4", checkpoint.FormatGGUF, "MXFP4"},
}

// naiveF16 decodes an IEEE half from its definition.
func naiveF16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1F, float64(h&0x3FF)
	switch e {
	case 0:
		return sign * m / 1024 * math.Pow(2, -14)
	case 31:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func classify(f float64) (nan, inf int64) {
	switch {
	case math.IsNaN(f):
		return 1, 0
	case math.IsInf(f, 0):
		return 0, 1
	}
	return 0, 0
}

// naiveCount counts NaN and Inf elements (or scales) of whole units of p by
// decoding each one on its own, and gives the tensor position of the first
// of each (-1 for none).
func naiveCount(tb testing.TB, c scanCase, p []byte) (nan, inf, firstNaN, firstInf int64) {
	tb.Helper()
	firstNaN, firstInf = -1, -1
	note := func(pos int, n, i int64) {
		if n > 0 && firstNaN < 0 {
			firstNaN = int64(pos)
		}
		if i > 0 && firstInf < 0 {
			firstInf = int64(pos)
		}
		nan += n
		inf += i
	}
	elem := func(size int, f func(b []byte) float64) {
		for i := 0; i+size <= len(p); i += size {
			n, in := classify(f(p[i : i+size]))
			note(i, n, in)
		}
	}
	f32 := func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) }
	f16 := func(b []byte) float64 { return naiveF16(binary.LittleEndian.Uint16(b)) }
	switch c.dtype {
	case "F32", "C64":
		elem(4, f32)
		return
	case "F64":
		elem(8, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
		return
	case "F16":
		elem(2, f16)
		return
	case "BF16":
		elem(2, func(b []byte) float64 {
			return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16))
		})
		return
	case "F8_E4M3", "F8_E5M2":
		dt, _ := safetensors.ParseDType(c.dtype)
		var out [1]float32
		elem(1, func(b []byte) float64 {
			if err := safetensors.Decode(dt, out[:], b); err != nil {
				tb.Fatal(err)
			}
			return float64(out[0])
		})
		return
	case "F8_E8M0":
		elem(1, func(b []byte) float64 {
			if b[0] == 0xFF {
				return math.NaN()
			}
			return math.Ldexp(1, int(b[0])-127)
		})
		return
	case "F8_E4M3FNUZ":
		elem(1, func(b []byte) float64 {
			if b[0] == 0x80 {
				return math.NaN()
			}
			return 0
		})
		return
	case "I32":
		return
	}
	// Quantized GGUF blocks: the scale fields, from the block structs.
	typ, _ := gguf.ParseType(c.dtype)
	bs := int(typ.TypeSize())
	for b := 0; b+bs <= len(p); b += bs {
		x := p[b : b+bs]
		var vals []float64
		switch c.dtype {
		case "Q8_0", "IQ4_XS":
			vals = []float64{f16(x[0:])}
		case "Q4_1", "Q4_K":
			vals = []float64{f16(x[0:]), f16(x[2:])}
		case "Q2_K":
			vals = []float64{f16(x[80:]), f16(x[82:])}
		case "Q3_K":
			vals = []float64{f16(x[108:])}
		case "Q6_K":
			vals = []float64{f16(x[208:])}
		case "TQ1_0":
			vals = []float64{f16(x[52:])}
		case "Q8_K":
			vals = []float64{f32(x[0:])}
		case "MXFP4":
			if x[0] == 0xFF {
				vals = []float64{math.NaN()}
			}
		default:
			tb.Fatalf("no reference for %s", c.dtype)
		}
		for _, v := range vals {
			n, in := classify(v)
			note(b, n, in)
		}
	}
	return
}

// spice writes NaN and Inf codes of the case's type into p at random.
func spice(rng *rand.Rand, c scanCase, p []byte, n int) {
	vc := checkFor(c.format, c.dtype)
	for range n {
		switch {
		case vc.floats != nil:
			lane := vc.floats.lane
			if len(p) < lane {
				return
			}
			i := rng.IntN(len(p)/lane) * lane
			switch vc.floats.mode {
			case fpE8M0:
				p[i] = 0xFF
			case fpFNUZ:
				p[i] = 0x80
			default:
				for k := range lane {
					e := byte(vc.floats.exp >> (8 * k))
					p[i+k] |= e
					if rng.IntN(2) == 0 {
						p[i+k] &^= byte(vc.floats.mant >> (8 * k)) // Inf (or, for E4M3, still NaN)
					}
				}
			}
		case vc.scales != nil:
			sf := vc.scales
			if len(p) < sf.block {
				return
			}
			b := rng.IntN(len(p)/sf.block) * sf.block
			switch {
			case len(sf.f16) > 0:
				o := b + sf.f16[rng.IntN(len(sf.f16))]
				binary.LittleEndian.PutUint16(p[o:], []uint16{0x7C00, 0xFC00, 0x7E00, 0x7C01}[rng.IntN(4)])
			case len(sf.f32) > 0:
				binary.LittleEndian.PutUint32(p[b+sf.f32[0]:], []uint32{0x7F800000, 0x7FC00000}[rng.IntN(2)])
			default:
				p[b+sf.e8m0[0]] = 0xFF
			}
		}
	}
}

// randomTensor returns n units of plausible data of the case's type:
// random bytes with the exponent fields (or scales) cleared of all-ones
// codes, so that only spice puts NaN and Inf in.
func randomTensor(rng *rand.Rand, c scanCase, units int) []byte {
	vc := checkFor(c.format, c.dtype)
	p := make([]byte, units*vc.unit)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	switch {
	case vc.floats != nil:
		lane := vc.floats.lane
		for i := 0; i+lane <= len(p); i += lane {
			switch vc.floats.mode {
			case fpE8M0:
				p[i] &= 0xFE
			case fpFNUZ:
				if p[i] == 0x80 {
					p[i] = 0
				}
			default:
				p[i+lane-1] &^= 0x40 // clear the exponent's top bit (below the sign)
			}
		}
	case vc.scales != nil:
		sf := vc.scales
		for b := 0; b+sf.block <= len(p); b += sf.block {
			for _, o := range sf.f16 {
				p[b+o+1] &^= 0x40
			}
			for _, o := range sf.f32 {
				p[b+o+3] &^= 0x40
			}
			for _, o := range sf.e8m0 {
				p[b+o] &= 0xFE
			}
		}
	}
	return p
}

func TestCountNonFiniteMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range scanCases {
		t.Run(c.name, func(t *testing.T) {
			for trial := range 200 {
				units := rng.IntN(300)
				p := randomTensor(rng, c, units)
				spice(rng, c, p, rng.IntN(4)*(trial%3))
				s := newTensorScan(checkFor(c.format, c.dtype), int64(len(p)), DefaultZeroRun, nil)
				s.write(p)
				s.finish()
				nan, inf, fn, fi := naiveCount(t, c, p)
				if s.nan != nan || s.inf != inf {
					t.Fatalf("trial %d (%d bytes): scan counts nan %d inf %d, want %d %d", trial, len(p), s.nan, s.inf, nan, inf)
				}
				if nan > 0 && s.firstNaN != fn || inf > 0 && s.firstInf != fi {
					t.Fatalf("trial %d: first NaN at %d, Inf at %d; want %d, %d", trial, s.firstNaN, s.firstInf, fn, fi)
				}
			}
		})
	}
}

// naiveZeroRuns finds the runs of zero bytes of at least min bytes, and
// whether p has a non-zero byte.
func naiveZeroRuns(p []byte, minLen int64) ([]ZeroRun, bool) {
	var runs []ZeroRun
	nonzero := bytes.ContainsFunc(p, func(r rune) bool { return r != 0 })
	if !nonzero {
		return nil, false
	}
	start := -1
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] == 0 {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && int64(i-start) >= minLen {
			runs = append(runs, ZeroRun{Offset: int64(start), Length: int64(i - start)})
		}
		start = -1
	}
	return runs, true
}

func TestZeroRunsMatchNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name    string
		minLen  int64
		size    int
		density float64 // chance a byte is non-zero outside holes
	}{
		{"small-threshold-sparse", 3, 500, 0.3},
		{"threshold-9", 9, 4000, 0.5},
		{"threshold-4096", 4096, 40000, 0.9},
		{"threshold-5000", 5000, 60000, 0.99},
		{"default", DefaultZeroRun, 3 << 20, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for trial := range 30 {
				p := make([]byte, tt.size)
				for i := range p {
					if rng.Float64() < tt.density {
						p[i] = byte(1 + rng.IntN(255))
					}
				}
				for range rng.IntN(4) { // holes around the threshold
					n := int(tt.minLen) + rng.IntN(int(tt.minLen)) - int(tt.minLen)/2
					if n <= 0 || n >= len(p) {
						continue
					}
					at := rng.IntN(len(p) - n)
					clear(p[at : at+n])
				}
				if trial == 0 {
					clear(p) // all zero
				}
				z := newZeroTrack(tt.minLen)
				for at := 0; at < len(p); {
					k := min(len(p)-at, 1+rng.IntN(3*zeroSeg))
					z.scan(p[at:at+k], int64(at))
					at += k
				}
				if z.nonzero {
					z.close(int64(len(p)))
				}
				want, nonzero := naiveZeroRuns(p, tt.minLen)
				if z.nonzero != nonzero {
					t.Fatalf("trial %d: nonzero = %v, want %v", trial, z.nonzero, nonzero)
				}
				if diff := cmp.Diff(want, z.runs); diff != "" {
					t.Fatalf("trial %d: runs (-want +got):\n%s", trial, diff)
				}
			}
		})
	}
}

// naiveStats computes the statistics over the sampled elements directly.
func naiveStats(tb testing.TB, c scanCase, p []byte) *Stats {
	tb.Helper()
	vc := checkFor(c.format, c.dtype)
	if vc.decode == nil {
		return nil
	}
	all := len(p) <= statFullMax
	var xs []float64
	for u := 0; u+vc.unit <= len(p) || (vc.elemBytes > 0 && u+vc.elemBytes <= len(p)); {
		size := vc.unit
		if u+size > len(p) {
			size = len(p) - u - (len(p)-u)%vc.elemBytes
		}
		if all || u%statWindow < statSample {
			n := vc.perUnit
			if vc.elemBytes > 0 {
				n = size / vc.elemBytes
			}
			dst := make([]float32, n)
			if err := vc.decode(dst, p[u:u+size]); err != nil {
				tb.Fatal(err)
			}
			for _, v := range dst {
				if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
					xs = append(xs, float64(v))
				}
			}
		}
		u += size
	}
	if len(xs) == 0 {
		return nil
	}
	s := &Stats{Min: math.Inf(1), Max: math.Inf(-1), Count: int64(len(xs)), Sampled: !all}
	var sum float64
	for _, x := range xs {
		s.Min, s.Max = min(s.Min, x), max(s.Max, x)
		sum += x
	}
	s.Mean = sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - s.Mean) * (x - s.Mean)
	}
	s.Std = math.Sqrt(ss / float64(len(xs)))
	s.AbsMax = max(-s.Min, s.Max)
	return s
}

func TestStatsMatchNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	approx := cmp.Comparer(func(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b)) })
	for _, c := range scanCases {
		vc := checkFor(c.format, c.dtype)
		if vc.decode == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			for _, bytes := range []int{40, 5000, statFullMax + 8*statWindow + 12} {
				units := bytes / vc.unit
				p := randomTensor(rng, c, units)
				if vc.elemBytes > 0 {
					p = append(p, randomTensor(rng, c, 1)[:vc.elemBytes]...) // a partial last word
				}
				spice(rng, c, p, 3)
				s := newTensorScan(vc, int64(len(p)), DefaultZeroRun, nil)
				for at := 0; at < len(p); {
					k := min(len(p)-at, 1+rng.IntN(70000))
					s.write(p[at : at+k])
					at += k
				}
				s.finish()
				got := s.acc.stats(!s.sampleAll)
				if diff := cmp.Diff(naiveStats(t, c, p), got, approx); diff != "" {
					t.Errorf("%d bytes: stats (-want +got):\n%s", len(p), diff)
				}
			}
		})
	}
}

// scanResult is everything a tensorScan ends with, for comparisons.
type scanResult struct {
	NaN, Inf, FirstNaN, FirstInf int64
	Nonzero                      bool
	Runs                         []ZeroRun
	Stats                        *Stats
	Sum                          string
}

func scanAll(vc *valueCheck, p []byte, zeroRun int64, chunks []int) scanResult {
	s := newTensorScan(vc, int64(len(p)), zeroRun, sha256.New())
	i := 0
	for at := 0; at < len(p); i++ {
		k := len(p) - at
		if len(chunks) > 0 {
			k = min(k, max(1, chunks[i%len(chunks)]))
		}
		s.write(p[at : at+k])
		at += k
	}
	s.finish()
	r := scanResult{NaN: s.nan, Inf: s.inf, Nonzero: s.zeros.nonzero, Runs: s.zeros.runs, Stats: s.acc.stats(!s.sampleAll),
		Sum: fmt.Sprintf("%x", s.digest.Sum(nil))}
	if s.nan > 0 {
		r.FirstNaN = s.firstNaN
	}
	if s.inf > 0 {
		r.FirstInf = s.firstInf
	}
	return r
}

func TestScanIndependentOfChunking(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range scanCases {
		vc := checkFor(c.format, c.dtype)
		t.Run(c.name, func(t *testing.T) {
			p := randomTensor(rng, c, (statFullMax+3*statWindow)/vc.unit)
			spice(rng, c, p, 5)
			clear(p[1000:9000])
			whole := scanAll(vc, p, 4096, nil)
			for _, chunks := range [][]int{{1}, {7, 3}, {4095, 1, 65536}, {hashSlice}} {
				if diff := cmp.Diff(whole, scanAll(vc, p, 4096, chunks)); diff != "" {
					t.Errorf("chunks %v: result differs from one write (-whole +chunked):\n%s", chunks, diff)
				}
			}
		})
	}
}

// FuzzScan checks the scanners against the naive references on arbitrary
// bytes: the first byte picks the dtype, the second and third the write
// sizes and the zero-run threshold.
func FuzzScan(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i, c := range scanCases {
		p := randomTensor(rng, c, 20)
		spice(rng, c, p, 2)
		f.Add(append([]byte{byte(i), 7, 3}, p...))
		f.Add(append([]byte{byte(i), 200, 1}, make([]byte, 300)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		c := scanCases[int(data[0])%len(scanCases)]
		chunk := int(data[1]) + 1
		minRun := int64(data[2])%64 + 1
		p := data[3:]
		vc := checkFor(c.format, c.dtype)
		if vc.elemBytes == 0 || vc.unit != wordUnit { // whole units only for blocks
			p = p[:len(p)-len(p)%vc.unit]
		} else if vc.floats != nil {
			p = p[:len(p)-len(p)%vc.floats.lane]
		}
		got := scanAll(vc, p, minRun, []int{chunk, chunk/2 + 1})
		nan, inf, fn, fi := naiveCount(t, c, p)
		if got.NaN != nan || got.Inf != inf {
			t.Fatalf("%s: counts nan %d inf %d, want %d %d", c.name, got.NaN, got.Inf, nan, inf)
		}
		if nan > 0 && got.FirstNaN != fn || inf > 0 && got.FirstInf != fi {
			t.Fatalf("%s: first NaN %d Inf %d, want %d %d", c.name, got.FirstNaN, got.FirstInf, fn, fi)
		}
		runs, nonzero := naiveZeroRuns(p, minRun)
		if got.Nonzero != nonzero || !cmp.Equal(runs, got.Runs) {
			t.Fatalf("%s: zero runs %v (nonzero %v), want %v (%v)", c.name, got.Runs, got.Nonzero, runs, nonzero)
		}
		if want := fmt.Sprintf("%x", sha256.Sum256(p)); got.Sum != want {
			t.Fatalf("%s: digest %s, want %s", c.name, got.Sum, want)
		}
		if whole := scanAll(vc, p, minRun, nil); !cmp.Equal(whole, got) {
			t.Fatalf("%s: chunked result differs from one write:\n%s", c.name, cmp.Diff(whole, got))
		}
	})
}

// The scale table is a second transcription of ggml-common.h: every block
// size must agree with the gguf package's, and every scale must lie inside
// its block, or the type would silently lose its NaN/Inf check.
func TestScaleTableAgreesWithGGUF(t *testing.T) {
	for typ, sf := range ggufScales {
		if int64(sf.block) != typ.TypeSize() {
			t.Errorf("%s: block of %d bytes, gguf says %d", typ, sf.block, typ.TypeSize())
		}
		for _, o := range sf.f16 {
			if o < 0 || o+2 > sf.block {
				t.Errorf("%s: f16 scale at %d outside its %d-byte block", typ, o, sf.block)
			}
		}
		for _, o := range sf.f32 {
			if o < 0 || o+4 > sf.block {
				t.Errorf("%s: f32 scale at %d outside its %d-byte block", typ, o, sf.block)
			}
		}
		for _, o := range sf.e8m0 {
			if o < 0 || o >= sf.block {
				t.Errorf("%s: e8m0 scale at %d outside its %d-byte block", typ, o, sf.block)
			}
		}
		if n := len(sf.f16) + len(sf.f32) + len(sf.e8m0); n == 0 {
			t.Errorf("%s: no scale listed", typ)
		}
	}
	if _, ok := ggufScales[gguf.TypeQ8_0]; !ok {
		t.Error("Q8_0 has no scale entry")
	}
}

package compare

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/arch"
	"github.com/weightaudit/weightaudit/checkpoint"
)

// DefaultSample is the rows compared per tensor when Options.Sample is 0;
// a routed expert's tensor gets an eighth of it (at least one row): a
// MoE layer holds hundreds of them, and what goes wrong with an expert
// (another expert's weights, another layer's, a wrong scale) goes wrong
// in every row. A defect that changes a fraction f of a tensor's rows
// escapes a sample of n rows with probability (1−f)^n: with 32 rows, a
// defect of every row (a tensor from another checkpoint, a scale applied
// twice) is caught with certainty, one of a tenth of the rows with
// probability 96.6 %, one of a fifth 99.9 %; with an expert's 4 rows, one
// of every row with certainty, one of half the rows 93.8 %. Permuted heads
// move all but two rows of each head. Defects of fewer rows need --full.
const DefaultSample = 32

// expertShare divides the sample for a routed expert's tensor.
const expertShare = 8

// ErrNotComparable is returned when the two checkpoints cannot be paired
// tensor by tensor: no family reads one of them.
var ErrNotComparable = errors.New("not comparable")

// Options configures [Run].
type Options struct {
	// Sample is the rows compared per tensor, chosen by a generator
	// seeded with Seed and the tensor's role, the same rows on both
	// sides; 0 means DefaultSample. Full compares every row.
	Sample int
	Full   bool
	Seed   uint64
	// Jobs is the number of tensor pairs compared at once; 0 means 1.
	Jobs int
	// Progress, when set, is called after each tensor pair is compared
	// with how many are done and how many there are, from as many
	// goroutines as Jobs; the CLI draws its progress bar with it.
	Progress func(done, total int)
}

// Report is what [Run] found.
type Report struct {
	// SchemaVersion is [SchemaVersion] (schema/compare.vN.json).
	SchemaVersion int  `json:"schema_version"`
	A             Side `json:"a"`
	B             Side `json:"b"`
	// Pass is true when every pair is within its bound, nothing of the
	// model lacks a partner, and the metadata agree.
	Pass     bool   `json:"pass"`
	Verdict  string `json:"verdict"` // "pass", "fail" or "incomplete" (nothing failed but some tensors were not compared)
	Headline string `json:"headline"`
	Sample   int    `json:"sample"` // rows per tensor, 0 with Full
	Full     bool   `json:"full"`
	Seed     uint64 `json:"seed"`
	// Pairs are the tensors compared, in A's order; Failed counts those
	// beyond their bound.
	Pairs    []Pair     `json:"pairs"`
	Failed   int        `json:"failed"`
	Unpaired []Unpaired `json:"unpaired"`
	Metadata []Finding  `json:"metadata"`
	// BytesRead counts the tensor bytes read from both sides.
	BytesRead int64 `json:"bytes_read"`
	// Started is when [Run] began and Seconds how long it took (a
	// caller that loaded the checkpoints first may set them to the whole
	// run).
	Started time.Time `json:"started,omitzero"`
	Seconds float64   `json:"seconds"`
}

// SchemaVersion is the version of the JSON Schema of [Report]
// (schema/compare.vN.json): bumped whenever the report's JSON shape
// changes.
const SchemaVersion = 1

// Side describes one checkpoint.
type Side struct {
	Source  string `json:"source"`
	Format  string `json:"format"`
	Family  string `json:"family"`
	Tensors int    `json:"tensors"`
}

// Pair is one logical tensor compared across the two sides.
type Pair struct {
	Role   string  `json:"role"` // layer, component, expert
	A      string  `json:"a"`    // tensor names; a stacked tensor's slice as name[expert]
	B      string  `json:"b"`
	TypeA  string  `json:"type_a"`
	TypeB  string  `json:"type_b"`
	Shape  []int64 `json:"shape"` // logical, outermost first
	Rows   int     `json:"rows"`  // rows compared
	RelRMS float64 `json:"rel_rmse"`
	MaxAbs float64 `json:"max_abs_err"`
	Cosine float64 `json:"cosine"`
	// Bound is the relative RMS error the two types are expected to
	// allow on these values (slack × the expected error, see bound.go).
	Bound float64 `json:"bound"`
	Pass  bool    `json:"pass"`
	// NonFinite counts the elements NaN or infinite on either side.
	NonFinite int64 `json:"non_finite,omitempty"`
	// Transform names what the comparison undid (llama.cpp's Q/K head
	// permutation, FP8 block scales); Diagnosis, for a failed pair, what
	// would explain the difference, and where it concentrates.
	Transform string `json:"transform,omitempty"`
	Diagnosis string `json:"diagnosis,omitempty"`
}

// Unpaired is a tensor of one side without a partner on the other.
type Unpaired struct {
	Side   string `json:"side"` // "a" or "b"
	Tensor string `json:"tensor"`
	Role   string `json:"role,omitempty"`
	Reason string `json:"reason"`
	// Expected marks what the other format does not carry (an MTP layer,
	// a vision tower, block scales in GGUF); NotCompared what could not be
	// paired yet. Neither fails the comparison; anything else does.
	Expected    bool `json:"expected,omitempty"`
	NotCompared bool `json:"not_compared,omitempty"`
}

// Finding is a disagreement of the two sides' metadata.
type Finding struct {
	Field   string `json:"field,omitempty"`
	Tensor  string `json:"tensor,omitempty"`
	Message string `json:"message"`
}

// Run compares checkpoint b against checkpoint a (typically a GGUF or a
// quantized release against the checkpoint it was made from), tensor by
// tensor within the error their types allow, and their metadata. It
// fails with [ErrNotComparable] when no family reads one side, and with
// read errors naming the file.
func Run(ctx context.Context, a, b *checkpoint.Checkpoint, opts Options) (*Report, error) {
	started := time.Now()
	specA, err := specOf(a)
	if err != nil {
		return nil, err
	}
	specB, err := specOf(b)
	if err != nil {
		return nil, err
	}
	if opts.Sample <= 0 {
		opts.Sample = DefaultSample
	}
	opts.Jobs = max(opts.Jobs, 1)
	r := &Report{SchemaVersion: SchemaVersion, Started: started, A: describe(a, specA), B: describe(b, specB), Sample: opts.Sample, Full: opts.Full, Seed: opts.Seed,
		Pairs: []Pair{}, Unpaired: []Unpaired{}, Metadata: []Finding{}}
	if opts.Full {
		r.Sample = 0
	}
	if specA.Family() != specB.Family() {
		r.Metadata = append(r.Metadata, Finding{Field: "architecture", Message: fmt.Sprintf("%s is %s, %s is %s", a.Source, specA.Family(), b.Source, specB.Family())})
		r.decide()
		r.Seconds = time.Since(started).Seconds()
		return r, nil
	}
	sa, sb := newSide(a, specA), newSide(b, specB)
	md, err := metadata(ctx, sa, sb)
	if err != nil {
		return nil, err
	}
	r.Metadata = append(r.Metadata, md...)
	p := pair(sa, sb)
	r.Unpaired = append(r.Unpaired, p.unpaired...)
	ra, err := a.NewReader()
	if err != nil {
		return nil, err
	}
	defer ra.Close()
	rb, err := b.NewReader()
	if err != nil {
		return nil, err
	}
	defer rb.Close()
	r.Pairs = make([]Pair, len(p.pairs)+len(p.splits))
	var done atomic.Int64
	tick := func() {
		if opts.Progress != nil {
			opts.Progress(int(done.Add(1)), len(r.Pairs))
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for i, pp := range p.pairs {
		g.Go(func() error {
			c := &comparer{ctx: gctx, a: sa, b: sb, ra: ra, rb: rb, opts: opts}
			res, err := c.compare(pp)
			r.Pairs[i] = res
			tick()
			return err
		})
	}
	for i, sp := range p.splits {
		g.Go(func() error {
			c := &comparer{ctx: gctx, a: sa, b: sb, ra: ra, rb: rb, opts: opts}
			res, err := c.compareSplit(sp)
			r.Pairs[len(p.pairs)+i] = res
			tick()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r.BytesRead = ra.BytesRead() + rb.BytesRead()
	r.decide()
	r.Seconds = time.Since(started).Seconds()
	return r, nil
}

// specOf derives a checkpoint's family spec; an architecture no family
// knows cannot be paired.
func specOf(ck *checkpoint.Checkpoint) (arch.Spec, error) {
	spec, _, err := arch.FromCheckpoint(ck)
	if errors.Is(err, arch.ErrUnsupportedArch) {
		return nil, fmt.Errorf("%s: %w: %w", ck.Source, ErrNotComparable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ck.Source, err)
	}
	return spec, nil
}

func describe(ck *checkpoint.Checkpoint, spec arch.Spec) Side {
	return Side{Source: ck.Source, Format: string(ck.Format), Family: spec.Family(), Tensors: len(ck.Inventory().Tensors)}
}

// decide sets the verdict and the headline.
func (r *Report) decide() {
	r.Failed = 0
	for _, p := range r.Pairs {
		if !p.Pass {
			r.Failed++
		}
	}
	missing, notCompared := 0, 0
	for _, u := range r.Unpaired {
		switch {
		case u.NotCompared:
			notCompared++
		case !u.Expected:
			missing++
		}
	}
	problems := r.Failed + missing + len(r.Metadata)
	r.Pass = problems == 0 && notCompared == 0
	switch {
	case problems > 0:
		r.Verdict = "fail"
		r.Headline = fmt.Sprintf("FAIL %s is not a faithful conversion of %s: %s", r.B.Source, r.A.Source, r.firstCause(missing))
	case notCompared > 0:
		r.Verdict = "incomplete"
		r.Headline = fmt.Sprintf("INCOMPLETE %d tensor pair(s) agree within their types' error; %d tensor(s) could not be paired", len(r.Pairs), notCompared)
	default:
		r.Verdict = "pass"
		how := fmt.Sprintf("%d sampled rows each, %d of an expert's", r.Sample, max(1, r.Sample/expertShare))
		if r.Full {
			how = "every row"
		}
		r.Headline = fmt.Sprintf("PASS %d tensor pair(s) agree within their types' error (%s)", len(r.Pairs), how)
	}
}

func (r *Report) firstCause(missing int) string {
	parts := []string{}
	if len(r.Metadata) > 0 {
		parts = append(parts, fmt.Sprintf("%d metadata finding(s)", len(r.Metadata)))
	}
	if r.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d tensor pair(s) beyond their bound", r.Failed, len(r.Pairs)))
	}
	if missing > 0 {
		parts = append(parts, fmt.Sprintf("%d tensor(s) without a partner", missing))
	}
	s := fmt.Sprint(parts)
	s = s[1 : len(s)-1]
	switch {
	case len(r.Metadata) > 0:
		return s + "; the first: " + r.Metadata[0].Message
	case r.Failed > 0:
		for _, p := range r.Pairs {
			if !p.Pass {
				return s + "; the first: " + p.B + ": " + p.Diagnosis
			}
		}
	}
	for _, u := range r.Unpaired {
		if !u.Expected && !u.NotCompared {
			return s + "; the first: " + u.Tensor + ": " + u.Reason
		}
	}
	return s
}

// comparer compares one pair.
type comparer struct {
	ctx    context.Context
	a, b   *side
	ra, rb *checkpoint.Reader
	opts   Options
}

// rows picks the rows of an n-row tensor to compare: all with Full or
// when n is at most the sample, else Sample distinct rows drawn by a
// generator seeded with the seed and the role, in increasing order.
func (c *comparer) rows(k key, n int) []int {
	sample := c.opts.Sample
	if k.expert >= 0 {
		sample = max(1, sample/expertShare)
	}
	if c.opts.Full || n <= sample {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	h := fnv.New64a()
	fmt.Fprint(h, k.layer, k.comp, k.expert)
	rng := rand.New(rand.NewPCG(c.opts.Seed, h.Sum64()))
	picked := map[int]bool{}
	out := make([]int, 0, sample)
	for len(out) < sample {
		if i := rng.IntN(n); !picked[i] {
			picked[i] = true
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// compare reads the chosen rows of both sides and measures them.
func (c *comparer) compare(p pairing1) (Pair, error) {
	res := Pair{Role: p.k.String(), A: sliceName(p.a), B: sliceName(p.b), TypeA: p.a.t.DType, TypeB: p.b.t.DType, Shape: p.a.shape()}
	ma, err := c.a.view(c.ra, p.a, p.k)
	if err != nil {
		return res, err
	}
	mb, err := c.b.view(c.rb, p.b, p.k)
	if err != nil {
		return res, err
	}
	if ma.rows() != mb.rows() || ma.cols() != mb.cols() {
		res.Diagnosis = fmt.Sprintf("shape %v on one side, %v on the other", p.a.shape(), p.b.shape())
		if ma.rows() == mb.cols() && ma.cols() == mb.rows() {
			res.Diagnosis += ": transposed"
		}
		return res, nil
	}
	ma.sequential, mb.sequential = c.opts.Full, c.opts.Full
	defer ma.release()
	defer mb.release()
	res.Shape = []int64{int64(ma.rows()), int64(ma.cols())}
	res.Transform = joinNonEmpty(ma.transform, mb.transform)
	rows := c.rows(p.k, ma.rows())
	res.Rows = len(rows)
	var st stats
	ea, eb := modelOf(c.a.storage(p.a)), modelOf(c.b.storage(p.b))
	bufA, bufB := make([]float32, ma.cols()), make([]float32, mb.cols())
	perRow := make([]float64, len(rows))
	for j, i := range rows {
		if j%256 == 0 {
			if err := c.ctx.Err(); err != nil {
				return res, err
			}
		}
		va, err := ma.rowRef(c.ctx, i, bufA)
		if err != nil {
			return res, err
		}
		vb, err := mb.rowRef(c.ctx, i, bufB)
		if err != nil {
			return res, err
		}
		before := st.diff2
		st.measure(va, vb, ea, eb)
		perRow[j] = st.diff2 - before
	}
	st.judge(&res)
	if math.IsInf(res.RelRMS, 0) {
		res.RelRMS = math.MaxFloat64 // a zero A against a nonzero B; JSON has no infinity
	}
	if st.nonFinite > 0 {
		res.Diagnosis = fmt.Sprintf("%d value(s) NaN or infinite on a side, on the rows compared (the measures leave them out)", st.nonFinite)
		return res, nil
	}
	if !res.Pass {
		d, err := c.diagnose(p, ma, mb, rows, perRow, &st)
		if err != nil {
			return res, err
		}
		res.Diagnosis = d
	}
	return res, nil
}

func sliceName(s slot) string {
	if s.slice >= 0 {
		return fmt.Sprintf("%s[%d]", s.t.Name, s.slice)
	}
	return s.t.Name
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// stats accumulates the sums the measures are made of.
type stats struct {
	a2, b2, ab, diff2, maxAbs, expected float64
	nonFinite                           int64 // elements NaN or infinite on either side
}

func (s *stats) add(a, b []float32) {
	a2, b2, ab, diff2, maxAbs := s.a2, s.b2, s.ab, s.diff2, s.maxAbs
	b = b[:len(a)]
	for i, xf := range a {
		x, y := float64(xf), float64(b[i])
		d := x - y
		if d-d != 0 { // NaN or ±Inf on a side: counted apart, out of the sums
			s.nonFinite++
			continue
		}
		a2 += x * x
		b2 += y * y
		ab += x * y
		diff2 += d * d
		if d = math.Abs(d); d > maxAbs { // no branch on the sign
			maxAbs = d
		}
	}
	s.a2, s.b2, s.ab, s.diff2, s.maxAbs = a2, b2, ab, diff2, maxAbs
}

// measure adds the rows a and b to the sums as add does, and to expected
// what a would carry stored in ma's type and in mb's (ma.sqErr(a) +
// mb.sqErr(a)). A float type against a block type, as a conversion is,
// takes one pass over the rows (measureFloatBlock); other pairs take add
// and sqErr apart. --full runs it over every element.
func (s *stats) measure(a, b []float32, ma, mb errModel) {
	switch {
	case ma.bits > 0 && mb.block.size != 0:
		s.expected += s.measureFloatBlock(a, b, ma.bits, mb.block, false)
	case mb.bits > 0 && ma.block.size != 0:
		s.expected += s.measureFloatBlock(a, b, mb.bits, ma.block, true)
	default:
		s.add(a, b)
		s.expected += ma.sqErr(a) + mb.sqErr(a)
	}
}

// measureFloatBlock is measure of a float type of bits mantissa bits and a
// block type of step bs, in one pass: the block's min and max, the float
// type's s² and add's sums, each taken in the order add and sqErr take it,
// so the figures are theirs to the bit. It returns the expected error to
// add, the float type's + the block type's (the block type's first when
// blockFirst).
func (s *stats) measureFloatBlock(a, b []float32, bits int, bs blockStep, blockFirst bool) float64 {
	size := errModel{block: bs}.blockSize(a)
	b = b[:len(a)]
	a2, b2, ab, diff2, maxAbs, nonFinite := s.a2, s.b2, s.ab, s.diff2, s.maxAbs, s.nonFinite
	var fl, blk float64 // the float type's Σ s², the block type's sqErr
	bias := uint64(1023 - 2*127 - 2*bits)
	for i0 := 0; i0 < len(a); i0 += size {
		end := min(i0+size, len(a))
		lo, hi := a[i0], a[i0]
		for i := i0; i < end; i++ {
			xf := a[i]
			if e := uint64(math.Float32bits(xf) >> 23 & 0xff); e-1 < 254 { // not zero, subnormal or non-finite
				fl += math.Float64frombits((2*e + bias) << 52)
			}
			if xf < lo {
				lo = xf
			}
			if xf > hi {
				hi = xf
			}
			x, y := float64(xf), float64(b[i])
			d := x - y
			if d-d != 0 { // NaN or ±Inf on a side: counted apart, out of the sums
				nonFinite++
				continue
			}
			a2 += x * x
			b2 += y * y
			ab += x * y
			diff2 += d * d
			if d = math.Abs(d); d > maxAbs { // no branch on the sign
				maxAbs = d
			}
		}
		blk += blockTerm(bs, end-i0, lo, hi)
	}
	s.a2, s.b2, s.ab, s.diff2, s.maxAbs, s.nonFinite = a2, b2, ab, diff2, maxAbs, nonFinite
	if blockFirst {
		return blk + fl/12
	}
	return fl/12 + blk
}

// relRMS is ‖a−b‖/‖a‖: 0 for two zero tensors, +Inf for a zero a and a
// nonzero b.
func (s *stats) relRMS() float64 {
	switch {
	case s.a2 > 0:
		return math.Sqrt(s.diff2 / s.a2)
	case s.diff2 == 0:
		return 0
	}
	return math.Inf(1)
}

func (s *stats) cosine() float64 {
	if s.a2 == 0 || s.b2 == 0 {
		if s.a2 == s.b2 {
			return 1
		}
		return 0
	}
	return s.ab / math.Sqrt(s.a2*s.b2)
}

// judge sets res's measures from st — relative RMS error, max |Δ|, cosine,
// the bound its types allow, the non-finite values — and whether it
// passes (within the bound, every value finite), which it returns.
func (st *stats) judge(res *Pair) bool {
	res.RelRMS, res.MaxAbs, res.Cosine, res.Bound = st.relRMS(), st.maxAbs, st.cosine(), st.bound()
	res.NonFinite = st.nonFinite
	res.Pass = res.RelRMS <= res.Bound && st.nonFinite == 0
	return res.Pass
}

// excess says how far beyond its bound st's error is.
func (st *stats) excess() string {
	return fmt.Sprintf("relative RMS error %.3g, %.1f× the %.3g its types allow", st.relRMS(), st.relRMS()/st.bound(), st.bound())
}

// bound is the relative RMS error the types allow: slack times the
// expected, at least floor.
func (s *stats) bound() float64 {
	if s.a2 == 0 {
		return floor
	}
	return math.Max(floor, slack*math.Sqrt(s.expected/s.a2))
}

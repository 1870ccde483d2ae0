package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/weightaudit/weightaudit/internal/half"
)

// ErrIntPacked is returned by [DecodeIntPacked] and [NewIntRows] for a
// GPTQ or AWQ weight whose tensors or packing do not agree.
var ErrIntPacked = errors.New("not a GPTQ or AWQ packed weight")

// IntScheme is how a GPTQ or AWQ checkpoint packs a linear weight of
// logical shape [out, in] into int32 words. A value is (q − zero) ×
// scale, q, zero and scale those of its input's group (dequantization as
// AutoGPTQ's and AutoAWQ's reference kernels compute it).
//
//	GPTQ (AutoGPTQ's and gptqmodel's checkpoint format): qweight
//	[in·Bits/32, out], bits Bits·j of word (r, o) holding input
//	r·(32/Bits) + j of output o; qzeros [groups, out·Bits/32], bits Bits·j
//	of word (g, c) the zero of output c·(32/Bits) + j; scales [groups,
//	out] F16; g_idx [in] int32, the group of each input (act-order; when
//	absent, input/Group). Format v1 ("gptq", the default) stores each
//	zero minus one; v2 ("gptq_v2", checkpoint_format) as it is.
//	AWQ (AutoAWQ's GEMM format, 4 bits): qweight [in, out/8], nibble n
//	of word (i, c) holding output c·8 + [0 2 4 6 1 3 5 7][n]; qzeros
//	[groups, out/8] in the same order, as they are; scales [groups, out]
//	F16; input i in group i/Group.
type IntScheme struct {
	AWQ  bool
	Bits int // 2, 4 or 8 for GPTQ; 4 for AWQ
	// Group is the inputs a scale and zero serve; -1 (or 0) for one
	// group of every input.
	Group int64
	// ZerosAsStored is GPTQ's v2 format: the zeros are not stored minus
	// one.
	ZerosAsStored bool
}

// awqOrder is the output, within its 8, of each nibble of an AWQ word
// (AutoAWQ's pack order).
var awqOrder = [8]int{0, 2, 4, 6, 1, 3, 5, 7}

// awqNibble is the inverse of awqOrder: the nibble holding output o%8.
var awqNibble = [8]int{0, 4, 1, 5, 2, 6, 3, 7}

// MaxIntPacked bounds the values (out·in) of one packed weight that
// [IntRows] holds decoded-ready in memory, packed: 2^28 values, at most
// 1 GiB of 32-bit words at 8 bits and 128 MiB at 4.
const MaxIntPacked = 1 << 28

// intLayout is a packed weight's dimensions and the checked sizes of its
// four parts.
type intLayout struct {
	s       IntScheme
	out, in int
	groups  int
	per     int // values a word packs
}

func newIntLayout(s IntScheme, out, in, groups int) (intLayout, error) {
	l := intLayout{s: s, out: out, in: in, groups: groups}
	if s.AWQ && s.Bits != 4 || !s.AWQ && s.Bits != 2 && s.Bits != 4 && s.Bits != 8 {
		return l, fmt.Errorf("%d bits: %w", s.Bits, ErrIntPacked)
	}
	l.per = 32 / s.Bits
	if out < 1 || in < 1 || groups < 1 || groups > in || int64(out)*int64(in) > MaxIntPacked {
		return l, fmt.Errorf("[%d, %d] in %d groups: %w", out, in, groups, ErrIntPacked)
	}
	if out%l.per != 0 || !s.AWQ && in%l.per != 0 {
		return l, fmt.Errorf("[%d, %d] is not whole words of %d values: %w", out, in, l.per, ErrIntPacked)
	}
	return l, nil
}

// bytes returns the bytes of qweight, qzeros, scales and g_idx.
func (l intLayout) bytes() (q, z, sc, g int64) {
	vals := int64(l.out) * int64(l.in)
	return vals / int64(l.per) * 4, int64(l.groups) * int64(l.out/l.per) * 4, int64(l.groups) * int64(l.out) * 2, int64(l.in) * 4
}

// intData is a packed weight in memory: its words, zeros, scales and the
// group of each input, checked.
type intData struct {
	intLayout
	q, z    []byte
	scales  []float32 // [groups, out]
	groupOf []int32   // [in]
}

// newIntData checks the parts' lengths and the groups of g_idx (nil:
// input/Group) and decodes the scales.
func newIntData(l intLayout, q, z, sc, gidx []byte) (*intData, error) {
	wq, wz, ws, wg := l.bytes()
	if int64(len(q)) != wq || int64(len(z)) != wz || int64(len(sc)) != ws || gidx != nil && int64(len(gidx)) != wg {
		return nil, fmt.Errorf("qweight %d, qzeros %d, scales %d, g_idx %d bytes; want %d, %d, %d, %d: %w",
			len(q), len(z), len(sc), len(gidx), wq, wz, ws, wg, ErrIntPacked)
	}
	d := &intData{intLayout: l, q: q, z: z, scales: make([]float32, l.groups*l.out), groupOf: make([]int32, l.in)}
	half.Row(d.scales, sc)
	size := (l.in + l.groups - 1) / l.groups
	if g := l.s.Group; g > 0 {
		size = int(g)
	}
	for i := range d.groupOf {
		if gidx == nil {
			d.groupOf[i] = int32(i / size)
		} else {
			d.groupOf[i] = int32(binary.LittleEndian.Uint32(gidx[4*i:]))
		}
		if d.groupOf[i] < 0 || int(d.groupOf[i]) >= l.groups {
			return nil, fmt.Errorf("input %d in group %d of %d: %w", i, d.groupOf[i], l.groups, ErrIntPacked)
		}
	}
	return d, nil
}

func (d *intData) word(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }

// zero returns the zero point of group g, output o.
func (d *intData) zero(g, o int) int {
	w := d.word(d.z, g*(d.out/d.per)+o/d.per)
	mask := uint32(1)<<d.s.Bits - 1
	if d.s.AWQ {
		return int(w >> (4 * awqNibble[o%8]) & 15)
	}
	z := int(w >> (d.s.Bits * (o % d.per)) & mask)
	if !d.s.ZerosAsStored {
		z++
	}
	return z
}

// row decodes output o into dst (in values): the codes of its words,
// a word at a time, then each minus its group's zero times its scale.
func (d *intData) row(o int, dst []float32) {
	mask := uint32(1)<<d.s.Bits - 1
	if d.s.AWQ {
		shift, stride := 4*awqNibble[o%8], d.out/8
		for i := range dst {
			dst[i] = float32(d.word(d.q, i*stride+o/8) >> shift & 15)
		}
	} else {
		for r := 0; r < len(dst)/d.per; r++ {
			w, vals := d.word(d.q, r*d.out+o), dst[r*d.per:(r+1)*d.per]
			for j := range vals {
				vals[j] = float32(w >> (d.s.Bits * j) & mask)
			}
		}
	}
	lastG, z, sc := -1, float32(0), float32(0) // the last group's zero and scale, kept while the group repeats
	for i, q := range dst {
		if g := int(d.groupOf[i]); g != lastG {
			lastG, z, sc = g, float32(d.zero(g, o)), d.scales[g*d.out+o]
		}
		dst[i] = (q - z) * sc
	}
}

// DecodeIntPacked decodes a whole GPTQ or AWQ weight of logical shape
// [out, in] (the scheme s, in groups groups) into dst, row-major: q, z
// and sc are the bytes of its qweight, qzeros and scales, gidx those of
// its g_idx or nil. dst must hold out·in values. Lengths that do not
// agree, or a g_idx naming a group out of range, give an error wrapping
// [ErrIntPacked]; it never panics.
func DecodeIntPacked(dst []float32, q, z, sc, gidx []byte, s IntScheme, out, in, groups int) error {
	l, err := newIntLayout(s, out, in, groups)
	if err != nil {
		return err
	}
	if len(dst) != out*in {
		return fmt.Errorf("%d values for [%d, %d]: %w", len(dst), out, in, ErrIntPacked)
	}
	d, err := newIntData(l, q, z, sc, gidx)
	if err != nil {
		return err
	}
	for o := range out {
		d.row(o, dst[o*in:(o+1)*in])
	}
	return nil
}

// IntTensors are the tensors of one GPTQ or AWQ weight; GIdx is nil when
// the checkpoint has none (AWQ, and GPTQ saved without it).
type IntTensors struct {
	QWeight, QZeros, Scales, GIdx *Tensor
}

// IntRows reads a GPTQ or AWQ weight as the [out, in] rows it holds. Its
// packing runs across the logical rows, so the first row asked for reads
// its qweight, qzeros, scales and g_idx whole, once (each byte read
// once); rows are then decoded from them in memory as asked for. It is
// safe for concurrent use.
type IntRows struct {
	r  *Reader
	t  IntTensors
	l  intLayout
	mu sync.Mutex
	d  *intData
}

// NewIntRows reads the weight of t packed as s through r. Tensors of other
// types (qweight, qzeros, g_idx I32; scales F16) or shapes than s gives
// [out, in] give an error naming the weight and wrapping [ErrIntPacked].
func NewIntRows(r *Reader, t IntTensors, s IntScheme) (*IntRows, error) {
	if t.QWeight == nil || t.QZeros == nil || t.Scales == nil {
		return nil, fmt.Errorf("a packed weight without its qweight, qzeros or scales: %w", ErrIntPacked)
	}
	name := t.QWeight.Name
	sc := t.Scales.Logical
	if len(t.QWeight.Logical) != 2 || len(sc) != 2 || t.QWeight.DType != "I32" || t.QZeros.DType != "I32" || t.Scales.DType != "F16" ||
		t.GIdx != nil && t.GIdx.DType != "I32" || sc[0] > MaxIntPacked || sc[1] > MaxIntPacked || t.QWeight.Logical[0] > MaxIntPacked {
		return nil, fmt.Errorf("tensor %s: not an I32 qweight with I32 qzeros (and g_idx) and F16 scales [groups, out]: %w", name, ErrIntPacked)
	}
	out, in := int(sc[1]), int(t.QWeight.Logical[0])
	if !s.AWQ && s.Bits > 0 {
		in *= 32 / s.Bits
	}
	l, err := newIntLayout(s, out, in, int(sc[0]))
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	wq, wz, ws, wg := l.bytes()
	if t.QWeight.Bytes != wq || t.QZeros.Bytes != wz || t.Scales.Bytes != ws || t.GIdx != nil && t.GIdx.Bytes != wg {
		return nil, fmt.Errorf("tensor %s: qweight, qzeros, scales or g_idx of other sizes than [%d, %d] in %d groups: %w", name, out, in, l.groups, ErrIntPacked)
	}
	return &IntRows{r: r, t: t, l: l}, nil
}

// Rows is the weight's outputs.
func (m *IntRows) Rows() int { return m.l.out }

// Cols is its inputs.
func (m *IntRows) Cols() int { return m.l.in }

// RowBytes is the bytes of packed values one row takes (a row is not
// read alone).
func (m *IntRows) RowBytes() int64 { return int64(m.l.in) * int64(m.l.s.Bits) / 8 }

// Tensor is the qweight tensor.
func (m *IntRows) Tensor() *Tensor { return m.t.QWeight }

// load reads the weight's tensors, once.
func (m *IntRows) load(ctx context.Context) (*intData, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.d != nil {
		return m.d, nil
	}
	read := func(t *Tensor) ([]byte, error) {
		if t == nil {
			return nil, nil
		}
		b := make([]byte, t.Bytes)
		if err := m.r.ReadAt(ctx, t.File, b, t.Offset); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		return b, nil
	}
	var parts [4][]byte
	for i, t := range []*Tensor{m.t.QWeight, m.t.QZeros, m.t.Scales, m.t.GIdx} {
		b, err := read(t)
		if err != nil {
			return nil, err
		}
		parts[i] = b
	}
	d, err := newIntData(m.l, parts[0], parts[1], parts[2], parts[3])
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", m.t.QWeight.Name, err)
	}
	m.d = d
	return d, nil
}

// ReadRow decodes row (output) i into dst, which must hold Cols values;
// buf is not used.
func (m *IntRows) ReadRow(ctx context.Context, i int, dst []float32, _ []byte) error {
	if i < 0 || i >= m.l.out || len(dst) != m.l.in {
		return fmt.Errorf("tensor %s: row %d of %d into %d elements: %w", m.t.QWeight.Name, i, m.l.out, len(dst), ErrIntPacked)
	}
	d, err := m.load(ctx)
	if err != nil {
		return err
	}
	d.row(i, dst)
	return nil
}

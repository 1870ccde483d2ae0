package compare

import (
	"fmt"
	"strings"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// compareSplit compares a tensor one side holds whole with the parts the
// other side holds per head ([arch.HeadSplit]): for each head compared
// (all with Full, else an eighth of the sample), each part's rows of the
// whole against the part's slice of that head, read transposed where the
// converter transposed it.
func (c *comparer) compareSplit(sp splitPair) (Pair, error) {
	ws, wr, pr := c.a, c.ra, c.rb
	if !sp.wholeA {
		ws, wr, pr = c.b, c.rb, c.ra
	}
	var names, types []string
	for _, p := range sp.parts {
		names, types = append(names, p.t.Name), append(types, p.t.DType)
	}
	res := Pair{Role: fmt.Sprintf("layer %d %s (split per head)", sp.layer, sp.split.Whole), A: sp.whole.t.Name, B: strings.Join(names, " + "),
		TypeA: sp.whole.t.DType, TypeB: strings.Join(types, "+"), Shape: sp.whole.shape(),
		Transform: fmt.Sprintf("%s split per head into %s, as llama.cpp's converter does", sp.whole.t.Name, strings.Join(names, " and "))}
	if !sp.wholeA {
		res.A, res.B, res.TypeA, res.TypeB = res.B, res.A, res.TypeB, res.TypeA
	}
	wk := key{sp.layer, sp.split.Whole, sp.expert}
	wv, err := ws.view(wr, sp.whole, wk)
	if err != nil {
		return res, err
	}
	if sp.split.Columns {
		res.Role = fmt.Sprintf("layer %d %s (interleaved by columns)", sp.layer, sp.split.Whole)
		res.Transform = fmt.Sprintf("%s's columns dealt in turn to %s, as llama.cpp's converter de-interleaves them", sp.whole.t.Name, strings.Join(names, " and "))
		return c.compareColumns(sp, wv, pr, res)
	}
	if sp.split.Interleaved {
		res.Role = fmt.Sprintf("layer %d %s expert %d (interleaved)", sp.layer, sp.split.Whole, sp.expert)
		res.A, res.B = sliceName(sp.whole), joinSlices(sp.parts)
		if !sp.wholeA {
			res.A, res.B = res.B, res.A
		}
		res.Transform = fmt.Sprintf("%s's rows dealt in turn to %s, as llama.cpp's converter de-interleaves them", sliceName(sp.whole), joinSlices(sp.parts))
		return c.compareInterleaved(sp, wv, pr, res)
	}
	var per int64
	for _, p := range sp.split.Parts {
		per += p.Rows
	}
	if per == 0 || int64(wv.rows())%per != 0 {
		res.Diagnosis = fmt.Sprintf("%s has %d rows, not a whole number of heads of %d", sp.whole.t.Name, wv.rows(), per)
		return res, nil
	}
	heads := int(int64(wv.rows()) / per)
	pick := c.rows(key{sp.layer, sp.split.Whole, 0}, heads) // an expert's share of the sample: one head is hundreds of rows
	var st stats
	whole := make([]float32, wv.cols())
	for _, h := range pick {
		off := int64(h) * per
		for j, part := range sp.split.Parts {
			m, err := pr.Matrix(sp.parts[j].t, h)
			if err != nil {
				return res, err
			}
			rows, cols := int64(m.Rows()), int64(m.Cols())
			if part.Transposed {
				rows, cols = cols, rows
			}
			if rows != part.Rows || cols != int64(wv.cols()) {
				res.Diagnosis = fmt.Sprintf("%s head %d is [%d, %d]%s, the split gives [%d, %d]", sp.parts[j].t.Name, h, m.Rows(), m.Cols(),
					map[bool]string{true: " transposed", false: ""}[part.Transposed], part.Rows, wv.cols())
				return res, nil
			}
			got, err := readHead(c, m, part.Transposed)
			if err != nil {
				return res, err
			}
			for i := range part.Rows {
				if err := wv.row(c.ctx, int(off+i), whole); err != nil {
					return res, err
				}
				pv := got[i*cols : (i+1)*cols]
				sp.measure(&st, whole, pv, j)
			}
			off += part.Rows
		}
		res.Rows += int(per)
	}
	if !st.judge(&res) {
		res.Diagnosis = fmt.Sprintf("%s, over heads %v", st.excess(), pick)
	}
	return res, nil
}

// readHead reads one head's part whole, as the whole's rows: the matrix
// itself, or its transpose.
func readHead(c *comparer, m *checkpoint.Matrix, transposed bool) ([]float32, error) {
	r, k := m.Rows(), m.Cols()
	buf := make([]float32, r*k)
	for i := range r {
		if err := m.ReadRow(c.ctx, i, buf[i*k:(i+1)*k], nil); err != nil {
			return nil, err
		}
	}
	if !transposed {
		return buf, nil
	}
	t := make([]float32, r*k)
	for i := range r {
		for j := range k {
			t[j*r+i] = buf[i*k+j]
		}
	}
	return t, nil
}

func joinSlices(ss []slot) string {
	var names []string
	for _, s := range ss {
		names = append(names, sliceName(s))
	}
	return strings.Join(names, " + ")
}

// compareInterleaved compares one expert's whole (rows dealt to the parts
// in turn) with its parts, on the parts' sampled rows.
func (c *comparer) compareInterleaved(sp splitPair, wv *view, pr *checkpoint.Reader, res Pair) (Pair, error) {
	n := len(sp.parts)
	ms := make([]*checkpoint.Matrix, n)
	for i, ps := range sp.parts {
		m, err := pr.Matrix(ps.t, ps.slice)
		if err != nil {
			return res, err
		}
		if m.Rows()*n != wv.rows() || m.Cols() != wv.cols() {
			res.Diagnosis = fmt.Sprintf("%s is [%d, %d], %d of them do not make %s's [%d, %d]", sliceName(ps), m.Rows(), m.Cols(), n, sliceName(sp.whole), wv.rows(), wv.cols())
			return res, nil
		}
		ms[i] = m
	}
	var st stats
	whole, part := make([]float32, wv.cols()), make([]float32, wv.cols())
	rows := c.rows(key{sp.layer, sp.split.Whole, sp.expert}, ms[0].Rows())
	for _, j := range rows {
		for i, m := range ms {
			if err := wv.row(c.ctx, j*n+i, whole); err != nil {
				return res, err
			}
			if err := m.ReadRow(c.ctx, j, part, nil); err != nil {
				return res, err
			}
			sp.measure(&st, whole, part, i)
		}
	}
	res.Rows = len(rows) * n
	if !st.judge(&res) {
		res.Diagnosis = st.excess()
	}
	return res, nil
}

// compareColumns compares a whole whose columns are dealt to the parts in
// turn (column j·n+i is part i's column j) with its parts, on the sampled
// rows; a failed pair names the rows (of gpt-oss's bias, the experts) the
// error is in.
func (c *comparer) compareColumns(sp splitPair, wv *view, pr *checkpoint.Reader, res Pair) (Pair, error) {
	n := len(sp.parts)
	ms := make([]*checkpoint.Matrix, n)
	for i, ps := range sp.parts {
		m, err := pr.Matrix(ps.t, ps.slice)
		if err != nil {
			return res, err
		}
		if m.Rows() != wv.rows() || m.Cols()*n != wv.cols() {
			res.Diagnosis = fmt.Sprintf("%s is [%d, %d], %d of them side by side do not make %s's [%d, %d]", sliceName(ps), m.Rows(), m.Cols(), n, sp.whole.t.Name, wv.rows(), wv.cols())
			return res, nil
		}
		ms[i] = m
	}
	var st stats
	f := ms[0].Cols()
	whole, split, part := make([]float32, wv.cols()), make([]float32, wv.cols()), make([]float32, f)
	rows := c.rows(key{sp.layer, sp.split.Whole, -1}, wv.rows())
	perRow := make([]float64, len(rows))
	for k, r := range rows {
		if err := wv.row(c.ctx, r, whole); err != nil {
			return res, err
		}
		// The whole's row de-interleaved: part i's columns at i·f.
		for j := range f {
			for i := range n {
				split[i*f+j] = whole[j*n+i]
			}
		}
		before := st.diff2
		for i, m := range ms {
			if err := m.ReadRow(c.ctx, r, part, nil); err != nil {
				return res, err
			}
			w := split[i*f : (i+1)*f]
			sp.measure(&st, w, part, i)
		}
		perRow[k] = st.diff2 - before
	}
	res.Rows = len(rows)
	if !st.judge(&res) {
		var bad []int
		for k, d := range perRow {
			if st.a2 > 0 && d/st.a2 > res.Bound*res.Bound/float64(len(rows)) {
				bad = append(bad, rows[k])
			}
		}
		res.Diagnosis = fmt.Sprintf("%s, in rows %v", st.excess(), bad)
	}
	return res, nil
}

// measure adds one row of the whole tensor and the same row rebuilt from
// part j to st, A's side first, with the error both types are expected to
// add on those values.
func (sp splitPair) measure(st *stats, whole, part []float32, j int) {
	if sp.wholeA {
		st.add(whole, part)
	} else {
		st.add(part, whole)
	}
	st.expected += sqErr(sp.whole.t.DType, whole) + sqErr(sp.parts[j].t.DType, whole)
}

package htmlreport_test

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/weightaudit/weightaudit/internal/htmlreport"
)

// reader hands out the fuzzer's bytes as choices; past the end it gives
// zeros.
type reader struct{ b []byte }

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// float is one of the values charts find hard: zero, tiny, huge, the
// extremes of float64, NaN and infinities (to be refused), or an ordinary
// number, of either sign.
func (r *reader) float() float64 {
	c := r.byte()
	var v float64
	switch c % 64 {
	case 0:
		v = 0
	case 1:
		v = math.SmallestNonzeroFloat64
	case 2:
		v = math.MaxFloat64
	case 3:
		v = math.NaN()
	case 4:
		v = math.Inf(1)
	case 5:
		v = 1e-300
	case 6:
		v = 1e300
	default:
		v = float64(r.byte()) * math.Pow(10, float64(int(r.byte()%40)-20))
	}
	if c&0xc0 == 0xc0 {
		v = -v
	}
	return v
}

func (r *reader) floats() []float64 {
	out := make([]float64, r.byte()%12)
	for i := range out {
		out[i] = r.float()
	}
	return out
}

func (r *reader) text() string {
	n := int(r.byte() % 8)
	s := string(r.b[:min(len(r.b), n)])
	return s + []string{"", "<b>&amp;", `"'`, "\x00\x1b", "\xff\xfe", "é中"}[r.byte()%6]
}

// checkChart: a chart either draws, as well-formed XML with every
// coordinate finite and inside its viewBox, or refuses with ErrChart. It
// reports whether the chart was drawn.
func checkChart(t *testing.T, data []byte) bool {
	r := &reader{b: data}
	var c htmlreport.Chart
	var err error
	size := func() float64 { return []float64{0, 150, 270, 740, -1, 5000}[r.byte()%6] }
	if r.byte()%2 == 0 {
		b := htmlreport.Bars{Title: r.text(), XLabel: r.text(), YLabel: r.text(), Horizontal: r.byte()%2 == 0, Width: size(), Height: size()}
		n := int(r.byte() % 40)
		for i := range n {
			b.Categories = append(b.Categories, r.text()+strconv.Itoa(i))
		}
		for range r.byte() % 9 {
			s := htmlreport.Series{Name: r.text()}
			for range n + int(r.byte()%32)/31 { // now and then one value too many
				s.Values = append(s.Values, math.Abs(r.float()))
			}
			b.Series = append(b.Series, s)
		}
		c, err = htmlreport.StackedBars(b)
	} else {
		l := htmlreport.Lines{Title: r.text(), XLabel: r.text(), YLabel: r.text(), LogX: r.byte()%3 == 0, LogY: r.byte()%3 == 0,
			IntegerX: r.byte()%2 == 0, LegendLeft: r.byte()%2 == 0, Width: size(), Height: size()}
		if r.byte()%4 == 0 {
			l.YMin, l.YMax = r.float(), r.float()
		}
		for range r.byte() % 5 {
			xs := r.floats()
			ys := make([]float64, len(xs))
			for i := range ys {
				ys[i] = r.float()
			}
			l.Lines = append(l.Lines, htmlreport.Line{Name: r.text(), X: xs, Y: ys, Color: int(r.byte()%10) - 2,
				Dashed: r.byte()%2 == 0, Label: r.text(), LabelLeft: r.byte()%2 == 0})
		}
		for range r.byte() % 3 {
			xs := r.floats()
			ys := make([]float64, len(xs))
			for i := range ys {
				ys[i] = r.float()
			}
			l.Marks = append(l.Marks, htmlreport.Mark{Name: r.text(), X: xs, Y: ys, Color: int(r.byte() % 9), Shape: []string{"cross", "circle", ""}[r.byte()%3]})
		}
		for range r.byte() % 3 {
			l.Bands = append(l.Bands, htmlreport.Band{Name: r.text(), X0: r.float(), X1: r.float()})
		}
		c, err = htmlreport.LineChart(l)
	}
	if err != nil {
		if !errors.Is(err, htmlreport.ErrChart) {
			t.Fatalf("error %v does not wrap ErrChart", err)
		}
		return false
	}
	d := xml.NewDecoder(strings.NewReader(string(c.SVG())))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, c.SVG())
		}
	}
	checkShapesInside(t, c)
	return true
}

// checkShapesInside is checkInside without the text widths: tick labels
// of extreme values are long by nature.
func checkShapesInside(t *testing.T, c htmlreport.Chart) {
	t.Helper()
	svg := parseSVG(t, c)
	vb, _ := svg.attr("viewBox")
	f := strings.Fields(vb)
	w, _ := strconv.ParseFloat(f[2], 64)
	h, _ := strconv.ParseFloat(f[3], 64)
	svg.walk(func(n *node) {
		cs := coords[n.XMLName.Local]
		for i := 0; i < len(cs); i += 2 {
			x, y := n.num(t, cs[i]), n.num(t, cs[i+1])
			if x < -0.01 || x > w+0.01 || y < -0.01 || y > h+0.01 {
				t.Fatalf("<%s> at (%v, %v) outside the %v×%v viewBox:\n%s", n.XMLName.Local, x, y, w, h, c.SVG())
			}
		}
		if n.XMLName.Local == "polyline" {
			for _, p := range points(t, n) {
				if p[0] < -0.01 || p[0] > w+0.01 || p[1] < -0.01 || p[1] > h+0.01 {
					t.Fatalf("polyline point %v outside the %v×%v viewBox", p, w, h)
				}
			}
		}
	})
}

func FuzzCharts(f *testing.F) {
	for _, s := range []string{"", "\x00", "\x01", "\x00\x01\x00\x03\x05\x01\x02\x07\x09\x10\x20\x30", "\x01\x00\x01\x00\x01\x04\x07\x08\x09\x0a\x0b\x0c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkChart(t, data) })
}

// TestChartsRandomInputs runs the fuzz target's property over inputs from
// a fixed generator, so that every `go test` tries a few thousand.
func TestChartsRandomInputs(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	state := uint64(1)
	next := func() byte { // xorshift64: a fixed, portable sequence
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return byte(state)
	}
	drawn := 0
	for i := range n {
		data := make([]byte, 1+int(next())%200)
		for j := range data {
			data[j] = next()
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			if checkChart(t, data) {
				drawn++
			}
		})
		if t.Failed() {
			t.Logf("input %q", data)
			return
		}
	}
	// The generator must reach the drawing, not only the refusals.
	if drawn < n/5 {
		t.Errorf("%d of %d random charts drawn, want at least a fifth", drawn, n)
	}
	t.Logf("%d of %d random charts drawn", drawn, n)
}

package htmlreport

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
)

// ErrChart is wrapped by the errors of the chart builders: data a chart
// cannot show (no values, a value that is not finite, a non-positive value
// on a log axis).
var ErrChart = errors.New("htmlreport: chart")

// Palette is the colour of series i (modulo its length): a caller that
// wants one dtype in one colour across charts gives its series in the same
// order everywhere.
var Palette = []color.Color{
	color.RGBA{0x44, 0x77, 0xaa, 0xff}, // blue
	color.RGBA{0xee, 0x66, 0x77, 0xff}, // red
	color.RGBA{0x22, 0x88, 0x33, 0xff}, // green
	color.RGBA{0xcc, 0xbb, 0x44, 0xff}, // yellow
	color.RGBA{0x66, 0xcc, 0xee, 0xff}, // cyan
	color.RGBA{0xaa, 0x33, 0x77, 0xff}, // purple
	color.RGBA{0x99, 0x99, 0x99, 0xff}, // grey
}

// grey is the colour of a line whose Color is negative.
const grey = "#8c959f"

func paletteHex(i int) string { return hex(Palette[max(0, i)%len(Palette)]) }

// Series is one layer of a stacked bar chart: Values[i] is its part of
// category i.
type Series struct {
	Name   string
	Values []float64
}

// Bars describes a stacked bar chart: one bar per category, the series
// stacked in order.
type Bars struct {
	Title, XLabel, YLabel string
	Categories            []string
	Series                []Series
	// Width and Height are the chart's size in points; the defaults are
	// 740 × 260.
	Width, Height float64
	// Horizontal lays the bars along the x axis, the categories down the
	// y axis (first at the top): for long category names.
	Horizontal bool
}

// Sizes are in points: 1 pt is 4/3 CSS pixels.

// StackedBars draws b. It fails, wrapping [ErrChart], when there is no
// category, a series' length differs from the categories', a value is
// negative or not finite, or a bar's total overflows.
//
// The categories are labelled along their axis (XLabel names it whether
// it lies along x or, Horizontal, along y), every k-th one when there are
// more than 24 or when the labels would overlap; the values' axis (YLabel)
// starts at 0 and leaves room above the tallest bar for the legend, at the
// top right. Each bar's segment carries its series, category and value as
// a tooltip.
func StackedBars(b Bars) (Chart, error) {
	n := len(b.Categories)
	if n == 0 || len(b.Series) == 0 {
		return Chart{}, fmt.Errorf("%w: %q: nothing to draw", ErrChart, b.Title)
	}
	top := 0.0
	for _, s := range b.Series {
		if len(s.Values) != n {
			return Chart{}, fmt.Errorf("%w: %q: series %q has %d values for %d categories", ErrChart, b.Title, s.Name, len(s.Values), n)
		}
	}
	for i := range n {
		sum := 0.0
		for _, s := range b.Series {
			v := s.Values[i]
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return Chart{}, fmt.Errorf("%w: %q: series %q, %s: value %v", ErrChart, b.Title, s.Name, b.Categories[i], v)
			}
			sum += v
		}
		if math.IsInf(sum, 0) {
			return Chart{}, fmt.Errorf("%w: %q: %s: the bar's total overflows", ErrChart, b.Title, b.Categories[i])
		}
		top = max(top, sum)
	}
	w, h := size(b.Width, b.Height, 740, 260)
	val := axis{lo: 0, hi: min(top*1.22, math.MaxFloat64)} // room for the legend
	if top == 0 {
		val.hi = 1
	}
	val.ticks = linearTicks(val.lo, val.hi, compact, 0)
	k := 1 // every k-th category is labelled
	for n/k > 24 {
		k++
	}
	widest := 0.0
	for i, c := range b.Categories {
		if i%k == 0 {
			widest = max(widest, textWidth(c, tickSize))
		}
	}
	var f *frame
	if b.Horizontal {
		f = newFrame(b.Title, w, h, b.YLabel, b.XLabel, widest, textWidth(val.ticks[len(val.ticks)-1].Label, tickSize)/2)
		for k < n && float64(k)*(f.y1-f.y0)/float64(n) < tickSize+1 {
			k++
		}
	} else {
		f = newFrame(b.Title, w, h, b.XLabel, b.YLabel, tickWidth(val.ticks), widest/2)
		for k < n && float64(k)*(f.x1-f.x0)/float64(n) < widest+3 {
			k++
		}
	}
	along := f.x1 - f.x0
	if b.Horizontal {
		along = f.y1 - f.y0
	}
	slot := along / float64(n)
	thick := min(28, 0.7*slot)
	// The categories' axis: a tick and a label per k-th category.
	f.open("categories")
	for i, c := range b.Categories {
		mid := (float64(i) + 0.5) * slot
		if b.Horizontal {
			y := f.y0 + mid
			f.line(f.x0-tickLen, y, f.x0, y, stroke{color: axisColor, width: 0.8})
			if i%k == 0 {
				f.text(f.x0-tickLen-2, y+tickSize*0.35, tickSize, "end", softInk, c, false)
			}
			continue
		}
		x := f.x0 + mid
		f.line(x, f.y1, x, f.y1+tickLen, stroke{color: axisColor, width: 0.8})
		if i%k == 0 {
			f.text(x, f.y1+tickLen+tickSize+1, tickSize, "middle", softInk, c, false)
		}
	}
	f.close()
	if b.Horizontal {
		f.xAxis(val, true)
		f.line(f.x0, f.y0, f.x0, f.y1, stroke{color: axisColor, width: 0.8})
	} else {
		f.yAxis(val)
		f.line(f.x0, f.y1, f.x1, f.y1, stroke{color: axisColor, width: 0.8})
	}
	// The bars, each series stacked on the ones before it; segments of
	// zero are left out.
	f.open("bars")
	sums := make([]float64, n)
	var legend []entry
	for si, s := range b.Series {
		fill := paletteHex(si)
		legend = append(legend, entry{name: s.Name, fill: fill})
		for i, v := range s.Values {
			lo, hi := sums[i], sums[i]+v
			sums[i] = hi
			if v == 0 {
				continue
			}
			tip := s.Name + ", " + b.Categories[i] + ": " + compact(v)
			mid := (float64(i) + 0.5) * slot
			if b.Horizontal {
				x0, x1 := round2(f.px(val.frac(lo))), round2(f.px(val.frac(hi)))
				f.rect(x0, round2(f.y0+mid-thick/2), x1-x0, round2(thick), fill, tip)
				continue
			}
			y0, y1 := round2(f.py(val.frac(hi))), round2(f.py(val.frac(lo)))
			f.rect(round2(f.x0+mid-thick/2), y0, round2(thick), y1-y0, fill, tip)
		}
	}
	f.close()
	f.legend(legend, false)
	return Chart{Title: b.Title, svg: f.done()}, nil
}

// round2 rounds v to the two decimals the SVG carries, so that stacked
// segments computed from rounded edges touch exactly.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// tickWidth is the estimated width of the widest tick label.
func tickWidth(ts []tick) float64 {
	w := 0.0
	for _, t := range ts {
		w = max(w, textWidth(t.Label, tickSize))
	}
	return w
}

// Line is one line of a line chart. Label, when set, is written at the
// line's right end, or its left one with LabelLeft (for reference levels
// such as a machine's memory); otherwise the line is named in the legend.
// Color indexes [Palette]; -1 draws it grey. Dashed draws it dashed.
type Line struct {
	Name      string
	X, Y      []float64
	Color     int
	Dashed    bool
	Label     string
	LabelLeft bool
}

// Mark is a set of points drawn as symbols, named in the legend: defects
// at a place on the x axis. A Y that is not a usable value on the axis
// (0 on a log axis, NaN) puts its point at the axis' bottom. Shape is
// "cross" or "circle"; Color indexes [Palette].
type Mark struct {
	Name  string
	X, Y  []float64
	Color int
	Shape string
}

// Band is a shaded stretch of the x axis, [X0, X1], named in the legend.
type Band struct {
	Name   string
	X0, X1 float64
}

// Lines describes a line chart. On a log axis every value must be
// positive. YFormat formats the y ticks (the default is compact numbers:
// 1.5K, 2M).
type Lines struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Lines                 []Line
	Bands                 []Band
	Marks                 []Mark
	XFormat, YFormat      func(float64) string
	// Width and Height are the chart's size in points; the defaults are
	// 740 × 280.
	Width, Height float64
	// YMin and YMax, when set (YMax > YMin), fix the y range.
	YMin, YMax float64
	// LegendLeft puts the legend top left instead of top right.
	LegendLeft bool
	// IntegerX marks an x axis of whole numbers (layers): its ticks fall
	// on integers and half a unit pads each end.
	IntegerX bool
}

// LineChart draws l. It fails, wrapping [ErrChart], when there is no
// point, X and Y differ in length, or a value is not finite (or not
// positive on a log axis).
//
// The axes span the points and marks (half a unit more at each end with
// IntegerX); the y axis leaves room above them for the legend and the end
// labels (a factor of 5 on a log axis, a quarter on a linear one, which
// also starts at 0 or below). The lines are cut to the plot area; bands
// are shaded under the grid, and each named band, line (but one with a
// Label) and set of marks has a legend entry.
func LineChart(l Lines) (Chart, error) {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, ln := range l.Lines {
		if len(ln.X) != len(ln.Y) {
			return Chart{}, fmt.Errorf("%w: %q: line %q has %d x and %d y values", ErrChart, l.Title, ln.Name, len(ln.X), len(ln.Y))
		}
		for i := range ln.X {
			x, y := ln.X[i], ln.Y[i]
			if !usable(x, l.LogX) || !usable(y, l.LogY) {
				return Chart{}, fmt.Errorf("%w: %q: line %q: point (%v, %v)", ErrChart, l.Title, ln.Name, x, y)
			}
			xmin, xmax, ymin, ymax = min(xmin, x), max(xmax, x), min(ymin, y), max(ymax, y)
		}
	}
	for _, m := range l.Marks {
		if len(m.X) != len(m.Y) {
			return Chart{}, fmt.Errorf("%w: %q: marks %q have %d x and %d y values", ErrChart, l.Title, m.Name, len(m.X), len(m.Y))
		}
		for i, x := range m.X {
			if !usable(x, l.LogX) {
				return Chart{}, fmt.Errorf("%w: %q: mark %q at x %v", ErrChart, l.Title, m.Name, x)
			}
			xmin, xmax = min(xmin, x), max(xmax, x)
			if y := m.Y[i]; usable(y, l.LogY) {
				ymin, ymax = min(ymin, y), max(ymax, y)
			}
		}
	}
	if math.IsInf(xmin, 1) {
		return Chart{}, fmt.Errorf("%w: %q: nothing to draw", ErrChart, l.Title)
	}
	if math.IsInf(ymin, 1) { // marks at the bottom only
		ymin, ymax = 1, 1
	}
	if l.YMax > l.YMin && usable(l.YMin, l.LogY) && usable(l.YMax, l.LogY) {
		ymin, ymax = l.YMin, l.YMax
	}
	if l.IntegerX && !l.LogX {
		xmin, xmax = xmin-0.5, xmax+0.5
	}
	if !(xmax > xmin) {
		xmin, xmax = pad(xmin, l.LogX)
	}
	if !(ymax > ymin) {
		ymin, ymax = pad(ymin, l.LogY)
	}
	switch {
	case l.LogY: // room for the legend and labels
		ymin, ymax = max(ymin/1.5, math.SmallestNonzeroFloat64), min(ymax*5, math.MaxFloat64)
	case ymax > 0:
		ymin, ymax = min(0, ymin), min(ymax*1.25, math.MaxFloat64)
	default:
		ymax += (ymax - ymin) / 4
	}
	xf, yf := l.XFormat, l.YFormat
	if xf == nil {
		xf = compact
	}
	if yf == nil {
		yf = compact
	}
	xa, ya := axis{lo: xmin, hi: xmax, log: l.LogX}, axis{lo: ymin, hi: ymax, log: l.LogY}
	xa.ticks, ya.ticks = ticks(l.LogX, xmin, xmax, xf), ticks(l.LogY, ymin, ymax, yf)
	if l.IntegerX && !l.LogX {
		xa.ticks = linearTicks(math.Ceil(xmin), math.Floor(xmax), xf, 1)
	}
	right := 0.0
	if len(xa.ticks) > 0 {
		right = textWidth(xa.ticks[len(xa.ticks)-1].Label, tickSize) / 2
	}
	w, h := size(l.Width, l.Height, 740, 280)
	f := newFrame(l.Title, w, h, l.XLabel, l.YLabel, tickWidth(ya.ticks), right)
	at := func(x, y float64) (float64, float64) { return f.px(xa.frac(x)), f.py(ya.frac(y)) }

	var legend []entry
	f.open("bands")
	for _, b := range l.Bands {
		x0, x1 := max(b.X0, xmin), min(b.X1, xmax)
		if !(x1 > x0) {
			continue
		}
		if b.Name != "" {
			legend = append(legend, entry{name: b.Name, fill: bandColor})
		}
		left, _ := at(x0, ymin)
		right, _ := at(x1, ymin)
		f.rect(left, f.y0, right-left, f.y1-f.y0, bandColor, b.Name)
	}
	f.close()
	f.yAxis(ya)
	f.xAxis(xa, true)

	type label struct {
		x, y float64
		text string
		left bool
	}
	var labels []label
	f.open("lines")
	for _, ln := range l.Lines {
		s := stroke{color: grey, width: 1.8}
		if ln.Color >= 0 {
			s.color = paletteHex(ln.Color)
		}
		if ln.Dashed {
			s.width, s.dash = 1.2, "5 3"
		}
		xs, ys := make([]float64, len(ln.X)), make([]float64, len(ln.X))
		for i := range ln.X {
			xs[i], ys[i] = at(ln.X[i], ln.Y[i])
		}
		f.path(xs, ys, s)
		if ln.Label != "" && len(xs) > 0 {
			i := len(xs) - 1
			if ln.LabelLeft {
				i = 0
			}
			labels = append(labels, label{xs[i], ys[i], ln.Label, ln.LabelLeft})
		} else if ln.Name != "" {
			legend = append(legend, entry{name: ln.Name, line: &s})
		}
	}
	f.close()
	f.open("marks")
	for _, m := range l.Marks {
		c := paletteHex(m.Color)
		for i, x := range m.X {
			y := m.Y[i]
			if !usable(y, l.LogY) || y < ymin {
				y = ymin
			}
			if y > ymax {
				continue // above a fixed YMax, as a line is cut there
			}
			f.glyph(f.px(xa.frac(x)), f.py(ya.frac(y)), m.Shape, c)
		}
		if m.Name != "" {
			legend = append(legend, entry{name: m.Name, shape: m.Shape, color: c})
		}
	}
	f.close()
	// End labels sit just above their point, inside the plot area.
	f.open("labels")
	for _, lb := range labels {
		anchor, x := "end", min(max(lb.x, f.x0), f.x1)
		if lb.left {
			anchor = "start"
		}
		y := min(max(lb.y-2.5, f.y0+endSize), f.y1)
		f.text(x, y, endSize, anchor, softInk, lb.text, false)
	}
	f.close()
	f.legend(legend, l.LegendLeft)
	return Chart{Title: l.Title, svg: f.done()}, nil
}

func usable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

// pad widens the single value v into a range around it.
func pad(v float64, log bool) (float64, float64) {
	switch {
	case log:
		return max(v/2, math.SmallestNonzeroFloat64), min(v*2, math.MaxFloat64)
	case v == 0:
		return 0, 1
	}
	a := math.Abs(v) / 2
	return max(v-a, -math.MaxFloat64), min(v+a, math.MaxFloat64)
}

// size is a chart's width and height in points: the defaults dw and dh
// for a size not positive or over 4000.
func size(w, h, dw, dh float64) (float64, float64) {
	if !(w > 0) || w > 4000 {
		w = dw
	}
	if !(h > 0) || h > 4000 {
		h = dh
	}
	return w, h
}

// ticks returns the tick marks of a linear or a log axis.
func ticks(log bool, lo, hi float64, f func(float64) string) []tick {
	if log {
		return logTicks(lo, hi, f)
	}
	return linearTicks(lo, hi, f, 0)
}

// linearTicks puts about five labelled ticks on 1-2-5 steps of at least
// minStep; it returns one tick at least.
func linearTicks(lo, hi float64, f func(float64) string, minStep float64) []tick {
	if !(hi > lo) {
		return []tick{{Value: lo, Label: f(lo)}}
	}
	span := hi - lo
	if math.IsInf(span, 0) {
		span = math.MaxFloat64
	}
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	step = max(step, minStep)
	if !(step > 0) || math.IsInf(step, 0) { // a span of a few denormals
		return []tick{{Value: lo, Label: f(lo)}, {Value: hi, Label: f(hi)}}
	}
	var ts []tick
	first := math.Ceil(lo / step)
	for k := 0.0; k < 50; k++ {
		v := (first + k) * step // not accumulated: no 0.6000000000000001
		if !(v <= hi+math.Abs(hi)*1e-9) || math.IsInf(v, 0) {
			break
		}
		ts = append(ts, tick{Value: v, Label: f(v)})
	}
	if len(ts) == 0 {
		return []tick{{Value: lo, Label: f(lo)}}
	}
	return ts
}

// logTicks labels the powers of two or of ten (or of a larger power of
// ten, for a range of many decades) between lo and hi, whichever gives at
// most eight labels.
func logTicks(lo, hi float64, f func(float64) string) []tick {
	var ts []tick
	for _, base := range []float64{2, 4, 10, 100, 1000, 1e6, 1e12, 1e24, 1e48, 1e96} {
		ts = ts[:0]
		for e := math.Ceil(math.Log(lo) / math.Log(base)); len(ts) < 64; e++ {
			v := math.Pow(base, e)
			if v > hi*(1+1e-9) || math.IsInf(v, 0) {
				break
			}
			ts = append(ts, tick{Value: v, Label: f(v)})
		}
		if len(ts) <= 8 {
			break
		}
	}
	return ts
}

// compact formats a number with a K/M/G/T suffix (powers of 1000), or of
// 1024 for powers of two from 1024 on (context lengths: 4K, 128K); beyond
// 1000T and below 0.01 it writes an exponent.
func compact(v float64) string {
	a := math.Abs(v)
	if a >= 1e15 || (a > 0 && a < 0.01) {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	if a >= 1024 && v == math.Trunc(v) && int64(a)&(int64(a)-1) == 0 {
		for _, u := range []struct {
			s string
			n float64
		}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
			if a >= u.n {
				return trim(v/u.n) + u.s
			}
		}
	}
	for _, u := range []struct {
		s string
		n float64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}} {
		if a >= u.n {
			return trim(v/u.n) + u.s
		}
	}
	return trim(v)
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

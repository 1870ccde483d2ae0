package htmlreport

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
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
// starts at 0 and ends a fifth past the tallest bar, or further when the
// bars under the legend (top right) need it to clear them. Each bar's
// segment carries its series, category and value as a tooltip.
func StackedBars(b Bars) (Chart, error) {
	n := len(b.Categories)
	if n == 0 || len(b.Series) == 0 {
		return Chart{}, fmt.Errorf("%w: %q: nothing to draw", ErrChart, b.Title)
	}
	top, totals := 0.0, make([]float64, n)
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
		top, totals[i] = max(top, sum), sum
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
	var legend []entry
	for i, s := range b.Series {
		legend = append(legend, entry{name: s.Name, fill: paletteHex(i)})
	}
	layout := func() *frame {
		if b.Horizontal {
			return newFrame(b.Title, w, h, b.YLabel, b.XLabel, widest, textWidth(val.ticks[len(val.ticks)-1].Label, tickSize)/2)
		}
		return newFrame(b.Title, w, h, b.XLabel, b.YLabel, tickWidth(val.ticks), widest/2)
	}
	f := layout()
	if hi := clearLegend(f, legend, totals, b.Horizontal); hi > val.hi {
		val.hi = hi
		val.ticks = linearTicks(val.lo, val.hi, compact, 0)
		f = layout()
	}
	if b.Horizontal {
		for k < n && float64(k)*(f.y1-f.y0)/float64(n) < tickSize+1 {
			k++
		}
	} else {
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
	for si, s := range b.Series {
		fill := paletteHex(si)
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

// clearLegend returns the top of the values' axis that keeps the bars
// the legend (top right) lies over clear of it: those whose slot reaches
// under it. The legend takes at most 0.6 of the axis; past that it
// covers the bars.
func clearLegend(f *frame, legend []entry, totals []float64, horizontal bool) float64 {
	bw, bh := legendSize(f.fitLegend(legend))
	near, n := 0.0, float64(len(totals))
	var room, along float64
	if horizontal {
		room, along = bw+8, f.x1-f.x0
		for i, t := range totals {
			if float64(i)*(f.y1-f.y0)/n < 4+bh+2 {
				near = max(near, t)
			}
		}
	} else {
		room, along = bh+8, f.y1-f.y0
		for i, t := range totals {
			if float64(i+1)*(f.x1-f.x0)/n > f.x1-f.x0-4-bw-2 {
				near = max(near, t)
			}
		}
	}
	return min(near/(1-min(0.6, room/along)), math.MaxFloat64)
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

// MergeCoinciding returns lines with those that coincide drawn once, in
// the first one's place and colour, under their names joined: with sep
// when they pass through the same points, with " ≈ " when they differ
// at no point by more than tol (relative: |a−b| ≤ tol·max(|a|, |b|)),
// which on a chart's scale draws them on top of each other. Only plain
// legend lines merge, not dashed ones or lines labelled at their end.
// Drawn twice, the later line hides the earlier, and its legend entry
// names a line nobody can see: the offloaded part that is nearly the
// whole total ("offloaded ≈ total"), a K cache the size of the V cache
// ("K f16 = V f16"), machines that need the same devices.
func MergeCoinciding(lines []Line, sep string, tol float64) []Line {
	out := make([]Line, 0, len(lines))
	merged := make([]bool, len(lines))
	for i, l := range lines {
		if merged[i] {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			if merged[j] {
				continue
			}
			switch coincide(l, lines[j], tol) {
			case exactly:
				l.Name += sep + lines[j].Name
			case nearly:
				l.Name += " ≈ " + lines[j].Name
			default:
				continue
			}
			merged[j] = true
		}
		out = append(out, l)
	}
	return out
}

// How two lines coincide.
const (
	apart = iota
	nearly
	exactly
)

// coincide says how a and b, if both are plain legend lines through the
// same x, coincide: at every point exactly, within tol, or not.
func coincide(a, b Line, tol float64) int {
	plain := func(l Line) bool { return !l.Dashed && l.Label == "" }
	if !plain(a) || !plain(b) || !slices.Equal(a.X, b.X) || len(a.Y) != len(b.Y) {
		return apart
	}
	if slices.Equal(a.Y, b.Y) {
		return exactly
	}
	for i, y := range a.Y {
		if !(math.Abs(y-b.Y[i]) <= tol*max(math.Abs(y), math.Abs(b.Y[i]))) {
			return apart
		}
	}
	return nearly
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
// also starts at 0 or below), more when the lines and marks in the
// legend's stretch of x need it to pass below the legend, unless YMin and
// YMax fix the range. The lines are cut to the plot area; bands
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
	w, h := size(l.Width, l.Height, 740, 280)
	layout := func() *frame {
		right := 0.0
		if len(xa.ticks) > 0 {
			right = textWidth(xa.ticks[len(xa.ticks)-1].Label, tickSize) / 2
		}
		return newFrame(l.Title, w, h, l.XLabel, l.YLabel, tickWidth(ya.ticks), right)
	}
	f := layout()
	legend := lineLegend(l, xmin, xmax)
	if !(l.YMax > l.YMin) {
		if hi := clearLineLegend(f, l, xa, ya, legend); hi > ya.hi {
			ya.hi = hi
			ya.ticks = ticks(l.LogY, ya.lo, ya.hi, yf)
			f = layout()
		}
	}
	at := func(x, y float64) (float64, float64) { return f.px(xa.frac(x)), f.py(ya.frac(y)) }

	f.open("bands")
	for _, b := range l.Bands {
		x0, x1 := max(b.X0, xmin), min(b.X1, xmax)
		if !(x1 > x0) {
			continue
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
		s := lineStroke(ln)
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
			if y > ya.hi {
				continue // above a fixed YMax, as a line is cut there
			}
			f.glyph(f.px(xa.frac(x)), f.py(ya.frac(y)), m.Shape, c)
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

// lineStroke is how ln is drawn.
func lineStroke(ln Line) stroke {
	s := stroke{color: grey, width: 1.8}
	if ln.Color >= 0 {
		s.color = paletteHex(ln.Color)
	}
	if ln.Dashed {
		s.width, s.dash = 1.2, "5 3"
	}
	return s
}

// lineLegend lists what the legend of l names: the bands inside
// [xmin, xmax], the lines without an end label, the marks.
func lineLegend(l Lines, xmin, xmax float64) []entry {
	var es []entry
	for _, b := range l.Bands {
		if b.Name != "" && min(b.X1, xmax) > max(b.X0, xmin) {
			es = append(es, entry{name: b.Name, fill: bandColor})
		}
	}
	for _, ln := range l.Lines {
		if (ln.Label == "" || len(ln.X) == 0) && ln.Name != "" {
			s := lineStroke(ln)
			es = append(es, entry{name: ln.Name, line: &s})
		}
	}
	for _, m := range l.Marks {
		if m.Name != "" {
			es = append(es, entry{name: m.Name, shape: m.Shape, color: paletteHex(m.Color)})
		}
	}
	return es
}

// clearLineLegend returns the top of the y axis that keeps the lines and
// marks in the legend's stretch of the x axis below it (at most 0.6 of
// the axis' height goes to the legend). A segment that crosses the
// stretch counts by its higher end.
func clearLineLegend(f *frame, l Lines, xa, ya axis, legend []entry) float64 {
	if len(legend) == 0 {
		return ya.hi
	}
	bw, bh := legendSize(f.fitLegend(legend))
	lx0 := f.x1 - 4 - bw
	if l.LegendLeft {
		lx0 = f.x0 + 4
	}
	lx0 = max(lx0, f.x0+1)
	a, b := (lx0-f.x0)/(f.x1-f.x0), (lx0+bw-f.x0)/(f.x1-f.x0) // the legend's stretch, as fractions of the x axis
	near := math.Inf(-1)
	// consider takes the points (xs[i], ys[i]), joined when joined.
	consider := func(xs, ys []float64, joined bool, skip func(float64) bool) {
		for i := range xs {
			t := xa.frac(xs[i])
			in := t >= a && t <= b
			if joined && i > 0 { // the segment from the point before
				p := xa.frac(xs[i-1])
				if min(p, t) <= b && max(p, t) >= a {
					in = true
					if !skip(ys[i-1]) {
						near = max(near, ys[i-1])
					}
				}
			}
			if in && !skip(ys[i]) {
				near = max(near, ys[i])
			}
		}
	}
	for _, ln := range l.Lines {
		consider(ln.X, ln.Y, true, func(float64) bool { return false })
	}
	for _, m := range l.Marks {
		consider(m.X, m.Y, false, func(y float64) bool { return !usable(y, l.LogY) })
	}
	if math.IsInf(near, -1) || near <= ya.lo {
		return ya.hi
	}
	target := 1 - min(0.6, (bh+8)/(f.y1-f.y0))
	if ya.frac(near) <= target {
		return ya.hi
	}
	if ya.log {
		return min(math.Exp(math.Log(ya.lo)+(math.Log(near)-math.Log(ya.lo))/target), math.MaxFloat64)
	}
	return min(ya.lo+(near-ya.lo)/target, math.MaxFloat64)
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

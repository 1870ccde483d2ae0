package htmlreport

import (
	"fmt"
	"math"
	"slices"
)

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

package htmlreport

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
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

var grey = color.RGBA{0x8c, 0x95, 0x9f, 0xff}

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

// Sizes are in points (vgsvg's unit): 1 pt is 4/3 CSS pixels.

// StackedBars draws b. It fails, wrapping [ErrChart], when there is no
// category, a series' length differs from the categories', or a value is
// negative or not finite.
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
		top = max(top, sum)
	}
	w, h := size(b.Width, b.Height, 740, 260)
	p := newPlot(b.Title, b.XLabel, b.YLabel)
	// The bars fill 70% of their slot; the plot area is about the canvas
	// less the axes' 60 points.
	along := w
	if b.Horizontal {
		along = h
	}
	width := vg.Length(math.Min(28, 0.7*(float64(along)-60)/float64(n)))
	// Horizontal bars run top to bottom in the categories' order.
	at := func(vs []float64) []float64 { return vs }
	if b.Horizontal {
		at = func(vs []float64) []float64 {
			r := make([]float64, len(vs))
			for i, v := range vs {
				r[len(vs)-1-i] = v
			}
			return r
		}
	}
	var below *plotter.BarChart
	for i, s := range b.Series {
		bc, err := plotter.NewBarChart(plotter.Values(at(s.Values)), width)
		if err != nil {
			return Chart{}, fmt.Errorf("%w: %q: %w", ErrChart, b.Title, err)
		}
		bc.Horizontal = b.Horizontal
		bc.Color = Palette[i%len(Palette)]
		bc.LineStyle.Width = 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(s.Name, bc)
	}
	cat, val := &p.X, &p.Y
	if b.Horizontal {
		cat, val = &p.Y, &p.X
		p.X.Label.Text, p.Y.Label.Text = b.YLabel, b.XLabel
		cats := slices.Clone(b.Categories)
		slices.Reverse(cats)
		cat.Tick.Marker = categoryTicks(cats)
	} else {
		cat.Tick.Marker = categoryTicks(b.Categories)
	}
	cat.Min, cat.Max = -0.7, float64(n)-0.3
	val.Min, val.Max = 0, top*1.22+1e-300 // room for the legend
	val.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick { return linearTicks(lo, hi, compact, 0) })
	p.Legend.Top = true
	return render(b.Title, p, w, h)
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
	if l.YMax > l.YMin && usable(l.YMin, l.LogY) {
		ymin, ymax = l.YMin, l.YMax
	}
	if l.IntegerX && !l.LogX {
		xmin, xmax = xmin-0.5, xmax+0.5
	}
	if xmax == xmin {
		xmin, xmax = pad(xmin, l.LogX)
	}
	if ymax == ymin {
		ymin, ymax = pad(ymin, l.LogY)
	}
	if l.LogY {
		ymin, ymax = ymin/1.5, ymax*5 // room for the legend and labels
	} else {
		ymin, ymax = min(0, ymin), ymax*1.25
	}
	w, h := size(l.Width, l.Height, 740, 280)
	p := newPlot(l.Title, l.XLabel, l.YLabel)
	for _, b := range l.Bands {
		x0, x1 := max(b.X0, xmin), min(b.X1, xmax)
		if !(x1 > x0) {
			continue
		}
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: ymin}, {X: x1, Y: ymin}, {X: x1, Y: ymax}, {X: x0, Y: ymax}})
		if err != nil {
			return Chart{}, fmt.Errorf("%w: %q: %w", ErrChart, l.Title, err)
		}
		poly.Color = color.RGBA{0xee, 0xee, 0xee, 0xff}
		poly.LineStyle.Width = 0
		p.Add(poly)
		p.Legend.Add(b.Name, poly)
	}
	var labels plotter.XYLabels
	var left []bool
	for _, ln := range l.Lines {
		xys := make(plotter.XYs, len(ln.X))
		for i := range ln.X {
			xys[i] = plotter.XY{X: ln.X[i], Y: ln.Y[i]}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return Chart{}, fmt.Errorf("%w: %q: %w", ErrChart, l.Title, err)
		}
		line.Color = grey
		if ln.Color >= 0 {
			line.Color = Palette[ln.Color%len(Palette)]
		}
		line.Width = vg.Points(1.8)
		if ln.Dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			line.Width = vg.Points(1.2)
		}
		p.Add(line)
		if ln.Label != "" && len(xys) > 0 {
			at := xys[len(xys)-1]
			if ln.LabelLeft {
				at = xys[0]
			}
			labels.XYs = append(labels.XYs, at)
			labels.Labels = append(labels.Labels, ln.Label)
			left = append(left, ln.LabelLeft)
		} else if ln.Name != "" {
			p.Legend.Add(ln.Name, line)
		}
	}
	for _, m := range l.Marks {
		xys := make(plotter.XYs, len(m.X))
		for i := range m.X {
			y := m.Y[i]
			if !usable(y, l.LogY) || y < ymin {
				y = ymin
			}
			xys[i] = plotter.XY{X: m.X[i], Y: y}
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return Chart{}, fmt.Errorf("%w: %q: %w", ErrChart, l.Title, err)
		}
		sc.GlyphStyle.Color = Palette[max(0, m.Color)%len(Palette)]
		sc.GlyphStyle.Radius = vg.Points(4)
		sc.GlyphStyle.Shape = draw.CrossGlyph{}
		if m.Shape == "circle" {
			sc.GlyphStyle.Shape = draw.RingGlyph{}
		}
		p.Add(sc)
		if m.Name != "" {
			p.Legend.Add(m.Name, sc)
		}
	}
	if len(labels.XYs) > 0 {
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return Chart{}, fmt.Errorf("%w: %q: %w", ErrChart, l.Title, err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font = sans(8)
			lb.TextStyle[i].Color = color.RGBA{0x59, 0x63, 0x6e, 0xff}
			lb.TextStyle[i].XAlign = draw.XRight
			if left[i] {
				lb.TextStyle[i].XAlign = draw.XLeft
			}
			lb.TextStyle[i].YAlign = draw.YBottom
		}
		p.Add(lb)
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xmin, xmax, ymin, ymax
	xf, yf := l.XFormat, l.YFormat
	if xf == nil {
		xf = compact
	}
	if yf == nil {
		yf = compact
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = ticker(l.LogX, xf), ticker(l.LogY, yf)
	if l.IntegerX && !l.LogX {
		p.X.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick { return linearTicks(math.Ceil(lo), math.Floor(hi), xf, 1) })
	}
	if l.LogX {
		p.X.Scale = plot.LogScale{}
	}
	if l.LogY {
		p.Y.Scale = plot.LogScale{}
	}
	p.Legend.Top, p.Legend.Left = true, l.LegendLeft
	return render(l.Title, p, w, h)
}

func usable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

func pad(v float64, log bool) (float64, float64) {
	switch {
	case log:
		return v / 2, v * 2
	case v == 0:
		return 0, 1
	}
	return v - math.Abs(v)/2, v + math.Abs(v)/2
}

func size(w, h, dw, dh float64) (vg.Length, vg.Length) {
	if !(w > 0) || w > 4000 {
		w = dw
	}
	if !(h > 0) || h > 4000 {
		h = dh
	}
	return vg.Points(w), vg.Points(h)
}

func sans(size float64) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, vg.Points(size))
}

// newPlot makes a plot with the page's sans-serif text.
func newPlot(title, xl, yl string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xl, yl
	p.Title.TextStyle.Font = sans(11)
	p.X.Label.TextStyle.Font, p.Y.Label.TextStyle.Font = sans(9.5), sans(9.5)
	p.X.Tick.Label.Font, p.Y.Tick.Label.Font = sans(8.5), sans(8.5)
	p.Legend.TextStyle.Font = sans(8.5)
	p.Legend.ThumbnailWidth = vg.Points(14)
	return p
}

// render draws p as inline SVG: the SVG element alone, without the XML
// prologue vgsvg writes for a standalone file. A panic of the plotting
// library (it panics on some degenerate inputs) becomes an error.
func render(title string, p *plot.Plot, w, h vg.Length) (c Chart, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = Chart{}, fmt.Errorf("%w: %q: %v", ErrChart, title, r)
		}
	}()
	cv := vgsvg.New(w, h)
	p.Draw(draw.New(cv))
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return Chart{}, err
	}
	s := buf.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return Chart{}, fmt.Errorf("%w: %q: no <svg> element in the drawing", ErrChart, title)
	}
	s = strings.Replace(s[i:], "<svg ", `<svg role="img" aria-label="`+template.HTMLEscapeString(title)+`" `, 1)
	return Chart{Title: title, svg: template.HTML(s)}, nil
}

// categoryTicks labels the categories, every k-th one when there are
// many, so that the labels do not overlap.
func categoryTicks(cats []string) plot.ConstantTicks {
	k := 1
	for len(cats)/k > 24 {
		k++
	}
	ticks := make(plot.ConstantTicks, len(cats))
	for i, c := range cats {
		ticks[i].Value = float64(i)
		if i%k == 0 {
			ticks[i].Label = c
		}
	}
	return ticks
}

// ticker returns tick marks for a linear or a log axis.
func ticker(log bool, f func(float64) string) plot.Ticker {
	if !log {
		return plot.TickerFunc(func(lo, hi float64) []plot.Tick { return linearTicks(lo, hi, f, 0) })
	}
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick { return logTicks(lo, hi, f) })
}

// linearTicks puts about five labelled ticks on 1-2-5 steps of at least
// minStep.
func linearTicks(lo, hi float64, f func(float64) string, minStep float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: f(lo)}}
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= 6 {
			step *= m
			break
		}
	}
	step = max(step, minStep)
	var ts []plot.Tick
	first := math.Ceil(lo / step)
	for k := 0.0; k < 50; k++ {
		v := (first + k) * step // not accumulated: no 0.6000000000000001
		if v > hi+math.Abs(hi)*1e-9 {
			break
		}
		ts = append(ts, plot.Tick{Value: v, Label: f(v)})
	}
	return ts
}

// logTicks labels the powers of two or of ten between lo and hi, whichever
// gives at most eight labels.
func logTicks(lo, hi float64, f func(float64) string) []plot.Tick {
	var ts []plot.Tick
	for _, base := range []float64{2, 4, 10, 100, 1000} {
		ts = ts[:0]
		for e := math.Ceil(math.Log(lo) / math.Log(base)); len(ts) < 64; e++ {
			v := math.Pow(base, e)
			if v > hi*(1+1e-9) {
				break
			}
			ts = append(ts, plot.Tick{Value: v, Label: f(v)})
		}
		if len(ts) <= 8 {
			break
		}
	}
	return ts
}

// compact formats a number with a K/M/G/T suffix (powers of 1000), or of
// 1024 for powers of two from 1024 on (context lengths: 4K, 128K).
func compact(v float64) string {
	a := math.Abs(v)
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
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

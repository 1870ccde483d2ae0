package htmlreport

import (
	"errors"
	"fmt"
	"image/color"
	"math"
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

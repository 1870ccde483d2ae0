package htmlreport

import (
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The charts' own SVG writer. Coordinates are in points, the viewBox's
// unit (the element is width×height pt), y growing downwards as SVG has
// it. The text is sans-serif with no font embedded: its width cannot be
// measured, so margins, the legend and end labels are sized from an
// estimate of emWidth em per character (the average advance of Arial and
// Liberation Sans, which page.css asks for first).

const (
	margin    = 6    // blank border around the chart
	titleSize = 11   // the title's font size, shrunk to fit the width
	labelSize = 9.5  // the axis labels'
	tickSize  = 8.5  // the tick labels' and the legend's
	endSize   = 8    // the end labels' of lines
	tickLen   = 3    // a tick mark's length, outside the plot area
	emWidth   = 0.55 // estimated advance per character, in em
	legendRow = 11   // a legend entry's height
	swatchLen = 14   // a legend swatch's width
)

// The charts' greys.
const (
	inkColor  = "#1f2328" // title
	softInk   = "#59636e" // tick labels, axis labels, end labels
	axisColor = "#8c959f"
	gridColor = "#e6e9ec"
	bandColor = "#eeeeee"
)

// textWidth estimates the width of s at font size size.
func textWidth(s string, size float64) float64 {
	return emWidth * size * float64(utf8.RuneCountInString(s))
}

// num formats a coordinate with at most two decimals and no exponent.
func num(v float64) string {
	v = math.Round(v*100) / 100
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) { // callers keep values finite; -0 prints as 0
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// esc escapes s for SVG text and attribute values: html/template's
// escaping, after every character XML does not allow (control characters,
// invalid UTF-8, U+FFFE and U+FFFF) became U+FFFD, so that the chart is
// well-formed XML as well as HTML.
func esc(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20, r >= 0xd800 && r < 0xe000, r == 0xfffe || r == 0xffff, r > utf8.MaxRune:
			return utf8.RuneError
		}
		return r
	}, s)
	return template.HTMLEscapeString(s)
}

// hex is c as #rrggbb.
func hex(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
}

// canvas accumulates one chart's elements.
type canvas struct {
	w, h float64
	b    strings.Builder
}

func newCanvas(title string, w, h float64) *canvas {
	c := &canvas{w: w, h: h}
	fmt.Fprintf(&c.b, `<svg role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" width="%spt" height="%spt" viewBox="0 0 %s %s" font-family="sans-serif">`,
		esc(title), num(w), num(h), num(w), num(h))
	c.b.WriteString("\n")
	c.rect(0, 0, w, h, "#ffffff", "")
	return c
}

// done closes the element and returns the markup.
func (c *canvas) done() template.HTML {
	c.b.WriteString("</svg>")
	return template.HTML(c.b.String())
}

func (c *canvas) open(class string) { fmt.Fprintf(&c.b, "<g class=%q>\n", class) }
func (c *canvas) close()            { c.b.WriteString("</g>\n") }

// rect draws a filled rectangle; tip, when set, is its tooltip.
func (c *canvas) rect(x, y, w, h float64, fill, tip string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"`, num(x), num(y), num(max(0, w)), num(max(0, h)), fill)
	if tip == "" {
		c.b.WriteString("/>\n")
		return
	}
	fmt.Fprintf(&c.b, "><title>%s</title></rect>\n", esc(tip))
}

// stroke is a line's look: its colour, width and dash pattern (none when
// empty).
type stroke struct {
	color string
	width float64
	dash  string
}

func (s stroke) attrs() string {
	a := fmt.Sprintf(`fill="none" stroke="%s" stroke-width="%s"`, s.color, num(s.width))
	if s.dash != "" {
		a += fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
	}
	return a
}

func (c *canvas) line(x1, y1, x2, y2 float64, s stroke) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" %s/>`+"\n", num(x1), num(y1), num(x2), num(y2), s.attrs())
}

// polyline draws the points pts (x, y pairs) joined.
func (c *canvas) polyline(pts []float64, s stroke) {
	c.b.WriteString(`<polyline points="`)
	for i := 0; i+1 < len(pts); i += 2 {
		if i > 0 {
			c.b.WriteByte(' ')
		}
		c.b.WriteString(num(pts[i]) + "," + num(pts[i+1]))
	}
	fmt.Fprintf(&c.b, `" stroke-linejoin="round" %s/>`+"\n", s.attrs())
}

func (c *canvas) circle(x, y, r float64, s stroke, fill string) {
	a := s.attrs()
	if fill != "" {
		a = strings.Replace(a, `fill="none"`, `fill="`+fill+`"`, 1)
	}
	fmt.Fprintf(&c.b, `<circle cx="%s" cy="%s" r="%s" %s/>`+"\n", num(x), num(y), num(r), a)
}

// glyph draws a mark's symbol centred on (x, y): "circle" a ring, any
// other shape a cross.
func (c *canvas) glyph(x, y float64, shape, color string) {
	s := stroke{color: color, width: 1.4}
	if shape == "circle" {
		c.circle(x, y, 3.5, s, "")
		return
	}
	const d = 3.2
	fmt.Fprintf(&c.b, `<path d="M%s %sL%s %sM%s %sL%s %s" %s/>`+"\n",
		num(x-d), num(y-d), num(x+d), num(y+d), num(x-d), num(y+d), num(x+d), num(y-d), s.attrs())
}

// text writes s with its anchor ("start", "middle", "end") at (x, y), the
// baseline; rotated turns it a quarter left, to read upwards.
func (c *canvas) text(x, y, size float64, anchor, fill, s string, rotated bool) {
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" font-size="%s" fill="%s"`, num(x), num(y), num(size), fill)
	if anchor != "start" {
		fmt.Fprintf(&c.b, ` text-anchor="%s"`, anchor)
	}
	if rotated {
		fmt.Fprintf(&c.b, ` transform="rotate(-90 %s %s)"`, num(x), num(y))
	}
	fmt.Fprintf(&c.b, ">%s</text>\n", esc(s))
}

// tick is one labelled value of an axis.
type tick struct {
	Value float64
	Label string
}

// axis maps values onto [0, 1] along one side of the plot area.
type axis struct {
	lo, hi float64
	log    bool
	ticks  []tick
	label  string
}

// frac is where v lies on the axis: 0 at lo, 1 at hi; it is kept within
// ±1e6 so that points far outside the range stay finite to clip.
func (a axis) frac(v float64) float64 {
	var f float64
	if a.log {
		f = (math.Log(v) - math.Log(a.lo)) / (math.Log(a.hi) - math.Log(a.lo))
	} else {
		f = (v/2 - a.lo/2) / (a.hi/2 - a.lo/2) // halves: no overflow for ±MaxFloat64
	}
	switch {
	case math.IsNaN(f):
		return 0
	case f > 1e6:
		return 1e6
	case f < -1e6:
		return -1e6
	}
	return f
}

// in reports whether v lies on the axis (with a rounding margin).
func (a axis) in(v float64) bool {
	f := a.frac(v)
	return f >= -1e-9 && f <= 1+1e-9
}

// frame is a chart's plot area on its canvas: left x0, top y0, right x1,
// bottom y1.
type frame struct {
	*canvas
	x0, y0, x1, y1 float64
}

func (f *frame) px(t float64) float64 { return f.x0 + t*(f.x1-f.x0) }
func (f *frame) py(t float64) float64 { return f.y1 - t*(f.y1-f.y0) }

// newFrame lays out a chart of w×h points: the title on top, the y axis'
// label and tick labels (yw wide at most) on the left, the x axis' tick
// labels and label below; right is the room the last x tick label needs
// past the plot area.
func newFrame(title string, w, h float64, xlabel, ylabel string, yw, right float64) *frame {
	f := &frame{canvas: newCanvas(title, w, h)}
	size := min(titleSize, max(7, (w-2*margin)/(emWidth*float64(max(1, utf8.RuneCountInString(title))))))
	f.y0 = margin + 4
	if title != "" {
		f.y0 = margin + size + 8
	}
	f.x0 = margin + yw + tickLen + 4
	if ylabel != "" {
		f.x0 += labelSize + 5
	}
	f.y1 = h - margin - tickLen - tickSize - 4
	if xlabel != "" {
		f.y1 -= labelSize + 4
	}
	f.x1 = w - margin - max(4, right)
	// A size too small for the margins keeps a sliver of plot area.
	f.x0, f.y0 = min(f.x0, w*0.45), min(f.y0, h*0.45)
	f.x1, f.y1 = max(f.x1, f.x0+1), max(f.y1, f.y0+1)
	if title != "" {
		f.text(w/2, margin+size*0.85, size, "middle", inkColor, title, false)
	}
	if ylabel != "" {
		f.text(margin+labelSize*0.8, (f.y0+f.y1)/2, labelSize, "middle", softInk, ylabel, true)
	}
	if xlabel != "" {
		f.text((f.x0+f.x1)/2, h-margin-1, labelSize, "middle", softInk, xlabel, false)
	}
	return f
}

// yAxis draws the y axis' grid lines, tick marks and labels, and the axis
// line.
func (f *frame) yAxis(a axis) {
	f.open("y-axis")
	for _, t := range a.ticks {
		if !a.in(t.Value) {
			continue
		}
		y := f.py(a.frac(t.Value))
		f.line(f.x0, y, f.x1, y, stroke{color: gridColor, width: 0.6})
		f.line(f.x0-tickLen, y, f.x0, y, stroke{color: axisColor, width: 0.8})
		f.text(f.x0-tickLen-2, y+tickSize*0.35, tickSize, "end", softInk, t.Label, false)
	}
	f.line(f.x0, f.y0, f.x0, f.y1, stroke{color: axisColor, width: 0.8})
	f.close()
}

// xAxis draws the x axis' tick marks and labels, grid lines when grid is
// set, and the axis line. A label that would overlap the one before it is
// left out.
func (f *frame) xAxis(a axis, grid bool) {
	f.open("x-axis")
	last := math.Inf(-1)
	for _, t := range a.ticks {
		if !a.in(t.Value) {
			continue
		}
		x := f.px(a.frac(t.Value))
		if grid {
			f.line(x, f.y0, x, f.y1, stroke{color: gridColor, width: 0.6})
		}
		f.line(x, f.y1, x, f.y1+tickLen, stroke{color: axisColor, width: 0.8})
		if w := textWidth(t.Label, tickSize); x-w/2 > last+3 {
			f.text(x, f.y1+tickLen+tickSize+1, tickSize, "middle", softInk, t.Label, false)
			last = x + w/2
		}
	}
	f.line(f.x0, f.y1, f.x1, f.y1, stroke{color: axisColor, width: 0.8})
	f.close()
}

// entry is one row of a legend: a name and its swatch, a filled box
// (fill), a line (line), or a mark's glyph (shape).
type entry struct {
	name  string
	fill  string
	line  *stroke
	shape string
	color string
}

// fitLegend returns the entries that fit the plot area's height, those
// past it counted in a last row.
func (f *frame) fitLegend(es []entry) []entry {
	if fit := max(1, int((f.y1-f.y0-8-6)/legendRow)); len(es) > fit {
		more := len(es) - fit + 1
		es = append(es[:fit-1:fit-1], entry{name: fmt.Sprintf("… %d more", more)})
	}
	return es
}

// legendSize is the size of the legend box of es.
func legendSize(es []entry) (w, h float64) {
	tw := 0.0
	for _, e := range es {
		tw = max(tw, textWidth(e.name, tickSize))
	}
	return 4 + swatchLen + 4 + tw + 4, 3 + legendRow*float64(len(es)) + 3
}

// legend draws the entries in a box at the plot area's top right, or top
// left, 4 points in.
func (f *frame) legend(es []entry, left bool) {
	if len(es) == 0 {
		return
	}
	es = f.fitLegend(es)
	bw, bh := legendSize(es)
	x := f.x1 - 4 - bw
	if left {
		x = f.x0 + 4
	}
	x = max(x, f.x0+1)
	y := f.y0 + 4
	f.open("legend")
	fmt.Fprintf(&f.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="#ffffff" fill-opacity="0.85" stroke="#d0d7de" stroke-width="0.5"/>`+"\n",
		num(x), num(y), num(min(bw, f.w-x-1)), num(bh))
	for i, e := range es {
		mid := y + 3 + legendRow*(float64(i)+0.5)
		sx := x + 4
		switch {
		case e.line != nil:
			f.line(sx, mid, sx+swatchLen, mid, *e.line)
		case e.shape != "":
			f.glyph(sx+swatchLen/2, mid, e.shape, e.color)
		case e.fill == "": // the count of the entries left out
		default:
			f.rect(sx, mid-4, swatchLen, 8, e.fill, "")
		}
		f.text(sx+swatchLen+4, mid+tickSize*0.35, tickSize, "start", inkColor, e.name, false)
	}
	f.close()
}

// clip cuts the segment (ax, ay)–(bx, by) to the plot area (Liang and
// Barsky's method); ok is false when nothing of it is inside.
func (f *frame) clip(ax, ay, bx, by float64) (cx, cy, dx, dy float64, ok bool) {
	t0, t1 := 0.0, 1.0
	ex, ey := bx-ax, by-ay
	for _, pq := range [4][2]float64{{-ex, ax - f.x0}, {ex, f.x1 - ax}, {-ey, ay - f.y0}, {ey, f.y1 - ay}} {
		p, q := pq[0], pq[1]
		if p == 0 {
			if q < 0 {
				return 0, 0, 0, 0, false
			}
			continue
		}
		r := q / p
		if p < 0 {
			t0 = max(t0, r)
		} else {
			t1 = min(t1, r)
		}
		if t0 > t1 {
			return 0, 0, 0, 0, false
		}
	}
	return ax + t0*ex, ay + t0*ey, ax + t1*ex, ay + t1*ey, true
}

// path draws the points (xs[i], ys[i]), in plot coordinates, joined and
// cut to the plot area: one polyline per stretch inside it. A single
// point inside is drawn as a dot.
func (f *frame) path(xs, ys []float64, s stroke) {
	if len(xs) == 1 {
		if x, y := xs[0], ys[0]; x >= f.x0 && x <= f.x1 && y >= f.y0 && y <= f.y1 {
			f.circle(x, y, s.width, stroke{color: s.color, width: 0}, s.color)
		}
		return
	}
	var run []float64
	flush := func() {
		if len(run) >= 4 {
			f.polyline(run, s)
		}
		run = run[:0]
	}
	for i := 1; i < len(xs); i++ {
		ax, ay, bx, by, ok := f.clip(xs[i-1], ys[i-1], xs[i], ys[i])
		if !ok {
			flush()
			continue
		}
		if n := len(run); n == 0 || run[n-2] != ax || run[n-1] != ay {
			flush()
			run = append(run, ax, ay)
		}
		run = append(run, bx, by)
	}
	flush()
}

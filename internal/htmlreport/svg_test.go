package htmlreport_test

import (
	"bytes"
	"encoding/xml"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weightaudit/weightaudit/internal/htmlreport"
)

// node is an element of a chart's SVG, parsed by encoding/xml: what the
// tests below measure, independently of the code that wrote it.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// num reads a numeric attribute, failing the test if it is absent or not
// a finite number.
func (n *node) num(tb testing.TB, name string) float64 {
	tb.Helper()
	s, ok := n.attr(name)
	v, err := strconv.ParseFloat(s, 64)
	if !ok || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		tb.Fatalf("<%s %s=%q>: not a finite number", n.XMLName.Local, name, s)
	}
	return v
}

// walk calls fn for n and every element under it.
func (n *node) walk(fn func(*node)) {
	fn(n)
	for i := range n.Nodes {
		n.Nodes[i].walk(fn)
	}
}

// group returns the <g class=class> element's children.
func (n *node) group(tb testing.TB, class string) []node {
	tb.Helper()
	var found *node
	n.walk(func(m *node) {
		if c, _ := m.attr("class"); m.XMLName.Local == "g" && c == class && found == nil {
			found = m
		}
	})
	if found == nil {
		tb.Fatalf("no <g class=%q> in the chart", class)
	}
	return found.Nodes
}

// text is the element's text, its <title> child's for a shape.
func (n *node) text() string {
	for _, c := range n.Nodes {
		if c.XMLName.Local == "title" {
			return c.Text
		}
	}
	return n.Text
}

func parseSVG(tb testing.TB, c htmlreport.Chart) *node {
	tb.Helper()
	var root node
	if err := xml.Unmarshal([]byte(c.SVG()), &root); err != nil {
		tb.Fatalf("chart %q is not well-formed XML: %v\n%s", c.Title, err, c.SVG())
	}
	if root.XMLName.Local != "svg" {
		tb.Fatalf("chart %q: root element <%s>, want <svg>", c.Title, root.XMLName.Local)
	}
	return &root
}

// points reads a polyline's points attribute.
func points(tb testing.TB, n *node) [][2]float64 {
	tb.Helper()
	s, _ := n.attr("points")
	var out [][2]float64
	for _, p := range strings.Fields(s) {
		x, y, ok := strings.Cut(p, ",")
		fx, err1 := strconv.ParseFloat(x, 64)
		fy, err2 := strconv.ParseFloat(y, 64)
		if !ok || err1 != nil || err2 != nil {
			tb.Fatalf("polyline point %q", p)
		}
		out = append(out, [2]float64{fx, fy})
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestStackedBarGeometry draws two categories, a = {1, 3} and b = {2, 0}
// (series s0 = {1, 2}, s1 = {3, 0}): three segments (the zero is left
// out) whose heights are as 1 : 3 : 2, each series stacked on the one
// before, all standing on one baseline, a left of b.
func TestStackedBarGeometry(t *testing.T) {
	c, err := htmlreport.StackedBars(htmlreport.Bars{Title: "t", Categories: []string{"a", "b"},
		Series: []htmlreport.Series{{Name: "s0", Values: []float64{1, 2}}, {Name: "s1", Values: []float64{3, 0}}}})
	if err != nil {
		t.Fatal(err)
	}
	bars := map[string]*node{}
	for _, r := range parseSVG(t, c).group(t, "bars") {
		bars[r.text()] = &r
	}
	s0a, s1a, s0b := bars["s0, a: 1"], bars["s1, a: 3"], bars["s0, b: 2"]
	if len(bars) != 3 || s0a == nil || s1a == nil || s0b == nil {
		t.Fatalf("bar segments %v: want s0/a, s1/a and s0/b (the zero of s1/b left out)", bars)
	}
	h0, h1, h2 := s0a.num(t, "height"), s1a.num(t, "height"), s0b.num(t, "height")
	if h0 <= 0 || !near(h1/h0, 3, 3*0.005) || !near(h2/h0, 2, 2*0.005) {
		t.Errorf("heights %v : %v : %v, want as 1 : 3 : 2", h0, h1, h2)
	}
	// SVG's y grows downwards: the upper segment ends where the lower
	// begins.
	if top, bottom := s1a.num(t, "y")+h1, s0a.num(t, "y"); !near(top, bottom, 0.011) {
		t.Errorf("s1 on a ends at y %v, s0 on a begins at %v: the stack does not touch", top, bottom)
	}
	if ya, yb := s0a.num(t, "y")+h0, s0b.num(t, "y")+h2; !near(ya, yb, 0.011) {
		t.Errorf("bars stand on %v and %v, want one baseline", ya, yb)
	}
	if xa, xb := s0a.num(t, "x"), s0b.num(t, "x"); !(xa < xb) || s0a.num(t, "x") != s1a.num(t, "x") {
		t.Errorf("a at x %v (s1 at %v), b at %v: want a's segments aligned, left of b", xa, s1a.num(t, "x"), xb)
	}
}

// TestHorizontalBarsTopToBottom: the categories are listed top to bottom
// in their order, their bars too, lengths as 1 : 2 : 3 from one origin.
func TestHorizontalBarsTopToBottom(t *testing.T) {
	cats := []string{"first", "second", "third"}
	c, err := htmlreport.StackedBars(htmlreport.Bars{Title: "t", Categories: cats, Horizontal: true,
		Series: []htmlreport.Series{{Name: "s", Values: []float64{1, 2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, c)
	var labels []string
	lastY := math.Inf(-1)
	for _, e := range svg.group(t, "categories") {
		if e.XMLName.Local != "text" {
			continue
		}
		if y := e.num(t, "y"); y <= lastY {
			t.Errorf("label %q at y %v, above the one before (%v)", e.Text, y, lastY)
		} else {
			lastY = y
		}
		labels = append(labels, e.Text)
	}
	if strings.Join(labels, ",") != strings.Join(cats, ",") {
		t.Errorf("category labels top to bottom %q, want %q", labels, cats)
	}
	bars := svg.group(t, "bars")
	if len(bars) != 3 {
		t.Fatalf("%d bars, want 3", len(bars))
	}
	w0 := bars[0].num(t, "width")
	for i, b := range bars {
		if !strings.HasPrefix(b.text(), "s, "+cats[i]+":") {
			t.Errorf("bar %d is %q, want category %s", i, b.text(), cats[i])
		}
		if i > 0 && !(b.num(t, "y") > bars[i-1].num(t, "y")) {
			t.Errorf("bar %s not below bar %s", cats[i], cats[i-1])
		}
		if b.num(t, "x") != bars[0].num(t, "x") || !near(b.num(t, "width")/w0, float64(i+1), 0.005*float64(i+1)) {
			t.Errorf("bar %s: x %v width %v, want x %v width %v", cats[i], b.num(t, "x"), b.num(t, "width"), bars[0].num(t, "x"), w0*float64(i+1))
		}
	}
}

// axisLine returns the last <line> of the axis group: the axis itself.
func axisLine(t *testing.T, svg *node, class string) *node {
	t.Helper()
	g := svg.group(t, class)
	for i := len(g) - 1; i >= 0; i-- {
		if g[i].XMLName.Local == "line" {
			return &g[i]
		}
	}
	t.Fatalf("no line in %s", class)
	return nil
}

// TestLogAxesSpaceDecadesEqually: on log axes the points (1, 1),
// (10, 10), (100, 100) are equally spaced both ways, the first at the x
// axis' left end and the last at its right (the x range is the points'),
// and the line rises (SVG y downwards).
func TestLogAxesSpaceDecadesEqually(t *testing.T) {
	c, err := htmlreport.LineChart(htmlreport.Lines{Title: "t", LogX: true, LogY: true,
		Lines: []htmlreport.Line{{Name: "l", X: []float64{1, 10, 100}, Y: []float64{1, 10, 100}}}})
	if err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, c)
	lines := svg.group(t, "lines")
	if len(lines) != 1 || lines[0].XMLName.Local != "polyline" {
		t.Fatalf("lines group %v: want one polyline", lines)
	}
	p := points(t, &lines[0])
	if len(p) != 3 {
		t.Fatalf("points %v, want 3", p)
	}
	dx1, dx2, dy1, dy2 := p[1][0]-p[0][0], p[2][0]-p[1][0], p[1][1]-p[0][1], p[2][1]-p[1][1]
	if dx1 <= 0 || !near(dx1, dx2, 0.02) || dy1 >= 0 || !near(dy1, dy2, 0.02) {
		t.Errorf("steps (%v, %v) then (%v, %v): want equal, rightwards and upwards", dx1, dy1, dx2, dy2)
	}
	x := axisLine(t, svg, "x-axis")
	if !near(p[0][0], x.num(t, "x1"), 0.011) || !near(p[2][0], x.num(t, "x2"), 0.011) {
		t.Errorf("x 1 at %v and 100 at %v, want the axis' ends %v and %v", p[0][0], p[2][0], x.num(t, "x1"), x.num(t, "x2"))
	}
}

// TestMarksWithoutAValueSitAtTheAxisBottom: a mark at y = 0 on a log axis
// and one at NaN on a linear axis are drawn on the x axis line.
func TestMarksWithoutAValueSitAtTheAxisBottom(t *testing.T) {
	for _, tt := range []struct {
		name string
		log  bool
		y    float64
	}{{"zero on a log axis", true, 0}, {"NaN on a linear axis", false, math.NaN()}} {
		c, err := htmlreport.LineChart(htmlreport.Lines{Title: "t", LogY: tt.log,
			Lines: []htmlreport.Line{{Name: "l", X: []float64{1, 3}, Y: []float64{10, 100}}},
			Marks: []htmlreport.Mark{{Name: "m", X: []float64{2}, Y: []float64{tt.y}, Shape: "circle"}}})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		svg := parseSVG(t, c)
		marks := svg.group(t, "marks")
		if len(marks) != 1 || marks[0].XMLName.Local != "circle" {
			t.Fatalf("%s: marks %v, want one circle", tt.name, marks)
		}
		x := axisLine(t, svg, "x-axis")
		if cy, want := marks[0].num(t, "cy"), x.num(t, "y1"); !near(cy, want, 0.011) {
			t.Errorf("%s: mark at y %v, want the axis at %v", tt.name, cy, want)
		}
		if cx, mid := marks[0].num(t, "cx"), (x.num(t, "x1")+x.num(t, "x2"))/2; !near(cx, mid, 0.011) {
			t.Errorf("%s: mark at x %v, want the middle of 1..3, %v", tt.name, cx, mid)
		}
	}
}

// TestChartTextEscaped: names with markup, quotes and characters XML
// forbids come back from an XML parser as the same text (the forbidden
// ones as U+FFFD), never as markup.
func TestChartTextEscaped(t *testing.T) {
	name := `<F16 & "q" 'a'>` + "\x01\xff"
	want := `<F16 & "q" 'a'>` + "\uFFFD\uFFFD"
	c, err := htmlreport.StackedBars(htmlreport.Bars{Title: name, XLabel: name, YLabel: name, Categories: []string{name},
		Series: []htmlreport.Series{{Name: name, Values: []float64{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(c.SVG()), "<F16") {
		t.Errorf("unescaped name in the SVG")
	}
	svg := parseSVG(t, c)
	if l, _ := svg.attr("aria-label"); l != want {
		t.Errorf("aria-label %q, want %q", l, want)
	}
	legend := svg.group(t, "legend")
	if got := legend[len(legend)-1].Text; got != want {
		t.Errorf("legend text %q, want %q", got, want)
	}
	texts := 0
	svg.walk(func(n *node) {
		if n.XMLName.Local == "text" && n.Text == want {
			texts++
		}
	})
	if texts != 5 { // title, two axis labels, a category, the legend
		t.Errorf("%d texts read %q, want 5", texts, want)
	}
}

var coords = map[string][]string{
	"rect":   {"x", "y"},
	"line":   {"x1", "y1", "x2", "y2"},
	"circle": {"cx", "cy"},
	"text":   {"x", "y"},
}

// checkInside fails unless every element of the chart lies inside its
// viewBox: shapes by their coordinates, text by its anchor and, when it
// is not rotated, by its width estimated at 0.55 em per character.
func checkInside(tb testing.TB, c htmlreport.Chart) {
	tb.Helper()
	svg := parseSVG(tb, c)
	vb, _ := svg.attr("viewBox")
	f := strings.Fields(vb)
	if len(f) != 4 || f[0] != "0" || f[1] != "0" {
		tb.Fatalf("viewBox %q", vb)
	}
	w, _ := strconv.ParseFloat(f[2], 64)
	h, _ := strconv.ParseFloat(f[3], 64)
	in := func(what string, x, y float64) {
		if x < -0.01 || x > w+0.01 || y < -0.01 || y > h+0.01 {
			tb.Errorf("chart %q: %s at (%v, %v) outside its %v×%v viewBox", c.Title, what, x, y, w, h)
		}
	}
	svg.walk(func(n *node) {
		name := n.XMLName.Local
		switch name {
		case "rect":
			x, y := n.num(tb, "x"), n.num(tb, "y")
			in("rect", x, y)
			in("rect's far corner", x+n.num(tb, "width"), y+n.num(tb, "height"))
		case "polyline":
			for _, p := range points(tb, n) {
				in("polyline point", p[0], p[1])
			}
		case "path":
			d, _ := n.attr("d")
			nums := strings.Fields(strings.NewReplacer("M", " ", "L", " ").Replace(d))
			for i := 0; i+1 < len(nums); i += 2 {
				x, _ := strconv.ParseFloat(nums[i], 64)
				y, _ := strconv.ParseFloat(nums[i+1], 64)
				in("path point", x, y)
			}
		case "line", "circle", "text":
			cs := coords[name]
			for i := 0; i < len(cs); i += 2 {
				in(name, n.num(tb, cs[i]), n.num(tb, cs[i+1]))
			}
			if _, rotated := n.attr("transform"); name == "text" && !rotated {
				size := n.num(tb, "font-size")
				tw := 0.55 * size * float64(utf8.RuneCountInString(n.Text))
				x := n.num(tb, "x")
				switch a, _ := n.attr("text-anchor"); a {
				case "end":
					x -= tw
				case "middle":
					x -= tw / 2
				}
				in("text "+strconv.Quote(n.Text)+"'s start", x, n.num(tb, "y"))
				in("text "+strconv.Quote(n.Text)+"'s end", x+tw, n.num(tb, "y"))
			}
		}
	})
}

// callerCharts are charts shaped as the reports draw them: 95 layers,
// horizontal components, log-log memory with labelled levels at both
// ends, a roofline with a band, marks on an integer axis, a fixed y range.
func callerCharts(tb testing.TB) []htmlreport.Chart {
	tb.Helper()
	var layers []string
	var params []float64
	for i := range 95 {
		layers = append(layers, strconv.Itoa(i))
		params = append(params, 2.5e9)
	}
	ctx := []float64{512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072}
	mem := []float64{440, 441, 442, 444, 448, 456, 472, 504, 568}
	var out []htmlreport.Chart
	for _, draw := range []func() (htmlreport.Chart, error){
		func() (htmlreport.Chart, error) {
			return htmlreport.StackedBars(htmlreport.Bars{Title: "Parameters per layer, by dtype", XLabel: "layer", YLabel: "parameters",
				Categories: layers, Series: []htmlreport.Series{{Name: "BF16", Values: params}, {Name: "F32", Values: params}}})
		},
		func() (htmlreport.Chart, error) {
			return htmlreport.StackedBars(htmlreport.Bars{Title: "Bytes per component, by dtype", XLabel: "component", YLabel: "GiB", Width: 415, Height: 60 + 17*3,
				Horizontal: true, Categories: []string{"embedding", "attn_k_norm", "expert_gate"},
				Series: []htmlreport.Series{{Name: "Q4_K", Values: []float64{1, 0.001, 120}}, {Name: "Q6_K", Values: []float64{0.5, 0, 10}}}})
		},
		func() (htmlreport.Chart, error) {
			return htmlreport.LineChart(htmlreport.Lines{Title: "Memory against context length", XLabel: "context length (tokens)", YLabel: "GiB",
				LogX: true, LogY: true, Width: 460, Height: 270, LegendLeft: true, Lines: []htmlreport.Line{
					{Name: "KV f16", X: ctx, Y: mem, Color: 1},
					{X: []float64{512, 131072}, Y: []float64{80, 80}, Color: -1, Dashed: true, Label: "H100 SXM, H100 PCIe, A100 80GB SXM 80 GB"},
					{X: []float64{512, 131072}, Y: []float64{96, 96}, Color: -1, Dashed: true, Label: "MI300X 96 GB", LabelLeft: true},
				}})
		},
		func() (htmlreport.Chart, error) {
			return htmlreport.LineChart(htmlreport.Lines{Title: "M3 Ultra: compute-bound from batch 512; does not fit in 512 GB", XLabel: "batch", YLabel: "tok/s",
				LogX: true, LogY: true, Width: 270, Height: 200, LegendLeft: true,
				Bands: []htmlreport.Band{{Name: "compute-bound", X0: 362, X1: 1024}},
				Lines: []htmlreport.Line{{Name: "all-weights", X: []float64{1, 32, 1024}, Y: []float64{3, 90, 900}},
					{X: []float64{1, 1024}, Y: []float64{700, 700}, Color: -1, Dashed: true, Label: "compute roof"}}})
		},
		func() (htmlreport.Chart, error) {
			return htmlreport.LineChart(htmlreport.Lines{Title: "blk", XLabel: "layer", YLabel: "value", LogY: true, Width: 270, Height: 190, LegendLeft: true, IntegerX: true,
				Lines: []htmlreport.Line{{Name: "absmax", X: []float64{0, 1, 2}, Y: []float64{3, 4, 1e4}}},
				Marks: []htmlreport.Mark{{Name: "NaN/Inf", X: []float64{1}, Y: []float64{math.NaN()}, Color: 1, Shape: "cross"},
					{Name: "zeros", X: []float64{2}, Y: []float64{0}, Color: 5, Shape: "circle"}}})
		},
		func() (htmlreport.Chart, error) {
			return htmlreport.LineChart(htmlreport.Lines{Title: "Devices needed against context length", XLabel: "context length (tokens)", YLabel: "devices",
				LogX: true, Width: 740, Height: 260, LegendLeft: true, YMin: 0, YMax: 3,
				Lines: []htmlreport.Line{{Name: "H100", X: ctx[:3], Y: []float64{1, 2, 5}}}}) // 5 is above the fixed range: cut
		},
	} {
		c, err := draw()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestChartsStayInsideTheirViewBox(t *testing.T) {
	for _, c := range callerCharts(t) {
		checkInside(t, c)
	}
}

// TestChartsOnOnePageShareNoIDs: a chart refers to nothing by id (lines
// are cut to the plot area by arithmetic, not by a clipPath), so any
// number of charts on a page cannot collide; the page's ids are unique.
func TestChartsOnOnePageShareNoIDs(t *testing.T) {
	charts := callerCharts(t)
	for _, c := range charts {
		if s := string(c.SVG()); strings.Contains(s, " id=") || strings.Contains(s, "url(#") {
			t.Errorf("chart %q defines or refers to an id", c.Title)
		}
	}
	var b bytes.Buffer
	p := &htmlreport.Page{Title: "t", Verdict: "pass", Sections: []htmlreport.Section{{Title: "a", Charts: charts}, {Title: "b", Charts: charts[:2]}}}
	if err := htmlreport.Write(&b, p); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]*)"`).FindAllStringSubmatch(b.String(), -1) {
		if seen[m[1]] {
			t.Errorf("id %q twice on the page", m[1])
		}
		seen[m[1]] = true
	}
	if n := strings.Count(b.String(), "<svg "); n != len(charts)+2 {
		t.Errorf("%d svg elements on the page, want %d", n, len(charts)+2)
	}
}

// TestLegendClearsTheBars: the legend (top right) lies over no bar, even
// when the bars under it are the tallest (or, horizontal, the longest at
// the top) and it has three rows, as a plan's per-device charts do.
func TestLegendClearsTheBars(t *testing.T) {
	series := []htmlreport.Series{{Name: "weights", Values: []float64{50, 60, 65}}, {Name: "KV cache", Values: []float64{1, 1, 1}},
		{Name: "free", Values: []float64{9, 9, 9}}}
	for _, horizontal := range []bool{false, true} {
		c, err := htmlreport.StackedBars(htmlreport.Bars{Title: "H100: fits on 3", XLabel: "device", YLabel: "GiB", Width: 270, Height: 200,
			Categories: []string{"1", "2", "3"}, Series: series, Horizontal: horizontal})
		if horizontal {
			// The longest bar at the top, under the legend.
			c, err = htmlreport.StackedBars(htmlreport.Bars{Title: "t", Width: 270, Height: 60 + 17*3, Horizontal: true,
				Categories: []string{"a", "b", "c"}, Series: []htmlreport.Series{{Name: "weights", Values: []float64{65, 10, 10}}, {Name: "free", Values: []float64{9, 0, 0}}}})
		}
		if err != nil {
			t.Fatal(err)
		}
		svg := parseSVG(t, c)
		box := svg.group(t, "legend")[0]
		lx, ly := box.num(t, "x"), box.num(t, "y")
		lx1, ly1 := lx+box.num(t, "width"), ly+box.num(t, "height")
		for _, r := range svg.group(t, "bars") {
			x, y := r.num(t, "x"), r.num(t, "y")
			x1, y1 := x+r.num(t, "width"), y+r.num(t, "height")
			if x < lx1 && x1 > lx && y < ly1 && y1 > ly {
				t.Errorf("horizontal %v: bar %q [%v, %v]×[%v, %v] under the legend [%v, %v]×[%v, %v]",
					horizontal, r.text(), x, x1, y, y1, lx, lx1, ly, ly1)
			}
		}
	}
}

// TestLegendClearsTheLines: a line that climbs to its highest point under
// the legend passes below the legend box, on linear and log axes, with
// the legend at either side.
func TestLegendClearsTheLines(t *testing.T) {
	for _, tt := range []struct {
		log, left bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		ys := []float64{1, 2, 4, 8, 16, 1000} // the highest at the right
		if tt.left {
			slices.Reverse(ys)
		}
		c, err := htmlreport.LineChart(htmlreport.Lines{Title: "t", LogY: tt.log, LegendLeft: tt.left, Width: 270, Height: 190,
			Lines: []htmlreport.Line{{Name: "absmax", X: []float64{0, 1, 2, 3, 4, 5}, Y: ys}, {Name: "std", X: []float64{0, 5}, Y: []float64{1, 1}, Dashed: true}},
			Marks: []htmlreport.Mark{{Name: "NaN/Inf", X: []float64{2}, Y: []float64{math.NaN()}}, {Name: "zeros", X: []float64{3}, Y: []float64{0}}}})
		if err != nil {
			t.Fatal(err)
		}
		svg := parseSVG(t, c)
		box := svg.group(t, "legend")[0]
		lx, lx1, ly1 := box.num(t, "x"), box.num(t, "x")+box.num(t, "width"), box.num(t, "y")+box.num(t, "height")
		// Each segment, where it passes the legend's stretch of x: its
		// highest point there is at one end of that stretch.
		p := points(t, &svg.group(t, "lines")[0])
		for i := 1; i < len(p); i++ {
			a, b := p[i-1], p[i]
			for _, x := range []float64{max(lx, a[0]), min(lx1, b[0])} {
				if x < a[0] || x > b[0] || a[0] == b[0] {
					continue
				}
				if y := a[1] + (b[1]-a[1])*(x-a[0])/(b[0]-a[0]); y < ly1-0.01 {
					t.Errorf("log %v, left %v: the line passes (%v, %v), above the legend's bottom %v (legend x %v..%v)", tt.log, tt.left, x, y, ly1, lx, lx1)
				}
			}
		}
	}
}

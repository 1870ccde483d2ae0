package htmlreport

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestChartsRefuseWhatTheyCannotDraw(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	bars := []struct {
		name string
		b    Bars
	}{
		{"no categories", Bars{Series: []Series{{Name: "F16"}}}},
		{"no series", Bars{Categories: []string{"0"}}},
		{"short series", Bars{Categories: []string{"0", "1"}, Series: []Series{{Name: "F16", Values: []float64{1}}}}},
		{"NaN", Bars{Categories: []string{"0"}, Series: []Series{{Name: "F16", Values: []float64{nan}}}}},
		{"Inf", Bars{Categories: []string{"0"}, Series: []Series{{Name: "F16", Values: []float64{inf}}}}},
		{"negative", Bars{Categories: []string{"0"}, Series: []Series{{Name: "F16", Values: []float64{-1}}}}},
	}
	for _, tt := range bars {
		if _, err := StackedBars(tt.b); !errors.Is(err, ErrChart) {
			t.Errorf("StackedBars(%s) error = %v, want ErrChart", tt.name, err)
		}
	}
	lines := []struct {
		name string
		l    Lines
	}{
		{"no lines", Lines{}},
		{"lengths differ", Lines{Lines: []Line{{X: []float64{1, 2}, Y: []float64{1}}}}},
		{"NaN", Lines{Lines: []Line{{X: []float64{1}, Y: []float64{nan}}}}},
		{"zero on a log axis", Lines{LogY: true, Lines: []Line{{X: []float64{1, 2}, Y: []float64{0, 1}}}}},
		{"negative on a log axis", Lines{LogX: true, Lines: []Line{{X: []float64{-1, 2}, Y: []float64{1, 1}}}}},
	}
	for _, tt := range lines {
		if _, err := LineChart(tt.l); !errors.Is(err, ErrChart) {
			t.Errorf("LineChart(%s) error = %v, want ErrChart", tt.name, err)
		}
	}
}

// TestChartSVG checks what a chart inserts into the page: one SVG
// element, no XML prologue, the text escaped.
func TestChartSVG(t *testing.T) {
	for _, tt := range []struct {
		name string
		draw func() (Chart, error)
	}{
		{"bars", func() (Chart, error) {
			return StackedBars(Bars{Title: "a <b> & c", Categories: []string{"<x>", "1"},
				Series: []Series{{Name: "<F16>", Values: []float64{1, 2}}, {Name: "Q4_K", Values: []float64{0, 3}}}})
		}},
		{"one point on log axes", func() (Chart, error) {
			return LineChart(Lines{Title: "a <b> & c", LogX: true, LogY: true, Lines: []Line{{Name: "<l>", X: []float64{4}, Y: []float64{4}}},
				Bands: []Band{{Name: "band", X0: 1, X1: 8}}})
		}},
		{"labelled level", func() (Chart, error) {
			return LineChart(Lines{Title: "a <b> & c", Lines: []Line{{X: []float64{0, 10}, Y: []float64{5, 5}, Label: "<level>", LabelLeft: true}}})
		}},
	} {
		c, err := tt.draw()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		svg := string(c.SVG())
		switch {
		case !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>"):
			t.Errorf("%s: not one <svg> element: %.80q … %.40q", tt.name, svg, svg[max(0, len(svg)-40):])
		case strings.Contains(svg, "<?xml"):
			t.Errorf("%s: XML prologue inside the page", tt.name)
		case strings.Contains(svg, "<b>") || strings.Contains(svg, "<x>") || strings.Contains(svg, "<F16>") || strings.Contains(svg, "<l>") || strings.Contains(svg, "<level>"):
			t.Errorf("%s: unescaped text in the SVG", tt.name)
		case strings.Count(svg, "<svg") != 1:
			t.Errorf("%s: %d svg elements", tt.name, strings.Count(svg, "<svg"))
		}
	}
}

func TestCompact(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.25, "0.25"}, {16, "16"}, {512, "512"}, {1024, "1K"}, {4096, "4K"}, {131072, "128K"},
		{1 << 20, "1M"}, {1500, "1.5K"}, {2e9, "2G"}, {250e9, "250G"}, {1.25e12, "1.25T"}, {-3000, "-3K"},
	} {
		if got := compact(tt.v); got != tt.want {
			t.Errorf("compact(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// MergeCoinciding draws lines that pass through the same points (or
// within the tolerance) once, under their names joined, in the first
// one's place and colour; lines that differ anywhere by more, dashed
// reference lines and lines labelled at their end stay as they are.
func TestMergeCoinciding(t *testing.T) {
	x := []float64{1, 2, 4}
	line := func(name string, color int, y ...float64) Line {
		return Line{Name: name, Color: color, X: x, Y: y}
	}
	dashed := line("cap", 5, 1, 2, 3)
	dashed.Dashed = true
	labelled := line("level", 6, 1, 2, 3)
	labelled.Label = "80 GB"
	in := []Line{
		line("a", 0, 1, 2, 3),
		line("b", 1, 1, 2, 4),
		line("c", 2, 1, 2, 3),
		dashed,
		labelled,
		line("d", 3, 1, 2, 4),
		line("e", 4, 1, 2),
		line("f", 7, 1.005, 2, 2.98), // within 1% of a and c
		line("g", 8, 1.02, 2, 3),     // 2% off at one point
	}
	got := MergeCoinciding(in, " = ", 0.01)
	var names []string
	var colors []int
	for _, l := range got {
		names, colors = append(names, l.Name), append(colors, l.Color)
	}
	if want := []string{"a = c ≈ f", "b = d", "cap", "level", "e", "g"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	if want := []int{0, 1, 5, 6, 4, 8}; !slices.Equal(colors, want) {
		t.Errorf("colours %v, want %v", colors, want)
	}
	if in[0].Name != "a" {
		t.Errorf("the input's first line was renamed %q", in[0].Name)
	}
	if got := MergeCoinciding(in[:3], ", ", 0); len(got) != 2 || got[0].Name != "a, c" {
		t.Errorf("with sep \", \" and no tolerance: %v", got)
	}
}

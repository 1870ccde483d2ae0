package htmlreport

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"io"
	"strings"
	"sync"
)

// Page is what one report shows, in the order the page shows it.
type Page struct {
	// Title names the document ("weightaudit audit").
	Title string
	// Verdict is "pass", "fail" or "incomplete"; it colours the banner.
	Verdict string
	// Headline is the report's first line.
	Headline string
	// RootCauses are the first things to fix: for each failed check, its
	// id and first finding.
	RootCauses []string
	// Facts are the headline numbers (parameters, sizes), each under a
	// stable key the page carries as data-key.
	Facts []Fact
	// Checks is the check table.
	Checks []Check
	// Tables hold the tallies (per dtype, per group).
	Tables []Table
	// Sections hold the charts.
	Sections []Section
	// Findings are listed with a filter box; at most MaxFindings of them,
	// the count of the rest said.
	Findings []Finding
}

// MaxRootCauses bounds the root causes a page's banner lists: the first
// things to fix, not every finding (the findings list has those).
const MaxRootCauses = 8

// MaxFindings bounds the findings a page lists: a checkpoint missing a
// whole shard has tens of thousands, which the JSON report holds.
const MaxFindings = 5000

// Fact is one number of the report: Value as shown, Key its stable name
// (data-key on the page), Note what it is compared with.
type Fact struct {
	Key, Label, Value, Note string
}

// Check is one row of the check table. Status is "PASS", "FAIL" or
// "SKIP".
type Check struct {
	ID, Title, Status, Level, Detail string
}

// Table is a small table of tallies. Key is its stable name (data-key);
// Numeric marks the columns aligned right.
type Table struct {
	Key, Title string
	Columns    []string
	Numeric    []bool
	Rows       [][]string
}

// Section is a group of charts under one heading; Small lays them out as
// small multiples in a grid.
type Section struct {
	Title, Caption string
	Small          bool
	Charts         []Chart
	// Notes say what could not be drawn and why.
	Notes []string
}

// AddLines draws l as a line chart into the section, or notes why it
// could not.
func (s *Section) AddLines(l Lines) {
	c, err := LineChart(l)
	if err != nil {
		s.Notes = append(s.Notes, err.Error())
		return
	}
	s.Charts = append(s.Charts, c)
}

// Finding is one defect, as the check that found it names it.
type Finding struct {
	Check, Tensor, File, Message string
}

// Chart is one drawn chart. Only this package makes charts (see
// [StackedBars], [Lines]): its SVG is inserted as markup.
type Chart struct {
	Title string
	svg   template.HTML
}

// SVG returns the chart's inline SVG element.
func (c Chart) SVG() template.HTML { return c.svg }

//go:embed page.html.tmpl
var pageTemplate string

//go:embed filter.js
var filterScript string

//go:embed page.css
var pageStyle string

// pageTmpl returns the page template, parsed on first use: every command
// of a binary that links this package would otherwise pay the parse
// (about 800 allocations) at start, HTML asked for or not.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"numeric": func(t Table, i int) bool { return i < len(t.Numeric) && t.Numeric[i] },
		"lower":   strings.ToLower,
	}).Parse(pageTemplate))
})

// scriptHash returns the CSP source that allows the page's one script.
var scriptHash = sync.OnceValue(func() string {
	sum := sha256.Sum256([]byte(filterScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
})

// Write renders p as one HTML document to w. Every string of p is
// escaped; the document makes no network request.
func Write(w io.Writer, p *Page) error {
	shown := p.Findings
	if len(shown) > MaxFindings {
		shown = shown[:MaxFindings]
	}
	return pageTmpl().Execute(w, struct {
		*Page
		Shown  []Finding
		Hidden int
		CSP    string
		Style  template.CSS
		Script template.JS
	}{p, shown, len(p.Findings) - len(shown),
		"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src " + scriptHash(),
		template.CSS(pageStyle), template.JS(filterScript)})
}

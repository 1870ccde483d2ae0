// Package htmlreport renders a report as one self-contained HTML page: the
// verdict and its root causes first, then the checks, the tallies, charts
// and the findings, which a filter box searches.
//
// The page makes no request of its own: the styles and the one small
// script are inline, and the charts are inline SVG that this package
// writes itself ([StackedBars], [LineChart]: rectangles, polylines,
// glyphs and text, the lines cut to the plot area by arithmetic), with no
// font embedded: the text is sans-serif (the page asks for Arial or a
// metric twin first) and its width, which cannot be measured, is
// estimated at 0.55 em per character to size the margins, the legend and
// the end labels. A Content-Security-Policy of default-src 'none', the
// script allowed by its hash, keeps it so in the browser. It opens from a
// CI artifact on a machine with no network.
//
// Every string of the report (tensor names, file names, messages, the
// source) is untrusted: [Write] escapes it with html/template. Only the
// charts' SVG, which this package draws and whose every text it escapes
// (characters XML forbids replaced, so that a chart is well-formed XML as
// well), is inserted as markup. A chart defines no id, so any number of
// them share a page.
//
// The package knows no report type: a caller (audit, verify) fills a
// [Page] from its report and calls [Write].
package htmlreport

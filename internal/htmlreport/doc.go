// Package htmlreport renders a report as one self-contained HTML page: the
// verdict and its root causes first, then the checks, the tallies, charts
// and the findings, which a filter box searches.
//
// The page makes no request of its own: the styles and the one small
// script are inline, and the charts are inline SVG drawn by
// gonum.org/v1/plot's SVG backend (vg/vgsvg) without embedded fonts (the
// text is measured with Liberation Sans; the page asks for it or the
// metric-compatible Arial and Helvetica). A Content-Security-Policy of
// default-src 'none', the script allowed by its hash, keeps it so in the
// browser. It opens from a CI artifact on a machine with no network.
//
// Every string of the report (tensor names, file names, messages, the
// source) is untrusted: [Write] escapes it with html/template. Only the
// charts' SVG, which this package draws and whose text vgsvg escapes, is
// inserted as markup.
//
// The package knows no report type: a caller (audit, verify) fills a
// [Page] from its report and calls [Write].
package htmlreport

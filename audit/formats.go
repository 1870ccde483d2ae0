package audit

import (
	"io"

	"github.com/weightaudit/weightaudit/internal/outfmt"
)

// OutputFormat is one way to render a [Report].
type OutputFormat = outfmt.Format[*Report]

// Formats lists the output formats, the default first: a new format is one
// row.
var Formats = outfmt.Table[*Report]{
	{Name: "table", Write: (*Report).WriteText},
	{Name: "json", Write: (*Report).WriteJSON},
	{Name: "markdown", Write: (*Report).WriteMarkdown},
	{Name: "junit", Write: (*Report).WriteJUnit},
	{Name: "html", Write: (*Report).WriteHTML},
}

// LookupFormat returns the output format called name.
func LookupFormat(name string) (OutputFormat, bool) { return Formats.Lookup(name) }

// FormatNames lists the names of [Formats], joined as "table, json,
// markdown, junit or html".
func FormatNames() string { return Formats.Joined() }

// InspectFormats lists the output formats of an [InspectReport], the
// default first. Its table leaves the tensors out: a caller that wants
// them calls [InspectReport.WriteText] itself.
var InspectFormats = outfmt.Table[*InspectReport]{
	{Name: "table", Write: func(r *InspectReport, w io.Writer) error { return r.WriteText(w, false) }},
	{Name: "json", Write: (*InspectReport).WriteJSON},
	{Name: "markdown", Write: (*InspectReport).WriteMarkdown},
	{Name: "junit", Write: (*InspectReport).WriteJUnit},
	{Name: "html", Write: (*InspectReport).WriteHTML},
}

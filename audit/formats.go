package audit

import "github.com/weightaudit/weightaudit/internal/outfmt"

// OutputFormat is one way to render a [Report].
type OutputFormat = outfmt.Format[*Report]

// Formats lists the output formats, the default first: a new format is one
// row.
var Formats = outfmt.Table[*Report]{
	{Name: "table", Write: (*Report).WriteText},
	{Name: "json", Write: (*Report).WriteJSON},
	{Name: "markdown", Write: (*Report).WriteMarkdown},
	{Name: "junit", Write: (*Report).WriteJUnit},
}

// LookupFormat returns the output format called name.
func LookupFormat(name string) (OutputFormat, bool) { return Formats.Lookup(name) }

// FormatNames lists the names of [Formats], joined as "table, json,
// markdown or junit".
func FormatNames() string { return Formats.Joined() }
